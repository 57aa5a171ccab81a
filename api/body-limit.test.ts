/**
 * The gate every request body passes: refused before it is read past its limit (declared or
 * chunked), buffered when it fits, and a NUL refused at the gate rather than by the database.
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { bodyLimits } from './body-limit.ts';
import { errorResponse } from './errors.ts';

function app() {
  const hono = new Hono();
  hono.onError((error, c) => errorResponse(c, error));
  hono.use('*', bodyLimits({ maxJsonBodyBytes: 1024, maxUploadBytes: 4096 }));
  hono.post('/v1/echo', async (c) => c.json({ got: await c.req.json() }));
  hono.post('/dicomweb/studies', async (c) => c.json({ bytes: (await c.req.arrayBuffer()).byteLength }));
  hono.get('/v1/studies/:uid', (c) => c.json({ uid: c.req.param('uid') }));
  return hono;
}

/** A body with no declared length, arriving in `chunks` pieces of `size` bytes; counts how many were pulled. */
function chunked(chunks: number, size: number) {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= chunks) return controller.close();
      pulled++;
      controller.enqueue(new Uint8Array(size).fill(0x20));
    },
  });
  return { stream, pulled: () => pulled };
}

const post = (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
  app().request(path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers }, duplex: 'half' } as RequestInit);

describe('body limits', () => {
  it('when a body under the limit arrives, then the handler reads it whole', async () => {
    const response = await post('/v1/echo', JSON.stringify({ a: 'b' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ got: { a: 'b' } });
  });

  it('when the declared length is over the limit, then 413 PAYLOAD_TOO_LARGE naming the setting, and the connection closes', async () => {
    const response = await post('/v1/echo', 'x'.repeat(2000), { 'content-length': '2000' });
    expect(response.status).toBe(413);
    expect(response.headers.get('connection')).toBe('close');
    const { error } = await response.json();
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.message).toContain('LANTERN_MAX_JSON_BYTES');
  });

  it('when a chunked body passes the limit, then 413 and the rest is never pulled', async () => {
    const body = chunked(10_000, 256);
    const response = await post('/v1/echo', body.stream);
    expect(response.status).toBe(413);
    expect(body.pulled()).toBeLessThan(10);
  });

  it('when a text/plain body goes to a JSON route, then the same limit holds', async () => {
    const response = await post('/v1/echo', chunked(100, 256).stream, { 'content-type': 'text/plain' });
    expect(response.status).toBe(413);
  });

  it('when an upload declares more than the upload limit, then 413 at once; under it, the route reads the stream itself', async () => {
    expect((await post('/dicomweb/studies', new Uint8Array(5000), { 'content-type': 'application/dicom', 'content-length': '5000' })).status).toBe(413);
    const ok = await post('/dicomweb/studies', new Uint8Array(3000), { 'content-type': 'application/dicom' });
    expect(await ok.json()).toEqual({ bytes: 3000 });
  });

  it.each([
    ['a value', '{"name":"a\\u0000b"}'],
    ['a key', '{"a\\u0000":1}'],
    ['after an escaped backslash pair', '{"name":"\\\\\\u0000"}'],
    ['in upper case', '{"name":"\\U0000"}'.replace('U', 'u')],
  ])('when a JSON string holds a NUL escape in %s, then 422 NUL_CHARACTER', async (_, body) => {
    const response = await post('/v1/echo', body);
    expect(response.status).toBe(422);
    expect((await response.json()).error.code).toBe('NUL_CHARACTER');
  });

  it('when a backslash is escaped before the text u0000, then it is literal text and passes', async () => {
    const response = await post('/v1/echo', '{"name":"\\\\u0000"}');
    expect(response.status).toBe(200);
    expect((await response.json()).got.name).toBe('\\u0000');
  });

  it('when a body under the byte limit holds more than 10,000 members, then 413 TOO_MANY_JSON_MEMBERS before anything parses it; commas and colons in strings do not count', async () => {
    const hono = new Hono();
    hono.use('*', bodyLimits({ maxJsonBodyBytes: 1024 * 1024, maxUploadBytes: 4096 }));
    let parsed = 0;
    hono.post('/v1/echo', async (c) => c.json({ keys: Object.keys(await c.req.json()).length, parsed: ++parsed }));
    const send = (body: string) => hono.request('/v1/echo', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    // n keys are n colons and n - 1 commas.
    const keys = (n: number) => JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])));
    expect(await (await send(keys(5000))).json()).toEqual({ keys: 5000, parsed: 1 });
    const refused = await send(keys(5001));
    expect(refused.status).toBe(413);
    expect((await refused.json()).error.code).toBe('TOO_MANY_JSON_MEMBERS');
    expect(await (await send(JSON.stringify({ note: 'a,b:"c\\'.repeat(20_000) }))).json()).toEqual({ keys: 1, parsed: 2 });
  });

  it('when the path holds %00, then 400 NUL_CHARACTER', async () => {
    const response = await app().request('/v1/studies/1.2.3%00');
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe('NUL_CHARACTER');
  });
});
