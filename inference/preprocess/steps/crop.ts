import { z } from 'zod';
import { defineStep, expectKind } from '../step.ts';

/**
 * crop@1 — `method: "centre-square"`: the largest centred square (odd leftovers go to the
 * right and bottom). Narrows the region the next spatial step reads; copies nothing. The
 * region is what a heatmap is registered back onto.
 */
export const crop = defineStep({
  id: 'crop@1',
  options: z.object({ method: z.literal('centre-square') }).strict(),
  run(input) {
    const display = expectKind('crop@1', input, 'display', 'crop a windowed image: put window@1 before it');
    const { left, top, width, height } = display.region;
    const size = Math.min(width, height);
    return { ...display, region: { left: left + Math.floor((width - size) / 2), top: top + Math.floor((height - size) / 2), width: size, height: size } };
  },
});
