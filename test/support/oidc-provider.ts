import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import Provider, { type Configuration } from 'oidc-provider';

/**
 * A real OpenID provider for tests: `oidc-provider` (a certified implementation of the code
 * flow, PKCE, discovery and JWKS) served over HTTP on loopback, with its development login
 * screen (any password) and consent screen, which `browse` clicks through as a person would.
 *
 * It answers at `http://localhost:<port>` while Lantern answers at `127.0.0.1`: two sites, as
 * a hospital's provider and Lantern are, so cookies do not leak between them.
 *
 * What a test needs that a provider only does over hours is at hand: token lifetimes are
 * settable (`ttlSeconds`), the signing key can be rotated at once, and `tamper` rewrites the
 * ID token of the next code exchange, signing with the provider's own key (`sign`) or not.
 */

/** The audience of access tokens for Lantern's API (a resource indicator, RFC 8707). */
export const API_AUDIENCE = 'https://lantern.test/api';
/** The scope a client asks for to get an access token for that audience. */
export const API_SCOPE = 'lantern';

export interface TestAccount {
  preferred_username: string;
  name: string;
  roles?: string[];
  realm_access?: { roles: string[] };
}

export interface TestClient {
  client_id: string;
  client_secret?: string;
  redirect_uris: string[];
}

export interface TestProvider {
  issuer: string;
  /** Lifetime of ID and access tokens issued from now on. */
  ttlSeconds: number;
  /** Rewrites the ID token the token endpoint returns, until set back to undefined. */
  tamper?: (idToken: string) => Promise<string>;
  /** (Re)configures clients and accounts; the provider answers only once this was called. */
  configure(clients: TestClient[], accounts: Record<string, TestAccount>): Promise<void>;
  /** A new signing key, published first in the JWKS and used for everything signed from now on (the old one stays published). */
  rotateKey(): Promise<void>;
  /** `claims` signed with the provider's current key, as the provider signs its tokens. */
  sign(claims: JWTPayload, header?: { typ?: string }): Promise<string>;
  stop(): Promise<void>;
}

interface SigningKey {
  jwk: JWK;
  privateKey: CryptoKey;
}

async function newKey(n: number): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(privateKey)), kid: `test-key-${n}`, alg: 'RS256', use: 'sig' } };
}

export async function startTestProvider(): Promise<TestProvider> {
  let handler: http.RequestListener = (_req, res) => res.writeHead(503).end('not configured yet');
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://localhost:${(server.address() as AddressInfo).port}`;
  let keys = [await newKey(1)];
  let setup: { clients: TestClient[]; accounts: Record<string, TestAccount> } | undefined;

  const self: TestProvider = {
    issuer,
    ttlSeconds: 300,
    async configure(clients, accounts) {
      setup = { clients, accounts };
      handler = build().callback();
    },
    async rotateKey() {
      keys = [await newKey(keys.length + 1), ...keys];
      handler = build().callback();
    },
    sign: (claims, header = {}) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: keys[0].jwk.kid, ...header }).sign(keys[0].privateKey),
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };

  function build(): Provider {
    const { clients, accounts } = setup!;
    const ttl = () => self.ttlSeconds;
    const configuration: Configuration = {
      clients: clients.map((c) => ({
        ...c,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: c.client_secret ? 'client_secret_basic' : 'none',
      })),
      jwks: { keys: keys.map((k) => k.jwk) },
      cookies: { keys: ['test-provider-cookie-key'] },
      // `realm_access` as Keycloak nests its realm roles.
      claims: { openid: ['sub'], profile: ['name', 'preferred_username'], roles: ['roles', 'realm_access'] },
      // Profile and role claims in the ID token itself, as hospital providers (Entra ID, Keycloak) put them.
      conformIdTokenClaims: false,
      findAccount: (_ctx, id) => accounts[id] && { accountId: id, claims: () => ({ sub: id, ...accounts[id] }) },
      features: {
        devInteractions: { enabled: true },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => API_AUDIENCE,
          useGrantedResource: () => true,
          getResourceServerInfo: () => ({ scope: API_SCOPE, audience: API_AUDIENCE, accessTokenFormat: 'jwt', accessTokenTTL: ttl(), jwt: { sign: { alg: 'RS256' } } }),
        },
      },
      // Access tokens carry the roles too, so a program's token says what it may do.
      extraTokenClaims: (_ctx, token) => ({ roles: accounts[(token as { accountId: string }).accountId]?.roles }),
      ttl: { IdToken: ttl, AccessToken: ttl, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600 },
      pkce: { required: () => true },
    };
    const provider = new Provider(issuer, configuration);
    provider.use(async (ctx, next) => {
      await next();
      const body = ctx.body as { id_token?: string } | undefined;
      if (ctx.path === '/token' && self.tamper && body?.id_token) ctx.body = { ...body, id_token: await self.tamper(body.id_token) };
    });
    return provider;
  }
  return self;
}

