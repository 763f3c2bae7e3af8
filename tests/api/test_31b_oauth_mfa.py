"""Account linking, part 2b: the authorize pages' second factor. After the right password a
two-factor user gets a code form (same headers and CSRF as the other pages), and only a
right TOTP code (computed by `oathtool`) or recovery code leads to consent. The code checks
are the two-factor domain's: single use, +-1 step, five wrong codes end the challenge, the
per-account code limit is shared with POST /v1/sessions/mfa. A pending login never reaches
consent."""

import base64
import time
import urllib.parse

import pytest
import requests

from conftest import HTTP_TIMEOUT, RULE_DELAY, assert_problem, expect_json, wait_until
from mfa_support import STEP, enable_mfa, enrol, login_2fa, login_challenge, mfa_raw, oathtool
from oauthkit import (ALEXA_URI, GOOGLE_URI, Browser, add_device, exchange, forms_of, link,
                      partner_devices, pkce, redirect_params, register_client)

MFA_ACTION = "/oauth/authorize/mfa"
LOGIN_ACTION = "/oauth/authorize/login"


@pytest.fixture(scope="module")
def srv(module_server_factory):
    return module_server_factory(name="oauth-mfa")


@pytest.fixture(scope="module")
def client(srv):
    return register_client(srv)


def mfa_user(srv):
    """A two-factor user with a camera; returns (user, camera, app access token)."""
    u = srv.create_account()
    tok = u.login(client="ios")["access_token"]
    cam = add_device(srv, tok, "camera")
    enable_mfa(srv, u, tok)
    return u, cam, tok


def assert_page_headers(r):
    csp = r.headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, csp
    assert "unsafe-inline" not in csp and "script-src" not in csp, csp
    assert r.headers.get("X-Frame-Options") == "DENY"
    assert r.headers.get("Referrer-Policy") == "no-referrer"
    assert "no-store" in r.headers.get("Cache-Control", "")
    assert r.headers.get("Content-Type", "").startswith("text/html")
    assert "<script" not in r.text.lower()


def action(page):
    forms = forms_of(page.text)
    return forms[0]["action"] if forms else None


def password_step(srv, c, u, b=None, state="s-mfa"):
    """Authorize, then e-mail and password; returns (browser, code form page, verifier)."""
    b = b or Browser(srv)
    verifier, challenge = pkce()
    page = b.authorize(c, challenge, state=state)
    assert action(page) == LOGIN_ACTION, page.text
    r = b.login(page, u.email, u.password)
    assert r.status_code == 303, r.text
    page = b.get(r.headers["Location"])
    assert page.status_code == 200, page.text
    assert action(page) == MFA_ACTION, page.text
    return b, page, verifier


def consent_to_code(srv, b, r, c, devices, state="s-mfa"):
    """From the code form's 303: the consent page, allow, the code from the redirect."""
    assert r.status_code == 303, r.text
    assert "sh_oauth_login=" in r.headers.get("Set-Cookie", "")
    consent = b.get(r.headers["Location"])
    assert consent.status_code == 200 and action(consent) == "/oauth/authorize", consent.text
    r = b.consent(consent, devices)
    assert r.status_code == 302, r.text
    loc, params = redirect_params(r)
    assert loc.startswith(c.redirect_uri + "?") and params["state"] == state, loc
    return params["code"]


def refused_with_form(r, text):
    """A refused code: the code form again with an error, no code, no done login."""
    assert r.status_code == 401, r.text
    assert "Location" not in r.headers
    assert action(r) == MFA_ACTION, r.text
    assert text in r.text, r.text
    assert_page_headers(r)


def bad_code(good):
    return "%06d" % ((int(good) + 500000) % 1000000)


def raw_post(srv, path, data, cookies):
    """A form post with exactly these cookies (none from any jar)."""
    return requests.post(srv.base + path, data=data, cookies=cookies, allow_redirects=False,
                         timeout=HTTP_TIMEOUT)


