"""Abuse limits: per client address and per account, token buckets with growing
back-off, answered 429 rate_limited with Retry-After; the Argon2id pool refuses a
flood quickly and authenticated calls keep working during one.

The client address is the connection's: these tests send from several loopback
addresses (127.0.0.x) to show that one address's flood leaves the others alone."""

import threading
import time

import pytest
import requests
from requests.adapters import HTTPAdapter

from conftest import assert_problem, expect_json, new_email, new_password
from mfa_support import enable_mfa, login_challenge, mfa_raw


class SourceAdapter(HTTPAdapter):
    def __init__(self, source, **kw):
        self.source = source
        super().__init__(**kw)

    def init_poolmanager(self, *a, **kw):
        kw["source_address"] = (self.source, 0)
        return super().init_poolmanager(*a, **kw)


def client_from(addr):
    s = requests.Session()
    s.mount("http://", SourceAdapter(addr))
    return s


@pytest.fixture(scope="module")
def lsrv(module_server_factory):
    return module_server_factory(name="limits", address_limits=True)


def retry_after(r):
    v = r.headers.get("Retry-After")
    assert v is not None and v.isdigit() and int(v) >= 1, r.headers
    return int(v)


def test_login_flood_from_one_address_gets_429_others_do_not(lsrv):
    flood = client_from("127.0.0.11")
    codes = []
    for _ in range(40):
        r = lsrv.req("POST", "/v1/sessions", session=flood,
                     json={"email": new_email(), "password": "Wrong-password-1", "client": "web"})
        codes.append(r.status_code)
        if r.status_code == 429:
            assert_problem(r, 429, "rate_limited")
            retry_after(r)
    assert 429 in codes, codes
    assert codes.index(429) >= 10, "limited too early: %s" % codes
    # another address is not affected
    u = lsrv.create_account()
    other = client_from("127.0.0.12")
    r = lsrv.req("POST", "/v1/sessions", session=other,
                 json={"email": u.email, "password": u.password, "client": "web"})
    expect_json(r, 200)


def test_back_off_grows(lsrv):
    flood = client_from("127.0.0.13")
    waits = []
    for _ in range(3):
        while True:
            r = lsrv.req("POST", "/v1/sessions", session=flood,
                         json={"email": new_email(), "password": "Wrong-password-1", "client": "cli"})
            if r.status_code == 429:
                break
        waits.append(retry_after(r))
        time.sleep(waits[-1])
    assert waits[-1] >= waits[0], waits


def test_failed_passwords_lock_the_account_not_the_others(lsrv):
    u, v = lsrv.create_account(), lsrv.create_account()
    statuses = []
    for i in range(12):
        # from many addresses, so only the per-account limit can stop it
        s = client_from("127.0.1.%d" % (i + 1))
        r = lsrv.req("POST", "/v1/sessions", session=s,
                     json={"email": u.email, "password": "Wrong-password-%d" % i, "client": "web"})
        statuses.append(r.status_code)
    assert statuses[:10] == [401] * 10, statuses
    assert statuses[10:] == [429, 429], statuses
    # even the right password waits now (no oracle for the guesser)
    r = lsrv.req("POST", "/v1/sessions", session=client_from("127.0.1.40"),
                 json={"email": u.email, "password": u.password, "client": "web"})
    assert_problem(r, 429, "rate_limited")
    retry_after(r)
    # unknown addresses are limited alike (nothing tells which accounts exist)
    ghost = new_email()
    st = []
    for i in range(11):
        r = lsrv.req("POST", "/v1/sessions", session=client_from("127.0.2.%d" % (i + 1)),
                     json={"email": ghost, "password": "Wrong-password-1", "client": "web"})
        st.append(r.status_code)
    assert st == [401] * 10 + [429], st
    # another account is fine
    r = lsrv.req("POST", "/v1/sessions", session=client_from("127.0.1.41"),
                 json={"email": v.email, "password": v.password, "client": "web"})
    expect_json(r, 200)


