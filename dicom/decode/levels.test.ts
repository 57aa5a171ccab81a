/**
 * A reduced JPEG 2000 or HTJ2K decode (decodeFrame's `atLeast`) is a level of the codestream's
 * wavelet pyramid, and the very pixels Debian's native OpenJPEG (`opj_decompress -r`) makes at
 * that level: for the real chest films, an odd-sized image, a tiled codestream one of whose
 * tiles has fewer levels, and HTJ2K frames made from RG1's pixels with the OpenJPH encoder the
 * decoder's package ships.
 */
import fs from 'node:fs';
import dicomParser from 'dicom-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCr } from '../../test/support/dicom-builder.ts';
import { htj2kEncode, opjCompress, opjDecompress, type PnmImage } from '../../test/support/jpeg2000.ts';
import { files, sharedData } from '../../test/support/shared-data.ts';
import { parseDicom, requirePixelData, type DicomInstance } from '../parse.ts';
import { j2kReducibleLevels } from './codestream.ts';
import { encapsulatedFrame } from './frames.ts';
import { decodeFrame, type DecodedFrame } from './index.ts';
import { htj2k } from './jpeg2000.ts';
import { reduceFrame, sizeAtLevel } from './reduce.ts';
import { shapeFrame } from './shape.ts';

const parseFile = (file: string) => parseDicom(new Uint8Array(fs.readFileSync(file)));
const codestreamOf = (instance: DicomInstance) => encapsulatedFrame(instance, instance.dataSet.elements.x7fe00010, 0);
/** The `atLeast` whose coarsest level is `level`: that level's own size. */
const decodeAtLevel = (instance: DicomInstance, level: number) => decodeFrame(instance, 0, { atLeast: sizeAtLevel(requirePixelData(instance), level) });

/** Largest difference between our frame and the native decoder's image, after checking they are the same shape. */
function maxDifference(frame: DecodedFrame, native: PnmImage): number {
  expect([frame.columns, frame.rows, frame.samplesPerPixel]).toEqual([native.width, native.height, native.channels]);
  let max = 0;
  for (let i = 0; i < native.samples.length; i++) max = Math.max(max, Math.abs(frame.pixels[i] - native.samples[i]));
  return max;
}

/** RG1's stored values cropped to an odd-sized rectangle: a lossless source no public file has. */
async function oddCrop(columns: number, rows: number): Promise<PnmImage> {
  const full = await decodeFrame(parseFile(files.chestJ2k), 0);
  const samples = new Uint16Array(columns * rows);
  for (let y = 0; y < rows; y++) samples.set(full.pixels.subarray(y * full.columns, y * full.columns + columns), y * columns);
  return { width: columns, height: rows, channels: 1, maxValue: 2 ** full.bitsStored - 1, samples };
}

