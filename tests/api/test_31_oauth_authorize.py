"""Account linking, part 2: the authorization endpoint - exact redirect URIs, error pages
that never redirect, PKCE S256 only, login and consent pages without JavaScript, CSP,
X-Frame-Options, CSRF, device choice, single-use short-lived codes."""

import re
import time
import urllib.parse

import pytest

from conftest import new_password, uniq
from oauthkit import (ALEXA_URI, ALL_SCOPES, Browser, add_device, authorize_code, exchange, forms_of,
                      oauth_error, partner_devices, pkce, redirect_params, register_client)


@pytest.fixture(scope="module")
def setup(module_server_factory):
    srv = module_server_factory(name="authz")
    c = register_client(srv)
    u = srv.new_user(clients=("ios",))
    tok = u.sessions[0]["access_token"]
    cam = add_device(srv, tok, "camera", name="Front <door> & \"porch\"")
    plug = add_device(srv, tok, "plug")
    return srv, c, u, cam, plug


def assert_page_headers(r):
    csp = r.headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, csp
    assert "unsafe-inline" not in csp and "script-src" not in csp, csp
    assert r.headers.get("X-Frame-Options") == "DENY"
    assert r.headers.get("Referrer-Policy") == "no-referrer"
    assert "no-store" in r.headers.get("Cache-Control", "")
    assert r.headers.get("Content-Type", "").startswith("text/html")
    assert "<script" not in r.text.lower()
    return csp


def test_login_page(setup):
    srv, c, u, cam, plug = setup
    _, challenge = pkce()
    b = Browser(srv)
    r = b.authorize(c, challenge)
    assert r.status_code == 200
    assert_page_headers(r)
    assert c.name in r.text
    cookie = r.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/oauth" in cookie
    form = forms_of(r.text)[0]
    hidden = dict(form["hidden"])
    assert hidden["client_id"] == c.id and hidden["redirect_uri"] == c.redirect_uri
    assert hidden["code_challenge"] == challenge and hidden["csrf"]
    assert set(form["inputs"]) >= {"email", "password"}


def test_full_flow_with_device_choice(setup):
    srv, c, u, cam, plug = setup
    b = Browser(srv)
    verifier, challenge = pkce()
    page = b.authorize(c, challenge, state="xyz/+= &?")
    r = b.login(page, u.email, u.password)
    assert r.status_code == 303
    assert "sh_oauth_login=" in r.headers.get("Set-Cookie", "")
    consent = b.get(r.headers["Location"])
    assert consent.status_code == 200
    csp = assert_page_headers(consent)
    assert "form-action 'self' https://pitangui.amazon.com;" in csp, csp
    form = forms_of(consent.text)[0]
    boxes = dict((v, n) for n, v in form["checkboxes"])
    assert set(boxes) == {cam["id"], plug["id"]}
    assert "Front &lt;door&gt; &amp; &quot;porch&quot;" in consent.text
    for scope in ALL_SCOPES.split():
        assert scope in consent.text
    r = b.consent(consent, [plug["id"]])
    assert r.status_code == 302
    loc, params = redirect_params(r)
    assert loc.startswith(ALEXA_URI + "?")
    assert params["state"] == "xyz/+= &?" and params["code"].startswith("sh_ac_")
    assert params["iss"] == srv.base
    tokens = exchange(srv, c, params["code"], verifier).json()
    ids = [d["id"] for d in partner_devices(srv, tokens["access_token"]).json()["devices"]]
    assert ids == [plug["id"]]


def test_logged_in_browser_goes_straight_to_consent(setup):
    srv, c, u, cam, plug = setup
    code, verifier, b = authorize_code(srv, u, c, [cam["id"]])
    _, challenge = pkce()
    r = b.authorize(c, challenge)
    assert forms_of(r.text)[0]["action"] == "/oauth/authorize"


