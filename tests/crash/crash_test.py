#!/usr/bin/env python3
"""Crash consistency (make crash; a short run in make check).

Each round runs a write load against the real server (sign-ups, logins,
refreshes, logouts, revocation rules by user and by session, device claims,
shares, releases and heartbeats), kills the server with SIGKILL at a random moment, and
then:

1. runs PRAGMA integrity_check on every database file of the data dir, as the
   kill left it;
2. restarts the server on the same data dir and checks that every write it
   acknowledged before the kill is there:
   - every acknowledged account can log in with its password;
   - every acknowledged revocation rule is listed by the admin API, and the
     sessions it covers (and every acknowledged logout) are refused, both
     their access and their refresh tokens;
   - every acknowledged session that nothing ended refreshes with the last
     refresh token the server handed out for it;
   - every acknowledged claim: the owner sees the device with its name and
     role owner; every acknowledged share is listed and the person it was
     shared with sees the device; every acknowledged release: neither the
     former owner nor anyone it was shared with sees it any more; the
     firmware version of the last acknowledged heartbeat (group commit) is
     what the owner sees;
3. presents every refresh token that an acknowledged refresh rotated, and
   requires each to be refused.

A request the kill cut off has no answer, so nothing is required of it: a
refresh, logout or rule in flight may or may not have committed, so the
sessions it touched are not required to work afterwards (but their tokens
that an acknowledged refresh rotated must still be refused). All operations on one
user are serialized by the load generator, so whether a rule covers a session
is never a race. The data dir is kept across rounds, so later rounds also
check that earlier kills left nothing behind that breaks a restart.

usage: crash_test.py [--rounds N] [--seed S] [--workers W] [--bin PATH]
"""

import argparse
import urllib.parse
import glob
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HTTP_TIMEOUT = 10.0
START_TIMEOUT = 30.0
CLIENTS = ("android", "ios", "web", "cli")


class Failure(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """The real binary on a fixed data dir, restarted on fresh ports."""

    def __init__(self, binary, data_dir, work, store=None):
        self.binary, self.data_dir, self.work = binary, data_dir, work
        self.store = store
        self.proc = None
        self.admin_token = None
        self.starts = 0

    def start(self):
        self.port, self.aport = free_port(), free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.admin = "http://127.0.0.1:%d" % self.aport
        self.starts += 1
        self.log_path = os.path.join(self.work, "server-%02d.log" % self.starts)
        out = open(os.path.join(self.work, "stdout-%02d" % self.starts), "w+")
        # Low Argon2id cost: the load is about commits, not hashing. Address
        # limits off: every worker is 127.0.0.1, and thousands of logins and
        # claims a minute from one address is exactly what they refuse.
        cmd = [self.binary, "serve", "--data-dir", self.data_dir,
               "--listen", "127.0.0.1:%d" % self.port,
               "--admin-listen", "127.0.0.1:%d" % self.aport,
               "--threads", "2", "--argon2-ops", "1", "--argon2-mem-kib", "8192",
               "--no-access-log", "--no-address-limits"] + \
            (["--store", self.store] if self.store else [])
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=open(self.log_path, "w"))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure("server exited at start (code %s); log %s"
                              % (self.proc.returncode, self.log_path))
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200 and \
                        requests.get(self.admin + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.05)
        else:
            raise Failure("server did not come up; log %s" % self.log_path)
        out.seek(0)
        text = out.read()
        if self.admin_token is None:
            self.admin_token = text.split("admin token: ", 1)[1].split()[0]
        elif "admin token" in text:
            raise Failure("admin token printed again after a restart")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise Failure("server did not stop on SIGTERM")
            if code != 0:
                raise Failure("server exit code %d on SIGTERM; log %s" % (code, self.log_path))


class Ledger:
    """What the server acknowledged. Guarded by one lock; per-user locks
    serialize the operations on each user."""

    def __init__(self):
        self.lock = threading.Lock()
        self.users = {}       # email -> {"password", "id", "lock", "sessions": [sid]}
        self.sessions = {}    # sid -> dict(user, access, refresh, pending, ended, rotated)
        self.rules = {}       # rule id -> (scope, value)
        self.rotated = []     # refresh tokens an acknowledged refresh replaced
        self.devices = {}     # device id -> dict(owner, name, pending, released, shares)
        self.codes = []       # (claim code, device token) of unclaimed devices
        self.counts = {"signup": 0, "login": 0, "refresh": 0, "logout": 0, "rule": 0,
                       "claim": 0, "share": 0, "release": 0, "heartbeat": 0}


