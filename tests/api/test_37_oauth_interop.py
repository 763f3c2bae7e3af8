"""Account linking, part 8: interoperability. An independent OAuth client library
(oauth4webapi from the npm registry, pinned in tests/oauth-interop/package-lock.json and
installed by scripts/install-deps.sh) drives the whole flow against the real binary with
the machine's Node.js: discovery, authorization with PKCE, login and consent, code
exchange, a protected resource, code replay, refresh, introspection, revocation."""

import os
import shutil
import subprocess

import pytest

from conftest import REPO
from oauthkit import add_device, register_client

INTEROP = os.path.join(REPO, "tests", "oauth-interop")


def test_oauth4webapi_drives_the_whole_flow(server):
    node = shutil.which("node")
    assert node, "Node.js is required (scripts/install-deps.sh installs it)"
    assert os.path.isdir(os.path.join(INTEROP, "node_modules", "oauth4webapi")), \
        "run scripts/install-deps.sh: it installs tests/oauth-interop's npm packages"
    redirect = "http://127.0.0.1:9/callback"
    c = register_client(server, name="Interop partner", uris=(redirect,),
                        scopes="devices:read devices:control")
    u = server.new_user(clients=("ios",))
    cam = add_device(server, u.sessions[0]["access_token"], "camera")
    env = dict(os.environ, ISSUER=server.base, CLIENT_ID=c.id, CLIENT_SECRET=c.secret,
               REDIRECT_URI=redirect, EMAIL=u.email, PASSWORD=u.password, DEVICE_ID=cam["id"])
    p = subprocess.run([node, os.path.join(INTEROP, "flow.mjs")], env=env, capture_output=True,
                       timeout=120, cwd=INTEROP)
    out = p.stdout.decode()
    assert p.returncode == 0 and "interop: ok" in out, out + p.stderr.decode()
    for step in ("discovery", "authorized", "code_exchanged", "resource", "code_replay_refused",
                 "refreshed", "introspected", "revoked"):
        assert '"step":"%s"' % step in out, out
