/**
 * The HTTP surface's edges: a path that belongs to the API but has no route answers a JSON
 * 404 (a client must never take the viewer's HTML for a FHIR or DICOMweb answer), while the
 * viewer's own deep links still get the app.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';
import { startTestApi, type TestApi } from '../test/support/api-role.ts';

describe('paths without a route', () => {
  let api: TestApi;

  beforeAll(async () => {
    ensureViewerBuilt();
    api = await startTestApi();
  });
  afterAll(async () => api?.stop());

  it.each([
    ['GET', '/v1/nothing'], ['GET', '/dicomweb/studies/1.2.3/nothing'],
    ['POST', '/cds-services/pneumonia'], ['GET', '/cds-services/lantern-patient-view/nothing'], ['GET', '/metrics/nothing'], ['POST', '/openapi.json'], ['GET', '/health/nothing'],
  ])('when %s %s has no route, then it answers a JSON 404 naming it', async (method, path) => {
    const response = await fetch(new URL(path, api.url), { method });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ error: { code: 'NOT_FOUND', message: `no route ${method} ${path}` } });
  });

  // FHIR's own error shape: a FHIR client reads an OperationOutcome, not Lantern's error JSON.
  it.each([['GET', '/fhir'], ['GET', '/fhir/Nothing/1'], ['POST', '/fhir/metadata/x']])('when %s %s has no route, then it answers a FHIR OperationOutcome 404', async (method, path) => {
    const response = await fetch(new URL(path, api.url), { method });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
    expect(await response.json()).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
  });

  it('when a path under one of those prefixes has a route, then the route answers', async () => {
    const response = await fetch(new URL('/health', api.url));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });

  it('when a viewer deep link is opened, then the app is served', async () => {
    const response = await fetch(new URL('/study/1.2.3', api.url));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
  });
});