def test_password_leads_to_a_code_form(srv, client):
    u, cam, _ = mfa_user(srv)
    b = Browser(srv)
    _, challenge = pkce()
    page = b.authorize(client, challenge)
    r = b.login(page, u.email, u.password)
    assert r.status_code == 303 and r.headers["Location"].startswith("/oauth/authorize?")
    cookies = r.headers.get("Set-Cookie", "")
    assert "sh_oauth_login=" in cookies and "sh_oauth_mfa=sh_mt_" in cookies, cookies
    for c in r.raw.headers.getlist("Set-Cookie"):
        assert "HttpOnly" in c and "SameSite=Lax" in c and "Path=/oauth" in c, c
        assert "Max-Age=300" in c or c.startswith("sh_oauth_b="), c
    page = b.get(r.headers["Location"])
    assert page.status_code == 200
    assert_page_headers(page)
    form = forms_of(page.text)[0]
    assert form["action"] == MFA_ACTION and form["method"] == "post"
    hidden = dict(form["hidden"])
    assert hidden["client_id"] == client.id and hidden["redirect_uri"] == client.redirect_uri
    assert hidden["csrf"] and hidden["code_challenge"] == challenge
    assert set(form["inputs"]) >= {"code", "recovery_code"}
    assert client.name in page.text
    # not the consent page: no device, no allow button
    assert cam["id"] not in page.text and not form["checkboxes"]
    assert ("decision", "allow") not in form["buttons"]


def test_link_end_to_end_with_totp(srv, client):
    u, cam, tok = mfa_user(srv)
    plug = add_device(srv, tok, "plug")
    b, page, verifier = password_step(srv, client, u)
    r = b.second_factor(page, code=u.totp.code())
    assert "sh_oauth_mfa=;" in r.headers.get("Set-Cookie", "")  # the challenge cookie goes
    code = consent_to_code(srv, b, r, client, [plug["id"]])
    assert code.startswith("sh_ac_")
    tokens = expect_json(exchange(srv, client, code, verifier), 200)
    devices = expect_json(partner_devices(srv, tokens["access_token"]), 200)["devices"]
    assert [d["id"] for d in devices] == [plug["id"]]
    # the browser login is not an app session
    sessions = expect_json(srv.get("/v1/sessions", token=tok), 200)["sessions"]
    assert len(sessions) == 1
    # the done login lasts: the next authorization goes straight to consent
    _, challenge = pkce()
    assert action(b.authorize(client, challenge)) == "/oauth/authorize"


def test_link_end_to_end_with_a_recovery_code(srv, client):
    u, cam, _ = mfa_user(srv)
    spent = u.recovery.pop()
    b, page, verifier = password_step(srv, client, u)
    code = consent_to_code(srv, b, b.second_factor(page, recovery_code=spent), client, [cam["id"]])
    tokens = expect_json(exchange(srv, client, code, verifier), 200)
    assert partner_devices(srv, tokens["access_token"]).status_code == 200
    # used up: neither the page nor the app login takes it again
    b2, page, _ = password_step(srv, client, u)
    refused_with_form(b2.second_factor(page, recovery_code=spent), "wrong or was already used")
    assert_problem(mfa_raw(srv, login_challenge(srv, u)["mfa_token"], recovery_code=spent), 400,
                   "invalid_code")
    # another recovery code (typed in lower case, without the dash) works
    other = u.recovery.pop().lower().replace("-", "")
    consent_to_code(srv, b2, b2.second_factor(page, recovery_code=other), client, [])


def test_wrong_code_shows_the_form_again_and_issues_nothing(srv, client):
    u, cam, _ = mfa_user(srv)
    b, page, _ = password_step(srv, client, u)
    good = u.totp.code()
    r = b.second_factor(page, code=bad_code(good))
    refused_with_form(r, "That code is wrong")
    assert "sh_oauth_login" not in r.headers.get("Set-Cookie", "")
    # still pending: GET shows the code form, never consent
    _, challenge = pkce()
    assert action(b.authorize(client, challenge)) == MFA_ACTION
    # the form that came back works with the right code
    consent_to_code(srv, b, b.second_factor(r, code=good), client, [cam["id"]])


