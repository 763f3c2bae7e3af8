// Black-box interoperability test: drives safehouse's OAuth 2.0 authorization
// server with oauth4webapi, an independent client library, exactly as a partner
// (Alexa, Google, IFTTT) would: metadata discovery, authorization request with
// PKCE S256, the user's login and consent (a scripted browser: plain fetch, a
// cookie jar and the forms of the HTML pages), code exchange, a protected
// resource call, refresh, introspection and revocation.
//
// Input (environment): ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, EMAIL,
// PASSWORD, DEVICE_ID. Prints one JSON line per step; exits 1 on any failure.
import * as oauth from 'oauth4webapi';

const env = (k) => {
  if (!process.env[k]) throw new Error(`missing ${k}`);
  return process.env[k];
};
const issuer = new URL(env('ISSUER'));
const client = { client_id: env('CLIENT_ID') };
const secret = env('CLIENT_SECRET');
const redirectUri = env('REDIRECT_URI');
const insecure = { [oauth.allowInsecureRequests]: true }; // the test server is plain http on loopback

const step = (name, data = {}) => console.log(JSON.stringify({ step: name, ...data }));
const fail = (msg) => { throw new Error(msg); };

// ---- a minimal browser -------------------------------------------------------
const jar = new Map();
const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
function keepCookies(res) {
  for (const c of res.headers.getSetCookie()) {
    const kv = c.split(';')[0];
    const i = kv.indexOf('=');
    jar.set(kv.slice(0, i), kv.slice(i + 1));
  }
}
async function browse(url, form) {
  const init = { redirect: 'manual', headers: { cookie: cookieHeader() } };
  if (form) {
    init.method = 'POST';
    init.body = form;
  }
  const res = await fetch(new URL(url, issuer), init);
  keepCookies(res);
  return res;
}
const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>').replace(/&amp;/g, '&');
function formOf(html) {
  const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1] ?? fail('no form on page');
  const fields = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields.append(m[1], unescape(m[2]));
  }
  return { action, fields };
}

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

let res = await browse(authUrl);
if (res.status !== 200) fail(`authorize page: ${res.status}`);
let form = formOf(await res.text());
form.fields.set('email', env('EMAIL'));
form.fields.set('password', env('PASSWORD'));
res = await browse(form.action, form.fields);
if (res.status !== 303) fail(`login: ${res.status}`);
res = await browse(res.headers.get('location'));
if (res.status !== 200) fail(`consent page: ${res.status}`);
form = formOf(await res.text());
form.fields.append('device', env('DEVICE_ID'));
form.fields.set('decision', 'allow');
res = await browse(form.action, form.fields);
if (res.status !== 302) fail(`consent: ${res.status}`);
const callback = new URL(res.headers.get('location'));
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
res = await browse(authUrl);
form = formOf(await res.text());
form.fields.append('device', env('DEVICE_ID'));
form.fields.set('decision', 'allow');
res = await browse(form.action, form.fields);
const params2 = oauth.validateAuthResponse(as, client, new URL(res.headers.get('location')), state);
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
