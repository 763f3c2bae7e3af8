#!/usr/bin/python3
"""Revocation-rule latency between two nodes of one store.

Two `safehouse serve` processes (node A and node B) share one store. On
PostgreSQL each has its own data dir (0700) holding a copy of A's master.key
(0600) and both get --store for the same database; on SQLite both get the
same --data-dir (one database file, one key). Users sign up and log in on
node A; then, for each rule, a user-scope rule is added through node A's
admin API (POST /admin/v1/revocations) and node B's GET /v1/me is polled with
that user's access token, back to back on one keep-alive connection, until
it answers 401. The figure is the time from the moment A's admin API
returned (the rule is committed) to the 401 from B, i.e. how long a token
revoked on one node stays usable on another.

Before each rule the script sleeps a random 0-500 ms: B picks rules up in a
poll loop (a 250 ms tick on SQLite, LISTEN/NOTIFY woken at once on
PostgreSQL), and rules added right after the previous refusal would all land
at the same phase of that loop.

Run with /usr/bin/python3 (needs python3-requests). Loopback only; a
throw-away PostgreSQL 15 (tests/support/pg.sh: unix socket in the temp dir);
every process started and the temp dir are removed on exit, also on
Ctrl-C or SIGTERM. Prints p50, p90 and max per backend and writes
bench/results-rules.json.
Knobs: BENCH_RULES (rules and users per backend, default 100),
BENCH_RULE_TIMEOUT (seconds a rule may take to reach B before it counts as
missed, default 5), SAFEHOUSE_BIN. BENCH_SECONDS is not used.
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SAFEHOUSE_BIN", os.path.join(ROOT, "build", "safehouse"))
PG_SH = os.path.join(ROOT, "tests", "support", "pg.sh")
RULES = int(os.environ.get("BENCH_RULES", "100"))
RULE_TIMEOUT = float(os.environ.get("BENCH_RULE_TIMEOUT", "5"))
PASSWORD = "correct horse battery staple"
# setup is bounded: servers up within 20 s, every call within 10 s
UP_TIMEOUT = 20.0
HTTP_TIMEOUT = 10.0

procs = []  # (Popen, stdout file) of every server started
work = None
pg_dir = None


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cleanup():
    for p, out in procs:
        if p.poll() is None:
            p.terminate()
    for p, out in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        out.close()
    procs.clear()
    if pg_dir is not None:
        subprocess.run(["bash", PG_SH, "stop", pg_dir], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)


def on_signal(signum, frame):
    raise SystemExit(128 + signum)


class Node:
    """One `safehouse serve` process."""

    def __init__(self, name, data_dir, store=None):
        self.name = name
        self.port, self.aport = free_port(), free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.abase = "http://127.0.0.1:%d" % self.aport
        self.stdout_path = os.path.join(work, "stdout-" + name)
        args = [BIN, "serve", "--data-dir", data_dir, "--listen", "127.0.0.1:%d" % self.port,
                "--admin-listen", "127.0.0.1:%d" % self.aport, "--no-access-log",
                # setup signs up and logs in RULES users from one address
                "--no-address-limits",
                # the lowest Argon2id cost: only the setup hashes passwords
                "--argon2-ops", "1", "--argon2-mem-kib", "8192",
                # tokens outlive the run whatever BENCH_RULE_TIMEOUT is
                "--access-ttl", "86400"]
        if store:
            args += ["--store", store]
        out = open(self.stdout_path, "w")
        err = open(os.path.join(work, "stderr-" + name), "w")
        self.proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        err.close()
        procs.append((self.proc, out))

    def wait_up(self):
        """True once /healthz answers; False if the process exited first."""
        deadline = time.monotonic() + UP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if requests.get(self.base + "/healthz", timeout=1).ok:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise SystemExit("bench: node %s did not come up" % self.name)

    def stderr_tail(self):
        with open(os.path.join(work, "stderr-" + self.name)) as f:
            return f.read()[-600:]

    def admin_token(self):
        deadline = time.monotonic() + UP_TIMEOUT
        while time.monotonic() < deadline:
            with open(self.stdout_path) as f:
                for line in f:
                    if line.startswith("admin token: "):
                        return line.split(": ", 1)[1].strip()
            time.sleep(0.1)
        raise SystemExit("bench: node %s printed no admin token" % self.name)


def check(r, want):
    if r.status_code != want:
        raise SystemExit("bench: %s %s -> %d (wanted %d) %s" % (
            r.request.method, r.url, r.status_code, want, r.text[:200]))
    return r.json()


def measure(backend, a, b, admin):
    """Signs up and logs in RULES users on A, then one rule per user."""
    sa = requests.Session()
    users = []
    log("%s: %d users sign up and log in on node A" % (backend, RULES))
    for i in range(RULES):
        email = "rule%d@bench.example" % i
        check(sa.post(a.base + "/v1/accounts", json={"email": email, "password": PASSWORD},
                      timeout=HTTP_TIMEOUT), 201)
        tok = check(sa.post(a.base + "/v1/sessions",
                            json={"email": email, "password": PASSWORD, "client": "cli"},
                            timeout=HTTP_TIMEOUT), 200)["access_token"]
        users.append(tok)
    sb = requests.Session()
    ids = []
    for tok in users:  # B accepts every token before any rule exists
        me = check(sb.get(b.base + "/v1/me", headers={"Authorization": "Bearer " + tok},
                          timeout=HTTP_TIMEOUT), 200)
        ids.append(me["id"])

    adm = requests.Session()
    adm.headers["Authorization"] = "Bearer " + admin
    rng = random.Random(1)
    lat, insert, polls, missed = [], [], [], 0
    log("%s: %d rules through node A, each polled on node B until 401" % (backend, RULES))
    for tok, uid in zip(users, ids):
        time.sleep(rng.uniform(0, 0.5))
        hdr = {"Authorization": "Bearer " + tok}
        t0 = time.perf_counter()
        r = adm.post(a.abase + "/admin/v1/revocations", json={"scope": "user", "value": uid},
                     timeout=HTTP_TIMEOUT)
        t1 = time.perf_counter()
        check(r, 201)
        n = 0
        while True:
            r = sb.get(b.base + "/v1/me", headers=hdr, timeout=HTTP_TIMEOUT)
            t2 = time.perf_counter()
            n += 1
            if r.status_code == 401:
                lat.append(t2 - t1)
                break
            if r.status_code != 200:
                raise SystemExit("bench: node B answered %d while polling: %s" % (
                    r.status_code, r.text[:200]))
            if t2 - t1 > RULE_TIMEOUT:
                missed += 1
                break
        insert.append(t1 - t0)
        polls.append(n)
    return summarize(lat, insert, polls, missed)


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summarize(lat, insert, polls, missed):
    ms = lambda v: None if v is None else round(v * 1e3, 3)
    return {
        "rules": len(lat) + missed,
        "refused": len(lat),
        "missed_after_s": {"count": missed, "timeout_s": RULE_TIMEOUT},
        "insert_to_refusal_ms": {"p50": ms(pct(lat, 0.5)), "p90": ms(pct(lat, 0.9)),
                                 "max": ms(max(lat) if lat else None),
                                 "min": ms(min(lat) if lat else None),
                                 "mean": ms(sum(lat) / len(lat) if lat else None)},
        "admin_insert_ms": {"p50": ms(pct(insert, 0.5)), "max": ms(max(insert) if insert else None)},
        "polls_per_rule_p50": pct(polls, 0.5),
        "samples_ms": [ms(v) for v in lat],
    }


def private_copy_of_key(src_dir, dst_dir):
    os.makedirs(dst_dir, mode=0o700)
    os.chmod(dst_dir, 0o700)
    dst = os.path.join(dst_dir, "master.key")
    shutil.copyfile(os.path.join(src_dir, "master.key"), dst)
    os.chmod(dst, 0o600)


def run_postgres():
    global pg_dir
    pg_dir = os.path.join(work, "pg")
    log("postgres: starting a throw-away PostgreSQL 15")
    subprocess.run(["bash", PG_SH, "start", pg_dir], check=True, stdout=subprocess.DEVNULL)
    url = subprocess.run(["bash", PG_SH, "createdb", pg_dir, "safehouse_rules"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout.strip()
    a = Node("pg-a", os.path.join(work, "pg-a"), store=url)
    if not a.wait_up():
        raise SystemExit("bench: postgres node A exited: " + a.stderr_tail())
    admin = a.admin_token()
    private_copy_of_key(os.path.join(work, "pg-a"), os.path.join(work, "pg-b"))
    b = Node("pg-b", os.path.join(work, "pg-b"), store=url)
    if not b.wait_up():
        raise SystemExit("bench: postgres node B exited: " + b.stderr_tail())
    res = measure("postgres", a, b, admin)
    res["setup"] = "two data dirs (B has a copy of A's master.key), --store the same database"
    return res


def run_sqlite():
    d = os.path.join(work, "sq")
    a = Node("sq-a", d)
    if not a.wait_up():
        raise SystemExit("bench: sqlite node A exited: " + a.stderr_tail())
    admin = a.admin_token()
    b = Node("sq-b", d)
    if not b.wait_up():
        why = b.stderr_tail().strip().splitlines()
        log("sqlite: a second server on the same --data-dir was refused; skipped")
        return {"skipped": "a second server on the same --data-dir was refused",
                "stderr": why[-3:]}
    res = measure("sqlite", a, b, admin)
    res["setup"] = "both nodes on the same --data-dir (one SQLite file, one master.key)"
    return res


def main():
    global work
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    if RULES < 1:
        raise SystemExit("bench: BENCH_RULES must be at least 1")
    work = tempfile.mkdtemp(prefix="shpg-bench-rules.")
    os.chmod(work, 0o755)  # the postgres user must enter it to reach its cluster
    results = {"rules_per_backend": RULES, "rule_timeout_s": RULE_TIMEOUT,
               "measured": "node A admin API returned -> node B GET /v1/me answered 401"}
    try:
        results["postgres"] = run_postgres()
        results["sqlite"] = run_sqlite()
    finally:
        cleanup()
    print(f"rule added on node A -> refused on node B, {RULES} user-scope rules per backend")
    print(f"{'backend':<10}{'p50 ms':>9}{'p90 ms':>9}{'max ms':>9}{'min ms':>9}{'missed':>8}"
          f"{'insert p50 ms':>15}{'polls p50':>11}")
    for k in ("postgres", "sqlite"):
        r = results[k]
        if "skipped" in r:
            print(f"{k:<10}skipped: {r['skipped']}")
            continue
        l = r["insert_to_refusal_ms"]
        f = lambda v, w, d: f"{v:>{w}.{d}f}" if v is not None else f"{'-':>{w}}"
        print(f"{k:<10}{f(l['p50'], 9, 1)}{f(l['p90'], 9, 1)}{f(l['max'], 9, 1)}{f(l['min'], 9, 1)}"
              f"{r['missed_after_s']['count']:>8}{f(r['admin_insert_ms']['p50'], 15, 2)}"
              f"{f(r['polls_per_rule_p50'], 11, 0)}")
        if r["missed_after_s"]["count"]:
            print(f"note: {k}: {r['missed_after_s']['count']} rules not refused by node B within "
                  f"{RULE_TIMEOUT} s")
    with open(os.path.join(ROOT, "bench", "results-rules.json"), "w") as f:
        json.dump(results, f, indent=2)
    print("written: bench/results-rules.json")


if __name__ == "__main__":
    main()
