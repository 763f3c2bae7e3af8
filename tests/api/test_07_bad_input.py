"""Promise P10, first half: bad input gets a clear error and changes nothing."""

import json
import socket
import uuid

import pytest

from conftest import (assert_problem, expect_json, expect_status, new_email, new_password)

JSON = {"Content-Type": "application/json"}


def post_raw(srv, path, data, headers=JSON, token=None):
    return srv.req("POST", path, data=data, headers=headers, token=token)


def email_still_free(srv, email):
    """A failed create left nothing behind: the e-mail can still be registered."""
    expect_json(srv.create_account_raw(email, new_password()), 201)


def healthy(srv):
    expect_json(srv.get("/healthz"), 200)


# ---- JSON syntax --------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    b'{"email": "%s", "password": "Zq8-kdP-31x-ww"',            # truncated
    b'{"email": "%s", "password": "Zq8-kdP-31x-ww",}',          # trailing comma
    b"{'email': '%s'}",                                           # single quotes
    b'{"email": "%s" "password": "x"}',                         # missing comma
    b'',                                                          # empty body with JSON content type
    b'{"email": "%s", "password": "Zq8-kdP-31x-ww"} trailing',  # garbage after the object
    b'{"email": "%s", "password": NaN}',
])
def test_malformed_json(server, raw):
    email = new_email()
    data = raw.replace(b"%s", email.encode())
    r = post_raw(server, "/v1/accounts", data)
    assert_problem(r, 400, "invalid_json")
    email_still_free(server, email)
    healthy(server)


