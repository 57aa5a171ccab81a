/**
 * The probes of issue 12 against the real API role over a real socket (api/security.ts as
 * createApp registers it): a DNS-rebinding page's foreign Host, another site's text/plain
 * "simple" POST, and the headers on the viewer and on an API answer.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureViewerBuilt } from '../scripts/ensure-deps.mjs';
import { startTestApi, type TestApi } from '../test/support/api-role.ts';

/** node:http, because fetch will not send a Host header of the caller's choosing. */
function request(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request(new URL(path, base), { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('the API role\'s deployment defences, probed over HTTP', () => {
  let api: TestApi;

  beforeAll(async () => {
    ensureViewerBuilt();
    api = await startTestApi();
  }, 120_000);
  afterAll(async () => api?.stop());

  it('when a page on a rebound name asks for the worklist, then it gets 421 and no patient data', async () => {
    const { port } = new URL(api.url);
    const response = await request(api.url, '/v1/worklist', { headers: { host: `rebind.evil.example:${port}` } });
    expect(response.status).toBe(421);
    expect(response.body).not.toContain('items');
  });

  it('when another site posts a text/plain triage, then it gets 403 and nothing is written to the audit trail', async () => {
    const before = (await api.client.audit()).length;
    const response = await request(api.url, '/v1/triage', {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      body: JSON.stringify({ scores: { news2: { respiratoryRate: 30 } } }),
    });
    expect(response.status).toBe(403);
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'CROSS_ORIGIN_REQUEST' } });
    expect((await api.client.audit()).length).toBe(before);
  });

  it.each(['/', '/v1/worklist', '/docs/api', '/v1/nothing'])('when %s answers, then it carries the security headers', async (path) => {
    const response = await request(api.url, path);
    expect(response.headers['content-security-policy']).toMatch(/default-src 'self'.*frame-ancestors 'none'/);
    expect(response.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(response.headers['x-frame-options']).toBe('DENY');
  });
});
