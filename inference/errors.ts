/** A model folder whose card, weights or graph break the contract: Lantern refuses to start with it. */
export class ModelContractError extends Error {
  readonly code = 'MODEL_CONTRACT';
  constructor(readonly modelDir: string, problem: string) {
    super(`model ${modelDir}: ${problem}`);
  }
}
