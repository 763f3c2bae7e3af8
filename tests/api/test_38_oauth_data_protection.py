"""Account linking, part 9: data protection (P1, P2). Client secrets, IFTTT service keys,
authorization codes, access and refresh tokens, login cookies and CSRF tokens never appear
in the store's files (SQLite's database and WAL; PostgreSQL's dump, heap, WAL and log) or
the logs - not in clear, not base64-decoded, not as an unkeyed hash; the stored hashes are
keyed."""

import base64
import hashlib
import json

import pytest

from conftest import expect_json, uniq
from oauthkit import (ALEXA_URI, Browser, add_device, authorize_code, exchange, forms_of, introspect,
                      pkce, refresh, register_client, revoke)


def digests(value):
    b = value.encode()
    return [hashlib.sha256(b).digest(), hashlib.sha256(b).hexdigest().encode(),
            hashlib.blake2b(b, digest_size=32).digest(), hashlib.sha512(b).digest()[:32]]


def opaque_bytes(token):
    """The secret bytes inside an sh_xx_ token (without the CRC)."""
    body = token[6:]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return raw[:-4]


@pytest.fixture(scope="module")
def leak(module_server_factory):
    srv = module_server_factory(name="oauth-dataprot")
    secrets = {}
    key = "ifttt-service-key-" + uniq() + uniq()
    c = register_client(srv, service_key=key)
    secrets["service_key"] = key
    secrets["client_secret_1"] = c.secret
    p = srv.cli("admin", "oauth-client", "rotate-secret", "--client", c.id)
    c.secret = json.loads(p.stdout)["client_secret"]
    secrets["client_secret_2"] = c.secret
    api = expect_json(srv.admin_req("POST", "/admin/v1/oauth/clients",
                                    json={"name": "API", "redirect_uris": [ALEXA_URI],
                                          "scopes": "devices:read"}), 201)
    secrets["client_secret_api"] = api["client_secret"]
    u = srv.new_user(clients=("ios",))
    cam = add_device(srv, u.sessions[0]["access_token"], "camera")
    code, verifier, b = authorize_code(srv, u, c, [cam["id"]])
    secrets["code"] = code
    secrets["verifier"] = verifier
    for name, value in b.http.cookies.items():
        secrets["cookie_" + name] = value
    _, challenge = pkce()
    page = b.authorize(c, challenge)
    secrets["csrf"] = dict(forms_of(page.text)[0]["hidden"])["csrf"]
    t = exchange(srv, c, code, verifier).json()
    secrets["access_1"], secrets["refresh_1"] = t["access_token"], t["refresh_token"]
    exchange(srv, c, code, verifier)                      # replay: logged security event
    code2, verifier2, _ = authorize_code(srv, u, c, [cam["id"]], browser=b)
    t = exchange(srv, c, code2, verifier2).json()
    secrets["code_2"] = code2
    secrets["access_2"], secrets["refresh_2"] = t["access_token"], t["refresh_token"]
    r = refresh(srv, c, t["refresh_token"]).json()
    secrets["access_3"], secrets["refresh_3"] = r["access_token"], r["refresh_token"]
    refresh(srv, c, r["refresh_token"])
    refresh(srv, c, t["refresh_token"])                  # reuse: logged security event
    introspect(srv, c, secrets["access_3"])
    code3, verifier3, _ = authorize_code(srv, u, c, [cam["id"]], browser=b)
    t = exchange(srv, c, code3, verifier3).json()
    secrets["code_3"], secrets["refresh_4"] = code3, t["refresh_token"]
    revoke(srv, c, t["refresh_token"])
    srv.get("/ifttt/v1/status", headers={"IFTTT-Service-Key": key})
    return {"srv": srv, "secrets": secrets}


def files(srv):
    out = srv.store_blobs()
    out["stderr log"] = srv.log_bytes()
    return out


def scan(blobs, secrets):
    found = []
    for fname, data in blobs.items():
        for name, value in secrets.items():
            variants = [value.encode()] + digests(value)
            if value.startswith("sh_") and len(value) > 20:
                variants.append(value[6:].encode())
                try:
                    variants.append(opaque_bytes(value)[:24])
                except ValueError:
                    pass
            for v in variants:
                if v in data:
                    found.append("%s: %s" % (fname, name))
                    break
    return found


def test_no_oauth_secret_in_database_wal_or_log(leak):
    found = scan(files(leak["srv"]), leak["secrets"])
    assert not found, "secrets in clear or unkeyed:\n" + "\n".join(found)


def test_no_oauth_secret_after_shutdown_checkpoint(leak):
    srv = leak["srv"]
    srv.stop_ok()
    found = scan(files(srv), leak["secrets"])
    srv.start()
    assert not found, "\n".join(found)


def test_stored_secrets_are_32_byte_hashes(leak):
    srv = leak["srv"]
    for table, col in (("oauth_clients", "secret_hash"), ("oauth_codes", "hash"),
                       ("oauth_refresh_tokens", "hash")):
        rows = srv.db_query("SELECT typeof(%s), length(%s) FROM %s" % (col, col, table))
        assert rows, table
        assert all(r == ("blob", 32) for r in rows), (table, rows)
    rows = srv.db_query("SELECT length(service_key_hash) FROM oauth_clients WHERE service_key_hash IS NOT NULL")
    assert rows == [(32,)]
    # no column holds an access token: they are never stored
    for table in ("oauth_grants", "oauth_grant_devices", "oauth_codes", "oauth_refresh_tokens"):
        ddl = srv.table_ddl(table)
        assert "access" not in ddl.lower(), ddl


def test_security_events_logged_with_ids_only(leak):
    events = [e.get("event") for e in leak["srv"].log_events(all_starts=True)]
    for ev in ("oauth_client_added", "oauth_grant_created",
               "oauth_code_replay", "oauth_refresh_token_reuse", "oauth_token_revoked"):
        assert ev in events, ev
