import { z } from 'zod';
import { defineStep, expectKind } from '../step.ts';

/**
 * photometric@1 — `to: "monochrome2"`: dense tissue bright. A MONOCHROME1 frame (bone
 * stored as low values) has its display grey mirrored (1 − grey); MONOCHROME2 passes as it is.
 */
export const photometric = defineStep({
  id: 'photometric@1',
  options: z.object({ to: z.literal('monochrome2') }).strict(),
  run(input) {
    const display = expectKind('photometric@1', input, 'display', 'put window@1 before it');
    return { ...display, invert: display.photometric === 'MONOCHROME1' };
  },
});
