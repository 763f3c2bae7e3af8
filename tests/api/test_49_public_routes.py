"""The public routes added for operators, GET /readyz (both listeners) and
GET /.well-known/security.txt (public listener), as an authorization matrix
and with bad input.

Matrix: each kind of caller (none, a user, a device, the admin token, a
forged token, a token of the wrong kind, an expired-looking garbage bearer,
Basic credentials) gets the same answer as no caller at all: these routes
read no credential, so none can widen or narrow what they show, and what
they show names no user. Bad input: other methods get 405 with Allow, a
body or a query string on a GET changes nothing, a path that only looks
like the route is 404.
"""

import pytest

from conftest import assert_problem, expect_json
from devkit import claim, provision

SECTXT = "/.well-known/security.txt"
CONTACT = "mailto:security@example.com"


@pytest.fixture(scope="module")
def srv(module_server_factory):
    return module_server_factory(name="public", extra_args=["--security-contact", CONTACT])


@pytest.fixture(scope="module")
def callers(srv):
    u = srv.new_user()
    user_tok = u.sessions[0]["access_token"]
    dev = provision(srv)
    claim(srv, user_tok, dev["claim_code"])
    return {
        "none": None,
        "user": user_tok,
        "refresh token (wrong kind)": u.sessions[0]["refresh_token"],
        "device": dev["device_token"],
        "admin token": srv.admin_token,
        "forged": "sh_at_" + "A" * 80,
        "garbage": "not-a-token",
    }


def answer(srv, path, token, admin=False, headers=None):
    """(status, content type, body), the body without its request id."""
    r = srv.req("GET", path, token=token, admin=admin, headers=headers)
    body = r.content
    if r.headers.get("Content-Type", "").startswith("application/"):
        body = {k: v for k, v in r.json().items() if k != "request_id"}
    return r.status_code, r.headers.get("Content-Type"), body


@pytest.mark.parametrize("path,admin", [("/readyz", False), ("/readyz", True),
                                        (SECTXT, False), (SECTXT, True)])
def test_every_caller_gets_what_no_caller_gets(srv, callers, path, admin):
    base = answer(srv, path, None, admin)
    assert base[0] == (404 if (path == SECTXT and admin) else 200), base
    for who, tok in callers.items():
        assert answer(srv, path, tok, admin) == base, "%s on %s" % (who, path)
    basic = answer(srv, path, None, admin, headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert basic == base


def test_answers_name_no_one(srv, callers):
    body = expect_json(srv.get("/readyz", token=callers["user"]), 200)
    assert set(body) == {"status", "schema_version"}, body
    text = srv.get(SECTXT).text
    assert "Contact: " + CONTACT in text
    assert "@seed" not in text and "example.com" in CONTACT


@pytest.mark.parametrize("path", ["/readyz", SECTXT])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_other_methods_are_405_with_allow(srv, path, method):
    r = srv.req(method, path, json={"x": 1})
    assert_problem(r, 405, "method_not_allowed")
    allow = {m.strip() for m in r.headers["Allow"].split(",")}
    assert {"GET", "HEAD"} <= allow and method not in allow, r.headers["Allow"]


@pytest.mark.parametrize("path", ["/readyz", SECTXT])
def test_body_and_query_change_nothing(srv, path):
    base = answer(srv, path, None)
    r = srv.req("GET", path + "?status=down&%ff=%00", data=b"\xff\xfe{not json",
                headers={"Content-Type": "application/json"})
    assert (r.status_code, r.headers.get("Content-Type")) == base[:2], r.text
    if path == SECTXT:
        assert r.content == base[2]
    else:
        assert expect_json(r, 200)["status"] == "ready"


@pytest.mark.parametrize("path", ["/readyz/", "/readyz/x", "/READYZ", "/readyz%00", "/v1/me%00x",
                                  "/.well-known/security.txt/x",
                                  "/.well-known/security.txt%00"])
def test_lookalike_paths_are_404(srv, path):
    assert_problem(srv.get(path), 404, "not_found")
