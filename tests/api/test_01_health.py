"""Start-up, /healthz on both listeners, the admin token line, listeners kept apart."""

import os
import stat

from conftest import ADMIN_LINE, STORE, assert_problem, expect_json


def test_healthz_public(server):
    r = server.get("/healthz")
    body = expect_json(r, 200)
    assert body == {"status": "ok"}
    assert r.headers.get("X-Request-Id")


def test_healthz_admin_listener(server):
    r = server.req("GET", "/healthz", admin=True)
    body = expect_json(r, 200)
    assert body == {"status": "ok"}
    assert r.headers.get("X-Request-Id")


def test_first_start_prints_exactly_one_admin_token_line(server):
    lines = server.stdout_text(start=1).splitlines()
    assert len(lines) == 1, "stdout of first start: %r" % lines
    m = ADMIN_LINE.match(lines[0])
    assert m and m.group(1) == server.admin_token
    assert len(server.admin_token) > len("sh_ad_") + 20


def test_data_dir_layout(server):
    st = os.stat(server.data_dir)
    assert stat.S_IMODE(st.st_mode) == 0o700, oct(st.st_mode)
    key = os.path.join(server.data_dir, "master.key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    with open(key, "rb") as f:
        content = f.read().strip()
    assert len(content) == 64 and all(c in b"0123456789abcdefABCDEF" for c in content), content[:8]
    names = sorted(os.listdir(server.data_dir))
    if STORE == "sqlite":
        assert "safehouse.db" in names, names
    else:
        # the data lives in PostgreSQL: no database file of any kind in the data dir
        assert not [n for n in names if n.startswith("safehouse.db")], names
        for n in names:
            p = os.path.join(server.data_dir, n)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    assert not f.read(16).startswith(b"SQLite format 3"), "SQLite file %s" % n
    # either way the store holds the schema
    assert server.db_query("SELECT count(*) FROM users")[0][0] >= 0


def test_admin_routes_not_on_public_listener(server):
    r = server.req("GET", "/admin/v1/revocations", token=server.admin_token)
    assert_problem(r, 404, "not_found")
    r = server.req("POST", "/admin/v1/revocations", token=server.admin_token, json={"scope": "all"})
    assert_problem(r, 404, "not_found")


def test_public_routes_not_on_admin_listener(server):
    r = server.req("POST", "/v1/accounts", admin=True,
                   json={"email": "x-%s@example.com" % os.urandom(4).hex(), "password": "Zq8-kdP-31x-ww"})
    assert_problem(r, 404, "not_found")


def test_version_and_help(server):
    r = server.cli("--version", data_dir=False)
    assert r.returncode == 0, r
    assert r.stdout.strip(), "--version printed nothing"
    r = server.cli("help", data_dir=False)
    assert r.returncode == 0, r
    out = (r.stdout + r.stderr).decode()
    assert "serve" in out and "admin" in out, out