@pytest.mark.parametrize("fields", [{}, {"code": "123456", "recovery_code": "AAAAA-AAAAA"},
                                    {"code": "1" * 65}])
def test_one_factor_field_is_required(srv, client, fields):
    u, cam, _ = mfa_user(srv)
    b, page, _ = password_step(srv, client, u)
    data = dict(forms_of(page.text)[0]["hidden"])
    data.update({"code": "", "recovery_code": ""})
    data.update(fields)
    r = b.post(MFA_ACTION, data)
    assert r.status_code == 400 and action(r) == MFA_ACTION, r.text
    assert "Enter either" in r.text
    consent_to_code(srv, b, b.second_factor(page, code=u.totp.code()), client, [])


def test_code_is_single_use_across_page_and_app(srv, client):
    u, cam, _ = mfa_user(srv)
    code = u.totp.code()
    b, page, _ = password_step(srv, client, u)
    consent_to_code(srv, b, b.second_factor(page, code=code), client, [])
    # replayed in another browser
    b2, page2, _ = password_step(srv, client, u)
    refused_with_form(b2.second_factor(page2, code=code), "wrong or was already used")
    # and at the app login
    assert_problem(mfa_raw(srv, login_challenge(srv, u)["mfa_token"], code=code), 400,
                   "invalid_code")
    # a code used by the app is refused on the page too
    app_code = u.totp.code()
    expect_json(mfa_raw(srv, login_challenge(srv, u)["mfa_token"], code=app_code), 200)
    refused_with_form(b2.second_factor(page2, code=app_code), "wrong or was already used")


def away_from_step_boundary():
    while int(time.time()) % STEP >= STEP - 4:
        time.sleep(1)
    return int(time.time()) // STEP


def test_one_step_of_clock_skew(srv, client):
    u = srv.create_account()
    tok = u.login()["access_token"]
    secret = enrol(srv, tok)["secret"]
    now = away_from_step_boundary()
    expect_json(srv.post("/v1/me/mfa/totp/confirm", token=tok,
                         json={"code": oathtool(secret, (now - 1) * STEP + 1)}), 200)
    now = away_from_step_boundary()
    b, page, _ = password_step(srv, client, u)
    refused_with_form(b.second_factor(page, code=oathtool(secret, (now + 2) * STEP + 1)),
                      "That code is wrong")
    r = b.second_factor(page, code=oathtool(secret, (now + 1) * STEP + 1))
    consent_to_code(srv, b, r, client, [])
    # the current step is now older than the last used one
    b2, page2, _ = password_step(srv, client, u)
    refused_with_form(b2.second_factor(page2, code=oathtool(secret, now * STEP + 1)),
                      "That code is wrong")


def test_five_wrong_codes_end_the_challenge_and_lock_codes_like_the_app(srv, client):
    u, cam, _ = mfa_user(srv)
    b, page, _ = password_step(srv, client, u)
    good = u.totp.code()
    for _ in range(5):
        page = b.second_factor(page, code=bad_code(good))
        refused_with_form(page, "That code is wrong")
    # the right code no longer helps: sign in again, both cookies cleared
    r = b.second_factor(page, code=good)
    assert r.status_code == 401 and action(r) == LOGIN_ACTION, r.text
    assert "Sign in again" in r.text and "Location" not in r.headers
    cookies = r.raw.headers.getlist("Set-Cookie")
    assert any(c.startswith("sh_oauth_mfa=;") and "Max-Age=0" in c for c in cookies), cookies
    assert any(c.startswith("sh_oauth_login=;") and "Max-Age=0" in c for c in cookies), cookies
    _, challenge = pkce()
    assert action(b.authorize(client, challenge)) == LOGIN_ACTION
    # the per-account code limit is the one POST /v1/sessions/mfa uses: locked on both
    b2, page2, _ = password_step(srv, client, u)
    r = b2.second_factor(page2, code=u.totp.code())
    assert r.status_code == 429 and action(r) == MFA_ACTION, r.text
    assert int(r.headers["Retry-After"]) > 0 and "Too many wrong codes" in r.text
    assert "Location" not in r.headers
    r = mfa_raw(srv, login_challenge(srv, u)["mfa_token"], code=u.totp.code())
    assert_problem(r, 429, "rate_limited")