def test_invalid_utf8(server):
    email = new_email()
    for bad in (b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf"):   # incl. surrogate, overlong
        data = b'{"email": "' + email.encode() + b'", "password": "Zq8-kdP-31x-ww", "display_name": "a' \
            + bad + b'"}'
        r = post_raw(server, "/v1/accounts", data)
        assert_problem(r, 400, "invalid_json")
    data = b'{"email": "x' + b"\xff" + email.encode() + b'", "password": "Zq8-kdP-31x-ww"}'
    assert_problem(post_raw(server, "/v1/accounts", data), 400, "invalid_json")
    email_still_free(server, email)


def test_duplicate_keys(server):
    e1, e2 = new_email(), new_email()
    data = json.dumps({"email": e1, "password": "Zq8-kdP-31x-ww"})[:-1] + ', "email": "%s"}' % e2
    r = post_raw(server, "/v1/accounts", data.encode())
    assert_problem(r, 400, "invalid_json")
    email_still_free(server, e1)
    email_still_free(server, e2)


def test_duplicate_keys_on_login(server):
    u = server.create_account()
    data = '{"email": "%s", "password": "wrong-password-1", "password": "%s", "client": "web"}' % (
        u.email, u.password)
    assert_problem(post_raw(server, "/v1/sessions", data.encode()), 400, "invalid_json")


@pytest.mark.parametrize("raw", [b'[]', b'[{"email": "a@example.com"}]', b'"string"', b'42', b'null',
                                 b'true'])
def test_top_level_not_object(server, raw):
    r = post_raw(server, "/v1/accounts", raw)
    assert_problem(r, 400, "invalid_request")
    healthy(server)


def test_nul_escape_in_strings(server):
    email = new_email()
    local, domain = email.split("@")
    bodies = [
        '{"email": "%s\\u0000evil@%s", "password": "Zq8-kdP-31x-ww"}' % (local, domain),
        '{"email": "%s", "password": "Zq8-kdP-31x-ww\\u0000tail"}' % email,
        '{"email": "%s", "password": "Zq8-kdP-31x-ww", "display_name": "a\\u0000b"}' % email,
    ]
    for b in bodies:
        r = post_raw(server, "/v1/accounts", b.encode())
        assert_problem(r, 400, ("invalid_json", "invalid_request", "invalid_email"))
    email_still_free(server, email)


def test_nul_in_login_password_does_not_truncate(server):
    u = server.create_account(password="Zq8-kdP-31x-ww-" + uuid.uuid4().hex[:6])
    body = '{"email": "%s", "password": "%s\\u0000garbage", "client": "web"}' % (u.email, u.password)
    r = post_raw(server, "/v1/sessions", body.encode())
    assert r.status_code in (400, 401), r.text
    assert_problem(r, r.status_code, ("invalid_json", "invalid_request", "invalid_credentials"))


# ---- types and required fields ------------------------------------------------------------


@pytest.mark.parametrize("body", [
    {"email": 12345, "password": "Zq8-kdP-31x-ww"},
    {"email": ["a@example.com"], "password": "Zq8-kdP-31x-ww"},
    {"email": None, "password": "Zq8-kdP-31x-ww"},
    {"email": "E", "password": 1234567890123},
    {"email": "E", "password": True},
    {"email": "E", "password": "Zq8-kdP-31x-ww", "display_name": 7},
    {"email": "E"},
    {"password": "Zq8-kdP-31x-ww"},
])
def test_account_wrong_types_and_missing_fields(server, body):
    email = new_email()
    body = {k: (email if v == "E" else v) for k, v in body.items()}
    r = server.post("/v1/accounts", json=body)
    assert_problem(r, 400, "invalid_request")
    email_still_free(server, email)


@pytest.mark.parametrize("body", [
    {"email": 1, "password": "P", "client": "web"},
    {"email": "E", "password": ["P"], "client": "web"},
    {"email": "E", "password": "P", "client": 1},
    {"email": "E", "password": "P", "client": "web", "device_name": 3},
    {"password": "P", "client": "web"},
    {"email": "E", "client": "web"},
])
def test_login_wrong_types_and_missing_fields(server, body):
    u = server.create_account()
    body = {k: (u.email if v == "E" else u.password if v == "P" else v) for k, v in body.items()}
    r = server.post("/v1/sessions", json=body)
    assert_problem(r, 400, "invalid_request")
    # no session was created: the user's first real login is the only session
    s = u.login()
    lst = expect_json(server.get("/v1/sessions", token=s["access_token"]), 200)
    assert len(lst["sessions"]) == 1


# ---- size and media type -------------------------------------------------------------------


def test_body_too_large(server):
    email = new_email()
    body = {"email": email, "password": "Zq8-kdP-31x-ww", "pad": ""}
    base = len(json.dumps(body))
    body["pad"] = "x" * (64 * 1024 + 1 - base)
    data = json.dumps(body).encode()
    assert len(data) == 64 * 1024 + 1
    r = post_raw(server, "/v1/accounts", data)
    assert_problem(r, 413, "payload_too_large")
    healthy(server)
    email_still_free(server, email)


def test_body_of_exactly_64k_accepted(server):
    email = new_email()
    body = {"email": email, "password": "Zq8-kdP-31x-ww", "pad": ""}
    base = len(json.dumps(body))
    body["pad"] = "z" * (64 * 1024 - base)
    data = json.dumps(body).encode()
    assert len(data) == 64 * 1024
    r = post_raw(server, "/v1/accounts", data)
    expect_json(r, 201)


def test_ten_megabyte_body_raw_socket(server):
    """A 10 MiB body is refused with 413 and not buffered: the server stays healthy."""
    n = 10 * 1024 * 1024
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        s.sendall(b"POST /v1/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % n)
        s.sendall(b'{"email": "' + b"x" * (n - 12) + b'"}')
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data.split(b"\r\n", 1)[0].startswith(b"HTTP/1.1 413"), data[:300]
    finally:
        s.close()
    healthy(server)


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "application/xml",
                                   None])
def test_wrong_content_type(server, ctype):
    email = new_email()
    data = json.dumps({"email": email, "password": "Zq8-kdP-31x-ww"}).encode()
    headers = {"Content-Type": ctype} if ctype else {}
    r = server.req("POST", "/v1/accounts", data=data, headers=headers)
    assert_problem(r, 415, "unsupported_media_type")
    email_still_free(server, email)


def test_content_type_with_charset_accepted(server):
    email = new_email()
    data = json.dumps({"email": email, "password": "Zq8-kdP-31x-ww"}).encode()
    r = server.req("POST", "/v1/accounts", data=data,
                   headers={"Content-Type": "application/json; charset=utf-8"})
    expect_json(r, 201)


