"""Account linking, part 10: malformed input on every OAuth endpoint (P10). The form
parser's limits and encodings, and for each case the RFC's error with nothing changed."""

import pytest
import requests

from conftest import HTTP_TIMEOUT
from oauthkit import Browser, authorize_code, exchange, oauth_error, pkce, register_client


@pytest.fixture(scope="module")
def setup(module_server_factory):
    srv = module_server_factory(name="oauth-badinput")
    c = register_client(srv)
    u = srv.new_user()
    return srv, c, u


def raw_post(srv, path, body, headers=None, ctype="application/x-www-form-urlencoded"):
    h = {"Content-Type": ctype}
    h.update(headers or {})
    return requests.post(srv.base + path, data=body, headers=h, timeout=HTTP_TIMEOUT)


BAD_BODIES = [
    b"grant_type=authorization_code&code=%zz",             # bad escape
    b"grant_type=authorization_code&code=%4",              # truncated escape
    b"grant_type=authorization_code&code=a%00b",           # NUL
    b"grant_type=authorization_code&code=%ff%fe",          # not UTF-8
    b"grant_type=authorization_code&code=\xc3\x28",        # not UTF-8, raw
    b"&".join(b"f%d=1" % i for i in range(70)),             # too many fields
    b"n" * 65 + b"=1",                                     # name too long
    b"code=" + b"a" * 4097,                                # value too long
    b"=value",                                             # empty name
]


@pytest.mark.parametrize("body", BAD_BODIES)
@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_malformed_form_bodies(setup, body, path):
    srv, c, u = setup
    oauth_error(raw_post(srv, path, body, c.basic()), 400, "invalid_request")


def test_body_too_large(setup):
    srv, c, u = setup
    r = raw_post(srv, "/oauth/token", b"a=" + b"b" * (70 * 1024), c.basic())
    oauth_error(r, 413, "invalid_request")


def test_charset_parameter_is_fine_and_bad_input_changes_nothing(setup):
    srv, c, u = setup
    code, verifier, _ = authorize_code(srv, u, c, [])
    for body in BAD_BODIES:
        raw_post(srv, "/oauth/token", body, c.basic())
    good = "grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s" % (
        code, requests.utils.quote(c.redirect_uri, safe=""), verifier)
    r = raw_post(srv, "/oauth/token", good.encode(), c.basic(),
                 ctype="application/x-www-form-urlencoded; charset=UTF-8")
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("query", [
    "client_id=%zz",
    "client_id=a%00b",
    "client_id=%ff",
    "&".join("f%d=1" % i for i in range(70)),
])
def test_malformed_authorize_query_is_an_error_page(setup, query):
    srv, c, u = setup
    r = Browser(srv).get("/oauth/authorize?" + query)
    assert r.status_code == 400 and "Location" not in r.headers
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers.get("X-Frame-Options") == "DENY"


def test_overlong_state_is_refused_not_echoed(setup):
    srv, c, u = setup
    _, challenge = pkce()
    r = Browser(srv).authorize(c, challenge, state="s" * 600)
    assert r.status_code == 302
    assert "error=invalid_request" in r.headers["Location"] and "sss" not in r.headers["Location"]


def test_empty_and_odd_pieces_are_tolerated(setup):
    srv, c, u = setup
    code, verifier, _ = authorize_code(srv, u, c, [])
    body = "&&grant_type=authorization_code&&code=%s&redirect_uri=%s&code_verifier=%s&" % (
        code, requests.utils.quote(c.redirect_uri, safe=""), verifier)
    r = raw_post(srv, "/oauth/token", body.encode(), c.basic())
    assert r.status_code == 200, r.text


def test_empty_parameter_counts_as_missing(setup):
    srv, c, u = setup
    oauth_error(raw_post(srv, "/oauth/token", b"grant_type=", c.basic()), 400, "invalid_request")
    oauth_error(raw_post(srv, "/oauth/introspect", b"token=", c.basic()), 400, "invalid_request")
