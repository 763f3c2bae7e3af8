"""Operations: request ids, the JSON log, signals, restarts, crash safety (P10), concurrency."""

import json
import signal
import subprocess
import threading
import time
import uuid

import requests

from conftest import (HEX32, assert_problem, expect_json, expect_status, free_port, new_email,
                      new_password, parallel)

JSON = {"Content-Type": "application/json"}


def sample_responses(srv):
    """One response of every kind the API gives."""
    u = srv.create_account()
    s = u.login(client="android")
    s2 = u.login(client="web")
    at = s["access_token"]
    out = {
        "200 healthz": srv.get("/healthz"),
        "200 admin healthz": srv.req("GET", "/healthz", admin=True),
        "201 account": srv.create_account_raw(new_email(), new_password()),
        "200 login": srv.login_raw(u.email, u.password),
        "200 me": srv.me(at),
        "200 sessions": srv.get("/v1/sessions", token=at),
        "204 delete session": srv.req("DELETE", "/v1/sessions/" + s2["session_id"], token=at),
        "400 invalid_json": srv.req("POST", "/v1/accounts", data=b"{", headers=JSON),
        "401 unauthenticated": srv.get("/v1/me"),
        "401 invalid_token": srv.me("sh_at_nope"),
        "404": srv.get("/v1/does-not-exist"),
        "405": srv.req("PUT", "/v1/accounts"),
        "409": srv.create_account_raw(u.email, new_password()),
        "413": srv.req("POST", "/v1/accounts", data=b"{" + b" " * 70000 + b"}", headers=JSON),
        "415": srv.req("POST", "/v1/accounts", data=b"{}", headers={"Content-Type": "text/plain"}),
        "201 admin": srv.admin_req("POST", "/admin/v1/revocations",
                                   json={"scope": "session", "value": uuid.uuid4().hex}),
        "401 admin": srv.req("GET", "/admin/v1/revocations", admin=True),
        "204 logout": srv.post("/v1/logout", token=at),
    }
    return out, u, s


def test_every_response_has_a_unique_request_id(server):
    resps, _, _ = sample_responses(server)
    ids = {}
    for name, r in resps.items():
        rid = r.headers.get("X-Request-Id")
        assert rid, "%s: no X-Request-Id (%d)" % (name, r.status_code)
        assert rid not in ids, "request id %s reused by %s and %s" % (rid, ids[rid], name)
        ids[rid] = name
    assert resps["204 delete session"].status_code == 204
    assert resps["413"].status_code == 413


def test_log_lines_are_json_objects(server):
    sample_responses(server)
    lines = [ln for ln in server.log_text().splitlines() if ln.strip()]
    assert lines, "nothing logged on stderr"
    for ln in lines:
        try:
            obj = json.loads(ln)
        except ValueError:
            raise AssertionError("log line is not JSON: %r" % ln[:300])
        assert isinstance(obj, dict), ln
        for k in ("ts", "level", "event"):
            assert k in obj, "log line without %r: %s" % (k, ln[:300])


def test_request_log_events(server):
    u = server.create_account()
    s = u.login(client="ios")
    other = u.login(client="cli")
    cases = [
        (server.me(s["access_token"]), "GET", "/v1/me", 200, True, None),
        (server.req("DELETE", "/v1/sessions/" + other["session_id"], token=s["access_token"]),
         "DELETE", "/v1/sessions/{id}", 204, True, None),
        (server.req("DELETE", "/v1/sessions/" + uuid.uuid4().hex, token=s["access_token"]),
         "DELETE", "/v1/sessions/{id}", 404, True, "not_found"),
        (server.create_account_raw(u.email, new_password()), "POST", "/v1/accounts", 409, False, "email_taken"),
        (server.login_raw(u.email, "wrong-" + u.password), "POST", "/v1/sessions", 401, False,
         "invalid_credentials"),
        (server.get("/v1/sessions"), "GET", "/v1/sessions", 401, False, "unauthenticated"),
    ]
    for resp, method, route, status, authed, code in cases:
        assert resp.status_code == status, resp.text
        rid = resp.headers["X-Request-Id"]
        ev = server.request_event(rid)
        assert ev, "no request log event with req_id %s (%s %s)" % (rid, method, route)
        assert ev["event"] == "request"
        assert ev["method"] == method, ev
        assert ev["route"] == route, ev
        assert ev["status"] == status, ev
        assert isinstance(ev["dur_us"], int) and ev["dur_us"] >= 0, ev
        assert "ts" in ev and "level" in ev
        if authed:
            assert ev.get("user_id") == u.id, ev
            assert ev.get("session_id") == s["session_id"], ev
        if code:
            assert ev.get("code") == code, ev
        # ids are fine in logs; values are not
        text = json.dumps(ev)
        assert u.email.lower() not in text.lower() and u.password not in text
        assert s["access_token"] not in text


