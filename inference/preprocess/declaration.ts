import { z } from 'zod';

/** One step as a card declares it: `{ "step": "resize@1", "kernel": "lanczos3" }` — the id, then the step's own options. */
export const stepDeclaration = z.object({
  step: z.string().regex(/^[a-z0-9][a-z0-9-]*@\d+$/, 'a step id@version such as resize@1'),
}).catchall(z.unknown());

/**
 * A read-assist card's `preprocessing`: the chain's name (`id@version`, recorded in every
 * finding), the model's image size [width, height], and the steps in order. `steps` may be
 * left out only for a chain Lantern knows by name (chains.ts).
 */
export const preprocessingDeclaration = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  version: z.string().min(1),
  size: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  steps: z.array(stepDeclaration).min(1).optional(),
  /**
   * `reduced` (the default): the frame is decoded at the coarsest resolution level that still
   * gives the model's image DECODE_MARGIN times its pixels along each axis (chain.ts); `full`:
   * always full resolution, for a model whose metrics hold only on full-resolution decodes.
   */
  decode: z.enum(['reduced', 'full']).optional(),
}).strict();

export type StepDeclaration = z.infer<typeof stepDeclaration>;
export type PreprocessingDeclaration = z.infer<typeof preprocessingDeclaration>;