function crOf(transferSyntaxUid: string, image: PnmImage, codestream: Uint8Array, n: number): DicomInstance {
  const grey = { rows: image.height, columns: image.width, bitsAllocated: 16, bitsStored: 15, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME1' };
  return parseDicom(buildCr(`1.2.826.0.1.3680043.10.1.16.${n}`, transferSyntaxUid, grey, [codestream]));
}

/** A codestream's main-header marker segments (by marker) and its tile-parts (SOT up to the next SOT or EOC), as opj_compress writes them. */
function codestreamParts(codestream: Uint8Array) {
  const view = new DataView(codestream.buffer, codestream.byteOffset, codestream.byteLength);
  const segments = new Map<number, Uint8Array>();
  let position = 2;
  for (; view.getUint16(position) !== 0xff90; position += 2 + view.getUint16(position + 2)) {
    segments.set(view.getUint16(position), codestream.subarray(position, position + 2 + view.getUint16(position + 2)));
  }
  const mainHeader = codestream.subarray(0, position);
  const tileParts: Uint8Array[] = [];
  for (; view.getUint16(position) === 0xff90; position += view.getUint32(position + 6)) tileParts.push(codestream.subarray(position, position + view.getUint32(position + 6)));
  return { mainHeader, segments, tileParts };
}

/**
 * `codestream` with tile `tile` replaced by the same tile of `lowered` (the same image and tiling,
 * fewer decomposition levels), whose tile-part header then declares its own COD and QCD: what
 * another encoder may write, and opj_compress never does ("COD and QCD never appear in the tile_header").
 */
function withTileOverride(codestream: Uint8Array, lowered: Uint8Array, tile: number): Uint8Array {
  const { mainHeader, tileParts } = codestreamParts(codestream);
  const fewer = codestreamParts(lowered);
  const override = Buffer.concat([fewer.segments.get(0xff52)!, fewer.segments.get(0xff5c)!]);
  const sot = fewer.tileParts[tile].subarray(0, 12);
  const tilePart = Buffer.concat([sot, override, fewer.tileParts[tile].subarray(12)]);
  tilePart.writeUInt32BE(tilePart.length, 6); // Psot
  return new Uint8Array(Buffer.concat([mainHeader, ...tileParts.map((part, i) => (i === tile ? tilePart : part)), Buffer.from([0xff, 0xd9])]));
}

describe('JPEG 2000 at a reduced resolution, against opj_decompress -r', () => {
  // OpenJPEG's WebAssembly build and Debian's native one run the same code, float 9/7 wavelet
  // included: every level must match exactly, lossy or not.
  it.each([
    ['RG1 (15-bit, 9/7, 1841 × 1955)', files.chestJ2k, [1, 2, 3, 5]],
    ['RG3 (10-bit, 9/7, 1760 × 1760)', files.crJ2k1760, [1, 2, 3]],
    ['RG3 lossless (10-bit, 5/3)', `${sharedData}/dicom/pydicom-data/files/RG3_J2KR.dcm`, [1, 3]],
  ])('when %s is decoded at level r, then it is native OpenJPEG\'s level r pixel for pixel', async (_, file, levels) => {
    const instance = parseFile(file);
    const { rows, columns } = requirePixelData(instance);
    for (const level of levels) {
      const frame = await decodeAtLevel(instance, level);
      expect(frame.scale).toBe(2 ** level);
      expect([frame.columns, frame.rows]).toEqual([Math.ceil(columns / 2 ** level), Math.ceil(rows / 2 ** level)]);
      expect(maxDifference(frame, opjDecompress(codestreamOf(instance), level))).toBe(0);
    }
  });

  it('when an odd-sized lossless image (1001 × 777) is decoded at each level, then each is native OpenJPEG\'s level, edges included', async () => {
    const image = await oddCrop(1001, 777);
    const instance = crOf('1.2.840.10008.1.2.4.90', image, opjCompress(image), 1);
    expect(maxDifference(await decodeFrame(instance, 0), image)).toBe(0);
    for (const level of [1, 2, 3, 4, 5]) {
      const frame = await decodeAtLevel(instance, level);
      expect([frame.columns, frame.rows]).toEqual([Math.ceil(1001 / 2 ** level), Math.ceil(777 / 2 ** level)]);
      expect(maxDifference(frame, opjDecompress(codestreamOf(instance), level))).toBe(0);
    }
  });

  it('when the caller needs less than the codestream\'s coarsest level, then the rest is box-averaged from that level', async () => {
    const instance = parseFile(files.chestJ2k);
    const coarsest = await decodeAtLevel(instance, 5);
    const tiny = await decodeFrame(instance, 0, { atLeast: { columns: 15, rows: 16 } });
    expect([tiny.columns, tiny.rows, tiny.scale]).toEqual([Math.ceil(1841 / 128), Math.ceil(1955 / 128), 128]);
    // Level 7 pixel (0, 0) is the mean of the 4 × 4 level-5 pixels it covers.
    let sum = 0;
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) sum += coarsest.pixels[y * coarsest.columns + x];
    expect(tiny.pixels[0]).toBe(Math.round(sum / 16));
  });

  it('when the codestream has only 2 decomposition levels (opj_compress -n 3), then level 2 comes from the pyramid and level 4 box-averages it', async () => {
    const image = await oddCrop(301, 203);
    const codestream = opjCompress(image, ['-n', '3']);
    expect(j2kReducibleLevels(codestream)).toBe(2);
    const instance = crOf('1.2.840.10008.1.2.4.90', image, codestream, 4);
    const level2 = await decodeAtLevel(instance, 2);
    expect(maxDifference(level2, opjDecompress(codestream, 2))).toBe(0);
    const level4 = await decodeAtLevel(instance, 4);
    expect([level4.columns, level4.rows, level4.scale]).toEqual([19, 13, 16]);
    // Pixel (18, 12) is the last, partial block: level 2 columns 72–75, rows 48–50.
    let sum = 0;
    for (let y = 48; y < 51; y++) for (let x = 72; x < 76; x++) sum += level2.pixels[y * level2.columns + x];
    expect(level4.pixels[12 * 19 + 18]).toBe(Math.round(sum / 12));
  });

  it('when one tile\'s tile-part header lowers the decomposition levels (COD 2 in tile 4, the main header 5), then the coarsest level every tile has comes from the pyramid and coarser ones box-average it', async () => {
    const image = await oddCrop(301, 203);
    const codestream = withTileOverride(opjCompress(image, ['-t', '128,128']), opjCompress(image, ['-t', '128,128', '-n', '3']), 4);
    expect(j2kReducibleLevels(codestream)).toBe(2);
    // The native decoder refuses to drop a level tile 4 does not have: the override is really there.
    expect(() => opjDecompress(codestream, 3)).toThrow();
    const instance = crOf('1.2.840.10008.1.2.4.90', image, codestream, 6);
    expect(maxDifference(await decodeFrame(instance, 0), image)).toBe(0);
    const level2 = await decodeAtLevel(instance, 2);
    expect(level2.scale).toBe(4);
    expect(maxDifference(level2, opjDecompress(codestream, 2))).toBe(0);
    const level3 = await decodeAtLevel(instance, 3);
    expect([level3.columns, level3.rows, level3.scale]).toEqual([38, 26, 8]);
    // Pixel (37, 25) is the last, partial block: level 2 columns 74–75, row 50.
    expect(level3.pixels[25 * 38 + 37]).toBe(Math.round((level2.pixels[50 * 76 + 74] + level2.pixels[50 * 76 + 75]) / 2));
  });

  it('when the last tile-part runs to EOC (Psot 0), then its header is still read; when a Psot leads off the tile-parts, then no level is taken from the pyramid', async () => {
    const image = await oddCrop(301, 203);
    const codestream = withTileOverride(opjCompress(image, ['-t', '128,128']), opjCompress(image, ['-t', '128,128', '-n', '3']), 5);
    const { mainHeader, tileParts } = codestreamParts(codestream);
    const lastTilePart = codestream.length - 2 - tileParts[5].length;
    const toEoc = codestream.slice();
    new DataView(toEoc.buffer).setUint32(lastTilePart + 6, 0);
    expect([j2kReducibleLevels(codestream), j2kReducibleLevels(toEoc)]).toEqual([2, 2]);
    expect(maxDifference(await decodeAtLevel(crOf('1.2.840.10008.1.2.4.90', image, toEoc, 7), 2), opjDecompress(toEoc, 2))).toBe(0);
    const astray = codestream.slice();
    new DataView(astray.buffer).setUint32(mainHeader.length + 6, 1000);
    expect(j2kReducibleLevels(astray)).toBe(0);
  });

  it('when the image area is offset from the origin (opj_compress -d), then no level is taken from the pyramid and the box average of the full decode is returned', async () => {
    const image = await oddCrop(301, 203);
    const codestream = opjCompress(image, ['-d', '3,5']);
    expect(j2kReducibleLevels(codestream)).toBe(0);
    const instance = crOf('1.2.840.10008.1.2.4.90', image, codestream, 5);
    const full = await decodeFrame(instance, 0);
    expect(maxDifference(full, image)).toBe(0);
    const reduced = await decodeAtLevel(instance, 1);
    expect([reduced.columns, reduced.rows, reduced.scale]).toEqual([151, 102, 2]);
    expect(reduced.pixels[0]).toBe(Math.round((full.pixels[0] + full.pixels[1] + full.pixels[301] + full.pixels[302]) / 4));
  });

  it('when the codestream is unsigned and Pixel Representation signed (pydicom\'s J2K_pixelrep_mismatch.dcm), then a reduced frame is the box average of the full decode, not the pyramid\'s wrapped values', async () => {
    const instance = parseFile(`${sharedData}/dicom/pydicom-testfiles/test_files/J2K_pixelrep_mismatch.dcm`);
    const full = await decodeFrame(instance, 0);
    for (const level of [2, 3]) {
      const reduced = await decodeAtLevel(instance, level);
      expect(reduced.scale).toBe(2 ** level);
      expect(Array.from(reduced.pixels)).toEqual(Array.from(reduceFrame(full, level).pixels));
    }
  });

  it('when atLeast is larger than the image, then the frame is full resolution', async () => {
    const frame = await decodeFrame(parseFile(files.crJ2k1760), 0, { atLeast: { columns: 4000, rows: 10 } });
    expect([frame.columns, frame.rows, frame.scale]).toEqual([1760, 1760, 1]);
  });
});

