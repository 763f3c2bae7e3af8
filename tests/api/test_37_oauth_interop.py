"""Account linking, part 8: interoperability. Independent OAuth client libraries from
the npm registry (oauth4webapi and simple-oauth2, pinned in
tests/oauth-interop/package-lock.json and installed by scripts/install-deps.sh) drive
the real binary with the machine's Node.js. oauth4webapi: discovery, authorization with
PKCE, login and consent, code exchange, a protected resource, code replay, refresh,
introspection, revocation. simple-oauth2: code exchange, revoke('access_token'),
refresh, revokeAll(), each revocation checked at introspection."""

import os
import shutil
import subprocess

import pytest

from conftest import REPO
from oauthkit import add_device, register_client

INTEROP = os.path.join(REPO, "tests", "oauth-interop")


def run_client(server, script, package):
    """Runs tests/oauth-interop/<script> for a new partner, user and camera; its stdout."""
    node = shutil.which("node")
    assert node, "Node.js is required (scripts/install-deps.sh installs it)"
    assert os.path.isdir(os.path.join(INTEROP, "node_modules", package)), \
        "run scripts/install-deps.sh: it installs tests/oauth-interop's npm packages"
    redirect = "http://127.0.0.1:9/callback"
    c = register_client(server, name="Interop partner", uris=(redirect,),
                        scopes="devices:read devices:control")
    u = server.new_user(clients=("ios",))
    cam = add_device(server, u.sessions[0]["access_token"], "camera")
    env = dict(os.environ, ISSUER=server.base, CLIENT_ID=c.id, CLIENT_SECRET=c.secret,
               REDIRECT_URI=redirect, EMAIL=u.email, PASSWORD=u.password, DEVICE_ID=cam["id"])
    p = subprocess.run([node, os.path.join(INTEROP, script)], env=env, capture_output=True,
                       timeout=120, cwd=INTEROP)
    out = p.stdout.decode()
    assert p.returncode == 0 and "interop: ok" in out, out + p.stderr.decode()
    return out


def test_oauth4webapi_drives_the_whole_flow(server):
    out = run_client(server, "flow.mjs", "oauth4webapi")
    for step in ("discovery", "authorized", "code_exchanged", "resource", "code_replay_refused",
                 "refreshed", "introspected", "revoked"):
        assert '"step":"%s"' % step in out, out


def test_simple_oauth2_revokes_and_the_tokens_die(server):
    """simple-oauth2 parses the revocation answer as JSON: it must resolve, and the
    link's tokens must be inactive at introspection afterwards."""
    out = run_client(server, "simple-oauth2.mjs", "simple-oauth2")
    for step in ("code_exchanged", "revoked_access_token", "refreshed", "revoked_all"):
        assert '"step":"%s"' % step in out, out
    assert '"answer":{}' in out, out