/** The ID token's claims with `changes` applied, signed again by the provider's key: a token the provider could have issued. */
export function resigned(provider: TestProvider, changes: JWTPayload) {
  return (idToken: string) => provider.sign({ ...decodeJwt(idToken), ...changes });
}

/** A cookie jar as a browser keeps one: by host (not port) and path; a cookie set empty or already expired is removed. */
export class CookieJar {
  private cookies = new Map<string, { host: string; path: string; name: string; value: string }>();

  header(url: URL): string {
    return [...this.cookies.values()].filter((c) => c.host === url.hostname && url.pathname.startsWith(c.path)).map((c) => `${c.name}=${c.value}`).join('; ');
  }

  store(url: URL, response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((s) => s.trim());
      const name = pair.slice(0, pair.indexOf('='));
      const value = pair.slice(pair.indexOf('=') + 1);
      const attribute = (key: string) => attributes.find((a) => a.toLowerCase().startsWith(`${key}=`))?.split('=')[1];
      const path = attribute('path') ?? '/';
      const key = `${url.hostname} ${path} ${name}`;
      const expires = attribute('expires');
      const gone = value === '' || attribute('max-age') === '0' || (expires !== undefined && Date.parse(expires) < Date.now());
      if (gone) this.cookies.delete(key);
      else this.cookies.set(key, { host: url.hostname, path, name, value });
    }
  }

  /** The value of cookie `name` for `url`, if the jar holds it. */
  get(url: URL, name: string): string | undefined {
    return [...this.cookies.values()].find((c) => c.name === name && c.host === url.hostname && url.pathname.startsWith(c.path))?.value;
  }

  set(url: URL, name: string, value: string, path: string): void {
    this.cookies.set(`${url.hostname} ${path} ${name}`, { host: url.hostname, path, name, value });
  }
}

/**
 * Follows a browser's path from `url`: every redirect by hand (keeping cookies in `jar`),
 * and on the provider's login and consent screens, submits the form as `account` would.
 * Stops at the first answer that is neither a redirect nor a provider screen, or at the
 * first redirect `stopAt` accepts (a program's own redirect address); returns it with its URL.
 */
export async function browse(start: URL, jar: CookieJar, account: string, stopAt: (url: URL) => boolean = () => false): Promise<{ url: URL; response: Response }> {
  let url = start;
  let init: RequestInit = {};
  for (let hop = 0; hop < 20; hop++) {
    const headers = new Headers(init.headers);
    const cookie = jar.header(url);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    jar.store(url, response);
    init = {};
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      url = new URL(location, url);
      if (stopAt(url)) return { url, response };
      continue;
    }
    const page = response.headers.get('content-type')?.includes('text/html') ? await response.clone().text() : '';
    const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
    if (!prompt || !action) return { url, response };
    url = new URL(action, url);
    const form = new URLSearchParams(prompt === 'login' ? { prompt, login: account, password: 'any' } : { prompt });
    init = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form };
  }
  throw new Error(`more than 20 hops from ${start}`);
}
