import { z } from 'zod';
import { displayWindowOfStored } from '../../../dicom/pixels.ts';
import { defineStep, expectKind } from '../step.ts';

/**
 * window@1 — modality values to display grey in [0, 1] through the linear VOI function
 * (PS3.3 C.11.2.1.2.1).
 *
 * - `dicom-voi-or-percentile`: the file's Window Center/Width when it has one (width ≥ 1),
 *   else a window over the 0.5th–99.5th percentiles of the frame, as a radiologist's
 *   first view would be (collimator edges and burnt-in labels do not flatten the anatomy),
 *   found from a histogram of the stored values.
 * - `percentile`: always the 0.5th–99.5th percentiles, ignoring the file's window.
 *
 * High values come out bright, whatever the photometric interpretation: follow it with
 * photometric@1 to make dense tissue bright.
 */
export const window = defineStep({
  id: 'window@1',
  options: z.object({ method: z.enum(['dicom-voi-or-percentile', 'percentile']) }).strict(),
  run(input, { method }) {
    const { width, height, stored, table, image } = expectKind('window@1', input, 'values', 'put modality-values@1 before it');
    const attributes = method === 'percentile' ? { ...image, windowCenter: undefined, windowWidth: undefined } : image;
    return {
      kind: 'display', width, height, stored, table,
      window: displayWindowOfStored(attributes, stored, table),
      invert: false,
      photometric: image.photometricInterpretation,
      region: { left: 0, top: 0, width, height },
    };
  },
});
