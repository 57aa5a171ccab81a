import { z } from 'zod';
import { PreprocessingError, defineStep, expectKind } from '../step.ts';

/**
 * channels@1 — `count: 1 | 3`: a one-channel tensor as it is, or replicated into three
 * identical planes (`method: "replicate"`, the default), which is how greyscale radiographs
 * are fed to networks pretrained on RGB photographs.
 */
export const channels = defineStep({
  id: 'channels@1',
  options: z.object({ count: z.union([z.literal(1), z.literal(3)]), method: z.literal('replicate').default('replicate') }).strict(),
  run(input, { count }) {
    const tensor = expectKind('channels@1', input, 'tensor', 'put resize@1 before it');
    if (tensor.channels === count) return tensor;
    if (tensor.channels !== 1) throw new PreprocessingError(`channels@1 replicates one channel; it is given ${tensor.channels}`);
    const plane = tensor.width * tensor.height;
    const data = new Float32Array(plane * count);
    for (let c = 0; c < count; c++) data.set(tensor.data, c * plane);
    return { ...tensor, channels: count, data };
  },
});
