#!/usr/bin/env python3
"""Black-box smoke under valgrind memcheck (make check-valgrind).

Starts SAFEHOUSE_BIN (a debug build without sanitizers) under $VALGRIND on a
temporary data directory, makes a few calls on every kind of route (sign-up,
login, reads, writes, refresh and refresh reuse, bad input, the admin API, the
admin CLI), stops it with SIGTERM and fails unless both the server and the CLI
exit 0: valgrind is run with --error-exitcode, so an invalid access or a
definite leak turns into a non-zero exit.
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
    expect(s.post(base + "/v1/logout", headers=oauth, timeout=t), 204, "logout")
    expect(s.get(base + "/v1/me", headers=oauth, timeout=t), 401, "after logout")


if __name__ == "__main__":
    main()