def test_wrong_codes_are_limited_per_account(lsrv):
    u = lsrv.create_account()
    enable_mfa(lsrv, u)
    from mfa_support import oathtool

    def bad():
        return "%06d" % ((int(oathtool(u.totp.secret)) + 500000) % 1000000)
    results = []
    for i in range(7):
        s = client_from("127.0.3.%d" % (i + 1))
        body = {"email": u.email, "password": u.password, "client": "web"}
        ch = expect_json(lsrv.req("POST", "/v1/sessions", session=s, json=body), 200)
        r = lsrv.req("POST", "/v1/sessions/mfa", session=s,
                     json={"mfa_token": ch["mfa_token"], "code": bad()})
        results.append(r.status_code)
    assert results[:5] == [400] * 5 and results[5:] == [429, 429], results
    # a right code waits too, while the account is blocked
    ch = login_challenge(lsrv, u)
    r = mfa_raw(lsrv, ch["mfa_token"], code=u.totp.code())
    assert_problem(r, 429, "rate_limited")
    assert retry_after(r) >= 60


def test_registration_is_limited_per_address(lsrv):
    s = client_from("127.0.0.21")
    st = [lsrv.req("POST", "/v1/accounts", session=s,
                   json={"email": new_email(), "password": new_password()}).status_code
          for _ in range(12)]
    assert st[:10] == [201] * 10 and st[10:] == [429, 429], st


def test_password_reset_is_limited_per_address(lsrv):
    s = client_from("127.0.0.22")
    st = [lsrv.req("POST", "/v1/password-reset", session=s,
                   json={"email": new_email()}).status_code for _ in range(7)]
    assert st[:5] == [202] * 5 and st[5:] == [429, 429], st


def test_mfa_endpoint_is_limited_per_address(lsrv):
    s = client_from("127.0.0.23")
    st = [lsrv.req("POST", "/v1/sessions/mfa", session=s,
                   json={"mfa_token": "sh_mt_garbage", "code": "123456"}).status_code
          for _ in range(12)]
    assert st[:10] == [401] * 10 and st[10:] == [429, 429], st


def test_authenticated_calls_are_not_address_limited(lsrv):
    u = lsrv.create_account()
    tok = u.login()["access_token"]
    s = client_from("127.0.0.24")
    for _ in range(100):
        assert lsrv.req("GET", "/v1/me", session=s, token=tok).status_code == 200


def test_login_flood_gets_quick_429s_and_does_not_starve_authenticated_calls(server_factory):
    """Per-address limits off: the bounded Argon2id queue alone must refuse the flood
    quickly, while GET /v1/me stays fast."""
    srv = server_factory(name="flood", extra_args=["--hash-queue", "4"])
    u = srv.create_account()
    tok = u.login()["access_token"]
    stop = time.monotonic() + 6
    results, me_times, errors = [], [], []

    def flood():
        s = requests.Session()
        while time.monotonic() < stop:
            t = time.monotonic()
            try:
                r = s.post(srv.base + "/v1/sessions", timeout=10,
                           json={"email": u.email, "password": u.password, "client": "cli"})
                results.append((r.status_code, time.monotonic() - t, r.headers.get("Retry-After")))
            except requests.RequestException as e:  # noqa: PERF203
                errors.append(repr(e))

    def reader():
        s = requests.Session()
        while time.monotonic() < stop:
            t = time.monotonic()
            r = s.get(srv.base + "/v1/me", headers={"Authorization": "Bearer " + tok}, timeout=10)
            me_times.append(time.monotonic() - t)
            assert r.status_code == 200
            time.sleep(0.01)

    ts = [threading.Thread(target=flood) for _ in range(16)] + [threading.Thread(target=reader)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[:3]
    refused = [x for x in results if x[0] == 429]
    assert refused, "no 429 under a flood of %d logins" % len(results)
    assert all(x[2] for x in refused), "429 without Retry-After"
    refused_times = sorted(x[1] for x in refused)
    assert refused_times[len(refused_times) // 2] < 0.5, refused_times[-5:]
    me_times.sort()
    assert me_times, "no GET /v1/me completed during the flood"
    assert me_times[len(me_times) // 2] < 0.25, me_times[-5:]
