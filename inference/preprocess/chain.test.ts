/**
 * Declared chains: how a card's steps are checked before a model loads, and what the
 * steps a 3-channel model needs make of a frame.
 */
import { describe, expect, it } from 'vitest';
import { compileChain, type Chain } from './chain.ts';
import type { PreprocessingDeclaration, StepDeclaration } from './declaration.ts';
import { chainMismatch, syntheticFrame } from './fit.ts';

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const greyTo = (size: number, ...tail: StepDeclaration[]): PreprocessingDeclaration => ({
  id: 'test-chain', version: '1', size: [size, size],
  steps: [
    { step: 'modality-values@1' }, { step: 'window@1', method: 'percentile' }, { step: 'photometric@1', to: 'monochrome2' },
    { step: 'crop@1', method: 'centre-square' }, { step: 'resize@1', kernel: 'lanczos3' }, ...tail,
  ],
});
const run = (chain: Chain) => { const { frame, image } = syntheticFrame(); return chain.run(frame, image); };

describe('compiling a card\'s chain', () => {
  const refusals: [string, PreprocessingDeclaration, RegExp][] = [
    ['a step Lantern does not know', greyTo(64, { step: 'sharpen@1' }), /preprocessing step 6 \(sharpen@1\) is unknown; known steps: modality-values@1, window@1/],
    ['a step option that is not one of the step\'s', greyTo(64, { step: 'channels@1', count: 3, mode: 'rgb' }), /preprocessing step 6 \(channels@1\): options: Unrecognized key: "mode"/],
    ['a resize kernel sharp does not have', { ...greyTo(64), steps: greyTo(64).steps!.map((s) => (s.step === 'resize@1' ? { ...s, kernel: 'bicubic' } : s)) }, /preprocessing step 5 \(resize@1\): kernel: /],
    ['a named chain with no steps that Lantern does not know', { id: 'grey-circle', version: '1', size: [28, 28] }, /preprocessing grey-circle@1 is unknown; known: grey-square@1 \(or declare "steps"\)/],
    ['other steps under a name Lantern knows', { ...greyTo(28), id: 'grey-square', version: '1' }, /grey-square@1 is a chain Lantern knows by name, and the card's steps differ/],
    ['another version of a name Lantern knows', { ...greyTo(28), id: 'grey-square', version: '2' }, /preprocessing grey-square@2 is unknown/],
  ];
  it.each(refusals)('when a card declares %s, then the chain is refused, naming the step', (_what, declaration, message) => {
    expect(() => compileChain(declaration)).toThrow(message);
  });

  it('when a card names grey-square@1 without steps, then it gets the named steps; with the same steps in another key order, it is accepted', () => {
    const named = compileChain({ id: 'grey-square', version: '1', size: [28, 28] });
    expect(named.steps.map((s) => s.step)).toEqual(['modality-values@1', 'window@1', 'photometric@1', 'crop@1', 'resize@1', 'channels@1', 'normalise@1']);
    const reordered = named.steps.map((s) => Object.fromEntries(Object.entries(s).reverse()) as StepDeclaration);
    expect(compileChain({ id: 'grey-square', version: '1', size: [28, 28], steps: reordered }).key).toBe('grey-square@1');
  });
});

describe('running a chain', () => {
  it('when the chain replicates to 3 channels and normalises with ImageNet\'s mean and std, then each plane is the grey plane normalised by its own channel\'s figures', async () => {
    const grey = await run(compileChain(greyTo(32, { step: 'channels@1', count: 1 }, { step: 'normalise@1', scale: [0, 1] })));
    const rgb = await run(compileChain(greyTo(32, { step: 'channels@1', count: 3 }, { step: 'normalise@1', ...IMAGENET })));
    expect([rgb.channels, rgb.height, rgb.width, rgb.data.length]).toEqual([3, 32, 32, 3 * 32 * 32]);
    for (let c = 0; c < 3; c++) {
      for (const i of [0, 100, 517, 1023]) expect(rgb.data[c * 1024 + i]).toBeCloseTo((grey.data[i] - IMAGENET.mean[c]) / IMAGENET.std[c], 6);
    }
  });

  it('when normalise@1 scales to [-1, 1], then 0 and 1 become -1 and 1', async () => {
    const unit = await run(compileChain(greyTo(16, { step: 'normalise@1', scale: [0, 1] })));
    const signed = await run(compileChain(greyTo(16, { step: 'normalise@1', scale: [-1, 1] })));
    for (const i of [0, 77, 255]) expect(signed.data[i]).toBeCloseTo(unit.data[i] * 2 - 1, 6);
  });

  const broken: [string, PreprocessingDeclaration, RegExp][] = [
    ['three means for a one-channel tensor', greyTo(16, { step: 'normalise@1', ...IMAGENET }), /normalise@1 has 3 mean\(s\) and 3 std\(s\) for a 1-channel tensor/],
    ['a window before modality values', { ...greyTo(16), steps: [{ step: 'window@1', method: 'percentile' }] }, /window@1 needs modality values but is given the decoded frame; put modality-values@1 before it/],
    ['no resize', { ...greyTo(16), steps: greyTo(16).steps!.slice(0, 4) }, /ends with display pixels, not a model tensor/],
    ['no crop of a wider-than-tall frame', { ...greyTo(16), steps: greyTo(16).steps!.filter((s) => s.step !== 'crop@1') }, /keeps a 320×256 region; heatmaps are registered onto a square/],
  ];
  it.each(broken)('when a chain has %s, then running it on the synthetic frame says what is wrong', async (_what, declaration, message) => {
    await expect(run(compileChain(declaration))).rejects.toThrow(message);
  });

  it('when a chain\'s output is compared with an input, then channels and size must fit and dynamic dimensions fit anything', async () => {
    const chain = compileChain(greyTo(64, { step: 'channels@1', count: 3 }, { step: 'normalise@1', ...IMAGENET }));
    const declared = { name: 'image', dtype: 'float32', shape: [-1, 3, 64, 64] };
    expect(await chainMismatch(chain, declared, { name: 'image', type: 'float32', shape: ['batch', 3, 64, 64] })).toBeUndefined();
    expect(await chainMismatch(chain, { ...declared, shape: [-1, 1, 64, 64] }, undefined))
      .toBe('preprocessing test-chain@1 makes float32 [N, 3, 64, 64] (N, channels, height, width) but the card declares input image as float32 [N, 1, 64, 64]');
    expect(await chainMismatch(chain, declared, { name: 'image', type: 'float32', shape: ['batch', 3, 224, 224] }))
      .toMatch(/makes float32 \[N, 3, 64, 64\] .* but the graph's input image is float32 \[batch, 3, 224, 224\]/);
  });
});
