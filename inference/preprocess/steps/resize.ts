import sharp from 'sharp';
import { z } from 'zod';
import { toDisplayGrey } from '../../../dicom/pixels.ts';
import { defineStep, expectKind } from '../step.ts';

const U16_MAX = 65535;

/**
 * resize@1 — the display image's region to the card's `preprocessing.size` with sharp
 * (`kernel`: lanczos3, lanczos2, cubic, mitchell, linear or nearest), giving a one-channel
 * model tensor in [0, 1].
 *
 * The grey is quantised to 16 bits for sharp and read back as code / 65535: 16-bit in and
 * out keeps the precision (sharp only does so when asked for grey16 explicitly), and it is
 * what the shipped models were trained and evaluated on.
 */
export const resize = defineStep({
  id: 'resize@1',
  options: z.object({ kernel: z.enum(['lanczos3', 'lanczos2', 'cubic', 'mitchell', 'linear', 'nearest']) }).strict(),
  async run(input, { kernel }, { size: [width, height] }) {
    const display = expectKind('resize@1', input, 'display', 'resize a windowed image: put window@1 before it');
    const grey = toDisplayGrey(display.values, display.window, display.invert ? 'MONOCHROME1' : 'MONOCHROME2');
    const quantised = new Uint16Array(grey.length);
    for (let i = 0; i < grey.length; i++) quantised[i] = Math.round(Math.min(1, Math.max(0, grey[i])) * U16_MAX);
    const { region } = display;
    const { data } = await sharp(quantised, { raw: { width: display.width, height: display.height, channels: 1 } })
      .extract({ left: region.left, top: region.top, width: region.width, height: region.height })
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
