"""POST /v1/sessions (login), GET/DELETE /v1/sessions, DELETE /v1/sessions/{id}, POST /v1/logout."""

import uuid

import pytest

from conftest import (HEX32, assert_problem, assert_recent, assert_token_shape, expect_json,
                      expect_status, new_email, new_password)


@pytest.mark.parametrize("client", ["android", "ios", "web", "cli"])
def test_login_success_each_client(server, client):
    u = server.create_account()
    r = server.login_raw(u.email, u.password, client=client)
    body = expect_json(r, 200)
    assert_token_shape(body)
    assert server.token_ok(body["access_token"])


def test_login_tokens_unique_per_session(server):
    u = server.create_account()
    a = u.login()
    b = u.login()
    assert a["session_id"] != b["session_id"]
    assert a["access_token"] != b["access_token"]
    assert a["refresh_token"] != b["refresh_token"]
    assert HEX32.match(a["session_id"]) and HEX32.match(b["session_id"])


def test_invalid_credentials_same_for_unknown_email_and_wrong_password(server):
    u = server.create_account()
    r_wrong = server.login_raw(u.email, u.password + "x")
    r_unknown = server.login_raw(new_email(), u.password)
    b_wrong = assert_problem(r_wrong, 401, "invalid_credentials")
    b_unknown = assert_problem(r_unknown, 401, "invalid_credentials")
    assert set(b_wrong) == set(b_unknown)
    for k in b_wrong:
        if k != "request_id":
            assert b_wrong[k] == b_unknown[k], (k, b_wrong, b_unknown)
    assert r_wrong.headers.get("Content-Type") == r_unknown.headers.get("Content-Type")
    assert r_wrong.headers.get("WWW-Authenticate") == r_unknown.headers.get("WWW-Authenticate")


def test_login_timing_does_not_reveal_unknown_emails(server):
    """Unknown e-mails cost a password hash too, so timing does not tell which accounts exist."""
    import statistics
    import time
    u = server.create_account()

    def median(email):
        ts = []
        for _ in range(7):
            t = time.perf_counter()
            r = server.login_raw(email, "Wrong-password-123")
            ts.append(time.perf_counter() - t)
            assert r.status_code == 401
        return statistics.median(ts)

    wrong, unknown = median(u.email), median(new_email())
    assert unknown > 0.4 * wrong, "unknown e-mail answered in %.2f ms, wrong password in %.2f ms" % (
        unknown * 1e3, wrong * 1e3)


def test_login_email_case_of_local_part_matters(server):
    local = "MiXeD" + uuid.uuid4().hex[:8]
    pw = new_password()
    expect_json(server.create_account_raw("%s@example.com" % local, pw), 201)
    assert_problem(server.login_raw("%s@example.com" % local.lower(), pw), 401, "invalid_credentials")


@pytest.mark.parametrize("client", ["windows", "", "ANDROID", "device"])
def test_login_bad_client(server, client):
    u = server.create_account()
    r = server.login_raw(u.email, u.password, client=client)
    assert_problem(r, 400, "invalid_request")


def test_login_missing_client(server):
    u = server.create_account()
    r = server.post("/v1/sessions", json={"email": u.email, "password": u.password})
    assert_problem(r, 400, "invalid_request")


def test_login_missing_password(server):
    u = server.create_account()
    r = server.post("/v1/sessions", json={"email": u.email, "client": "web"})
    assert_problem(r, 400, "invalid_request")


def test_list_sessions(server):
    u = server.create_account()
    a = u.login(client="web", device_name="Kitchen tablet")
    b = u.login(client="android")
    r = server.get("/v1/sessions", token=a["access_token"])
    body = expect_json(r, 200)
    sessions = {s["id"]: s for s in body["sessions"]}
    assert set(sessions) == {a["session_id"], b["session_id"]}
    sa, sb = sessions[a["session_id"]], sessions[b["session_id"]]
    assert sa["client"] == "web" and sa["device_name"] == "Kitchen tablet" and sa["current"] is True
    assert sb["client"] == "android" and sb["device_name"] is None and sb["current"] is False
    for s in (sa, sb):
        assert_recent(s["created_at"])
        assert_recent(s["last_used_at"])
        assert "refresh_token" not in s and "access_token" not in s
    # seen from the other session, "current" flips
    body = expect_json(server.get("/v1/sessions", token=b["access_token"]), 200)
    cur = {s["id"]: s["current"] for s in body["sessions"]}
    assert cur == {a["session_id"]: False, b["session_id"]: True}


