import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../test/support/api-role.ts';
import { conformanceChecker } from '../test/support/openapi-conformance.ts';

type Operation = { operationId: string; requestBody?: unknown; responses: Record<string, { content?: Record<string, { schema?: unknown }>; headers?: Record<string, unknown> }> };
type Document = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

describe('GET /openapi.json', () => {
  let api: TestApi;
  let document: Document;
  beforeAll(async () => {
    api = await startTestApi();
    const response = await fetch(`${api.url}/openapi.json`);
    expect(response.status).toBe(200);
    document = await response.json() as Document;
  });
  afterAll(() => api?.stop());

  it('when checked by an OpenAPI 3.1 validator, then it is valid', async () => {
    const result = await new Validator().validate(document as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');
  });

  it('then it lists every route of the API, each answer with a schema and each JSON body with its contract schema', () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
    expect(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort()).toEqual(expect.arrayContaining([
      'GET /v1/worklist', 'GET /v1/studies/{studyInstanceUid}', 'POST /v1/findings/{findingId}/review', 'POST /v1/studies/{studyInstanceUid}/reader-findings',
      'GET /v1/agreement', 'GET /v1/agreement.csv', 'GET /v1/audit', 'GET /v1/audit/verify', 'GET /v1/models', 'GET /v1/models/{modelId}',
      'POST /v1/risk/{modelId}', 'POST /v1/triage', 'GET /v1/events', 'POST /dicomweb/studies',
      'GET /dicomweb/studies/{study}/series/{series}/instances/{instance}/frames/{frame}', 'GET /health', 'GET /openapi.json',
    ]));
    for (const { path, op } of operations) {
      // Success is an answer (with content unless 204), or for the sign-in routes a redirect (with its Location).
      const success = Object.entries(op.responses).filter(([status]) => /^[23]/.test(status));
      expect(success.length, op.operationId).toBeGreaterThan(0);
      for (const [status, response] of success) {
        if (status.startsWith('3')) expect(response.headers?.Location, op.operationId).toBeDefined();
        else if (status !== '204') expect(response.content, op.operationId).toBeDefined();
      }
      // Other errors: Lantern's error JSON, or on /fhir the OperationOutcome FHIR clients read.
      if (path === '/fhir' || path.startsWith('/fhir/')) expect(op.responses.default.content?.['application/fhir+json']?.schema, op.operationId).toMatchObject({ required: ['resourceType', 'issue'] });
      else expect(op.responses.default.content?.['application/json']?.schema, op.operationId).toEqual({ $ref: '#/components/schemas/Error' });
    }
    const review = document.paths['/v1/findings/{findingId}/review'].post;
    expect(review.requestBody).toMatchObject({ content: { 'application/json': { schema: { required: ['decision'] } } } });
    expect(document.components.schemas).toHaveProperty('Finding');
    expect(document.components.schemas).toHaveProperty('StudyDetail');
  });

  it('when an answer does not match its declared schema, then the conformance check names the field', () => {
    const checker = conformanceChecker(document as never);
    expect(() => checker.check('GET', '/v1/audit/verify', 200, { intact: true, checked: 3 })).not.toThrow();
    expect(() => checker.check('GET', '/v1/audit/verify', 200, { intact: 'yes', checked: 3 })).toThrow(/\/intact must be boolean/);
    expect(() => checker.check('GET', '/v1/audit/verify', 200, { intact: true, checked: 3, extra: 1 })).toThrow(/additional properties/);
    expect(() => checker.check('GET', '/v1/nowhere', 200, {})).toThrow(/no such operation/);
  });

  it('when a browser opens /docs/api, then the reference page and its script come from this server', async () => {
    const page = await fetch(`${api.url}/docs/api`);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('SwaggerUIBundle');
    const script = await fetch(`${api.url}/docs/api/swagger-ui-bundle.js`);
    expect(script.status).toBe(200);
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    expect((await fetch(`${api.url}/docs/api/elsewhere.js`)).status).toBe(422);
  });
});
