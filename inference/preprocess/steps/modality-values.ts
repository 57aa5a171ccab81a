import { z } from 'zod';
import { toModalityValues } from '../../../dicom/pixels.ts';
import { defineStep, expectKind } from '../step.ts';

/**
 * modality-values@1 — stored pixel values to modality units with Rescale Slope and
 * Intercept (PS3.3 C.11.1). Greyscale only: a colour frame is refused with the dicom/
 * layer's UnsupportedTransferSyntaxError (a visible failure, not a retry). No options.
 */
export const modalityValues = defineStep({
  id: 'modality-values@1',
  options: z.object({}).strict(),
  run(input) {
    const { frame, image } = expectKind('modality-values@1', input, 'source', 'it is the first step');
    return { kind: 'values', width: frame.columns, height: frame.rows, values: toModalityValues(frame, image), image };
  },
});
