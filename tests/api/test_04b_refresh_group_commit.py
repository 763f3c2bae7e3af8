"""POST /v1/sessions/refresh under a burst: rotations share durable commits (the
rotations' group commit, docs/internals/store.md), and each still gets its own
answer: every session rotates on its own, and reuse detection ends only the
session whose token was replayed or raced."""

import threading

import requests

from conftest import CLIENTS, HTTP_TIMEOUT, assert_problem, expect_json, parallel

N = 64


def sessions(server, n):
    """n sessions of one new user, logged in concurrently."""
    u = server.create_account()
    return parallel(lambda i: u.login(client=CLIENTS[i % len(CLIENTS)]), [(i,) for i in range(n)])


def refresh_all(server, tokens):
    """POST /v1/sessions/refresh for every token at once (one connection each)."""
    barrier = threading.Barrier(len(tokens))

    def go(rt):
        sess = requests.Session()
        try:
            barrier.wait()
            return sess.post(server.base + "/v1/sessions/refresh", json={"refresh_token": rt},
                             timeout=HTTP_TIMEOUT)
        finally:
            sess.close()

    return parallel(go, [(t,) for t in tokens])


def assert_rotated(server, s, r):
    """r is a 200 rotation of session s whose new access token works."""
    body = expect_json(r, 200)
    assert body["session_id"] == s["session_id"]
    assert body["refresh_token"] != s["refresh_token"]
    assert server.token_ok(body["access_token"])
    return body


def test_concurrent_refreshes_of_different_sessions_all_succeed(server):
    ss = sessions(server, N)
    out = refresh_all(server, [s["refresh_token"] for s in ss])
    bodies = [assert_rotated(server, s, r) for s, r in zip(ss, out)]
    # each new refresh token works, again all at once ...
    again = refresh_all(server, [b["refresh_token"] for b in bodies])
    for s, r in zip(ss, again):
        assert_rotated(server, s, r)
    # ... and no rotation was lost: every session is still alive, and one
    lst = expect_json(server.get("/v1/sessions", token=again[0].json()["access_token"]), 200)
    assert sorted(x["id"] for x in lst["sessions"]) == sorted(s["session_id"] for s in ss)


def test_replay_among_concurrent_refreshes_ends_only_that_session(server):
    ss = sessions(server, N)
    victim = ss[0]
    newest = expect_json(server.refresh_raw(victim["refresh_token"]), 200)
    # the victim's first, already rotated token comes back amid 63 honest refreshes
    out = refresh_all(server, [victim["refresh_token"]] + [s["refresh_token"] for s in ss[1:]])
    assert_problem(out[0], 401, "invalid_token")
    bodies = [assert_rotated(server, s, r) for s, r in zip(ss[1:], out[1:])]
    # the victim's whole session is over ...
    assert_problem(server.refresh_raw(newest["refresh_token"]), 401, "invalid_token")
    for at in (newest["access_token"], victim["access_token"]):
        assert not server.token_ok(at)
    # ... and only it: every other session refreshes again
    for s, r in zip(ss[1:], refresh_all(server, [b["refresh_token"] for b in bodies])):
        assert_rotated(server, s, r)


def test_same_token_twice_in_a_burst_rotates_once_and_ends_its_session(server):
    ss = sessions(server, N - 1)
    raced = ss[0]
    out = refresh_all(server, [raced["refresh_token"]] + [s["refresh_token"] for s in ss])
    pair = [out[0], out[1]]
    oks = [r for r in pair if r.status_code == 200]
    assert len(oks) == 1, "one refresh token rotated %d times" % len(oks)
    for r in pair:
        if r.status_code != 200:
            assert_problem(r, 401, "invalid_token")
    # the loser ended the session: the winner's new tokens are dead too
    won = oks[0].json()
    assert not server.token_ok(won["access_token"])
    ok, _ = server.refresh_ok(won["refresh_token"])
    assert not ok
    # every other session rotated, and keeps working
    bodies = [assert_rotated(server, s, r) for s, r in zip(ss[1:], out[2:])]
    for s, r in zip(ss[1:], refresh_all(server, [b["refresh_token"] for b in bodies])):
        assert_rotated(server, s, r)
