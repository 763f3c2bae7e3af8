"""Promises P1 and P2 for devices (issue 3, item 9): device names, Wi-Fi SSIDs, subnets,
local IPs, device tokens, claim codes, stream tickets and relay tokens never appear in clear
in the store's files (SQLite's database and WAL; PostgreSQL's dump, heap, WAL and log) or
the logs; sealed device fields are bound to their row and to the device generation, so a
ciphertext moved to another device or replayed into a later generation does not open."""

import base64
import hashlib
import json
import os
import random

import pytest

from conftest import assert_problem, expect_json, expect_status, uniq
from devkit import (claim, claim_raw, dev_get, heartbeat, heartbeat_raw, provision, provision_cli,
                    relay, relay_cli, reset, share, share_raw, stream, tok, verify)


def h():
    return uniq("")


def rand_octet(rng):
    return rng.randint(11, 254)


def variants(value):
    """The forms a leaked value could take in a file."""
    out = {value, value.lower(), value.upper()}
    if "-" in value:
        out |= {v.replace("-", "") for v in list(out)}
    out.add(json.dumps(value)[1:-1])             # JSON-escaped (non-ASCII as \\uXXXX)
    return {v for v in out if v}


def scan(blobs, canaries, tokens):
    found = []
    for fname, data in blobs.items():
        low = data.lower()
        for name, value in canaries.items():
            for v in variants(value):
                enc = v.encode("utf-8")
                if enc.lower() in low:
                    found.append("%s: %s (%r)" % (fname, name, v))
                if enc.hex().encode() in low:
                    found.append("%s: hex of %s" % (fname, name))
            if len(value) >= 9:
                b64 = base64.b64encode(value.encode())[:-4]
                if b64 in data:
                    found.append("%s: base64 of %s" % (fname, name))
        for t in tokens:
            if t.encode() in data:
                found.append("%s: token %s..." % (fname, t[:10]))
            if t[6:].encode() in data:
                found.append("%s: token body %s..." % (fname, t[:10]))
            try:
                raw = base64.urlsafe_b64decode(t[6:] + "=" * (-len(t[6:]) % 4))
            except ValueError:
                raw = b""
            if len(raw) >= 16 and raw[:-4] in data:
                found.append("%s: decoded token %s..." % (fname, t[:10]))
    return found


def unkeyed_digests(value):
    b = value.encode()
    return [hashlib.sha256(b).digest(), hashlib.blake2b(b, digest_size=32).digest(),
            hashlib.blake2b(b, digest_size=16).digest(), hashlib.sha256(b).hexdigest().encode(),
            hashlib.sha512(b).digest()[:32]]


@pytest.fixture(scope="module")
def leak(module_server_factory):
    """One server through which every kind of device secret and personal value passes."""
    srv = module_server_factory(name="devprot")
    rng = random.Random(os.urandom(8))
    c, tokens = {}, []
    a, b, v = srv.new_user(), srv.new_user(), srv.new_user()
    relays = [relay(srv), relay_cli(srv)]
    tokens += relays
    devs = provision(srv, "camera", "ProtCam", count=3) + provision_cli(srv, "plug", "ProtPlug", count=2)
    for i, d in enumerate(devs):
        tokens.append(d["device_token"])
        c["claim_code_%d" % i] = d["claim_code"]
        owner = a if i % 2 == 0 else b
        c["name_%d" % i] = "DevNameCanary-%s" % h()
        claim(srv, tok(owner), d["claim_code"] if i % 2 else d["claim_code"].lower(), c["name_%d" % i])
        o1, o2, o3 = rand_octet(rng), rand_octet(rng), rand_octet(rng)
        c["ssid_%d" % i] = "SsidCanary-%s" % h()
        c["subnet_%d" % i] = "10.%d.%d.0/24" % (o1, o2)
        c["ip_%d" % i] = "10.%d.%d.%d" % (o1, o2, o3)
        heartbeat(srv, d["device_token"], firmware="5.%d" % i, wifi_ssid=c["ssid_%d" % i],
                  subnet=c["subnet_%d" % i], local_ip=c["ip_%d" % i])
        c["rename_%d" % i] = "RenamedCanary-%s" % h()
        expect_json(srv.req("PATCH", "/v1/devices/" + d["device_id"], token=tok(owner),
                            json={"name": c["rename_%d" % i]}), 200)
    # unicode and IPv6 network details
    c["ssid_unicode"] = "WZ-Café-%s" % h()[:12]  # an SSID is at most 32 bytes
    c["ip6"] = "fd%02x:%04x:%04x::%x" % (rng.randint(16, 255), rng.randint(4096, 65535),
                                         rng.randint(4096, 65535), rng.randint(4096, 65535))
    heartbeat(srv, devs[0]["device_token"], wifi_ssid=c["ssid_unicode"], local_ip=c["ip6"])
    # shares and stream tickets (owner, shared user), verified by the relays
    cam = devs[0]["device_id"]
    share(srv, tok(a), cam, v.email, "viewer")
    for t in (stream(srv, tok(a), cam), stream(srv, tok(v), cam)):
        tokens.append(t)
        assert verify(srv, relays[0], t)["active"]
        assert verify(srv, relays[1], t)["active"]
    # release and reset: the new token and code, and the old generation's values
    expect_status(srv.req("DELETE", "/v1/devices/" + cam, token=tok(a)), 204)
    n = reset(srv, devs[0]["device_token"])
    tokens.append(n["device_token"])
    c["claim_code_reset"] = n["claim_code"]
    c["name_resold"] = "ResoldCanary-%s" % h()
    claim(srv, tok(b), n["claim_code"].replace("-", ""), c["name_resold"])
    n2 = reset(srv, devs[1]["device_token"])          # reset without claiming afterwards
    tokens.append(n2["device_token"])
    c["claim_code_unclaimed"] = n2["claim_code"]
    # refused requests that carry values: none of them may be stored or logged
    c["ssid_too_long"] = "LongSsidCanary-%s-" % h() + "x" * 80
    assert_problem(heartbeat_raw(srv, devs[2]["device_token"], wifi_ssid=c["ssid_too_long"]), 400,
                   "invalid_request")
    c["bad_name"] = "BadNameCanary-%s\x07" % h()
    assert_problem(srv.req("PATCH", "/v1/devices/" + devs[2]["device_id"], token=tok(a),
                           json={"name": c["bad_name"]}), 400, "invalid_request")
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    c["guessed_code"] = "-".join("".join(rng.choice(alphabet) for _ in range(5)) for _ in range(5))
    assert_problem(claim_raw(srv, tok(a), c["guessed_code"], "x"), 404, "not_found")
    c["unknown_invitee"] = "InviteeCanary.%s@nowhere-%s.example" % (h(), h()[:6])
    assert_problem(share_raw(srv, tok(b), devs[3]["device_id"], c["unknown_invitee"],
                             "viewer"), 404, "unknown_account")
    c["bogus_ticket"] = "sh_st_TicketCanary%s" % h()
    assert verify(srv, relays[0], c["bogus_ticket"]) == {"active": False}
    c["wrong_device_token"] = "sh_dt_DevTokCanary%s" % h()
    assert_problem(heartbeat_raw(srv, c["wrong_device_token"]), 401, "invalid_token")
    return {"srv": srv, "canaries": c, "tokens": tokens, "devs": devs, "a": a, "b": b}


