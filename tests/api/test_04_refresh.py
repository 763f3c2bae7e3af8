"""POST /v1/sessions/refresh: rotation, reuse detection, access-token expiry."""

import threading
import time

import requests

from conftest import (assert_problem, assert_token_shape, expect_json, expect_status)


def test_refresh_rotates_tokens_same_session(server):
    u = server.create_account()
    s = u.login(client="android")
    r = server.refresh_raw(s["refresh_token"])
    body = expect_json(r, 200)
    assert_token_shape(body)
    assert body["session_id"] == s["session_id"]
    assert body["refresh_token"] != s["refresh_token"]
    assert body["access_token"] != s["access_token"]
    assert server.token_ok(body["access_token"])
    # and again with the newest one
    body2 = expect_json(server.refresh_raw(body["refresh_token"]), 200)
    assert body2["session_id"] == s["session_id"]
    assert body2["refresh_token"] not in (body["refresh_token"], s["refresh_token"])
    assert server.token_ok(body2["access_token"])
    # still one session in the list
    lst = expect_json(server.get("/v1/sessions", token=body2["access_token"]), 200)
    assert [x["id"] for x in lst["sessions"]] == [s["session_id"]]


def test_reuse_of_rotated_refresh_token_ends_session(server):
    u = server.create_account()
    s = u.login(client="ios")
    other = u.login(client="web")       # another session of the same user: untouched
    r1 = expect_json(server.refresh_raw(s["refresh_token"]), 200)
    r2 = expect_json(server.refresh_raw(r1["refresh_token"]), 200)
    # the thief (or the victim) replays the first, already rotated token
    assert_problem(server.refresh_raw(s["refresh_token"]), 401, "invalid_token")
    # the whole session is over: newest refresh token and every access token
    assert_problem(server.refresh_raw(r2["refresh_token"]), 401, "invalid_token")
    for at in (r2["access_token"], r1["access_token"], s["access_token"]):
        assert_problem(server.me(at), 401, "invalid_token")
    # other sessions of the user survive, and the user can log in again
    assert server.token_ok(other["access_token"])
    lst = expect_json(server.get("/v1/sessions", token=other["access_token"]), 200)
    assert s["session_id"] not in [x["id"] for x in lst["sessions"]]
    fresh = u.login(client="ios")
    assert server.token_ok(fresh["access_token"])


def test_reuse_of_middle_token_also_detected(server):
    u = server.create_account()
    s = u.login()
    r1 = expect_json(server.refresh_raw(s["refresh_token"]), 200)
    r2 = expect_json(server.refresh_raw(r1["refresh_token"]), 200)
    assert_problem(server.refresh_raw(r1["refresh_token"]), 401, "invalid_token")
    assert_problem(server.refresh_raw(r2["refresh_token"]), 401, "invalid_token")
    assert_problem(server.me(r2["access_token"]), 401, "invalid_token")


def test_refresh_unknown_and_garbled(server):
    u = server.new_user()
    s = u.sessions[0]
    for bad in ("sh_rt_" + "A" * 43, "garbage", s["access_token"], s["refresh_token"][:-2],
                s["refresh_token"] + "x"):
        assert_problem(server.refresh_raw(bad), 401, "invalid_token")
    # none of that hurt the real session
    ok, _ = server.refresh_ok(s["refresh_token"])
    assert ok


def test_refresh_missing_or_wrong_type(server):
    assert_problem(server.post("/v1/sessions/refresh", json={}), 400, "invalid_request")
    assert_problem(server.post("/v1/sessions/refresh", json={"refresh_token": 12}), 400, "invalid_request")
    assert_problem(server.post("/v1/sessions/refresh", json={"refresh_token": None}), 400, "invalid_request")


def test_refresh_credential_is_the_refresh_token(server):
    u = server.new_user()
    other = server.new_user()
    s = u.sessions[0]
    # an unrelated Authorization header does not change which session is refreshed
    r = server.post("/v1/sessions/refresh", json={"refresh_token": s["refresh_token"]},
                    token=other.sessions[0]["access_token"])
    body = expect_json(r, 200)
    assert body["session_id"] == s["session_id"]
    me = expect_json(server.me(body["access_token"]), 200)
    assert me["id"] == u.id


def test_concurrent_refresh_with_same_token_at_most_one_wins(server):
    u = server.new_user()
    s = u.sessions[0]
    results = []
    barrier = threading.Barrier(4)

    def go():
        sess = requests.Session()
        barrier.wait()
        r = sess.post(server.base + "/v1/sessions/refresh", json={"refresh_token": s["refresh_token"]},
                      timeout=15)
        results.append(r)
        sess.close()

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    oks = [r for r in results if r.status_code == 200]
    assert len(oks) <= 1, "one refresh token was exchanged %d times" % len(oks)
    for r in results:
        if r.status_code != 200:
            assert_problem(r, 401, "invalid_token")


def test_access_token_expiry(server_factory):
    srv = server_factory(["--access-ttl", "2"], name="ttl")
    u = srv.create_account()
    s = u.login()
    assert_token_shape(s, ttl=2)
    assert srv.token_ok(s["access_token"])
    time.sleep(3.2)
    assert_problem(srv.me(s["access_token"]), 401, "invalid_token")
    # the refresh token outlives the access token
    r = srv.refresh_raw(s["refresh_token"])
    body = expect_json(r, 200)
    assert_token_shape(body, ttl=2)
    assert body["session_id"] == s["session_id"]
    assert srv.token_ok(body["access_token"])
    expect_status(srv.req("GET", "/v1/sessions", token=body["access_token"]), 200)
