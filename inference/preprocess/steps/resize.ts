import sharp from 'sharp';
import { z } from 'zod';
import { displayTable } from '../../../dicom/pixels.ts';
import { defineStep, expectKind } from '../step.ts';
import type { DisplayImage } from '../image.ts';

const U16_MAX = 65535;

/**
 * resize@1 — the display image's region to the card's `preprocessing.size` with sharp
 * (`kernel`: lanczos3, lanczos2, cubic, mitchell, linear or nearest), giving a one-channel
 * model tensor in [0, 1].
 *
 * The grey is quantised to 16 bits for sharp and read back as code / 65535: 16-bit in and
 * out keeps the precision (sharp only does so when asked for grey16 explicitly), and it is
 * what the shipped models were trained and evaluated on. The window, photometric and
 * quantisation are one table over the stored values, applied to the region only; the one
 * float pass is over the model-size result.
 */
export const resize = defineStep({
  id: 'resize@1',
  options: z.object({ kernel: z.enum(['lanczos3', 'lanczos2', 'cubic', 'mitchell', 'linear', 'nearest']) }).strict(),
  async run(input, { kernel }, { size: [width, height] }) {
    const display = expectKind('resize@1', input, 'display', 'resize a windowed image: put window@1 before it');
    const { region } = display;
    const { data } = await sharp(displayCodes(display), { raw: { width: region.width, height: region.height, channels: 1 } })
      .resize(width, height, { kernel, fit: 'fill' })
      .toColourspace('grey16')
      .raw({ depth: 'ushort' })
      .toBuffer({ resolveWithObject: true });
    const resized = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
    const out = new Float32Array(width * height);
    for (let i = 0; i < out.length; i++) out[i] = resized[i] / U16_MAX;
    return { kind: 'tensor', channels: 1, width, height, data: out, region };
  },
});

/** The region's 16-bit display codes, row by row through the display table. */
function displayCodes({ stored, table, window, invert, width, region }: DisplayImage): Uint16Array {
  const codes = displayTable(table, window, invert);
  const out = new Uint16Array(region.width * region.height);
  for (let y = 0; y < region.height; y++) {
    const from = (region.top + y) * width + region.left;
    const row = y * region.width;
    for (let x = 0; x < region.width; x++) out[row + x] = codes[stored[from + x] + table.offset];
  }
  return out;
}