def test_no_device_canary_in_database_wal_or_log(leak):
    srv = leak["srv"]
    blobs = srv.store_blobs()
    blobs["stderr log"] = srv.log_bytes()
    blobs["stdout"] = srv.stdout_text(start=1).replace(srv.admin_token, "").encode()
    found = scan(blobs, leak["canaries"], leak["tokens"])
    assert not found, "device values in clear:\n" + "\n".join(found)


def test_no_unkeyed_hashes_of_device_secrets(leak):
    blobs = leak["srv"].store_blobs()
    secrets = list(leak["tokens"]) + [v for k, v in leak["canaries"].items() if k.startswith("claim_code")]
    found = []
    for fname, data in blobs.items():
        for s in secrets:
            forms = {s, s.replace("-", ""), s.lower()}
            for form in forms:
                for dgst in unkeyed_digests(form):
                    if dgst in data:
                        found.append("%s: unkeyed digest of %s..." % (fname, s[:10]))
    assert not found, "\n".join(found)


def test_device_columns_are_sealed_blobs(leak):
    srv = leak["srv"]
    rows = srv.db_query("SELECT typeof(name_ct), typeof(network_ct), typeof(token_hash), length(token_hash), "
                        "typeof(claim_hash), owner_id IS NOT NULL FROM devices")
    assert rows
    for name_t, net_t, th_t, th_len, ch_t, owned in rows:
        assert name_t in ("blob", "null") and net_t in ("blob", "null"), rows
        assert th_t == "blob" and th_len == 32, rows
        assert ch_t in ("blob", "null"), rows
        if owned:
            assert name_t == "blob", "an owned device without a sealed name"
    cts = [bytes(r[0]) for r in srv.db_query("SELECT name_ct FROM devices WHERE name_ct IS NOT NULL")]
    assert len(set(cts)) == len(cts) and all(len(x) > 16 + 24 for x in cts)
    for (th,) in srv.db_query("SELECT token_hash FROM relays"):
        assert isinstance(th, bytes) and len(th) == 32
    # a claimed device keeps no claim hash; an unclaimed (reset) one does
    assert srv.db_query("SELECT count(*) FROM devices WHERE owner_id IS NOT NULL AND claim_hash IS NOT NULL") \
        == [(0,)]


def test_release_and_reset_erase_the_old_generation(leak):
    srv = leak["srv"]
    d1 = leak["devs"][1]          # reset, not claimed again
    rows = srv.db_query("SELECT owner_id, name_ct, network_ct, desired_state, generation FROM devices "
                        "WHERE id = ?", (bytes.fromhex(d1["device_id"]),))
    assert rows == [(None, None, None, "{}", 2)], rows
    assert srv.db_query("SELECT count(*) FROM device_shares WHERE device_id = ?",
                        (bytes.fromhex(leak["devs"][0]["device_id"]),)) == [(0,)]