def test_pending_login_cannot_consent(srv, client):
    u, cam, _ = mfa_user(srv)
    b, page, _ = password_step(srv, client, u)
    data = list(forms_of(page.text)[0]["hidden"]) + [("device", cam["id"]), ("decision", "allow")]
    r = b.post("/oauth/authorize", data)
    assert r.status_code == 401 and "Location" not in r.headers, r.text
    assert action(r) == LOGIN_ACTION
    # the pending ticket without its challenge cookie is just a login page
    ticket = b.http.cookies.get("sh_oauth_login")
    jar = {"sh_oauth_b": b.http.cookies.get("sh_oauth_b"), "sh_oauth_login": ticket}
    r = raw_post(srv, "/oauth/authorize", data, jar)
    assert r.status_code == 401 and "Location" not in r.headers
    _, challenge = pkce()
    q = urllib.parse.urlencode({"response_type": "code", "client_id": client.id,
                                "redirect_uri": client.redirect_uri, "code_challenge": challenge,
                                "code_challenge_method": "S256"})
    r = requests.get(srv.base + "/oauth/authorize?" + q, cookies=jar, allow_redirects=False,
                     timeout=HTTP_TIMEOUT)
    assert action(r) == LOGIN_ACTION
    # the code step still completes it afterwards
    consent_to_code(srv, b, b.second_factor(page, code=u.totp.code()), client, [])


def test_csrf_is_required(srv, client):
    u, cam, _ = mfa_user(srv)
    b, page, _ = password_step(srv, client, u)
    good = u.totp.code()
    csrf = dict(forms_of(page.text)[0]["hidden"])["csrf"]
    for bad in ("", "A" * 43, csrf[:-1] + ("B" if csrf[-1] != "B" else "C")):
        r = b.second_factor(page, code=good, csrf=bad)
        assert r.status_code == 403 and "Location" not in r.headers, r.text
        assert "sh_oauth_login" not in r.headers.get("Set-Cookie", "")
        assert_page_headers(r)
    # a page of another browser: its own nonce, so the token does not fit
    other = Browser(srv)
    _, challenge = pkce()
    other.authorize(client, challenge)
    data = dict(forms_of(page.text)[0]["hidden"], code=good, recovery_code="")
    assert other.post(MFA_ACTION, data).status_code == 403
    # nothing was charged or used: the right code still works
    consent_to_code(srv, b, b.second_factor(page, code=good), client, [])


def test_challenges_are_bound_to_their_user_and_to_the_browser(srv, client):
    a, _, _ = mfa_user(srv)
    other, _, _ = mfa_user(srv)
    ba, page_a, _ = password_step(srv, client, a)
    bo, page_o, _ = password_step(srv, client, other)
    hidden = dict(forms_of(page_a.text)[0]["hidden"])
    swapped = {"sh_oauth_b": ba.http.cookies.get("sh_oauth_b"),
               "sh_oauth_login": ba.http.cookies.get("sh_oauth_login"),
               "sh_oauth_mfa": bo.http.cookies.get("sh_oauth_mfa")}
    code_a, code_o = a.totp.code(), other.totp.code()
    # a's ticket with the other user's challenge: refused before any code is looked at
    r = raw_post(srv, MFA_ACTION, dict(hidden, code=code_a, recovery_code=""), swapped)
    assert r.status_code == 401 and action(r) == LOGIN_ACTION, r.text
    # an app challenge does not complete a browser login
    app = login_challenge(srv, a)["mfa_token"]
    r = raw_post(srv, MFA_ACTION, dict(hidden, code=code_a, recovery_code=""),
                 dict(swapped, sh_oauth_mfa=app))
    assert r.status_code == 401 and action(r) == LOGIN_ACTION, r.text
    # a browser challenge does not open an app session
    assert_problem(mfa_raw(srv, bo.http.cookies.get("sh_oauth_mfa"), code=code_o), 401,
                   "invalid_token")
    # none of that used or charged anything: the same codes still work
    expect_json(mfa_raw(srv, app, code=code_a), 200)
    consent_to_code(srv, bo, bo.second_factor(page_o, code=code_o), client, [])
    consent_to_code(srv, ba, ba.second_factor(page_a, code=a.totp.code()), client, [])


