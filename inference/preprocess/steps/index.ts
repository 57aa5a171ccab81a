import type { Step } from '../step.ts';
import { channels } from './channels.ts';
import { crop } from './crop.ts';
import { modalityValues } from './modality-values.ts';
import { normalise } from './normalise.ts';
import { photometric } from './photometric.ts';
import { resize } from './resize.ts';
import { window } from './window.ts';

/** Every step a card may name, by `id@version`. Adding a step is adding a file and a row here. */
export const steps: ReadonlyMap<string, Step<any>> = new Map([modalityValues, window, photometric, crop, resize, channels, normalise].map((s) => [s.id, s as Step<any>]));