@pytest.mark.parametrize("change", [
    {"client_id": "00" * 16},
    {"client_id": "nothex"},
    {"client_id": None},
    {"redirect_uri": ALEXA_URI + "x"},
    {"redirect_uri": ALEXA_URI + "/"},
    {"redirect_uri": ALEXA_URI.upper()},
    {"redirect_uri": "https://evil.example/cb"},
    {"redirect_uri": None},
])
def test_unknown_client_or_redirect_shows_page_never_redirects(setup, change):
    srv, c, u, cam, plug = setup
    _, challenge = pkce()
    q = {"response_type": "code", "client_id": c.id, "redirect_uri": c.redirect_uri,
         "code_challenge": challenge, "code_challenge_method": "S256", "state": "s"}
    q.update(change)
    q = {k: v for k, v in q.items() if v is not None}
    r = Browser(srv).get("/oauth/authorize?" + urllib.parse.urlencode(q))
    assert r.status_code == 400, r.text
    assert "Location" not in r.headers
    assert_page_headers(r)
    assert "<form" not in r.text


def test_repeated_redirect_uri_is_an_error_page(setup):
    srv, c, u, cam, plug = setup
    _, challenge = pkce()
    q = urllib.parse.urlencode([("response_type", "code"), ("client_id", c.id),
                                ("redirect_uri", c.redirect_uri), ("redirect_uri", c.redirect_uri),
                                ("code_challenge", challenge), ("code_challenge_method", "S256")])
    r = Browser(srv).get("/oauth/authorize?" + q)
    assert r.status_code == 400 and "Location" not in r.headers


