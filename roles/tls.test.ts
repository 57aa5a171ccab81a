/**
 * `LANTERN_TLS_CERT` / `LANTERN_TLS_KEY`: the API role serves HTTPS with the given pair and
 * says so (https URL, HSTS); a plain-HTTP client gets no answer. The self-signed pair is made
 * in the test by openssl, valid for 127.0.0.1 only.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { startPrivateRedis, type PrivateRedis } from '../queue/redis-server.ts';
import { startApiRole, type ApiRole } from './api.ts';

function selfSigned(dir: string) {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=lantern-test', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

function get(url: string, ca?: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = (url.startsWith('https:') ? https : http).get(url, { ca, timeout: 5000 }, (response) => {
      let body = '';
      response.on('data', (chunk) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
  });
}

describe('the API over TLS', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lantern-tls-'));
  let redis: PrivateRedis;
  let api: ApiRole;
  let ca: Buffer;

  beforeAll(async () => {
    const { cert, key } = selfSigned(dir);
    ca = fs.readFileSync(cert);
    redis = await startPrivateRedis(path.join(dir, 'redis'));
    const config = loadConfig({ LANTERN_TLS_CERT: cert, LANTERN_TLS_KEY: key }, { port: 0, dataDir: dir, blobDir: path.join(dir, 'blobs') });
    api = await startApiRole({ ...config, redisUrl: redis.url });
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a certificate and key are configured, then the API answers over HTTPS with HSTS, and its URL says https', async () => {
    expect(api.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const response = await get(`${api.url}/health/live`, ca);
    expect(response.status).toBe(200);
    expect(response.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(response.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  });

  it('when a client does not trust the certificate, then the connection is refused by the client', async () => {
    await expect(get(`${api.url}/health/live`)).rejects.toThrow(/self[- ]signed|certificate/i);
  });

  it('when a client speaks plain HTTP to the port, then it gets no answer', async () => {
    await expect(get(api.url.replace('https:', 'http:') + '/health/live')).rejects.toThrow();
  });

  it('when only one of the two files is configured, then the configuration is refused', () => {
    expect(() => loadConfig({ LANTERN_TLS_CERT: '/x/cert.pem' })).toThrow(/LANTERN_TLS_CERT and LANTERN_TLS_KEY must be set together/);
  });

  it('when the API is to listen beyond loopback over plain HTTP, then the configuration is refused unless TLS or a TLS proxy is stated', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/HOST=0\.0\.0\.0 serves beyond this machine over plain HTTP.*LANTERN_TLS_CERT.*LANTERN_PLAIN_HTTP=behind-tls-proxy/);
    expect(() => loadConfig({ HOST: '192.168.1.20', LANTERN_PLAIN_HTTP: 'yes' })).toThrow(/LANTERN_PLAIN_HTTP must be "behind-tls-proxy"/);
    expect(loadConfig({ HOST: '0.0.0.0', LANTERN_TLS_CERT: '/x/cert.pem', LANTERN_TLS_KEY: '/x/key.pem' }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0', LANTERN_PLAIN_HTTP: 'behind-tls-proxy' }).host).toBe('0.0.0.0');
    expect(loadConfig({ HOST: '127.0.0.2' }).host).toBe('127.0.0.2');
    expect(loadConfig({}).host).toBe('127.0.0.1');
  });
});
