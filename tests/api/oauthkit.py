"""Helpers for the account-linking tests (test_3x_*.py): registering OAuth
clients, devices, PKCE, a scripted browser for the authorize pages, and the
token endpoint. Everything goes through the real binary over HTTP or its CLI.
"""

import base64
import hashlib
import html.parser
import json
import os
import urllib.parse

import requests

from conftest import HTTP_TIMEOUT, HttpSession, expect_json, uniq

ALEXA_URI = "https://pitangui.amazon.com/api/skill/link/M2AAAAAAAAAAAA"
GOOGLE_URI = "https://oauth-redirect.googleusercontent.com/r/safehouse-test"
IFTTT_URI = "https://ifttt.com/channels/safehouse/authorize"
ALL_SCOPES = "devices:read devices:control camera:stream"


class Client:
    def __init__(self, client_id, secret, redirect_uri, name):
        self.id = client_id
        self.secret = secret
        self.redirect_uri = redirect_uri
        self.name = name

    def basic(self):
        raw = "%s:%s" % (urllib.parse.quote(self.id, safe=""), urllib.parse.quote(self.secret, safe=""))
        return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


def register_client(srv, name=None, uris=(ALEXA_URI,), scopes=ALL_SCOPES, service_key=None):
    name = name or uniq("Partner ")
    args = ["admin", "oauth-client", "add", "--name", name, "--scopes", scopes]
    for u in uris:
        args += ["--redirect-uri", u]
    if service_key:
        args += ["--ifttt-service-key", service_key]
    p = srv.cli(*args)
    assert p.returncode == 0, p.stderr.decode()
    body = json.loads(p.stdout.decode().strip().splitlines()[-1])
    assert body["client_secret"].startswith("sh_cs_"), body
    return Client(body["client_id"], body["client_secret"], uris[0], name)


def add_device(srv, token, dtype="camera", name=None, model="SC-100"):
    """Provisions a device through the admin API and claims it for token's user."""
    r = srv.admin_req("POST", "/admin/v1/devices", json={"type": dtype, "model": model})
    dev = expect_json(r, 201)["devices"][0]
    name = name or uniq("dev ")
    r = srv.post("/v1/devices/claim", token=token, json={"claim_code": dev["claim_code"], "name": name})
    body = expect_json(r, 201)
    dev["name"] = name
    dev["id"] = body["id"]
    return dev