@pytest.mark.parametrize("change,error", [
    ({"code_challenge_method": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge": None}, "invalid_request"),
    ({"code_challenge": "short"}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": None}, "invalid_request"),
    ({"scope": "devices:read health:read"}, "invalid_scope"),
    ({"scope": "admin"}, "invalid_scope"),
])
def test_bad_request_redirects_with_error_and_state(setup, change, error):
    srv, c, u, cam, plug = setup
    _, challenge = pkce()
    q = {"response_type": "code", "client_id": c.id, "redirect_uri": c.redirect_uri,
         "code_challenge": challenge, "code_challenge_method": "S256", "state": "keep-me"}
    q.update(change)
    q = {k: v for k, v in q.items() if v is not None}
    r = Browser(srv).get("/oauth/authorize?" + urllib.parse.urlencode(q))
    assert r.status_code == 302, r.text
    loc, params = redirect_params(r)
    assert loc.startswith(ALEXA_URI + "?")
    assert params["error"] == error and params["state"] == "keep-me" and "code" not in params


def test_scope_not_allowed_for_client(setup):
    srv, c, u, cam, plug = setup
    narrow = register_client(srv, scopes="devices:read")
    _, challenge = pkce()
    r = Browser(srv).authorize(narrow, challenge, scope="devices:read camera:stream")
    assert redirect_params(r)[1]["error"] == "invalid_scope"


def test_wrong_password_shows_login_again(setup):
    srv, c, u, cam, plug = setup
    b = Browser(srv)
    _, challenge = pkce()
    page = b.authorize(c, challenge)
    r = b.login(page, u.email, "wrong-" + new_password())
    assert r.status_code == 401
    assert "sh_oauth_login" not in r.headers.get("Set-Cookie", "")
    assert "Wrong e-mail or password" in r.text
    assert forms_of(r.text)[0]["action"] == "/oauth/authorize/login"


def test_csrf_is_required(setup):
    srv, c, u, cam, plug = setup
    b = Browser(srv)
    _, challenge = pkce()
    page = b.authorize(c, challenge)
    form = forms_of(page.text)[0]
    data = dict(form["hidden"])
    data.update({"email": u.email, "password": u.password})
    for bad in ("", "A" * 43, data["csrf"][:-1] + ("B" if data["csrf"][-1] != "B" else "C")):
        d = dict(data, csrf=bad)
        r = b.post("/oauth/authorize/login", d)
        assert r.status_code == 403, r.text
        assert "sh_oauth_login" not in r.headers.get("Set-Cookie", "")
    # another browser's token (its own cookie jar) does not work either
    other = Browser(srv)
    r = other.post("/oauth/authorize/login", data)
    assert r.status_code == 403
    # consent with a forged csrf: no code
    code, verifier, b2 = authorize_code(srv, u, c, [])
    _, challenge = pkce()
    consent = b2.authorize(c, challenge)
    r = b2.consent(consent, [cam["id"]], csrf="x" * 43)
    assert r.status_code == 403 and "Location" not in r.headers


def test_deny_redirects_access_denied(setup):
    srv, c, u, cam, plug = setup
    code, verifier, b = authorize_code(srv, u, c, [])
    _, challenge = pkce()
    consent = b.authorize(c, challenge, state="d1")
    r = b.consent(consent, [cam["id"]], decision="deny")
    loc, params = redirect_params(r)
    assert params["error"] == "access_denied" and params["state"] == "d1" and "code" not in params


def test_cannot_grant_someone_elses_device(setup):
    srv, c, u, cam, plug = setup
    other = srv.new_user()
    theirs = add_device(srv, other.sessions[0]["access_token"], "camera")
    code, verifier, b = authorize_code(srv, u, c, [])
    _, challenge = pkce()
    consent = b.authorize(c, challenge)
    for bad in (theirs["id"], "zz" * 16, "00" * 16):
        r = b.consent(consent, [cam["id"], bad])
        assert r.status_code == 400 and "Location" not in r.headers, r.text


def test_code_single_use_and_replay_revokes(setup):
    srv, c, u, cam, plug = setup
    code, verifier, _ = authorize_code(srv, u, c, [cam["id"]])
    first = exchange(srv, c, code, verifier)
    assert first.status_code == 200
    tokens = first.json()
    assert partner_devices(srv, tokens["access_token"]).status_code == 200
    oauth_error(exchange(srv, c, code, verifier), 400, "invalid_grant")
    # everything issued from that code is dead now
    assert partner_devices(srv, tokens["access_token"]).status_code == 401
    r = srv.post("/oauth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                 headers=c.basic())
    oauth_error(r, 400, "invalid_grant")


def test_code_expires(server_factory):
    srv = server_factory(extra_args=["--oauth-code-ttl", "1"], name="codettl")
    c = register_client(srv)
    u = srv.new_user()
    code, verifier, _ = authorize_code(srv, u, c, [])
    time.sleep(1.5)
    oauth_error(exchange(srv, c, code, verifier), 400, "invalid_grant")


def test_code_ttl_flag_limits(server_factory, tmp_path):
    import subprocess
    from conftest import BIN
    for bad in ("0", "601", "x"):
        p = subprocess.run([BIN, "serve", "--data-dir", str(tmp_path / "d"), "--oauth-code-ttl", bad],
                           capture_output=True, timeout=20)
        assert p.returncode == 2, bad
    for bad in ("359", "0"):
        p = subprocess.run([BIN, "serve", "--data-dir", str(tmp_path / "d"), "--oauth-access-ttl", bad],
                           capture_output=True, timeout=20)
        assert p.returncode == 2, bad


def test_login_cookie_dies_with_user_rule(setup):
    srv, c, u, cam, plug = setup
    u2 = srv.new_user()
    code, verifier, b = authorize_code(srv, u2, c, [])
    p = srv.cli("admin", "revoke", "--user", u2.id)
    assert p.returncode == 0
    time.sleep(1.5)
    _, challenge = pkce()
    r = b.authorize(c, challenge)
    assert forms_of(r.text)[0]["action"] == "/oauth/authorize/login"


def test_form_post_needs_urlencoded(setup):
    srv, c, u, cam, plug = setup
    b = Browser(srv)
    r = b.http.post(srv.base + "/oauth/authorize/login", json={"email": "x"}, allow_redirects=False)
    assert r.status_code == 415 and r.headers["Content-Type"].startswith("text/html")
    assert r.headers.get("X-Frame-Options") == "DENY"