def test_list_sessions_only_own(server):
    u = server.new_user()
    other = server.new_user()
    body = expect_json(server.get("/v1/sessions", token=u.sessions[0]["access_token"]), 200)
    ids = [s["id"] for s in body["sessions"]]
    assert ids == [u.sessions[0]["session_id"]]
    assert other.sessions[0]["session_id"] not in ids


def test_list_sessions_requires_auth(server):
    assert_problem(server.get("/v1/sessions"), 401, "unauthenticated")


def test_delete_one_session(server):
    u = server.create_account()
    a = u.login()
    b = u.login(client="ios")
    r = server.req("DELETE", "/v1/sessions/" + b["session_id"], token=a["access_token"])
    expect_status(r, 204)
    assert r.content == b""
    # refused at once, refresh dead too, gone from the list
    assert_problem(server.me(b["access_token"]), 401, "invalid_token")
    assert_problem(server.refresh_raw(b["refresh_token"]), 401, "invalid_token")
    body = expect_json(server.get("/v1/sessions", token=a["access_token"]), 200)
    assert [s["id"] for s in body["sessions"]] == [a["session_id"]]
    assert server.token_ok(a["access_token"])
    # deleting it again: not live any more
    r = server.req("DELETE", "/v1/sessions/" + b["session_id"], token=a["access_token"])
    assert_problem(r, 404, "not_found")


def test_delete_own_current_session(server):
    u = server.new_user()
    s = u.sessions[0]
    expect_status(server.req("DELETE", "/v1/sessions/" + s["session_id"], token=s["access_token"]), 204)
    assert_problem(server.me(s["access_token"]), 401, "invalid_token")


def test_delete_someone_elses_session_is_404_and_harmless(server):
    u = server.new_user()
    victim = server.new_user()
    vs = victim.sessions[0]
    r = server.req("DELETE", "/v1/sessions/" + vs["session_id"], token=u.sessions[0]["access_token"])
    assert_problem(r, 404, "not_found")
    assert server.token_ok(vs["access_token"])
    ok, _ = server.refresh_ok(vs["refresh_token"])
    assert ok


@pytest.mark.parametrize("sid", [uuid.uuid4().hex, "not-a-session-id", "ABCDEF" * 5 + "AB"])
def test_delete_unknown_session(server, sid):
    u = server.new_user()
    r = server.req("DELETE", "/v1/sessions/" + sid, token=u.sessions[0]["access_token"])
    assert_problem(r, 404, "not_found")
    assert server.token_ok(u.sessions[0]["access_token"])


def test_delete_all_other_sessions(server):
    u = server.create_account()
    a = u.login()
    others = [u.login(client=c) for c in ("android", "ios", "cli")]
    bystander = server.new_user()
    expect_status(server.req("DELETE", "/v1/sessions", token=a["access_token"]), 204)
    for s in others:
        assert_problem(server.me(s["access_token"]), 401, "invalid_token")
        assert_problem(server.refresh_raw(s["refresh_token"]), 401, "invalid_token")
    assert server.token_ok(a["access_token"])
    body = expect_json(server.get("/v1/sessions", token=a["access_token"]), 200)
    assert [s["id"] for s in body["sessions"]] == [a["session_id"]]
    assert server.token_ok(bystander.sessions[0]["access_token"])
    ok, new = server.refresh_ok(a["refresh_token"])
    assert ok and new["session_id"] == a["session_id"]


def test_logout(server):
    u = server.create_account()
    a = u.login()
    b = u.login()
    r = server.post("/v1/logout", token=a["access_token"])
    expect_status(r, 204)
    assert_problem(server.me(a["access_token"]), 401, "invalid_token")
    assert_problem(server.refresh_raw(a["refresh_token"]), 401, "invalid_token")
    assert_problem(server.post("/v1/logout", token=a["access_token"]), 401, "invalid_token")
    assert server.token_ok(b["access_token"])
    body = expect_json(server.get("/v1/sessions", token=b["access_token"]), 200)
    assert [s["id"] for s in body["sessions"]] == [b["session_id"]]


def test_logout_requires_auth(server):
    assert_problem(server.post("/v1/logout"), 401, "unauthenticated")


def test_login_after_logout_works(server):
    u = server.new_user()
    expect_status(server.post("/v1/logout", token=u.sessions[0]["access_token"]), 204)
    s = u.login()
    assert server.token_ok(s["access_token"])


def test_device_name_unicode_round_trip(server):
    u = server.create_account()
    name = "Wohnzimmer – Kamera 📷 " + uuid.uuid4().hex[:6]
    s = u.login(client="ios", device_name=name)
    body = expect_json(server.get("/v1/sessions", token=s["access_token"]), 200)
    assert body["sessions"][0]["device_name"] == name
