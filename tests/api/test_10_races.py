"""Races between ending a session and refreshing it: whatever the order, the ended session
must stay ended (no token minted by a racing refresh survives)."""

import threading

import requests

from conftest import expect_status, new_password


def race(fn_a, fn_b):
    barrier = threading.Barrier(2)
    out = [None, None]

    def run(i, fn):
        sess = requests.Session()
        try:
            barrier.wait()
            out[i] = fn(sess)
        finally:
            sess.close()

    ts = [threading.Thread(target=run, args=(0, fn_a)), threading.Thread(target=run, args=(1, fn_b))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def refresher(srv, rt):
    def fn(sess):
        return sess.post(srv.base + "/v1/sessions/refresh", json={"refresh_token": rt}, timeout=15)
    return fn


def assert_session_dead(srv, s, refreshed):
    assert not srv.token_ok(s["access_token"])
    if refreshed.status_code == 200:
        body = refreshed.json()
        assert not srv.token_ok(body["access_token"]), \
            "access token minted by a refresh racing with the session's end still works"
        ok, _ = srv.refresh_ok(body["refresh_token"])
        assert not ok, "refresh token minted by a racing refresh still works"
    else:
        assert refreshed.status_code == 401, refreshed.text
    ok, _ = srv.refresh_ok(s["refresh_token"])
    assert not ok


def test_logout_racing_refresh(server):
    u = server.create_account()
    for _ in range(8):
        s = u.login()
        out = race(lambda sess: sess.post(server.base + "/v1/logout",
                                          headers={"Authorization": "Bearer " + s["access_token"]}, timeout=15),
                   refresher(server, s["refresh_token"]))
        expect_status(out[0], 204)
        assert_session_dead(server, s, out[1])


def test_delete_others_racing_refresh(server):
    u = server.create_account()
    keeper = u.login()
    for _ in range(8):
        s = u.login(client="android")
        out = race(lambda sess: sess.delete(server.base + "/v1/sessions",
                                            headers={"Authorization": "Bearer " + keeper["access_token"]},
                                            timeout=15),
                   refresher(server, s["refresh_token"]))
        expect_status(out[0], 204)
        assert_session_dead(server, s, out[1])
    assert server.token_ok(keeper["access_token"])


def test_password_change_racing_refresh(server):
    u = server.create_account()
    for _ in range(5):
        cur = u.login()
        s = u.login(client="ios")
        new_pw = new_password()
        out = race(lambda sess: sess.post(server.base + "/v1/me/password",
                                          headers={"Authorization": "Bearer " + cur["access_token"]},
                                          json={"current_password": u.password, "new_password": new_pw},
                                          timeout=15),
                   refresher(server, s["refresh_token"]))
        expect_status(out[0], 204)
        u.password = new_pw
        assert_session_dead(server, s, out[1])
        assert server.token_ok(cur["access_token"])
