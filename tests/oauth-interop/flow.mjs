// Black-box interoperability test: drives safehouse's OAuth 2.0 authorization
// server with oauth4webapi, an independent client library, exactly as a partner
// (Alexa, Google, IFTTT) would: metadata discovery, authorization request with
// PKCE S256, the user's login and consent (the scripted browser of
// browser.mjs), code exchange, a protected resource call, refresh,
// introspection and revocation.
//
// Input (environment): ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, EMAIL,
// PASSWORD, DEVICE_ID. Prints one JSON line per step; exits 1 on any failure.
import * as oauth from 'oauth4webapi';
import { Browser, env, fail, step } from './browser.mjs';

const issuer = new URL(env('ISSUER'));
const client = { client_id: env('CLIENT_ID') };
const secret = env('CLIENT_SECRET');
const redirectUri = env('REDIRECT_URI');
const insecure = { [oauth.allowInsecureRequests]: true }; // the test server is plain http on loopback

const browser = new Browser(issuer);
const user = { email: env('EMAIL'), password: env('PASSWORD'), deviceId: env('DEVICE_ID') };

// ---- the flow ------------------------------------------------------------------
const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, {
  algorithm: 'oauth2', ...insecure,
}));
step('discovery', { token_endpoint: as.token_endpoint });
if (!as.code_challenge_methods_supported?.includes('S256')) fail('S256 not advertised');

const codeVerifier = oauth.generateRandomCodeVerifier();
const codeChallenge = await oauth.calculatePKCECodeChallenge(codeVerifier);
const state = oauth.generateRandomState();
const authUrl = new URL(as.authorization_endpoint);
authUrl.searchParams.set('client_id', client.client_id);
authUrl.searchParams.set('redirect_uri', redirectUri);
authUrl.searchParams.set('response_type', 'code');
authUrl.searchParams.set('scope', 'devices:read devices:control');
authUrl.searchParams.set('state', state);
authUrl.searchParams.set('code_challenge', codeChallenge);
authUrl.searchParams.set('code_challenge_method', 'S256');

const callback = await browser.consent(authUrl, user);
step('authorized', { redirect: callback.origin + callback.pathname });

const params = oauth.validateAuthResponse(as, client, callback, state);
const codeResponse = await oauth.authorizationCodeGrantRequest(
  as, client, oauth.ClientSecretBasic(secret), params, redirectUri, codeVerifier, insecure);
const tokens = await oauth.processAuthorizationCodeResponse(as, client, codeResponse);
if (!tokens.access_token.startsWith('sh_oa_') || !tokens.refresh_token.startsWith('sh_or_')) {
  fail('unexpected token format');
}
if (tokens.expires_in < 360) fail('access token shorter than 360 s');
step('code_exchanged', { scope: tokens.scope, expires_in: tokens.expires_in });

const devices = await oauth.protectedResourceRequest(
  tokens.access_token, 'GET', new URL('/v1/devices', issuer), undefined, undefined, insecure);
const list = await devices.json();
if (devices.status !== 200 || list.devices.length !== 1 || list.devices[0].id !== env('DEVICE_ID')) {
  fail(`devices: ${devices.status} ${JSON.stringify(list)}`);
}
step('resource', { devices: list.devices.length });

// the same code again must fail with invalid_grant (and revoke what it issued)
const replay = await oauth.authorizationCodeGrantRequest(
  as, client, oauth.ClientSecretBasic(secret), params, redirectUri, codeVerifier, insecure);
try {
  await oauth.processAuthorizationCodeResponse(as, client, replay);
  fail('code replay accepted');
} catch (e) {
  if (!(e instanceof oauth.ResponseBodyError) || e.error !== 'invalid_grant') throw e;
}
step('code_replay_refused');

// the replay ended the grant; authorize again for the rest
const params2 = oauth.validateAuthResponse(as, client, await browser.consent(authUrl, user), state);
const t2 = await oauth.processAuthorizationCodeResponse(as, client,
  await oauth.authorizationCodeGrantRequest(as, client, oauth.ClientSecretPost(secret), params2,
    redirectUri, codeVerifier, insecure));

const refreshed = await oauth.processRefreshTokenResponse(as, client,
  await oauth.refreshTokenGrantRequest(as, client, oauth.ClientSecretPost(secret), t2.refresh_token,
    insecure));
if (refreshed.refresh_token === t2.refresh_token) fail('refresh token did not rotate');
step('refreshed');

const info = await oauth.processIntrospectionResponse(as, client,
  await oauth.introspectionRequest(as, client, oauth.ClientSecretBasic(secret),
    refreshed.access_token, insecure));
if (info.active !== true || info.client_id !== client.client_id) fail(`introspection: ${JSON.stringify(info)}`);
step('introspected', { active: info.active, scope: info.scope });

await oauth.processRevocationResponse(await oauth.revocationRequest(
  as, client, oauth.ClientSecretBasic(secret), refreshed.refresh_token, insecure));
const after = await oauth.processIntrospectionResponse(as, client,
  await oauth.introspectionRequest(as, client, oauth.ClientSecretBasic(secret),
    refreshed.access_token, insecure));
if (after.active !== false) fail('token active after revocation');
step('revoked');
console.log('interop: ok');