class Load:
    def __init__(self, srv, ledger, rng, stop):
        self.srv, self.led, self.rng, self.stop = srv, ledger, rng, stop
        self.http = requests.Session()

    def post(self, url, **kw):
        return self.http.post(url, timeout=HTTP_TIMEOUT, **kw)

    def run(self):
        while not self.stop.is_set():
            try:
                self.one()
            except requests.RequestException:
                if not self.stop.is_set():
                    time.sleep(0.01)

    def pick_user(self):
        with self.led.lock:
            if not self.led.users:
                return None
            email = self.rng.choice(list(self.led.users))
            return email, self.led.users[email]

    def pick_session_user(self):
        """The user of a random live session, so refreshes and logouts are
        not wasted on users whose sessions have all ended."""
        with self.led.lock:
            live = [s["user"] for s in self.led.sessions.values()
                    if not s["ended"] and not s["pending"]]
            if not live:
                return None
            email = self.rng.choice(live)
            return email, self.led.users[email]

    def one(self):
        r = self.rng.random()
        any_user = r < 0.34 or 0.69 <= r < 0.76
        picked = self.pick_user() if any_user else self.pick_session_user()
        if picked is None or r < 0.12:
            return self.signup()
        email, user = picked
        if not user["lock"].acquire(blocking=False):
            return
        try:
            if r < 0.34:
                self.login(email, user)
            elif r < 0.64:
                self.refresh(user)
            elif r < 0.69:
                self.logout(user)
            elif r < 0.76:
                self.rule(user)
            elif r < 0.84:
                self.claim(email, user)
            elif r < 0.90:
                self.share(email, user)
            elif r < 0.94:
                self.release(email, user)
            else:
                self.heartbeat(email)
        finally:
            user["lock"].release()

    def signup(self):
        email = "crash.%s@example.com" % uuid.uuid4().hex
        password = "Pw-" + uuid.uuid4().hex
        resp = self.post(self.srv.base + "/v1/accounts", json={"email": email, "password": password})
        if resp.status_code == 201:
            with self.led.lock:
                self.led.users[email] = {"password": password, "id": resp.json()["id"],
                                         "lock": threading.Lock(), "sessions": []}
                self.led.counts["signup"] += 1

    def login(self, email, user):
        body = {"email": email, "password": user["password"], "client": self.rng.choice(CLIENTS)}
        resp = self.post(self.srv.base + "/v1/sessions", json=body)
        if resp.status_code != 200:
            raise Failure("login of an acknowledged account: %d %s" % (resp.status_code, resp.text))
        t = resp.json()
        with self.led.lock:
            self.led.sessions[t["session_id"]] = {
                "user": email, "access": t["access_token"], "refresh": t["refresh_token"],
                "pending": False, "ended": False}
            user["sessions"].append(t["session_id"])
            self.led.counts["login"] += 1

    def live_session(self, user):
        with self.led.lock:
            live = [sid for sid in user["sessions"]
                    if not self.led.sessions[sid]["ended"] and not self.led.sessions[sid]["pending"]]
        return self.rng.choice(live) if live else None

    def refresh(self, user):
        sid = self.live_session(user)
        if sid is None:
            return
        s = self.led.sessions[sid]
        old = s["refresh"]
        s["pending"] = True      # from here until an answer, the outcome is unknown
        resp = self.post(self.srv.base + "/v1/sessions/refresh", json={"refresh_token": old})
        if resp.status_code != 200:
            raise Failure("refresh of a live session: %d %s" % (resp.status_code, resp.text))
        t = resp.json()
        with self.led.lock:
            s.update(access=t["access_token"], refresh=t["refresh_token"], pending=False)
            self.led.rotated.append((sid, old))
            self.led.counts["refresh"] += 1

    def logout(self, user):
        sid = self.live_session(user)
        if sid is None:
            return
        s = self.led.sessions[sid]
        s["pending"] = True      # a logout cut off by the kill may have committed
        resp = self.post(self.srv.base + "/v1/logout",
                         headers={"Authorization": "Bearer " + s["access"]})
        if resp.status_code != 204:
            raise Failure("logout: %d %s" % (resp.status_code, resp.text))
        with self.led.lock:
            s.update(ended=True, pending=False)
            self.led.counts["logout"] += 1

    def rule(self, user):
        sid = self.live_session(user)
        if sid is not None and self.rng.random() < 0.5:
            body, covered = {"scope": "session", "value": sid}, [sid]
        else:
            with self.led.lock:
                covered = list(user["sessions"])
            body = {"scope": "user", "value": user["id"]}
        with self.led.lock:
            for c in covered:    # a rule cut off by the kill may have committed
                self.led.sessions[c]["pending"] = True
        resp = self.post(self.srv.admin + "/admin/v1/revocations", json=body,
                         headers={"Authorization": "Bearer " + self.srv.admin_token})
        if resp.status_code != 201:
            raise Failure("revocation rule: %d %s" % (resp.status_code, resp.text))
        with self.led.lock:
            self.led.rules[resp.json()["id"]] = (body["scope"], body["value"])
            for c in covered:
                self.led.sessions[c].update(ended=True, pending=False)
            self.led.counts["rule"] += 1


    def auth(self, user):
        sid = self.live_session(user)
        if sid is None:
            return None
        return {"Authorization": "Bearer " + self.led.sessions[sid]["access"]}

    def claim(self, email, user):
        hdr = self.auth(user)
        with self.led.lock:
            code = self.led.codes.pop() if self.led.codes and hdr else None
        if code is None:
            return
        code, device_token = code
        name = "Plug " + uuid.uuid4().hex[:8]
        resp = self.post(self.srv.base + "/v1/devices/claim", headers=hdr,
                         json={"claim_code": code, "name": name})
        if resp.status_code != 201:
            raise Failure("claim: %d %s" % (resp.status_code, resp.text))
        with self.led.lock:
            self.led.devices[resp.json()["id"]] = {
                "owner": email, "name": name, "pending": False, "released": False,
                "shares": {}, "token": device_token, "firmware": None}
            self.led.counts["claim"] += 1

    def owned_device(self, email):
        with self.led.lock:
            mine = [d for d, v in self.led.devices.items()
                    if v["owner"] == email and not v["released"] and not v["pending"]]
        return self.rng.choice(mine) if mine else None

    def share(self, email, user):
        hdr, did = self.auth(user), self.owned_device(email)
        with self.led.lock:
            others = [e for e in self.led.users if e != email]
        if hdr is None or did is None or not others:
            return
        d = self.led.devices[did]
        sharee = self.rng.choice(others)
        if sharee in d["shares"].values():
            return
        d["pending"] = True
        resp = self.post(self.srv.base + "/v1/devices/%s/shares" % did, headers=hdr,
                         json={"email": sharee, "role": "viewer"})
        if resp.status_code != 201:
            raise Failure("share: %d %s" % (resp.status_code, resp.text))
        with self.led.lock:
            d["shares"][resp.json()["id"]] = sharee
            d["pending"] = False
            self.led.counts["share"] += 1

    def release(self, email, user):
        hdr, did = self.auth(user), self.owned_device(email)
        if hdr is None or did is None:
            return
        d = self.led.devices[did]
        d["pending"] = True
        resp = self.http.delete(self.srv.base + "/v1/devices/%s" % did, headers=hdr,
                                timeout=HTTP_TIMEOUT)
        if resp.status_code != 204:
            raise Failure("release: %d %s" % (resp.status_code, resp.text))
        with self.led.lock:
            d.update(released=True, pending=False)
            self.led.counts["release"] += 1


    def heartbeat(self, email):
        did = self.owned_device(email)
        if did is None:
            return
        d = self.led.devices[did]
        fw = "1.0.%d" % self.rng.randrange(1 << 20)
        d["pending"] = True
        resp = self.post(self.srv.base + "/v1/device/heartbeat", json={"firmware_version": fw},
                         headers={"Authorization": "Bearer " + d["token"]})
        if resp.status_code != 200:
            raise Failure("heartbeat: %d %s" % (resp.status_code, resp.text))
        with self.led.lock:
            d.update(firmware=fw, pending=False)
            self.led.counts["heartbeat"] += 1


