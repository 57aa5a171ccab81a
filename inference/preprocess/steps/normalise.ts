import { z } from 'zod';
import { PreprocessingError, defineStep, expectKind } from '../step.ts';

const scale = z.object({ scale: z.tuple([z.number(), z.number()]) }).strict();
const meanStd = z.object({ mean: z.array(z.number()).min(1), std: z.array(z.number().positive()).min(1) }).strict();

/**
 * normalise@1 — the last step: a [0, 1] tensor to the values the graph was trained on.
 *
 * - `{ "scale": [low, high] }`: low + x × (high − low); `[0, 1]` leaves the tensor as it is.
 * - `{ "mean": [...], "std": [...] }`: (x − mean[c]) / std[c], one entry per channel, e.g.
 *   ImageNet's mean [0.485, 0.456, 0.406] and std [0.229, 0.224, 0.225].
 */
export const normalise = defineStep({
  id: 'normalise@1',
  options: z.union([scale, meanStd]),
  run(input, options) {
    const tensor = expectKind('normalise@1', input, 'tensor', 'put resize@1 (and channels@1) before it');
    const data = new Float32Array(tensor.data.length);
    if ('scale' in options) {
      const [low, high] = options.scale;
      if (low === 0 && high === 1) return tensor;
      for (let i = 0; i < data.length; i++) data[i] = low + tensor.data[i] * (high - low);
      return { ...tensor, data };
    }
    const { mean, std } = options;
    if (mean.length !== tensor.channels || std.length !== tensor.channels) {
      throw new PreprocessingError(`normalise@1 has ${mean.length} mean(s) and ${std.length} std(s) for a ${tensor.channels}-channel tensor; give one per channel`);
    }
    const plane = tensor.width * tensor.height;
    for (let c = 0; c < tensor.channels; c++) {
      for (let i = c * plane; i < (c + 1) * plane; i++) data[i] = (tensor.data[i] - mean[c]) / std[c];
    }
    return { ...tensor, data };
  },
});
