// The user's side of the authorize step for the interoperability tests: a
// minimal browser (plain fetch, a cookie jar and the forms of the HTML pages)
// that logs in when the login page is shown and allows one device; and the
// scripts' shared bits (input from the environment, one JSON line per step).
export const fail = (msg) => { throw new Error(msg); };
export const env = (k) => process.env[k] || fail(`missing ${k}`);
export const step = (name, data = {}) => console.log(JSON.stringify({ step: name, ...data }));

const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function formOf(html) {
  const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1] ?? fail('no form on page');
  const fields = new URLSearchParams();
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields.append(m[1], unescape(m[2]));
  }
  return { action, fields, login: /name="password"/.test(html) };
}

export class Browser {
  constructor(origin) {
    this.origin = origin;
    this.jar = new Map();
  }

  async browse(url, form) {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const init = { redirect: 'manual', headers: { cookie } };
    if (form) {
      init.method = 'POST';
      init.body = form;
    }
    const res = await fetch(new URL(url, this.origin), init);
    for (const c of res.headers.getSetCookie()) {
      const kv = c.split(';')[0];
      const i = kv.indexOf('=');
      this.jar.set(kv.slice(0, i), kv.slice(i + 1));
    }
    return res;
  }

  // Opens the authorization URL, logs in with email/password if asked, allows
  // deviceId on the consent page; returns the redirect (callback) URL.
  async consent(authUrl, { email, password, deviceId }) {
    let res = await this.browse(authUrl);
    if (res.status !== 200) fail(`authorize page: ${res.status}`);
    let form = formOf(await res.text());
    if (form.login) {
      form.fields.set('email', email);
      form.fields.set('password', password);
      res = await this.browse(form.action, form.fields);
      if (res.status !== 303) fail(`login: ${res.status}`);
      res = await this.browse(res.headers.get('location'));
      if (res.status !== 200) fail(`consent page: ${res.status}`);
      form = formOf(await res.text());
    }
    form.fields.append('device', deviceId);
    form.fields.set('decision', 'allow');
    res = await this.browse(form.action, form.fields);
    if (res.status !== 302) fail(`consent: ${res.status}`);
    return new URL(res.headers.get('location'));
  }
}
