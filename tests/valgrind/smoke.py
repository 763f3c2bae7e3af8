#!/usr/bin/env python3
"""Black-box smoke under valgrind memcheck (make check-valgrind).

Starts SAFEHOUSE_BIN (a debug build without sanitizers) under $VALGRIND on a
temporary data directory, makes a few calls on every kind of route (sign-up,
login, reads, writes, refresh and refresh reuse, bad input, the admin API, the
admin CLI, the device routes with heartbeats through the group commit, OAuth
client registration and the token and authorize endpoints' error paths), stops
it with SIGTERM and fails unless both the server and the CLI exit 0: valgrind
runs with --error-exitcode, so an invalid access or a definite leak turns
into a non-zero exit.
"""

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

import requests

BIN = os.environ["SAFEHOUSE_BIN"]
VALGRIND = shlex.split(os.environ.get("VALGRIND", "valgrind --error-exitcode=99 --leak-check=full"))
START_TIMEOUT = 120.0
TIMEOUT = 60.0
JSON = {"Content-Type": "application/json"}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def expect(resp, status, what):
    if resp.status_code != status:
        raise SystemExit(f"smoke: {what}: want {status}, got {resp.status_code} {resp.text}")
    return resp.json() if resp.content else None


def main():
    work = tempfile.mkdtemp(prefix="safehouse-valgrind.")
    data = os.path.join(work, "data")
    port, aport = free_port(), free_port()
    base, admin = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{aport}"
    log = open(os.path.join(work, "server.log"), "w+")
    cmd = VALGRIND + [BIN, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}",
                      "--admin-listen", f"127.0.0.1:{aport}", "--threads", "2",
                      "--argon2-ops", "1", "--argon2-mem-kib", "8192"]
    srv = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        line = srv.stdout.readline().strip()
        if not line.startswith("admin token: "):
            raise SystemExit(f"smoke: no admin token line, got {line!r}")
        adm = {"Authorization": "Bearer " + line.split(": ", 1)[1]}
        deadline = time.time() + START_TIMEOUT
        while True:
            try:
                if requests.get(base + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline or srv.poll() is not None:
                raise SystemExit("smoke: server did not come up")
            time.sleep(0.5)
        run_calls(base, admin, adm, data)
    finally:
        if srv.poll() is None:
            srv.send_signal(signal.SIGTERM)
        try:
            code = srv.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            srv.kill()
            code = srv.wait()
        log.seek(0)
        text = log.read()
    reports = [l for l in text.splitlines() if l.startswith("==")]
    if code != 0 or reports:
        print("\n".join(reports[-60:]), file=sys.stderr)
        raise SystemExit(f"smoke: server exit code {code} under valgrind")
    print("smoke: server and CLI clean under valgrind")


def run_calls(base, admin, adm, data):
    s = requests.Session()
    t = TIMEOUT
    expect(s.get(base + "/healthz", timeout=t), 200, "healthz")
    acct = {"email": "val@example.com", "password": "correct horse battery", "display_name": "Val"}
    expect(s.post(base + "/v1/accounts", json=acct, timeout=t), 201, "sign-up")
    expect(s.post(base + "/v1/accounts", json=acct, timeout=t), 409, "sign-up twice")
    login = {"email": "val@example.com", "password": "correct horse battery", "client": "ios",
             "device_name": "phone"}
    tok = expect(s.post(base + "/v1/sessions", json=login, timeout=t), 200, "login")
    other = expect(s.post(base + "/v1/sessions", json=dict(login, client="web"), timeout=t), 200,
                   "second login")
    bad = dict(login, password="wrong password!!")
    expect(s.post(base + "/v1/sessions", json=bad, timeout=t), 401, "wrong password")
    auth = {"Authorization": "Bearer " + tok["access_token"]}
    expect(s.get(base + "/v1/me", headers=auth, timeout=t), 200, "me")
    expect(s.patch(base + "/v1/me", headers=auth, json={"display_name": "V2"}, timeout=t), 200,
           "patch me")
    expect(s.get(base + "/v1/sessions", headers=auth, timeout=t), 200, "sessions")
    new = expect(s.post(base + "/v1/sessions/refresh", json={"refresh_token": tok["refresh_token"]},
                        timeout=t), 200, "refresh")
    expect(s.post(base + "/v1/sessions/refresh", json={"refresh_token": tok["refresh_token"]},
                  timeout=t), 401, "refresh reuse")
    expect(s.post(base + "/v1/sessions/refresh", json={"refresh_token": new["refresh_token"]},
                  timeout=t), 401, "refresh after family ended")
    expect(s.post(base + "/v1/accounts", data=b"{\"email\":", headers=JSON, timeout=t), 400,
           "bad json")
    expect(s.post(base + "/v1/accounts", data=b"\xff\xfe", headers=JSON, timeout=t), 400,
           "bad utf-8")
    expect(s.get(base + "/nope", timeout=t), 404, "no route")
    expect(s.put(base + "/v1/me", timeout=t), 405, "wrong method")
    expect(s.get(base + "/v1/me", headers={"Authorization": "Bearer sh_at_AAAA"}, timeout=t), 401,
           "forged token")
    oauth = {"Authorization": "Bearer " + other["access_token"]}
    pw = {"current_password": "correct horse battery", "new_password": "another horse battery"}
    expect(s.post(base + "/v1/me/password", headers=oauth, json=pw, timeout=t), 204, "password")
    rule = expect(s.post(admin + "/admin/v1/revocations", headers=adm,
                         json={"scope": "class", "value": "android"}, timeout=t), 201, "rule")
    rules = expect(s.get(admin + "/admin/v1/revocations", headers=adm, timeout=t), 200, "rules")
    if rule["id"] not in json.dumps(rules):
        raise SystemExit("smoke: rule not listed")
    cli = subprocess.run(VALGRIND + [BIN, "admin", "revoke", "--data-dir", data, "--class", "cli"],
                         capture_output=True, text=True, timeout=TIMEOUT * 2)
    if cli.returncode != 0:
        print(cli.stderr[-4000:], file=sys.stderr)
        raise SystemExit(f"smoke: admin CLI exit code {cli.returncode} under valgrind")
    fresh = expect(s.post(base + "/v1/sessions", timeout=t, json=dict(
        login, password="another horse battery")), 200, "login with the new password")
    run_device_calls(s, base, admin, adm, {"Authorization": "Bearer " + fresh["access_token"]})
    run_oauth_calls(s, base, admin, adm)
    expect(s.post(base + "/v1/logout", headers=oauth, timeout=t), 204, "logout")
    expect(s.get(base + "/v1/me", headers=oauth, timeout=t), 401, "after logout")


def run_device_calls(s, base, admin, adm, auth):
    """Provisioning, claim, state, heartbeat (group commit), stream ticket and
    relay check, sharing and release."""
    t = TIMEOUT
    prov = expect(s.post(admin + "/admin/v1/devices", headers=adm, timeout=t,
                         json={"type": "camera", "model": "Val Cam"}), 201, "provision")
    dev = prov["devices"][0]
    got = expect(s.post(base + "/v1/devices/claim", headers=auth, timeout=t,
                        json={"claim_code": dev["claim_code"], "name": "Hall"}), 201, "claim")
    url = base + "/v1/devices/" + got["id"]
    expect(s.get(base + "/v1/devices", headers=auth, timeout=t), 200, "devices")
    expect(s.patch(url, headers=auth, json={"name": "Porch"}, timeout=t), 200, "rename")
    expect(s.put(url + "/state", headers=auth, json={"power": "on"}, timeout=t), 200, "state")
    dauth = {"Authorization": "Bearer " + dev["device_token"]}
    expect(s.post(base + "/v1/device/heartbeat", headers=dauth, timeout=t,
                  json={"firmware_version": "1.0.0", "wifi_ssid": "home", "subnet": "10.0.0.0/24",
                        "local_ip": "10.0.0.9"}), 200, "heartbeat")
    expect(s.get(url, headers=auth, timeout=t), 200, "device")
    ticket = expect(s.post(url + "/stream", headers=auth, timeout=t), 201, "stream ticket")
    relay = expect(s.post(admin + "/admin/v1/relays", headers=adm, timeout=t), 201, "relay")
    rauth = {"Authorization": "Bearer " + relay["relay_token"]}
    expect(s.post(base + "/v1/streams/verify", headers=rauth, json={"ticket": ticket["ticket"]},
                  timeout=t), 200, "stream verify")
    friend = {"email": "friend@example.com", "password": "another fine password"}
    expect(s.post(base + "/v1/accounts", json=friend, timeout=t), 201, "second account")
    share = expect(s.post(url + "/shares", headers=auth, timeout=t,
                          json={"email": "friend@example.com", "role": "viewer"}), 201, "share")
    expect(s.get(url + "/shares", headers=auth, timeout=t), 200, "shares")
    expect(s.delete(url + "/shares/" + share["id"], headers=auth, timeout=t), 204, "unshare")
    expect(s.delete(url, headers=auth, timeout=t), 204, "release")
    expect(s.post(base + "/v1/device/reset", headers=dauth, timeout=t), 200, "reset")


def run_oauth_calls(s, base, admin, adm):
    """Account linking without a browser: metadata, client registration,
    the token endpoint's form and Basic parsing, the authorize error page."""
    t = TIMEOUT
    expect(s.get(base + "/.well-known/oauth-authorization-server", timeout=t), 200, "metadata")
    client = expect(s.post(admin + "/admin/v1/oauth/clients", headers=adm, timeout=t,
                           json={"name": "Val", "redirect_uris": ["https://val.example/cb"],
                                 "scopes": "devices:read"}), 201, "oauth client")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    body = ("grant_type=authorization_code&code=sh_ac_x&redirect_uri="
            "https%3A%2F%2Fval.example%2Fcb&code_verifier=" + "v" * 43)
    r = s.post(base + "/oauth/token", data=body, headers=form,
               auth=(client["client_id"], client["client_secret"]), timeout=t)
    if r.status_code != 400 or r.json().get("error") != "invalid_grant":
        raise SystemExit("smoke: token with a bad code: %d %s" % (r.status_code, r.text))
    r = s.post(base + "/oauth/token", data="grant_type=x&code=%zz", headers=form, timeout=t)
    if r.status_code != 400:
        raise SystemExit("smoke: token with a bad form: %d %s" % (r.status_code, r.text))
    r = s.get(base + "/oauth/authorize?client_id=%s&state=a&state=b" % client["client_id"],
              allow_redirects=False, timeout=t)
    if r.status_code != 400 or not r.headers.get("Content-Type", "").startswith("text/html"):
        raise SystemExit("smoke: authorize error page: %d" % r.status_code)


if __name__ == "__main__":
    main()