def provision(srv, led, count):
    """Factory side, before the load: plugs with claim codes (acknowledged
    before any kill, so not part of what is checked)."""
    resp = requests.post(srv.admin + "/admin/v1/devices", timeout=HTTP_TIMEOUT,
                         headers={"Authorization": "Bearer " + srv.admin_token},
                         json={"type": "plug", "model": "Crash Plug", "count": count})
    if resp.status_code != 201:
        raise Failure("provisioning: %d %s" % (resp.status_code, resp.text))
    led.codes += [(d["claim_code"], d["device_token"]) for d in resp.json()["devices"]]


def verify_devices(srv, led, http):
    """Claims, shares and releases after a restart; returns checks made."""
    tokens = {}
    n = 0

    def hdr(email):
        if email not in tokens:
            resp = http.post(srv.base + "/v1/sessions", timeout=HTTP_TIMEOUT, json={
                "email": email, "password": led.users[email]["password"], "client": "cli"})
            if resp.status_code != 200:
                raise Failure("login of %s for the device checks: %d" % (email, resp.status_code))
            tokens[email] = {"Authorization": "Bearer " + resp.json()["access_token"]}
        return tokens[email]

    for did, d in led.devices.items():
        if d["pending"] or d.get("checked_gone"):
            continue
        url = srv.base + "/v1/devices/" + did
        got = http.get(url, headers=hdr(d["owner"]), timeout=HTTP_TIMEOUT)
        if d["released"]:
            seen = [e for e in [d["owner"]] + list(d["shares"].values())
                    if http.get(url, headers=hdr(e), timeout=HTTP_TIMEOUT).status_code != 404]
            if seen:
                raise Failure("released device %s still visible to %d former users after the "
                              "kill" % (did, len(seen)))
            d["checked_gone"] = True
            n += 1
            continue
        if got.status_code != 200 or got.json().get("role") != "owner" or \
                got.json().get("name") != d["name"]:
            raise Failure("acknowledged claim of device %s lost after the kill: %d %s"
                          % (did, got.status_code, got.text[:200]))
        if got.json().get("firmware_version") != d["firmware"]:
            raise Failure("device %s: last acknowledged heartbeat said firmware %s, after the "
                          "kill the owner sees %s" % (did, d["firmware"],
                                                      got.json().get("firmware_version")))
        listed = http.get(url + "/shares", headers=hdr(d["owner"]), timeout=HTTP_TIMEOUT)
        ids = {s["id"] for s in listed.json().get("shares", [])}
        if listed.status_code != 200 or ids != set(d["shares"]):
            raise Failure("device %s: acknowledged shares %s, listed %s after the kill"
                          % (did, sorted(d["shares"]), sorted(ids)))
        for sharee in d["shares"].values():
            seen = http.get(url, headers=hdr(sharee), timeout=HTTP_TIMEOUT)
            if seen.status_code != 200 or seen.json().get("role") != "viewer":
                raise Failure("device %s: acknowledged share lost for its viewer: %d"
                              % (did, seen.status_code))
        n += 2 + len(d["shares"])
    return n


