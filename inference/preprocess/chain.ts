import type { ImageAttributes } from '../../dicom/attributes.ts';
import type { DecodedFrame, DecodeOptions } from '../../dicom/decode/index.ts';
import { namedChains } from './chains.ts';
import type { PreprocessingDeclaration, StepDeclaration } from './declaration.ts';
import type { ModelImage, Rect, StepImage } from './image.ts';
import { PreprocessingError, type Step, type StepContext } from './step.ts';
import { steps as known } from './steps/index.ts';

/** A card's preprocessing, checked and ready to run: decoded frame in, one [C, H, W] batch item out. */
export interface Chain {
  /** `id@version`, recorded in every finding. */
  key: string;
  /** [width, height] of the model's image. */
  size: [number, number];
  /** The steps as run (a named chain's expanded), for docs, reports and the load check. */
  steps: readonly StepDeclaration[];
  /** How the frame given to `run` is to be decoded: the resolution the chain needs (see DECODE_MARGIN). */
  decode: DecodeOptions;
  run(frame: DecodedFrame, image: ImageAttributes): Promise<ModelImage>;
}

/**
 * A reduced decode keeps at least this many decoded pixels per model pixel along each axis.
 * A resolution level is itself a low-pass (the wavelet's LL band, or a box average), which
 * softens detail near its own Nyquist frequency; at 2× the model's image, everything the
 * model can see lies below half of that, where the level is nearly flat (at level 2 a box
 * passes 91% there, the 9/7 LL band 92%, the 5/3 one 114%), and the resize's Lanczos kernel
 * still does the final anti-aliasing as it does from full resolution. A 224-pixel model gets RG1 (1841 × 1955) at
 * level 2, 461 × 489, a sixteenth of the pixels.
 */
export const DECODE_MARGIN = 2;

/**
 * Checks a card's preprocessing and composes its steps: every step is known, its options
 * parse with the step's schema, and a name Lantern knows (chains.ts) is not reused for
 * other steps. Throws PreprocessingError naming the step and what is wrong. Whether the
 * steps fit together and fit the graph is found by running the chain (registry, at load).
 */
export function compileChain(declaration: PreprocessingDeclaration): Chain {
  const key = `${declaration.id}@${declaration.version}`;
  const named = namedChains[key];
  if (!declaration.steps && !named) {
    throw new PreprocessingError(`preprocessing ${key} is unknown; known: ${Object.keys(namedChains).join(', ')} (or declare "steps")`);
  }
  if (declaration.steps && !named && Object.keys(namedChains).some((n) => n.startsWith(`${declaration.id}@`))) {
    // A name Lantern knows means those steps wherever a finding cites it; another version of it cannot be declared ad hoc.
    throw new PreprocessingError(`preprocessing ${key} is unknown; known: ${Object.keys(namedChains).join(', ')} (a chain of your own needs an id of its own)`);
  }
  const compiled = compileSteps(declaration.steps ?? named!);
  if (named && declaration.steps && canonical(compiled) !== canonical(compileSteps(named))) {
    throw new PreprocessingError(`preprocessing ${key} is a chain Lantern knows by name, and the card's steps differ from it (${JSON.stringify(named)}); declare other steps under an id of your own`);
  }
  const context: StepContext = { size: declaration.size };
  // The chain keeps a square of side min(rows, columns) and resizes it to the model's size, so
  // both axes need the margin over the model's larger side.
  const side = DECODE_MARGIN * Math.max(...declaration.size);
  return {
    key,
    size: declaration.size,
    steps: declaration.steps ?? named!,
    decode: declaration.decode === 'full' ? {} : { atLeast: { columns: side, rows: side } },
    async run(frame, image) {
      let current: StepImage = { kind: 'source', frame, image };
      for (const step of compiled) current = await step.step.run(current, step.options, context);
      if (current.kind !== 'tensor') throw new PreprocessingError(`preprocessing ${key} ends with ${current.kind} pixels, not a model tensor; end it with resize@1, channels@1 and normalise@1`);
      const { channels, width, height, data, region } = current;
      if (region.width !== region.height) {
        throw new PreprocessingError(`preprocessing ${key} keeps a ${region.width}×${region.height} region; heatmaps are registered onto a square, so crop it (crop@1 centre-square)`);
      }
      return { channels, width, height, dtype: 'float32', data, region: inOriginalPixels(region, frame.scale, image) };
    },
  };
}

/**
 * The square the model saw, in the original image's pixels: the steps' region is in the decoded
 * frame's, each of whose pixels covers `scale` original ones along each axis. The reduced
 * frame's last column and row are partial blocks, so the square is clipped to the image.
 */
function inOriginalPixels(region: Rect, scale: number, image: ImageAttributes): ModelImage['region'] {
  const left = region.left * scale;
  const top = region.top * scale;
  return { left, top, size: Math.min(region.width * scale, image.columns - left, image.rows - top) };
}

function compileSteps(declared: readonly StepDeclaration[]): { id: string; step: Step<unknown>; options: unknown }[] {
  return declared.map(({ step: id, ...rest }, i) => {
    const step = known.get(id);
    const where = `preprocessing step ${i + 1} (${id})`;
    if (!step) throw new PreprocessingError(`${where} is unknown; known steps: ${[...known.keys()].join(', ')}`);
    const options = step.options.safeParse(rest);
    if (!options.success) {
      throw new PreprocessingError(`${where}: ${options.error.issues.map((issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`).join('; ')}`);
    }
    return { id, step, options: options.data };
  });
}

/** Steps and their parsed options (defaults filled in) as one string, key order aside. */
const canonical = (steps: { id: string; options: unknown }[]) => JSON.stringify(steps.map(({ id, options }) => [id, options]), (_key, value) => (
  value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))) : value));