def test_request_event_route_is_pattern_not_path(server):
    u = server.new_user()
    s = u.sessions[0]
    sid = uuid.uuid4().hex
    r = server.req("DELETE", "/v1/sessions/" + sid, token=s["access_token"])
    ev = server.request_event(r.headers["X-Request-Id"])
    assert ev and ev["route"] == "/v1/sessions/{id}", ev
    assert sid not in json.dumps(ev), "raw path segment logged: %s" % ev


def test_no_access_log_flag(server_factory):
    srv = server_factory(["--no-access-log"], name="nolog")
    u = srv.new_user()
    r = srv.me(u.sessions[0]["access_token"])
    expect_status(r, 200)
    time.sleep(0.3)
    evs = [e for e in srv.log_events() if e.get("event") == "request"]
    assert not evs, "request events logged despite --no-access-log: %s" % evs[:2]


def test_sigterm_exits_zero_and_keeps_data(server_factory):
    srv = server_factory(name="sigterm")
    u = srv.create_account(display_name="Before stop")
    s = u.login()
    rc = srv.stop()
    assert rc == 0, "exit code after SIGTERM: %r" % rc
    srv.start()
    # later starts print no admin token, the old one still works
    assert srv.stdout_text().strip() == ""
    expect_json(srv.admin_req("GET", "/admin/v1/revocations"), 200)
    # the access token (verified from memory) and refresh token survive a restart
    me = expect_json(srv.me(s["access_token"]), 200)
    assert me["display_name"] == "Before stop" and me["email"] == u.email
    ok, _ = srv.refresh_ok(s["refresh_token"])
    assert ok
    srv.login(u.email, u.password)


def test_sigterm_finishes_in_flight_requests(server_factory):
    srv = server_factory(name="inflight")
    emails = [new_email() for _ in range(6)]
    pw = new_password()
    results = [None] * len(emails)
    started = threading.Event()

    def create(i):
        sess = requests.Session()
        started.set()
        try:
            results[i] = sess.post(srv.base + "/v1/accounts", json={"email": emails[i], "password": pw},
                                   timeout=15).status_code
        except requests.RequestException as e:
            results[i] = e
        finally:
            sess.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(len(emails))]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.02)
    srv.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join()
    rc = srv.proc.wait(10)
    srv.proc = None
    assert rc == 0, "exit code after SIGTERM under load: %r" % rc
    srv.start()
    for email, res in zip(emails, results):
        if res == 201:
            # acknowledged: must be there after the restart
            srv.login(email, pw)
        else:
            assert res == 503 or isinstance(res, requests.RequestException), res


def test_kill9_loses_no_acknowledged_write(server_factory):
    srv = server_factory(name="kill9")
    u = srv.create_account(display_name="first")
    keep = u.login(client="android")
    gone = u.login(client="ios")
    ended = u.login(client="web")
    expect_json(srv.req("PATCH", "/v1/me", token=keep["access_token"], json={"display_name": "second"}), 200)
    expect_status(srv.req("DELETE", "/v1/sessions/" + ended["session_id"], token=keep["access_token"]), 204)
    rule = expect_json(srv.admin_req("POST", "/admin/v1/revocations",
                                     json={"scope": "session", "value": gone["session_id"]}), 201)
    rotated = expect_json(srv.refresh_raw(keep["refresh_token"]), 200)
    v = srv.create_account()
    srv.kill9()
    srv.start()
    assert srv.stdout_text().strip() == "", "admin token printed again after kill -9"
    me = expect_json(srv.me(rotated["access_token"]), 200)
    assert me["display_name"] == "second"
    srv.login(v.email, v.password)
    assert_problem(srv.me(gone["access_token"]), 401, "invalid_token")
    assert_problem(srv.refresh_raw(gone["refresh_token"]), 401, "invalid_token")
    assert_problem(srv.me(ended["access_token"]), 401, "invalid_token")
    assert_problem(srv.refresh_raw(ended["refresh_token"]), 401, "invalid_token")
    rules = expect_json(srv.admin_req("GET", "/admin/v1/revocations"), 200)["rules"]
    assert rule["id"] in [r["id"] for r in rules]
    ok, _ = srv.refresh_ok(rotated["refresh_token"])
    assert ok
    # the rotation was durable too: the pre-crash refresh token counts as reuse
    assert_problem(srv.refresh_raw(keep["refresh_token"]), 401, "invalid_token")