def integrity_check_postgres(url):
    """pg_amcheck over every table and index of the database (the amcheck
    extension is installed in it on first use)."""
    u = urllib.parse.urlsplit(url)
    q = dict(urllib.parse.parse_qsl(u.query))
    out = subprocess.run(["/usr/lib/postgresql/15/bin/pg_amcheck", "--install-missing",
                          "--heapallindexed", "-h", q.get("host", u.hostname or ""),
                          "-p", q.get("port", str(u.port or 5432)), "-U", u.username or "postgres",
                          u.path.lstrip("/")], capture_output=True, timeout=300)
    if out.returncode != 0:
        raise Failure("pg_amcheck: %s %s" % (out.stdout[-2000:], out.stderr[-2000:]))
    return 1


def integrity_check(data_dir, store=None):
    if store:
        return integrity_check_postgres(store)
    dbs = sorted(glob.glob(os.path.join(data_dir, "*.db")))
    if not dbs:
        raise Failure("no database file in the data dir")
    for path in dbs:
        con = sqlite3.connect(path)
        try:
            res = [r[0] for r in con.execute("PRAGMA integrity_check")]
        finally:
            con.close()
        if res != ["ok"]:
            raise Failure("integrity_check of %s: %s" % (os.path.basename(path), res[:5]))
    return len(dbs)