def test_pending_login_dies_with_a_user_rule(srv, client):
    u, cam, _ = mfa_user(srv)
    b, page, _ = password_step(srv, client, u)
    p = srv.cli("admin", "revoke", "--user", u.id)
    assert p.returncode == 0, p.stderr
    time.sleep(RULE_DELAY)
    r = b.second_factor(page, code=u.totp.code())
    assert r.status_code == 401 and action(r) == LOGIN_ACTION, r.text
    # a login after the rule goes through at once
    b, page, _ = password_step(srv, client, u)
    consent_to_code(srv, b, b.second_factor(page, code=u.totp.code()), client, [cam["id"]])


def test_no_challenge_or_ticket_in_database_wal_or_log(srv, client):
    u, cam, _ = mfa_user(srv)
    b, page, _ = password_step(srv, client, u)
    secrets = {"challenge": b.http.cookies.get("sh_oauth_mfa"),
               "pending": b.http.cookies.get("sh_oauth_login")}
    r = b.second_factor(page, code=u.totp.code())
    consent_to_code(srv, b, r, client, [])
    secrets["done"] = b.http.cookies.get("sh_oauth_login")
    blobs = srv.store_blobs()
    blobs["log"] = srv.log_bytes()
    for name, value in secrets.items():
        assert value and value.startswith("sh_"), (name, value)
        body = value[6:]
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))[:24]
        for where, data in blobs.items():
            for v in (value.encode(), body.encode(), raw):
                assert v not in data, (name, where)


def link_with(srv, u, c, devices, recovery=False):
    b, page, verifier = password_step(srv, c, u)
    if recovery:
        r = b.second_factor(page, recovery_code=u.recovery.pop())
    else:
        r = b.second_factor(page, code=u.totp.code())
    code = consent_to_code(srv, b, r, c, devices)
    return expect_json(exchange(srv, c, code, verifier), 200)


def test_2019_story_two_factor_user_relinks_at_once(server_factory):
    """Revoking everything ends every partner link; a two-factor user links again at once
    with password and code (and with a recovery code), and logs in to the app again."""
    srv = server_factory(name="story2019-mfa")
    alexa = register_client(srv, name="Alexa", uris=(ALEXA_URI,))
    google = register_client(srv, name="Google Assistant", uris=(GOOGLE_URI,))
    u = srv.create_account()
    phone = u.login(client="ios")
    cam = add_device(srv, phone["access_token"], "camera")
    enable_mfa(srv, u, phone["access_token"])
    links = {alexa: link(srv, u, alexa, [cam["id"]]),          # oauthkit fills in the code
             google: link_with(srv, u, google, [cam["id"]], recovery=True)}
    for tokens in links.values():
        assert partner_devices(srv, tokens["access_token"]).status_code == 200
    p = srv.cli("admin", "revoke", "--all")
    assert p.returncode == 0, p.stderr
    assert wait_until(lambda: all(partner_devices(srv, t["access_token"]).status_code == 401
                                  for t in links.values()))
    assert not srv.token_ok(phone["access_token"])
    # at once, no waiting: the new links and the new session are newer than the rule
    fresh = {alexa: link_with(srv, u, alexa, [cam["id"]], recovery=True),
             google: link_with(srv, u, google, [cam["id"]])}
    for tokens in fresh.values():
        assert partner_devices(srv, tokens["access_token"]).status_code == 200
    again = login_2fa(srv, u, client="ios")
    assert srv.token_ok(again["access_token"])
    listed = expect_json(srv.get("/v1/me/integrations", token=again["access_token"]), 200)
    assert sorted(i["client_id"] for i in listed["integrations"]) == sorted([alexa.id, google.id])
