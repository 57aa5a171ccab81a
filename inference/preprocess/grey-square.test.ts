/**
 * grey-square@1 as declared steps must make what the fused function it replaced made,
 * bit for bit: the three shipped chest models were trained, evaluated and thresholded on
 * it. The SHA-256 of each float32 tensor below was recorded from the fused function
 * (inference/preprocess.ts at 03fa9dd) on real DICOM — MONOCHROME1 and MONOCHROME2, 10 to
 * 16 bits, VOI window and percentile window, square and non-square — and a real PNG film.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../config.ts';
import { decodeFrame } from '../../dicom/decode/index.ts';
import { parseDicom, requirePixelData } from '../../dicom/parse.ts';
import { files, sharedData } from '../../test/support/shared-data.ts';
import { preprocessImageFile } from '../image-file.ts';
import { compileChain } from './chain.ts';
import { preprocessingDeclaration } from './declaration.ts';

const sha256 = (data: Float32Array) => createHash('sha256').update(Buffer.from(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
const cardChain = (id: string) => compileChain(preprocessingDeclaration.parse(JSON.parse(fs.readFileSync(path.join(repoRoot, 'models', id, 'model.json'), 'utf8')).preprocessing));

async function frameOf(file: string) {
  const instance = parseDicom(new Uint8Array(fs.readFileSync(file)));
  return { image: requirePixelData(instance), frame: await decodeFrame(instance, 0) };
}

describe('grey-square@1 as declared steps', () => {
  const recorded: [string, string, string, string][] = [
    ['RG1 (JPEG 2000, 15-bit MONOCHROME1, taller than wide)', files.chestJ2k, 'cxr-pneumonia-adult', '0b67ecbcd0f96440a26e65b78659f41419cec94b3cf2728fcd170a596076f1bd'],
    ['RG1 at 28 px', files.chestJ2k, 'pneumonia-cxr', '39429af645cd76a15f8d55f5bc594b0995e1dddce125c866d7a79862498168a1'],
    ['CR-MONO1-10-chest (raw, 10-bit MONOCHROME1)', files.chestRaw, 'nih-cxr-abnormal', '60d251f0281cb25eba4c091df416bcbf313a051393ec7f3103ebf7315a8e9e6e'],
    ['CR with a modality LUT (JPEG lossless, wider than tall)', files.crModalityLut, 'nih-cxr-abnormal', 'a31d4f98c8598530ee56b62e78e202ae4bd2eb3739c04717e035d215a2b40d8f'],
    ['CT (16-bit signed, rescaled, its own VOI window)', files.ct, 'pneumonia-cxr', 'e2709b8d872f163c47e3ae99617542dbcf2557cdfc9d7a7120451f190b6b7309'],
  ];
  it.each(recorded)('when %s goes through its shipped card\'s steps, then the tensor is the one the fused step made', async (_what, file, model, expected) => {
    const { frame, image } = await frameOf(file);
    const made = await cardChain(model).run(frame, image);
    expect(sha256(made.data)).toBe(expected);
    expect(made.channels).toBe(1);
  });

  it('when a PNG film is prepared by name at 224 px, as the recipes and npm run eval do, then it is the one the fused step made', async () => {
    const png = path.join(sharedData, 'images/nih-cxr14-pneumonia-1000/images/00000061_012.png');
    expect(sha256((await preprocessImageFile(png, 'grey-square@1', [224, 224])).data)).toBe('155203dbf10125de65dc84b8f2756b57e6f7b7d8ba5a3b479a23996636450802');
  });

  it('when RG1 is prepared, then the region is the centred square of the frame that heatmaps register onto', async () => {
    const { frame, image } = await frameOf(files.chestJ2k);
    expect((await cardChain('pneumonia-cxr').run(frame, image)).region).toEqual({ left: 0, top: 57, size: 1841 });
  });
});
