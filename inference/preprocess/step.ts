import type { z } from 'zod';
import type { StepImage } from './image.ts';

/** What every step may read besides its own options: the model's image size, `preprocessing.size` on the card. */
export interface StepContext {
  /** [width, height] of the model's input image. */
  size: [number, number];
}

/**
 * One preprocessing step: a pure function from one image to the next, with its options
 * declared as a zod schema. A card names it as `{ "step": "<id>", ...options }`; the id
 * carries a version (`resize@1`), and a step whose output changes gets a new version
 * beside the old one, so a finding's provenance keeps meaning what it meant.
 */
export interface Step<Options = unknown> {
  id: string;
  options: z.ZodType<Options>;
  run(input: StepImage, options: Options, context: StepContext): StepImage | Promise<StepImage>;
}

export const defineStep = <Options>(step: Step<Options>): Step<Options> => step;

/** A chain that cannot run as declared (options, order, channel counts): a contract error at load, a bug at run time. */
export class PreprocessingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreprocessingError';
  }
}

/** Refuses an input of the wrong kind, naming what the step needs and which step should come first. */
export function expectKind<K extends StepImage['kind']>(step: string, input: StepImage, kind: K, before: string): Extract<StepImage, { kind: K }> {
  if (input.kind !== kind) throw new PreprocessingError(`${step} needs ${describe[kind]} but is given ${describe[input.kind]}; ${before}`);
  return input as Extract<StepImage, { kind: K }>;
}

const describe: Record<StepImage['kind'], string> = {
  source: 'the decoded frame',
  values: 'modality values',
  display: 'a windowed display image',
  tensor: 'a model-size tensor',
};