def verify(srv, led, round_users, rng):
    """Checks after a restart; returns the number of checks made."""
    http = requests.Session()
    n = 0
    # accounts: all of this round, and a sample of earlier ones
    older = [e for e in led.users if e not in round_users]
    for email in list(round_users) + rng.sample(older, min(10, len(older))):
        resp = http.post(srv.base + "/v1/sessions", timeout=HTTP_TIMEOUT, json={
            "email": email, "password": led.users[email]["password"], "client": "cli"})
        if resp.status_code != 200:
            raise Failure("acknowledged account %s cannot log in after the kill: %d %s"
                          % (email, resp.status_code, resp.text))
        n += 1
    # rules: every acknowledged one is stored
    resp = http.get(srv.admin + "/admin/v1/revocations", timeout=HTTP_TIMEOUT,
                    headers={"Authorization": "Bearer " + srv.admin_token})
    stored = {r["id"] for r in resp.json()["rules"]}
    lost = set(led.rules) - stored
    if lost:
        raise Failure("%d acknowledged revocation rules lost: %s" % (len(lost), sorted(lost)[:3]))
    n += len(led.rules)
    # sessions
    for sid, s in led.sessions.items():
        if s.get("checked_dead"):
            continue
        if s["ended"]:
            me = http.get(srv.base + "/v1/me", timeout=HTTP_TIMEOUT,
                          headers={"Authorization": "Bearer " + s["access"]})
            rt = http.post(srv.base + "/v1/sessions/refresh", timeout=HTTP_TIMEOUT,
                           json={"refresh_token": s["refresh"]})
            if me.status_code != 401 or rt.status_code != 401:
                raise Failure("ended/revoked session %s works after the kill: me %d, refresh %d"
                              % (sid, me.status_code, rt.status_code))
            s["checked_dead"] = True
            n += 2
        elif not s["pending"]:
            rt = http.post(srv.base + "/v1/sessions/refresh", timeout=HTTP_TIMEOUT,
                           json={"refresh_token": s["refresh"]})
            if rt.status_code != 200:
                raise Failure("acknowledged session %s lost its refresh token: %d %s"
                              % (sid, rt.status_code, rt.text))
            led.rotated.append((sid, s["refresh"]))
            s["refresh"] = rt.json()["refresh_token"]
            s["access"] = rt.json()["access_token"]
            n += 1
    # rotated refresh tokens never work again (this ends their families)
    for sid, old in led.rotated:
        rt = http.post(srv.base + "/v1/sessions/refresh", timeout=HTTP_TIMEOUT,
                       json={"refresh_token": old})
        if rt.status_code != 401:
            raise Failure("a rotated refresh token of session %s works again after the kill: %d"
                          % (sid, rt.status_code))
        led.sessions[sid]["ended"] = True
        n += 1
    led.rotated = []
    return n + verify_devices(srv, led, http)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--store", default=None,
                    help="a PostgreSQL URL (an empty database); default: SQLite in the data dir")
    ap.add_argument("--bin", default=os.environ.get("SAFEHOUSE_BIN",
                                                     os.path.join(REPO, "build", "safehouse")))
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="safehouse-crash.")
    data_dir = os.path.join(work, "data")
    srv = Server(os.path.abspath(args.bin), data_dir, work, args.store)
    led = Ledger()
    print("crash: %d rounds, seed %d, binary %s, store %s" % (
        args.rounds, seed, os.path.basename(args.bin), "postgres" if args.store else "sqlite"))
    t0 = time.monotonic()
    ok = False
    try:
        srv.start()
        for rnd in range(1, args.rounds + 1):
            before = dict(led.counts)
            users_before = set(led.users)
            provision(srv, led, 150)
            stop = threading.Event()
            loads = [Load(srv, led, random.Random(rng.random()), stop) for _ in range(args.workers)]
            errors = []

            def runner(ld):
                try:
                    ld.run()
                except Failure as e:
                    errors.append(e)
                    stop.set()
            threads = [threading.Thread(target=runner, args=(ld,)) for ld in loads]
            for th in threads:
                th.start()
            delay = rng.uniform(0.3, 2.5)
            time.sleep(delay)
            srv.kill9()
            stop.set()
            for th in threads:
                th.join()
            if errors:
                raise errors[0]
            ndb = integrity_check(data_dir, args.store)
            srv.start()
            checks = verify(srv, led, set(led.users) - users_before, rng)
            acked = {k: led.counts[k] - before[k] for k in led.counts}
            print("crash: round %2d: killed after %.2fs; acknowledged %s; integrity ok (%d db); "
                  "%d checks ok" % (rnd, delay, " ".join("%s=%d" % kv for kv in acked.items()),
                                    ndb, checks))
        srv.stop()
        ok = True
    except Failure as e:
        print("crash: FAILED: %s" % e, file=sys.stderr)
        print("crash: seed %d; server logs kept in %s" % (seed, work), file=sys.stderr)
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()
    if not ok:
        return 1
    total = " ".join("%s=%d" % kv for kv in led.counts.items())
    print("crash: %d rounds passed in %.0fs; acknowledged in all: %s"
          % (args.rounds, time.monotonic() - t0, total))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
