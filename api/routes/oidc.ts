import type { Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { oidcCallbackQuery, oidcStartQuery, signInOptions, type SignInOptions } from '../../contract/identity.ts';
import { isTls, setSessionCookie } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { refusal, type OidcClient, type PendingSignIn } from '../oidc.ts';
import { mount } from '../route.ts';

/**
 * Signing in with the hospital's OpenID Connect provider, as a backend for the viewer: the
 * browser is sent to the provider and back, Lantern redeems the code and verifies the ID
 * token, and the browser ends up with the same session cookie a password sign-in gives. No
 * provider token ever reaches the page's JavaScript.
 *
 * Between start and callback the sign-in's state, nonce and PKCE verifier wait in a cookie
 * scoped to these routes: HttpOnly, SameSite=Lax (the callback is a navigation from the
 * provider's site, which a Strict cookie would not survive), ten minutes, used once. A
 * callback without that cookie, or whose `state` differs, is someone else's sign-in
 * (login CSRF) and is refused before the provider is asked anything.
 */

const FLOW_COOKIE = 'lantern_oidc';
const FLOW_PATH = '/v1/session/oidc';
/** Long enough to type a password and answer a second factor, short enough that an abandoned sign-in is forgotten. */
const FLOW_SECONDS = 600;
const START = `${FLOW_PATH}/start`;
const CALLBACK = `${FLOW_PATH}/callback`;

interface Flow extends PendingSignIn {
  returnTo: string;
}

function readFlow(c: Context): Flow | undefined {
  const raw = getCookie(c, FLOW_COOKIE);
  if (!raw) return undefined;
  try {
    const flow = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Flow;
    return [flow.state, flow.nonce, flow.codeVerifier, flow.returnTo].every((v) => typeof v === 'string') ? flow : undefined;
  } catch {
    return undefined;
  }
}

/** Mounted on the session feature's app: these are ways of starting a session. */
export function oidcSignInRoutes(app: Hono, deps: ApiDeps): void {
  const lifetime = { idleMinutes: deps.config.sessionIdleMinutes, absoluteHours: deps.config.sessionAbsoluteHours };
  const configured = (): OidcClient => {
    if (!deps.oidc) throw new ApiError(404, 'OIDC_NOT_CONFIGURED', 'no OpenID Connect provider is configured (LANTERN_OIDC_ISSUER); sign in with a local account');
    return deps.oidc;
  };
  // The same address in the authorisation request and the code exchange, as the provider requires.
  const redirectUri = (c: Context) => deps.config.oidc?.redirectUrl ?? new URL(CALLBACK, c.req.url).toString();

  mount(app, {
    method: 'get', path: '/v1/session/options', operationId: 'getSignInOptions', access: 'public', tag: 'identity',
    summary: 'How one may sign in here: local accounts, and the hospital\'s identity provider when one is configured',
    responses: { 200: { description: 'The ways of signing in.', json: signInOptions } },
  }, (c) => c.json({ local: true, ...(deps.oidc && { oidc: { name: deps.oidc.name, start: START } }) } satisfies SignInOptions));

  mount(app, {
    method: 'get', path: START, operationId: 'startOidcSignIn', access: 'public', tag: 'identity',
    summary: 'Sign in with the identity provider: redirects the browser there (authorisation code flow with PKCE)',
    query: oidcStartQuery,
    responses: { 302: { description: 'To the provider\'s authorisation endpoint.', headers: { Location: 'The provider\'s authorisation request.' } } },
    errors: { 404: 'OIDC_NOT_CONFIGURED.', 502: 'OIDC_PROVIDER_UNAVAILABLE or OIDC_PROVIDER_MISCONFIGURED: the provider\'s discovery document could not be used.' },
  }, async (c, { query }) => {
    const { url, pending } = await configured().authorizationUrl(redirectUri(c));
    const flow: Flow = { ...pending, returnTo: query.returnTo ?? '/' };
    setCookie(c, FLOW_COOKIE, Buffer.from(JSON.stringify(flow)).toString('base64url'), {
      httpOnly: true, sameSite: 'Lax', path: FLOW_PATH, secure: isTls(c), maxAge: FLOW_SECONDS,
    });
    return c.redirect(url, 302);
  });

  mount(app, {
    method: 'get', path: CALLBACK, operationId: 'finishOidcSignIn', access: 'public', tag: 'identity',
    summary: 'Where the identity provider sends the browser back: the code is redeemed, the ID token verified, the session started',
    description: 'On success sets the session cookie (as `POST /v1/session` does; the session ends no later than the provider\'s tokens) and redirects to where the sign-in started. A user the provider vouches for is created on first sign-in (LANTERN_OIDC_PROVISION), with the roles its claim maps to.',
    query: oidcCallbackQuery,
    responses: { 302: { description: 'Signed in; back to the viewer.', headers: { Location: 'Where the sign-in started.', 'Set-Cookie': 'The session cookie.' } } },
    errors: {
      400: 'OIDC_FLOW_MISSING (no sign-in of this browser is waiting: expired, or started elsewhere), OIDC_STATE_MISMATCH (login CSRF), OIDC_ISSUER_MISMATCH (RFC 9207 mix-up), OIDC_CODE_MISSING.',
      401: 'OIDC_DENIED (the provider refused), OIDC_CODE_REJECTED (the code is used, expired or not for this verifier), OIDC_TOKEN_INVALID (signature, issuer, audience, expiry or nonce of the ID token).',
      403: 'OIDC_NO_ROLE (no claim value maps to a Lantern role), USER_UNKNOWN (provisioning is off), USER_DISABLED.',
      404: 'OIDC_NOT_CONFIGURED.',
      409: 'USERNAME_TAKEN: another account (a local one, or another subject) holds the user name.',
      502: 'OIDC_PROVIDER_UNAVAILABLE or OIDC_PROVIDER_MISCONFIGURED.',
    },
  }, async (c, { query }) => {
    const oidc = configured();
    const flow = readFlow(c);
    // Used once, whatever happens next: a refused callback cannot be retried with the same state.
    deleteCookie(c, FLOW_COOKIE, { path: FLOW_PATH, secure: isTls(c) });
    if (!flow) throw new ApiError(400, 'OIDC_FLOW_MISSING', 'no sign-in of this browser is waiting (it took over ten minutes, or was started in another browser); start again');
    if (query.state !== flow.state) throw new ApiError(400, 'OIDC_STATE_MISMATCH', 'the provider\'s answer belongs to another sign-in');
    if (query.iss !== undefined && query.iss !== deps.config.oidc!.issuer) throw new ApiError(400, 'OIDC_ISSUER_MISMATCH', `the answer comes from the issuer "${query.iss}", not the configured one`);
    if (query.error) throw new ApiError(401, 'OIDC_DENIED', `the identity provider did not sign you in: ${query.error}${query.error_description ? ` (${query.error_description})` : ''}`);
    if (!query.code) throw new ApiError(400, 'OIDC_CODE_MISSING', 'the provider\'s answer carries no code');

    const { identity, notAfter } = await oidc.finishSignIn(query.code, flow, redirectUri(c));
    const outcome = await deps.store.userFromProvider(identity, deps.config.oidc!.provisionUsers);
    if ('refused' in outcome) throw refusal(outcome.refused, identity.username);
    const started = await deps.store.startSession(outcome.user, lifetime, notAfter);
    setSessionCookie(c, started.token, started.expiresAt);
    return c.redirect(flow.returnTo, 302);
  });
}
