import { InputValidationError } from '../../inference/features.ts';

/** The fields a call refuses by name (InputValidationError), in its order; throws if the call answers or fails otherwise. */
export function refusedFields(call: () => unknown): string[] {
  try {
    call();
  } catch (error) {
    if (error instanceof InputValidationError) return error.issues.map((i) => i.field);
    throw error;
  }
  throw new Error('answered');
}
