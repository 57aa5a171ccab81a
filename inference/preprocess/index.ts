/**
 * Preprocessing as declared steps: a read-assist card names a chain of small typed steps
 * (modality-values → window → photometric → crop → resize → channels → normalise), each
 * a pure function in steps/ with a zod schema for its options. The registry compiles the
 * card's chain and, at load, runs it on a synthetic frame to check that what it makes fits
 * the graph's input. docs/models.md says how a card declares one.
 */
import { compileChain } from './chain.ts';
import { namedChains } from './chains.ts';

export { compileChain, type Chain } from './chain.ts';
export { namedChains } from './chains.ts';
export { preprocessingDeclaration, stepDeclaration, type PreprocessingDeclaration, type StepDeclaration } from './declaration.ts';
export { chainMismatch, syntheticFrame, type DeclaredInput, type GraphInput } from './fit.ts';
export type { ModelImage } from './image.ts';
export { PreprocessingError } from './step.ts';
export { steps } from './steps/index.ts';

/** A chain known by name, at a size of the caller's choosing: for recipes that prepare one set of films at several sizes. */
export function namedChain(key: string, size: [number, number]) {
  const at = key.lastIndexOf('@');
  return compileChain({ id: key.slice(0, at), version: key.slice(at + 1), size });
}