def pkce():
    verifier = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class FormParser(html.parser.HTMLParser):
    """Collects every form: action, method, hidden fields, checkboxes, buttons."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "method": a.get("method"),
                               "hidden": [], "checkboxes": [], "buttons": [], "inputs": []})
        elif tag == "input" and self.forms:
            f = self.forms[-1]
            t = a.get("type")
            if t == "hidden":
                f["hidden"].append((a.get("name"), a.get("value", "")))
            elif t == "checkbox":
                f["checkboxes"].append((a.get("name"), a.get("value")))
            else:
                f["inputs"].append(a.get("name"))
        elif tag == "button" and self.forms:
            self.forms[-1]["buttons"].append((a.get("name"), a.get("value")))


def forms_of(text):
    p = FormParser()
    p.feed(text)
    return p.forms


class Browser:
    """A user agent on the authorize pages: keeps cookies, never follows
    redirects on its own (the tests look at each one)."""

    def __init__(self, srv):
        self.srv = srv
        self.http = HttpSession()

    def get(self, path, **kw):
        return self.http.get(self.srv.base + path, allow_redirects=False, timeout=HTTP_TIMEOUT, **kw)

    def post(self, path, data, **kw):
        return self.http.post(self.srv.base + path, data=data, allow_redirects=False,
                              timeout=HTTP_TIMEOUT, **kw)

    def authorize(self, client, challenge, scope=ALL_SCOPES, state="st-1", redirect_uri=None,
                  extra=None, raw_query=None):
        if raw_query is not None:
            return self.get("/oauth/authorize?" + raw_query)
        q = {"response_type": "code", "client_id": client.id,
             "redirect_uri": redirect_uri or client.redirect_uri, "state": state,
             "code_challenge": challenge, "code_challenge_method": "S256"}
        if scope is not None:
            q["scope"] = scope
        if extra:
            q.update(extra)
        q = {k: v for k, v in q.items() if v is not None}
        return self.get("/oauth/authorize?" + urllib.parse.urlencode(q))

    def login(self, page, email, password):
        form = forms_of(page.text)[0]
        assert form["action"] == "/oauth/authorize/login", page.text
        data = dict(form["hidden"])
        data.update({"email": email, "password": password})
        return self.post(form["action"], data)

    def second_factor(self, page, code=None, recovery_code=None, csrf=None):
        """Fills the code form (the user leaves the other field empty, as a browser sends it)."""
        form = forms_of(page.text)[0]
        assert form["action"] == "/oauth/authorize/mfa", page.text
        data = dict(form["hidden"])
        if csrf is not None:
            data["csrf"] = csrf
        data.update({"code": code or "", "recovery_code": recovery_code or ""})
        return self.post(form["action"], data)

    def consent(self, page, devices, decision="allow", csrf=None):
        form = forms_of(page.text)[0]
        assert form["action"] == "/oauth/authorize", page.text
        data = list(form["hidden"])
        if csrf is not None:
            data = [(k, csrf if k == "csrf" else v) for k, v in data]
        data += [("device", d) for d in devices]
        data.append(("decision", decision))
        return self.post(form["action"], data)


def redirect_params(resp):
    loc = resp.headers["Location"]
    parts = urllib.parse.urlsplit(loc)
    return loc, dict(urllib.parse.parse_qsl(parts.query))


def authorize_code(srv, user, client, devices, scope=ALL_SCOPES, browser=None, state="st-1"):
    """Drives login (with a TOTP code when the page asks for one: user.totp, see
    mfa_support.enable_mfa) and consent; returns (code, verifier, browser)."""
    b = browser or Browser(srv)
    verifier, challenge = pkce()
    page = b.authorize(client, challenge, scope=scope, state=state)
    assert page.status_code == 200, page.text
    if forms_of(page.text)[0]["action"] == "/oauth/authorize/login":
        r = b.login(page, user.email, user.password)
        assert r.status_code == 303, r.text
        page = b.get(r.headers["Location"])
        assert page.status_code == 200, page.text
    if forms_of(page.text)[0]["action"] == "/oauth/authorize/mfa":
        r = b.second_factor(page, code=user.totp.code())
        assert r.status_code == 303, r.text
        page = b.get(r.headers["Location"])
        assert page.status_code == 200, page.text
    r = b.consent(page, devices)
    assert r.status_code == 302, r.text
    loc, params = redirect_params(r)
    assert loc.startswith(client.redirect_uri + "?"), loc
    assert params.get("state") == state, loc
    return params["code"], verifier, b


def token_req(srv, client, data, auth="basic"):
    headers = {}
    data = dict(data)
    if auth == "basic":
        headers.update(client.basic())
    elif auth == "post":
        data.update({"client_id": client.id, "client_secret": client.secret})
    return requests.post(srv.base + "/oauth/token", data=data, headers=headers, timeout=HTTP_TIMEOUT)


def exchange(srv, client, code, verifier, auth="basic"):
    return token_req(srv, client, {"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": client.redirect_uri, "code_verifier": verifier},
                     auth=auth)


def refresh(srv, client, rt, auth="basic", scope=None):
    d = {"grant_type": "refresh_token", "refresh_token": rt}
    if scope:
        d["scope"] = scope
    return token_req(srv, client, d, auth=auth)


def link(srv, user, client, devices, scope=ALL_SCOPES):
    """The whole flow: returns the token response body."""
    code, verifier, _ = authorize_code(srv, user, client, devices, scope=scope)
    r = exchange(srv, client, code, verifier)
    body = r.json()
    assert r.status_code == 200, body
    return body


def client_post(srv, client, path, data, auth="basic"):
    headers = {}
    data = dict(data)
    if auth == "basic":
        headers.update(client.basic())
    else:
        data.update({"client_id": client.id, "client_secret": client.secret})
    return requests.post(srv.base + path, data=data, headers=headers, timeout=HTTP_TIMEOUT)


def introspect(srv, client, token, auth="basic"):
    return client_post(srv, client, "/oauth/introspect", {"token": token}, auth)


def revoke(srv, client, token, auth="basic"):
    return client_post(srv, client, "/oauth/revoke", {"token": token}, auth)


def oauth_error(resp, status, error):
    assert resp.status_code == status, "expected %d %s: %s %s" % (status, error, resp.status_code, resp.text)
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    assert "no-store" in resp.headers.get("Cache-Control", ""), resp.headers
    body = resp.json()
    assert body.get("error") == error, body
    return body


def partner_devices(srv, access_token):
    return srv.get("/v1/devices", token=access_token)