describe('HTJ2K (.4.201–.203), full and reduced, against opj_decompress', () => {
  let rg1: PnmImage;
  let odd: PnmImage;
  beforeAll(async () => {
    const full = await decodeFrame(parseFile(files.chestJ2k), 0);
    rg1 = { width: full.columns, height: full.rows, channels: 1, maxValue: 2 ** 15 - 1, samples: full.pixels as Uint16Array };
    odd = await oddCrop(1001, 777);
  });

  it.each([
    ['lossless (.4.201)', '1.2.840.10008.1.2.4.201', { lossless: true, decompositions: 5 }],
    ['lossless RPCL (.4.202)', '1.2.840.10008.1.2.4.202', { lossless: true, decompositions: 5, progressionOrder: 2 }],
  ])('when RG1\'s pixels are HTJ2K %s, then the full decode is those pixels and each level is native OpenJPEG\'s', async (_, syntax, encoding) => {
    const codestream = await htj2kEncode(rg1, 15, encoding);
    const instance = crOf(syntax, rg1, codestream, 2);
    expect(maxDifference(await decodeFrame(instance, 0), rg1)).toBe(0);
    for (const level of [2, 3]) {
      const frame = await decodeAtLevel(instance, level);
      expect(frame.scale).toBe(2 ** level);
      expect(maxDifference(frame, opjDecompress(codestream, level))).toBe(0);
    }
  });

  it('when an odd-sized image is HTJ2K lossy (.4.203), then full and reduced decodes are native OpenJPEG\'s within one unit', async () => {
    const codestream = await htj2kEncode(odd, 15, { lossless: false, quantizationStep: 0.0001, decompositions: 5 });
    const instance = crOf('1.2.840.10008.1.2.4.203', odd, codestream, 3);
    // OpenJPH and OpenJPEG are two implementations of the float 9/7 wavelet: they round up to one unit apart (1 is seen).
    for (const level of [0, 1, 3, 5]) {
      const frame = await decodeAtLevel(instance, level);
      expect([frame.columns, frame.rows]).toEqual([Math.ceil(1001 / 2 ** level), Math.ceil(777 / 2 ** level)]);
      expect(maxDifference(frame, opjDecompress(codestream, level))).toBeLessThanOrEqual(1);
    }
  });

  it.each([
    ['lossless', 'HTJ2KLossless_08_RGB.dcm', 0],
    ['lossy', 'HTJ2K_08_RGB.dcm', 1], // two float 9/7 implementations: 1 unit apart is seen
  ])('when a real %s RGB HTJ2K frame (pydicom-data) is decoded full and at level 2, then it is native OpenJPEG\'s', async (_, name, tolerance) => {
    // These files lack a Study Instance UID, which parseDicom refuses: their frame goes to the decoder itself.
    const dataSet = dicomParser.parseDicom(new Uint8Array(fs.readFileSync(`${sharedData}/dicom/pydicom-data/files/${name}`)));
    const pixelData = dataSet.elements.x7fe00010;
    const bytes = dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, pixelData, 0, pixelData.fragments!.length);
    const image = { rows: 480, columns: 640, samplesPerPixel: 3, photometricInterpretation: 'RGB', bitsAllocated: 8, bitsStored: 8, highBit: 7, pixelRepresentation: 0 as const, planarConfiguration: 0 as const, numberOfFrames: 1, rescaleSlope: 1, rescaleIntercept: 0 };
    for (const level of [0, 2]) {
      const frame = shapeFrame(await htj2k.decode({ bytes, image, maxLevel: level }), image);
      expect(maxDifference(frame, opjDecompress(bytes, level))).toBeLessThanOrEqual(tolerance);
    }
  });
});
