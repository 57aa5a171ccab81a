import type { DecodedFrame } from './index.ts';

/** The smallest image a caller needs (decodeFrame's `atLeast`). */
export interface FrameSize {
  columns: number;
  rows: number;
}

/** A frame's size at resolution level `level`: each pixel covers a 2^level block, the last ones partial. */
export function sizeAtLevel(size: FrameSize, level: number): FrameSize {
  const scale = 2 ** level;
  return { columns: Math.ceil(size.columns / scale), rows: Math.ceil(size.rows / scale) };
}

/**
 * The coarsest resolution level whose size is still at least `atLeast` in both axes (0, full
 * resolution, when `atLeast` is absent or larger than the frame).
 */
export function coarsestLevel(full: FrameSize, atLeast: FrameSize | undefined): number {
  if (!atLeast) return 0;
  if (!(atLeast.columns > 0 && atLeast.rows > 0)) {
    throw new RangeError(`atLeast must be a positive size; got ${atLeast.columns}x${atLeast.rows}`);
  }
  let level = 0;
  while (Math.max(full.columns, full.rows) > 2 ** level) {
    const next = sizeAtLevel(full, level + 1);
    if (next.columns < atLeast.columns || next.rows < atLeast.rows) break;
    level++;
  }
  return level;
}

/**
 * Drops `levels` more resolution levels by averaging each 2^levels × 2^levels block of stored
 * values (per sample; blocks at the right and bottom edges average the pixels they have),
 * rounded half up into the same typed array: the meaning of a JPEG 2000 level, for decoders
 * without a pyramid. PALETTE COLOR is left at its resolution: its values are indices into a
 * table, and the mean of two indices is a third colour.
 */
export function reduceFrame(frame: DecodedFrame, levels: number): DecodedFrame {
  if (levels <= 0 || frame.photometricInterpretation === 'PALETTE COLOR') return frame;
  const { columns, rows } = sizeAtLevel(frame, levels);
  const block = 2 ** levels;
  const samples = frame.samplesPerPixel;
  const source = frame.pixels;
  const pixels = new (source.constructor as new (length: number) => DecodedFrame['pixels'])(columns * rows * samples);
  const sums = new Float64Array(columns * samples);
  for (let row = 0; row < rows; row++) {
    sums.fill(0);
    const firstSourceRow = row * block;
    const sourceRows = Math.min(block, frame.rows - firstSourceRow);
    for (let y = firstSourceRow; y < firstSourceRow + sourceRows; y++) {
      const start = y * frame.columns * samples;
      for (let x = 0; x < frame.columns; x++) {
        const target = (x >> levels) * samples;
        for (let s = 0; s < samples; s++) sums[target + s] += source[start + x * samples + s];
      }
    }
    for (let column = 0; column < columns; column++) {
      const count = sourceRows * Math.min(block, frame.columns - column * block);
      for (let s = 0; s < samples; s++) {
        pixels[(row * columns + column) * samples + s] = Math.floor(sums[column * samples + s] / count + 0.5);
      }
    }
  }
  return { ...frame, columns, rows, scale: frame.scale * block, pixels };
}