def test_no_device_canary_after_shutdown_checkpoint(leak):
    srv = leak["srv"]
    srv.stop_ok()
    blobs = srv.store_blobs()
    for name in os.listdir(srv.data_dir):
        p = os.path.join(srv.data_dir, name)
        if os.path.isfile(p) and name != "master.key" and name not in blobs:
            with open(p, "rb") as f:
                blobs[name] = f.read()
    blobs["stderr log"] = srv.log_bytes()
    found = scan(blobs, leak["canaries"], leak["tokens"])
    assert not found, "device values in clear after shutdown:\n" + "\n".join(found)
    srv.start()
    # the sealed values still open for their owner after a restart
    c, d3 = leak["canaries"], leak["devs"][3]
    s = leak["b"].login()
    got = expect_json(dev_get(srv, s["access_token"], d3["device_id"]), 200)
    assert got["name"] == c["rename_3"]
    assert got["network"] == {"wifi_ssid": c["ssid_3"], "subnet": c["subnet_3"], "local_ip": c["ip_3"]}


def _edit_db(srv, statements):
    srv.stop_ok()
    for sql, params in statements:
        assert srv.db_execute(sql, params) == 1, sql
    srv.start()


def _refused_or_different(resp, forbidden_values):
    """A moved ciphertext must not open: the read fails (5xx problem) or shows other values."""
    if resp.status_code == 200:
        text = resp.text
        for v in forbidden_values:
            assert v not in text, "a moved ciphertext opened: %r in %s" % (v, text[:400])
    else:
        assert resp.status_code >= 500, resp.text
        assert resp.headers.get("Content-Type", "").startswith("application/problem+json"), resp.text


def test_moved_device_ciphertext_does_not_open(server_factory):
    """P2: a sealed name or network copied to another device (same owner, or another owner's
    device) does not open there."""
    srv = server_factory(name="dev-moved-ct")
    a, b = srv.new_user(), srv.new_user()
    x, y, z = provision(srv, "camera"), provision(srv, "camera"), provision(srv, "camera")
    x_name, x_ssid = "XName-" + h(), "XSsid-" + h()
    claim(srv, tok(a), x["claim_code"], x_name)
    claim(srv, tok(a), y["claim_code"], "YName-" + h())
    claim(srv, tok(b), z["claim_code"], "ZName-" + h())
    heartbeat(srv, x["device_token"], wifi_ssid=x_ssid)
    heartbeat(srv, y["device_token"], wifi_ssid="YSsid-" + h())
    heartbeat(srv, z["device_token"], wifi_ssid="ZSsid-" + h())
    xid = bytes.fromhex(x["device_id"])
    copy = "UPDATE devices SET name_ct = (SELECT name_ct FROM devices WHERE id = ?), " \
           "network_ct = (SELECT network_ct FROM devices WHERE id = ?) WHERE id = ?"
    _edit_db(srv, [(copy, (xid, xid, bytes.fromhex(y["device_id"]))),
                   (copy, (xid, xid, bytes.fromhex(z["device_id"])))])
    sa = a.login()
    sb = b.login()
    _refused_or_different(dev_get(srv, sa["access_token"], y["device_id"]), [x_name, x_ssid])
    _refused_or_different(dev_get(srv, sb["access_token"], z["device_id"]), [x_name, x_ssid])
    # the untouched original still opens
    got = expect_json(dev_get(srv, sa["access_token"], x["device_id"]), 200)
    assert got["name"] == x_name and got["network"]["wifi_ssid"] == x_ssid


def test_old_generation_ciphertext_does_not_open_in_a_new_generation(server_factory):
    """P2/P5: the same owner, the same device, the same key, one generation later: a name and
    network sealed for the earlier generation, put back into the row, do not open."""
    srv = server_factory(name="dev-gen-ct")
    a = srv.new_user()
    d = provision(srv, "camera")
    old_name, old_ssid = "GenOneName-" + h(), "GenOneSsid-" + h()
    claim(srv, tok(a), d["claim_code"], old_name)
    heartbeat(srv, d["device_token"], wifi_ssid=old_ssid)
    did = bytes.fromhex(d["device_id"])
    (name_ct, net_ct), = srv.db_query("SELECT name_ct, network_ct FROM devices WHERE id = ?", (did,))
    assert name_ct and net_ct
    n = reset(srv, d["device_token"])
    claim(srv, tok(a), n["claim_code"], "GenTwoName-" + h())
    heartbeat(srv, n["device_token"], wifi_ssid="GenTwoSsid-" + h())
    _edit_db(srv, [("UPDATE devices SET name_ct = ?, network_ct = ? WHERE id = ? AND generation = 2",
                    (name_ct, net_ct, did))])
    s = a.login()
    _refused_or_different(dev_get(srv, s["access_token"], d["device_id"]), [old_name, old_ssid])
    expect_json(srv.get("/healthz"), 200)