def test_concurrent_requests(server):
    users = [server.new_user(clients=("web",)) for _ in range(4)]

    def hammer(u):
        sess = requests.Session()
        try:
            for _ in range(25):
                r = sess.get(server.base + "/v1/me", headers={"Authorization": "Bearer " + u.sessions[0]["access_token"]},
                             timeout=15)
                assert r.status_code == 200, r.text
                assert r.json()["id"] == u.id, "response for another user!"
        finally:
            sess.close()
        return True

    assert all(parallel(hammer, [(u,) for u in users + users]))

    def signup(i):
        sess = requests.Session()
        try:
            email = new_email()
            r = sess.post(server.base + "/v1/accounts", json={"email": email, "password": "Pw-%d-%s" % (i, email)},
                          timeout=30)
            return r.status_code, r.json().get("id")
        finally:
            sess.close()

    res = parallel(signup, [(i,) for i in range(8)])
    assert all(code == 201 for code, _ in res), res
    ids = [i for _, i in res]
    assert len(set(ids)) == 8 and all(HEX32.match(i) for i in ids)


def test_concurrent_signup_same_email_one_wins(server):
    email = new_email()

    def signup(_):
        sess = requests.Session()
        try:
            r = sess.post(server.base + "/v1/accounts", json={"email": email, "password": new_password()},
                          timeout=30)
            return r
        finally:
            sess.close()

    res = parallel(signup, [(i,) for i in range(6)])
    codes = sorted(r.status_code for r in res)
    assert codes == [201] + [409] * 5, codes
    for r in res:
        if r.status_code == 409:
            assert_problem(r, 409, "email_taken")



def test_listen_port_in_use_is_an_error(server, tmp_path):
    """A second instance (other data dir) must not silently share an address already in use:
    it would answer half of the connections from a different database."""
    cmd = [server.bin, "serve", "--data-dir", str(tmp_path / "other"),
           "--listen", "127.0.0.1:%d" % server.port, "--admin-listen", "127.0.0.1:%d" % free_port()]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        rc = p.wait(5)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGTERM)
        p.wait(10)
        raise AssertionError("a second server started on 127.0.0.1:%d, already used by a running "
                             "server (SO_REUSEPORT across processes?)" % server.port)
    assert rc != 0
    assert p.stderr.read().strip(), "no error message"


def test_ended_sessions_stay_ended_after_restart(server_factory):
    """Access tokens are checked from memory: after a restart that memory must know every
    session that was ended, however it ended."""
    srv = server_factory(name="restart-ended")
    u = srv.create_account()
    keeper = u.login("web")
    logged_out = u.login("android")
    expect_status(srv.post("/v1/logout", token=logged_out["access_token"]), 204)
    deleted = u.login("ios")
    expect_status(srv.req("DELETE", "/v1/sessions/" + deleted["session_id"], token=keeper["access_token"]), 204)
    reused = u.login("cli")
    expect_json(srv.refresh_raw(reused["refresh_token"]), 200)
    assert_problem(srv.refresh_raw(reused["refresh_token"]), 401, "invalid_token")
    v = srv.create_account()
    vcur, vother = v.login("web"), v.login("android")
    new_pw = new_password()
    expect_status(srv.post("/v1/me/password", token=vcur["access_token"],
                           json={"current_password": v.password, "new_password": new_pw}), 204)
    w = srv.create_account()
    wcur, wother = w.login("web"), w.login("ios")
    expect_status(srv.req("DELETE", "/v1/sessions", token=wcur["access_token"]), 204)
    ended = [logged_out, deleted, reused, vother, wother]
    for s in ended:
        assert not srv.token_ok(s["access_token"])
    srv.restart()
    for s in ended:
        assert_problem(srv.me(s["access_token"]), 401, "invalid_token")
    for s in (keeper, vcur, wcur):
        assert srv.token_ok(s["access_token"]), "live session lost its access token in a restart"
