import { z } from 'zod';
import { modalityTable } from '../../../dicom/pixels.ts';
import { defineStep, expectKind } from '../step.ts';

/**
 * modality-values@1 — stored pixel values to modality units with Rescale Slope and
 * Intercept (PS3.3 C.11.1), as a table over the stored values (at most 65,536 entries) that
 * later steps read through; the pixels are not touched here. Greyscale only: a colour frame is refused with the dicom/
 * layer's UnsupportedTransferSyntaxError (a visible failure, not a retry). No options.
 */
export const modalityValues = defineStep({
  id: 'modality-values@1',
  options: z.object({}).strict(),
  run(input) {
    const { frame, image } = expectKind('modality-values@1', input, 'source', 'it is the first step');
    return { kind: 'values', width: frame.columns, height: frame.rows, stored: frame.pixels, table: modalityTable(frame, image), image };
  },
});
