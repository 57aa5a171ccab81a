import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/**
 * Checks real answers against the OpenAPI document the server publishes: every JSON answer
 * a test client receives must match the schema its operation declares for that status
 * (or the error schema). So every route test is also a test that the document tells the
 * truth, with an independent JSON Schema validator (ajv), not the zod schemas it came from.
 */

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: Record<string, unknown> }> }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, unknown>;
}

const DOCUMENT_ID = 'lantern-openapi';

export interface ConformanceChecker {
  /** Throws, naming the operation and each mismatch, when `body` is not what the document says `method path` answers with `status`. */
  check(method: string, pathname: string, status: number, body: unknown): void;
}

export function conformanceChecker(document: OpenApiDocument): ConformanceChecker {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  // The components under the document's own layout, so `#/components/schemas/X` refs resolve.
  ajv.addSchema({ $id: DOCUMENT_ID, components: document.components });
  const templates = Object.keys(document.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/[.]/g, '\\.').replace(/\{\w+\}/g, '[^/]+')}$`),
  }));
  const compiled = new Map<string, ValidateFunction>();

  function validatorFor(schema: Record<string, unknown>): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = compiled.get(key);
    if (!validate) {
      const ref = typeof schema.$ref === 'string' ? `${DOCUMENT_ID}${schema.$ref}` : undefined;
      validate = ref ? ajv.getSchema(ref) : ajv.compile(schema);
      if (!validate) throw new Error(`the document's schema ${ref} does not resolve`);
      compiled.set(key, validate);
    }
    return validate;
  }

  return {
    check(method, pathname, status, body) {
      const found = templates.find((t) => t.pattern.test(pathname));
      const operation = found && document.paths[found.template][method.toLowerCase()];
      if (!operation) throw new Error(`${method} ${pathname} answered ${status} but the OpenAPI document has no such operation`);
      const response = operation.responses[String(status)] ?? operation.responses.default;
      const schema = response?.content?.['application/json']?.schema;
      if (!schema) throw new Error(`${method} ${found!.template} answered JSON with ${status}, which the document does not declare`);
      const validate = validatorFor(schema);
      if (!validate(body)) {
        const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
        throw new Error(`${method} ${found!.template} → ${status} does not match the OpenAPI document:\n  ${problems.join('\n  ')}`);
      }
    },
  };
}
