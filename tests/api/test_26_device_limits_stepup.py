"""Claim codes under abuse limits (per account: failures; per address: every
attempt), and step-up before releasing a device or unlinking an integration."""

import time
import uuid

import pytest

from conftest import assert_problem, expect_status
from devkit import claim, claim_raw, dev_get, provision

WINDOW = 2


def bad_code():
    # well-formed but random: 25 characters of the claim alphabet
    return uuid.uuid4().hex[:25].upper()


@pytest.fixture(scope="module")
def lsrv(module_server_factory):
    # per-account limits are always on; the address limit is tested on its own server
    return module_server_factory(name="claimlimits", extra_args=["--reauth-window", str(WINDOW)])


def test_failed_claims_lock_the_account_not_others(lsrv):
    guesser, other = lsrv.create_account(), lsrv.create_account()
    gtok = guesser.login()["access_token"]
    statuses = [claim_raw(lsrv, gtok, bad_code()).status_code for _ in range(8)]
    assert statuses[:5] == [404] * 5, statuses
    assert 429 in statuses[5:], statuses
    r = claim_raw(lsrv, gtok, bad_code())
    assert_problem(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1
    # even the right code waits: a locked account cannot keep guessing
    d = provision(lsrv, "plug")
    assert_problem(claim_raw(lsrv, gtok, d["claim_code"]), 429, "rate_limited")
    # another account is unaffected and the code is still good
    claim(lsrv, other.login()["access_token"], d["claim_code"])


def test_claims_per_address_are_limited(module_server_factory):
    srv = module_server_factory(name="claimaddr", address_limits=True)
    users = [srv.create_account() for _ in range(4)]
    toks = [u.login()["access_token"] for u in users]
    seen = []
    for i in range(16):  # 4 accounts, so per-account limits are not what stops them
        seen.append(claim_raw(srv, toks[i % 4], bad_code()).status_code)
    assert seen[0] == 404 and 429 in seen, seen
    r = claim_raw(srv, toks[0], bad_code())
    assert_problem(r, 429, "rate_limited")


def test_release_needs_a_recent_login_or_the_password(lsrv):
    u = lsrv.create_account()
    tok = u.login()["access_token"]
    d = provision(lsrv, "camera")
    dev = claim(lsrv, tok, d["claim_code"])
    time.sleep(WINDOW + 0.5)
    assert_problem(lsrv.req("DELETE", "/v1/devices/" + dev["id"], token=tok), 403,
                   "reauthentication_required")
    assert_problem(lsrv.req("DELETE", "/v1/devices/" + dev["id"], token=tok,
                            json={"password": u.password + "x"}), 403, "reauthentication_required")
    assert dev_get(lsrv, tok, dev["id"]).status_code == 200, "a refused release changed ownership"
    expect_status(lsrv.req("DELETE", "/v1/devices/" + dev["id"], token=tok,
                           json={"password": u.password}), 204)
    assert dev_get(lsrv, tok, dev["id"]).status_code == 404


def test_fresh_login_releases_without_password(lsrv):
    u = lsrv.create_account()
    tok = u.login()["access_token"]
    dev = claim(lsrv, tok, provision(lsrv, "plug")["claim_code"])
    expect_status(lsrv.req("DELETE", "/v1/devices/" + dev["id"], token=tok), 204)


def test_unlink_integration_needs_step_up(lsrv):
    u = lsrv.create_account()
    tok = u.login()["access_token"]
    time.sleep(WINDOW + 0.5)
    client = "0" * 32
    assert_problem(lsrv.req("DELETE", "/v1/me/integrations/" + client, token=tok), 403,
                   "reauthentication_required")
    r = lsrv.req("DELETE", "/v1/me/integrations/" + client, token=tok, json={"password": u.password})
    assert r.status_code in (204, 404), r.text  # past step-up: an unknown link is not a 403
