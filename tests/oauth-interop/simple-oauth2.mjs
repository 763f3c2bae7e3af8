// Black-box interoperability test with a second, independent client library:
// npm's simple-oauth2 (AuthorizationCode) exchanges a code, refreshes and
// revokes against safehouse, as a partner's backend built on it would. The
// revocation answer must be something it accepts (it parses the body as
// JSON), and the tokens must then be inactive at introspection (RFC 7662,
// asked with plain fetch: the check, not the library under test).
//
// Input (environment): ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, EMAIL,
// PASSWORD, DEVICE_ID. Prints one JSON line per step; exits 1 on any failure.
import { createHash, randomBytes } from 'node:crypto';
import { AuthorizationCode } from 'simple-oauth2';
import { Browser, env, fail, step } from './browser.mjs';

const issuer = new URL(env('ISSUER'));
const redirectUri = env('REDIRECT_URI');
const id = env('CLIENT_ID');
const secret = env('CLIENT_SECRET');
const user = { email: env('EMAIL'), password: env('PASSWORD'), deviceId: env('DEVICE_ID') };
const browser = new Browser(issuer);
const b64url = (buf) => buf.toString('base64url');

const client = new AuthorizationCode({
  client: { id, secret },
  auth: {
    tokenHost: issuer.origin,
    tokenPath: '/oauth/token',
    revokePath: '/oauth/revoke',
    authorizePath: '/oauth/authorize',
  },
  // the default: client_secret_basic, form-encoded credentials (RFC 6749 2.3.1)
  options: { authorizationMethod: 'header' },
});

// simple-oauth2 has no PKCE of its own: S256 by hand (RFC 7636 4.2)
async function newToken() {
  const verifier = b64url(randomBytes(32));
  const state = b64url(randomBytes(16));
  const url = new URL(client.authorizeURL({
    redirect_uri: redirectUri,
    scope: 'devices:read',
    state,
    code_challenge: b64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
    response_type: 'code',
  }));
  const callback = await browser.consent(url, user);
  if (callback.searchParams.get('state') !== state) fail('state not returned');
  const code = callback.searchParams.get('code') ?? fail(`no code: ${callback}`);
  return client.getToken({ code, redirect_uri: redirectUri, code_verifier: verifier });
}

async function active(token) {
  const res = await fetch(new URL('/oauth/introspect', issuer), {
    method: 'POST',
    headers: { authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') },
    body: new URLSearchParams({ token }),
  });
  if (res.status !== 200) fail(`introspection: ${res.status}`);
  return (await res.json()).active;
}

// 1. code exchange, then revoke('access_token')
let tok = await newToken();
const first = { ...tok.token };
if (!first.access_token?.startsWith('sh_oa_') || !first.refresh_token?.startsWith('sh_or_')) {
  fail(`unexpected tokens: ${JSON.stringify(Object.keys(first))}`);
}
if (!(await active(first.access_token))) fail('fresh access token inactive');
step('code_exchanged', { expires_in: first.expires_in });
const answer = await tok.revoke('access_token');
if (await active(first.access_token)) fail('access token active after revoke');
if (await active(first.refresh_token)) fail('refresh token active after revoking its access token');
step('revoked_access_token', { answer });

// 2. a new link: refresh, then revokeAll() (access token, then refresh token)
tok = await newToken();
const before = tok.token.refresh_token;
tok = await tok.refresh();
if (tok.token.refresh_token === before) fail('refresh token did not rotate');
if (!(await active(tok.token.access_token))) fail('refreshed access token inactive');
step('refreshed');
await tok.revokeAll();
for (const t of [tok.token.access_token, tok.token.refresh_token, before]) {
  if (await active(t)) fail('a token is active after revokeAll');
}
step('revoked_all');
console.log('interop: ok');
