"""POST /v1/accounts: creation, e-mail normalization, password rules, ids."""

import uuid

import pytest

from conftest import (HEX32, assert_problem, expect_json, new_email, new_password)


def test_create_account_returns_id_and_email(server):
    email = new_email()
    r = server.create_account_raw(email, new_password(), "Alice")
    body = expect_json(r, 201)
    assert HEX32.match(body["id"]), body
    assert body["email"] == email
    assert "password" not in body


def test_create_without_display_name(server):
    email = new_email()
    body = expect_json(server.create_account_raw(email, new_password()), 201)
    assert body["email"] == email


def test_duplicate_email_conflict(server):
    email = new_email()
    expect_json(server.create_account_raw(email, new_password()), 201)
    r = server.create_account_raw(email, new_password())
    assert_problem(r, 409, "email_taken")


def test_email_trimmed_and_domain_lowercased_local_part_kept(server):
    local = "Alice.X" + uuid.uuid4().hex[:10].upper()
    r = server.create_account_raw("  %s@Example.COM \t" % local, new_password())
    body = expect_json(r, 201)
    assert body["email"] == "%s@example.com" % local
    # the same address written differently is the same account
    assert_problem(server.create_account_raw("%s@EXAMPLE.com" % local, new_password()), 409, "email_taken")
    assert_problem(server.create_account_raw(" %s@example.com" % local, new_password()), 409, "email_taken")


def test_local_part_case_is_significant(server):
    local = "CaseKept" + uuid.uuid4().hex[:8]
    a = expect_json(server.create_account_raw("%s@example.com" % local, new_password()), 201)
    b = expect_json(server.create_account_raw("%s@example.com" % local.lower(), new_password()), 201)
    assert a["email"] == "%s@example.com" % local
    assert b["email"] == "%s@example.com" % local.lower()
    assert a["id"] != b["id"]


def test_idn_domain_to_punycode(server):
    local = "Bob" + uuid.uuid4().hex[:10]
    r = server.create_account_raw("%s@BÜCHER.de" % local, new_password())
    body = expect_json(r, 201)
    assert body["email"] == "%s@xn--bcher-kva.de" % local
    r = server.create_account_raw("%s@xn--bcher-kva.de" % local, new_password())
    assert_problem(r, 409, "email_taken")
    r = server.create_account_raw("%s@bücher.de" % local, new_password())
    assert_problem(r, 409, "email_taken")


def test_idn_login_with_unicode_domain(server):
    local = "Idn" + uuid.uuid4().hex[:10]
    pw = new_password()
    expect_json(server.create_account_raw("%s@xn--bcher-kva.de" % local, pw), 201)
    body = server.login("%s@BÜCHER.de" % local, pw)
    assert body["access_token"].startswith("sh_at_")


def test_login_with_unnormalized_email(server):
    local = "Norm" + uuid.uuid4().hex[:10]
    pw = new_password()
    expect_json(server.create_account_raw("%s@example.org" % local, pw), 201)
    body = server.login("  %s@EXAMPLE.ORG " % local, pw)
    assert body["access_token"].startswith("sh_at_")


@pytest.mark.parametrize("bad", ["not-an-email", "user@", "@example.com", "a@b@example.com"])
def test_invalid_email(server, bad):
    r = server.create_account_raw(bad, new_password())
    assert_problem(r, 400, "invalid_email")


def test_empty_email(server):
    r = server.create_account_raw("", new_password())
    assert_problem(r, 400, ("invalid_email", "invalid_request"))


@pytest.mark.parametrize("pw", [
    "Short-9ch",                 # 9 chars
    "x" * 5,
    "A1b2C3d4e5" * 25 + "Zz9q8w7",  # 257 chars
    "password1234",
    "qwertyuiop",
    "1234567890",
    "QWERTYUIOP",                # common list compared case-insensitively
])
def test_weak_password_refused_and_email_stays_free(server, pw):
    email = new_email()
    r = server.create_account_raw(email, pw)
    assert_problem(r, 400, "weak_password")
    # nothing was created: the e-mail is still free and the weak password does not log in
    assert_problem(server.login_raw(email, pw), 401, "invalid_credentials")
    expect_json(server.create_account_raw(email, new_password()), 201)


def test_password_length_boundaries_accepted(server):
    pw10 = "Kx7#mQ2!vL"
    assert len(pw10) == 10
    u = server.create_account(password=pw10)
    assert server.login(u.email, pw10)["access_token"].startswith("sh_at_")
    pw256 = ("Zr4!" + uuid.uuid4().hex) * 7
    pw256 = (pw256 * 2)[:256]
    assert len(pw256) == 256
    u = server.create_account(password=pw256)
    assert server.login(u.email, pw256)["access_token"].startswith("sh_at_")


def test_password_length_counts_characters_not_bytes(server):
    # 9 characters but 18 bytes: too short
    assert_problem(server.create_account_raw(new_email(), "ä" * 9), 400, "weak_password")
    # 200 characters but 600 bytes: fine
    pw = "€" * 190 + uuid.uuid4().hex[:10]
    u = server.create_account(password=pw)
    server.login(u.email, pw)


def test_overlong_email_refused(server):
    assert_problem(server.create_account_raw("a" * 1000 + "@example.com", new_password()), 400, "invalid_email")
    assert_problem(server.create_account_raw("a@" + "b" * 300 + ".com", new_password()), 400, "invalid_email")


def test_unicode_password_works(server):
    pw = "Pässwörd-ñ-日本語-" + uuid.uuid4().hex[:6]
    u = server.create_account(password=pw)
    server.login(u.email, pw)
    assert_problem(server.login_raw(u.email, pw.replace("ä", "a")), 401, "invalid_credentials")


def test_ids_are_random_hex_and_not_sequential(server):
    ids = [server.create_account().id for _ in range(6)]
    assert len(set(ids)) == len(ids)
    for i in ids:
        assert HEX32.match(i), i
    nums = sorted(int(i, 16) for i in ids)
    for a, b in zip(nums, nums[1:]):
        assert b - a > 2 ** 64, "ids look sequential: %s" % ids
    # roughly half the bits differ between two random 128-bit ids
    for a, b in zip(ids, ids[1:]):
        diff = bin(int(a, 16) ^ int(b, 16)).count("1")
        assert 20 < diff < 108, (a, b)


def test_unknown_fields_ignored(server):
    email = new_email()
    r = server.create_account_raw(email, new_password(), admin=True, role="root", id="0" * 32)
    body = expect_json(r, 201)
    assert body["id"] != "0" * 32
    assert set(body) >= {"id", "email"}

