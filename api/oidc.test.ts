/**
 * The relying party on its own (api/oidc.ts) against a real provider (oidc-provider on
 * loopback): as a public client PKCE is all that protects the code, so the provider must
 * refuse it without the right verifier; and the settings that configure it are checked
 * when Lantern starts, not at the first sign-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type OidcSettings } from '../config.ts';
import { browse, CookieJar, startTestProvider, type TestProvider } from '../test/support/oidc-provider.ts';
import { ApiError } from './errors.ts';
import { oidcClient } from './oidc.ts';

const REDIRECT = 'http://127.0.0.1:9/public-client/callback';

describe('Lantern as a public client (no secret): PKCE alone guards the code', () => {
  let idp: TestProvider;
  let settings: OidcSettings;
  beforeAll(async () => {
    idp = await startTestProvider();
    await idp.configure([{ client_id: 'lantern-public', redirect_uris: [REDIRECT] }], {
      wei: { preferred_username: 'wei.zhang', name: '张伟', roles: ['radiologist'] },
      // Keycloak's shape: realm roles nested, and a display name carrying a NUL.
      min: { preferred_username: 'Min.Chen@County.example', name: 'Chen\u0000 Min', realm_access: { roles: ['radiology', 'offline_access'] } },
    });
    settings = {
      issuer: idp.issuer, clientId: 'lantern-public', name: 'Test Hospital', scopes: ['openid', 'profile', 'roles'],
      usernameClaim: 'preferred_username', rolesClaim: 'roles', provisionUsers: true, jwksCooldownSeconds: 30,
    };
  });
  afterAll(() => idp?.stop());

  /** A sign-in of `account` as far as the provider's answer: the code for this client's redirect address. */
  async function codeFor(client: ReturnType<typeof oidcClient>, account = 'wei') {
    const { url, pending } = await client.authorizationUrl(REDIRECT);
    const back = await browse(new URL(url), new CookieJar(), account, (u) => u.toString().startsWith(REDIRECT));
    expect(back.url.searchParams.get('state')).toBe(pending.state);
    return { code: back.url.searchParams.get('code')!, pending };
  }

  it('when the verifier is the one whose challenge was sent, then the code is redeemed and, with no role map, role-named claim values are the roles', async () => {
    const client = oidcClient(settings);
    const { code, pending } = await codeFor(client);
    const { identity, notAfter } = await client.finishSignIn(code, pending, REDIRECT);
    expect(identity).toEqual({ issuer: idp.issuer, subject: 'wei', username: 'wei.zhang', displayName: '张伟', roles: ['radiologist'] });
    expect(notAfter.getTime()).toBeGreaterThan(Date.now());
  });

  it('when roles are nested as Keycloak nests them and names are unlike Lantern\'s, then the dotted claim path and the role map read them, and the name is made storable', async () => {
    const client = oidcClient({ ...settings, rolesClaim: 'realm_access.roles', roleMap: { radiology: ['radiologist', 'consultant'] } });
    const { code, pending } = await codeFor(client, 'min');
    const { identity } = await client.finishSignIn(code, pending, REDIRECT);
    expect(identity).toMatchObject({ subject: 'min', username: 'min.chen-county.example', displayName: 'Chen Min', roles: ['radiologist', 'consultant'] });
  });

  it('when someone holding the code has not the verifier, then the provider refuses it: 401 OIDC_CODE_REJECTED', async () => {
    const client = oidcClient(settings);
    const { code, pending } = await codeFor(client);
    const refused = await client.finishSignIn(code, { ...pending, codeVerifier: 'an-intercepted-code-without-its-verifier-000' }, REDIRECT).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 401, code: 'OIDC_CODE_REJECTED' });
  });

  it('when the provider is down, then sign-in is a 502 naming it, and it is tried again the next time', async () => {
    const client = oidcClient({ ...settings, issuer: 'http://127.0.0.1:9' });
    await expect(client.authorizationUrl(REDIRECT)).rejects.toMatchObject({ status: 502, code: 'OIDC_PROVIDER_UNAVAILABLE' });
    await expect(client.authorizationUrl(REDIRECT)).rejects.toMatchObject({ status: 502, code: 'OIDC_PROVIDER_UNAVAILABLE' });
  });
});

describe('the OIDC settings, checked at start', () => {
  const env = (more: Record<string, string>) => ({ LANTERN_OIDC_ISSUER: 'https://idp.hospital.example/realms/staff', LANTERN_OIDC_CLIENT_ID: 'lantern', ...more });

  it('when none is set, then there is no provider; when the issuer is, its defaults are filled in', () => {
    expect(loadConfig({}).oidc).toBeUndefined();
    expect(loadConfig(env({})).oidc).toMatchObject({
      name: 'idp.hospital.example', scopes: ['openid', 'profile', 'email'], usernameClaim: 'preferred_username', rolesClaim: 'roles', provisionUsers: true, jwksCooldownSeconds: 30,
    });
  });

  it('when a role map names a group with commas and =, then it is read whole, one role or several', () => {
    const map = loadConfig(env({ LANTERN_OIDC_ROLE_MAP: '{"cn=radiology,ou=groups":"radiologist","lantern-admins":["admin","radiologist"]}' })).oidc!.roleMap;
    expect(map).toEqual({ 'cn=radiology,ou=groups': ['radiologist'], 'lantern-admins': ['admin', 'radiologist'] });
  });

  it.each([
    [{ LANTERN_OIDC_CLIENT_ID: '' }, /needs LANTERN_OIDC_CLIENT_ID/],
    [{ LANTERN_OIDC_ROLE_MAP: '{"Radiology":"radiologists"}' }, /"radiologists", not among radiologist/],
    [{ LANTERN_OIDC_ROLE_MAP: 'Radiology=radiologist' }, /must be a JSON object/],
    [{ LANTERN_OIDC_API_AUDIENCE: 'lantern' }, /must differ from LANTERN_OIDC_CLIENT_ID/],
    [{ LANTERN_OIDC_PROVISION: 'yes' }, /true or false/],
  ])('when %o, then Lantern refuses to start, naming the setting', (more, message) => {
    expect(() => loadConfig(env(more))).toThrow(message);
  });
});
