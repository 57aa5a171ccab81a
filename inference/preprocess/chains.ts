import type { StepDeclaration } from './declaration.ts';

/**
 * Chains known by name, so that a name in a finding's provenance means one sequence of
 * steps everywhere. A card may name one without declaring its steps; a card that declares
 * steps under one of these names must declare exactly these. A new chain needs no entry
 * here: its card declares the steps under a name of its own.
 */
export const namedChains: Readonly<Record<string, readonly StepDeclaration[]>> = {
  /**
   * What PneumoniaMNIST's images are, and what the three shipped chest models were trained
   * and evaluated on: the radiologist's first view (the file's VOI window, else the
   * 0.5–99.5th percentiles), bone bright, centre square, lanczos3, one channel in [0, 1].
   * Since issue 16 it runs as tables over the stored values, on the crop region only; its
   * tensors are the float path's bit for bit (grey-square.test.ts checks them against that
   * oracle), so the name did not change. A decode at a reduced level (chain.ts) is another
   * input to the same steps, not another chain.
   */
  'grey-square@1': [
    { step: 'modality-values@1' },
    { step: 'window@1', method: 'dicom-voi-or-percentile' },
    { step: 'photometric@1', to: 'monochrome2' },
    { step: 'crop@1', method: 'centre-square' },
    { step: 'resize@1', kernel: 'lanczos3' },
    { step: 'channels@1', count: 1 },
    { step: 'normalise@1', scale: [0, 1] },
  ],
};