def test_patch_me_bad_input_changes_nothing(server):
    u = server.create_account(display_name="Unchanged")
    at = u.login()["access_token"]
    assert_problem(server.req("PATCH", "/v1/me", token=at, data=b'{"display_name": ',
                              headers=JSON), 400, "invalid_json")
    assert_problem(server.req("PATCH", "/v1/me", token=at, data=b'{"display_name": "x"}',
                              headers={"Content-Type": "text/plain"}), 415, "unsupported_media_type")
    assert_problem(server.req("PATCH", "/v1/me", token=at, data=b'{"display_name": "a", "display_name": "b"}',
                              headers=JSON), 400, "invalid_json")
    assert_problem(server.req("PATCH", "/v1/me", token=at, data=b'["display_name"]',
                              headers=JSON), 400, "invalid_request")
    assert expect_json(server.me(at), 200)["display_name"] == "Unchanged"


def test_password_change_bad_json_changes_nothing(server):
    u = server.create_account()
    cur = u.login()
    other = u.login(client="android")
    data = ('{"current_password": "%s", "new_password": "Nw-%s"' % (u.password, uuid.uuid4().hex)).encode()
    assert_problem(post_raw(server, "/v1/me/password", data, token=cur["access_token"]), 400, "invalid_json")
    assert server.token_ok(other["access_token"])
    server.login(u.email, u.password)


# ---- routing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/nope"),
    ("GET", "/"),
    ("POST", "/v1/account"),
    ("GET", "/v1/accounts/extra/segments"),
    ("GET", "/V1/ME"),
    ("GET", "/v1/me/../me/x"),
    ("GET", "/healthz/x"),
])
def test_unknown_route(server, method, path):
    r = server.req(method, path, data=b"{}" if method == "POST" else None,
                   headers=JSON if method == "POST" else None)
    assert_problem(r, 404, "not_found")


@pytest.mark.parametrize("method,path,allowed", [
    ("GET", "/v1/accounts", {"POST"}),
    ("PUT", "/v1/accounts", {"POST"}),
    ("PATCH", "/v1/logout", {"POST"}),
    ("GET", "/v1/logout", {"POST"}),
    ("PUT", "/v1/me", {"GET", "PATCH"}),
    ("PUT", "/v1/sessions", {"GET", "POST", "DELETE"}),
    ("POST", "/healthz", {"GET"}),
    ("GET", "/v1/me/password", {"POST"}),
])
def test_wrong_method(server, method, path, allowed):
    u = server.new_user()
    r = server.req(method, path, token=u.sessions[0]["access_token"])
    assert_problem(r, 405, "method_not_allowed")
    allow = {m.strip().upper() for m in r.headers["Allow"].split(",")}
    assert allowed <= allow, "Allow: %s" % r.headers["Allow"]
    assert method not in allow, "Allow lists the refused method: %s" % r.headers["Allow"]
    healthy(server)


def test_server_survives_garbage_http(server):
    for junk in (b"\x00\x01\x02garbage\r\n\r\n", b"GET /healthz HTTP/9.9\r\n\r\n",
                 b"GET " + b"/a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=1.5)
        try:
            s.sendall(junk)
            try:
                s.recv(4096)
            except (socket.timeout, ConnectionResetError):
                pass
        finally:
            s.close()
    healthy(server)
    u = server.new_user()
    assert server.token_ok(u.sessions[0]["access_token"])


def test_errors_are_stable_problem_documents(server):
    """Each failure mode has its stable code even when repeated."""
    for _ in range(2):
        assert_problem(server.get("/v1/nope"), 404, "not_found")
        assert_problem(server.get("/v1/me"), 401, "unauthenticated")
        assert_problem(post_raw(server, "/v1/accounts", b"{"), 400, "invalid_json")
    expect_status(server.get("/healthz"), 200)


def test_header_sizes(server):
    """Request headers of a few KiB are served; far larger ones get 431 and
    leave the server healthy (libmicrohttpd's per-connection pool, 8 KiB)."""
    r = server.get("/healthz", headers={"X-Pad": "p" * 3000})
    assert r.status_code == 200, r.status_code
    u = server.new_user()
    r = server.get("/v1/me", token=u.sessions[0]["access_token"], headers={"X-Pad": "p" * 3000})
    assert r.status_code == 200, r.text
    r = server.get("/healthz", headers={"X-Pad": "p" * 20000})
    assert r.status_code == 431, r.status_code
    healthy(server)
