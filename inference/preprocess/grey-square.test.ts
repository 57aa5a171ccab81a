/**
 * grey-square@1 is what the three shipped chest models were trained, evaluated and
 * thresholded on, and its name is in every finding's provenance. The oracle
 * (test/support/reference-preprocess.ts: the float path of before issue 16) is pinned by the
 * SHA-256 of each float32 tensor, recorded from the fused function it once was
 * (inference/preprocess.ts at 03fa9dd) on real DICOM — MONOCHROME1 and MONOCHROME2, 10 to
 * 16 bits, VOI window and percentile window, square and non-square — and a real PNG film.
 * The served chain (integer tables over the stored values, the region only) must make the
 * oracle's tensor within one 16-bit display code per value; it makes it exactly (max and
 * mean |Δ| 0 on all six films when measured), which is why the chain keeps its name.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../config.ts';
import { decodeFrame } from '../../dicom/decode/index.ts';
import { parseDicom, requirePixelData } from '../../dicom/parse.ts';
import { referenceGreySquare } from '../../test/support/reference-preprocess.ts';
import { files, sharedData } from '../../test/support/shared-data.ts';
import { preprocessImageFile, readGreyImageFile } from '../image-file.ts';
import { compileChain } from './chain.ts';
import { preprocessingDeclaration } from './declaration.ts';

/** One 16-bit display code: what a rounding difference before sharp could move a value by. */
const TOLERANCE = 1 / 65535;

const sha256 = (data: Float32Array) => createHash('sha256').update(Buffer.from(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
const cardOf = (id: string) => preprocessingDeclaration.parse(JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', id, 'model.json'), 'utf8')).preprocessing);
const maxDifference = (a: Float32Array, b: Float32Array) => a.reduce((max, v, i) => Math.max(max, Math.abs(v - b[i])), 0);

async function frameOf(file: string) {
  const instance = parseDicom(new Uint8Array(fs.readFileSync(file)));
  return { image: requirePixelData(instance), frame: await decodeFrame(instance, 0) };
}

describe('grey-square@1 against its oracle', () => {
  const recorded: [string, string, string, string][] = [
    ['RG1 (JPEG 2000, 15-bit MONOCHROME1, taller than wide)', files.chestJ2k, 'cxr-pneumonia-adult', '0b67ecbcd0f96440a26e65b78659f41419cec94b3cf2728fcd170a596076f1bd'],
    ['RG1 at 28 px', files.chestJ2k, 'pneumonia-cxr', '39429af645cd76a15f8d55f5bc594b0995e1dddce125c866d7a79862498168a1'],
    ['CR-MONO1-10-chest (raw, 10-bit MONOCHROME1)', files.chestRaw, 'nih-cxr-abnormal', '60d251f0281cb25eba4c091df416bcbf313a051393ec7f3103ebf7315a8e9e6e'],
    ['CR with a modality LUT (JPEG lossless, wider than tall)', files.crModalityLut, 'nih-cxr-abnormal', 'a31d4f98c8598530ee56b62e78e202ae4bd2eb3739c04717e035d215a2b40d8f'],
    ['CT (16-bit signed, rescaled, its own VOI window)', files.ct, 'pneumonia-cxr', 'e2709b8d872f163c47e3ae99617542dbcf2557cdfc9d7a7120451f190b6b7309'],
  ];
  it.each(recorded)('when %s goes through its shipped card\'s steps, then the tensor is the oracle\'s, and the oracle is the recorded one', async (_what, file, model, expected) => {
    const { frame, image } = await frameOf(file);
    const card = cardOf(model);
    const oracle = await referenceGreySquare(frame, image, card.size);
    expect(sha256(oracle.data)).toBe(expected);
    const made = await compileChain(card).run(frame, image);
    expect(made.channels).toBe(1);
    expect(made.region).toEqual(oracle.region);
    expect(maxDifference(made.data, oracle.data)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('when a PNG film is prepared by name at 224 px, as the recipes and npm run eval do, then it is the oracle\'s, and the oracle is the recorded one', async () => {
    const png = path.join(sharedData, 'images/nih-cxr14-pneumonia-1000/images/00000061_012.png');
    const { frame, image } = await readGreyImageFile(png);
    const oracle = await referenceGreySquare(frame, image, [224, 224]);
    expect(sha256(oracle.data)).toBe('155203dbf10125de65dc84b8f2756b57e6f7b7d8ba5a3b479a23996636450802');
    expect(maxDifference((await preprocessImageFile(png, 'grey-square@1', [224, 224])).data, oracle.data)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('when RG1 is prepared, then the region is the centred square of the frame that heatmaps register onto', async () => {
    const { frame, image } = await frameOf(files.chestJ2k);
    expect((await compileChain(cardOf('pneumonia-cxr')).run(frame, image)).region).toEqual({ left: 0, top: 57, size: 1841 });
  });
});
