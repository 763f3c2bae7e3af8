"""Black-box API test harness for safehouse.

Starts the real binary (env SAFEHOUSE_BIN, default <repo>/build/safehouse) on
127.0.0.1 with free ports and a temporary data directory, and talks to it over
HTTP with python3-requests. See tests/api/README.md.

Helpers shared by the test modules are plain functions in this file and are
imported with ``from conftest import ...``.
"""

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
import requests

import contract

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("SAFEHOUSE_BIN", os.path.join(REPO, "build", "safehouse")))
# Which backend the servers under test use: "sqlite" (the embedded default,
# one file in the data dir) or "postgres" (a throw-away cluster of the
# tests' own, tests/support/pg.sh, one database per data dir).
STORE = os.environ.get("SAFEHOUSE_TEST_STORE", "sqlite")
assert STORE in ("sqlite", "postgres"), "SAFEHOUSE_TEST_STORE must be sqlite or postgres"

START_TIMEOUT = 20.0   # the binary may be an ASan build
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 15.0
RULE_DELAY = 1.5       # a rule from the CLI reaches a running server within 1 s

HEX32 = re.compile(r"^[0-9a-f]{32}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ADMIN_LINE = re.compile(r"^admin token: (sh_ad_\S+)$")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "ThreadSanitizer", "UndefinedBehaviorSanitizer")

CLIENTS = ("android", "ios", "web", "cli")


# --------------------------------------------------------------------------
# small helpers


def uniq(prefix="u"):
    """A short unique string for e-mails, names and other canaries."""
    return "%s%s" % (prefix, uuid.uuid4().hex[:16])


def new_email(domain="example.com", prefix="user"):
    return "%s.%s@%s" % (prefix, uuid.uuid4().hex, domain)


def new_password():
    return "Pw-" + uuid.uuid4().hex + "!x"


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def describe(resp):
    """One-line description of a request/response pair for assertion messages."""
    req = resp.request
    body = req.body
    if isinstance(body, bytes):
        body = body[:300]
    elif isinstance(body, str):
        body = body[:300]
    return "%s %s body=%r -> %d %s %s" % (req.method, req.url, body, resp.status_code,
                                          dict(resp.headers), resp.text[:500])


def expect_status(resp, status):
    assert resp.status_code == status, "expected %d: %s" % (status, describe(resp))
    return resp


def expect_json(resp, status):
    expect_status(resp, status)
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == "application/json", describe(resp)
    assert "no-store" in resp.headers.get("Cache-Control", ""), \
        "JSON response without Cache-Control: no-store: " + describe(resp)
    body = resp.json()
    assert isinstance(body, dict), describe(resp)
    return body


def assert_problem(resp, status, code):
    """Asserts an RFC 9457 problem response with the stable safehouse code.

    code may be a string or a collection of acceptable codes."""
    codes = (code,) if isinstance(code, str) else tuple(code)
    assert resp.status_code == status, "expected %d %s: %s" % (status, codes, describe(resp))
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == "application/problem+json", \
        "wrong content type: " + describe(resp)
    try:
        body = resp.json()
    except ValueError:
        raise AssertionError("problem body is not JSON: " + describe(resp))
    assert isinstance(body, dict), describe(resp)
    assert body.get("code") in codes, "expected code %s: %s" % (codes, describe(resp))
    assert body.get("type") == "urn:safehouse:problem:" + body["code"], describe(resp)
    assert body.get("status") == status, describe(resp)
    assert isinstance(body.get("title"), str) and body["title"], describe(resp)
    if "detail" in body:
        assert isinstance(body["detail"], str), describe(resp)
    assert "no-store" in resp.headers.get("Cache-Control", ""), \
        "problem response without Cache-Control: no-store: " + describe(resp)
    rid = resp.headers.get("X-Request-Id")
    assert rid, "no X-Request-Id: " + describe(resp)
    assert body.get("request_id") == rid, "request_id != X-Request-Id: " + describe(resp)
    if status == 401:
        # RFC 6750 3 with the realm; the IFTTT service-key route challenges its own scheme
        ch = resp.headers.get("WWW-Authenticate", "")
        assert ch.startswith('Bearer realm="safehouse"') or \
            ch == 'IFTTT-Service-Key realm="safehouse"', \
            "401 without a WWW-Authenticate challenge: " + describe(resp)
    if status == 405:
        assert resp.headers.get("Allow"), "405 without Allow: " + describe(resp)
    return body


def bearer(token):
    return {"Authorization": "Bearer " + token}


# The server closes a keep-alive connection after 30 s without traffic
# (CONNECTION_TIMEOUT_S in src/http/server.c). A request sent on such a
# connection just as the server closes it dies with "connection aborted", the
# same race any HTTP client has; a POST must not be retried blindly, so a
# session that has been quiet this long opens a new connection instead.
KEEPALIVE_IDLE = 20.0


class HttpSession(requests.Session):
    """requests.Session that never reuses a connection the server may be closing."""

    def __init__(self):
        super().__init__()
        self._last_use = time.monotonic()

    def request(self, *args, **kw):
        now = time.monotonic()
        if now - self._last_use > KEEPALIVE_IDLE:
            for adapter in self.adapters.values():
                adapter.close()
        try:
            return super().request(*args, **kw)
        finally:
            self._last_use = time.monotonic()


# Every response of the binary is checked against docs/openapi.yaml
# (tests/api/contract.py): requests.get/post, requests.Session and HttpSession
# all send through Session.send, redirects included. A mismatch raises in the
# calling test; one that a test swallowed still fails it (pytest_runtest_call).
_unchecked_send = requests.Session.send


def _checked_send(self, request, **kw):
    resp = _unchecked_send(self, request, **kw)
    contract.check_response(resp)
    return resp


requests.Session.send = _checked_send


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    contract.take_violations()
    outcome = yield
    found = contract.take_violations()
    if found and outcome.excinfo is None:
        raise contract.ContractError("responses not as docs/openapi.yaml says:\n" + "\n".join(found))


def wait_until(fn, timeout=RULE_DELAY, interval=0.05):
    """Calls fn until it returns a truthy value or timeout passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        val = fn()
        if val or time.monotonic() >= deadline:
            return val
        time.sleep(interval)


def rfc3339(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def parse_rfc3339(s):
    assert RFC3339.match(s), "not RFC 3339 UTC: %r" % (s,)
    import calendar
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def assert_recent(s, slack=300):
    t = parse_rfc3339(s)
    assert abs(t - time.time()) < slack, "timestamp %s is not near now" % s


def assert_token_shape(body, ttl=900):
    assert body.get("token_type") == "Bearer", body
    assert body.get("expires_in") == ttl, body
    assert isinstance(body.get("access_token"), str) and body["access_token"].startswith("sh_at_"), body
    assert isinstance(body.get("refresh_token"), str) and body["refresh_token"].startswith("sh_rt_"), body
    assert len(body["access_token"]) > 20 and len(body["refresh_token"]) > 20, body
    assert HEX32.match(body.get("session_id", "")), body


# --------------------------------------------------------------------------
# the PostgreSQL cluster of a run (SAFEHOUSE_TEST_STORE=postgres)


class PgCluster:
    """One cluster for the whole run; every data dir gets a database of its own."""

    SCRIPT = os.path.join(REPO, "tests", "support", "pg.sh")

    def __init__(self):
        # the postgres user must be able to enter the directory's parent
        self.dir = tempfile.mkdtemp(prefix="shpg-", dir="/tmp")
        # mkdtemp makes it 0700: the postgres user (initdb, the server) must
        # be able to pass through it to its own subdirectory
        os.chmod(self.dir, 0o711)
        self.dbs = {}   # data dir -> (database name, URL)
        out = subprocess.run(["bash", self.SCRIPT, "start", self.dir + "/pg"],
                             capture_output=True, timeout=120)
        assert out.returncode == 0, "PostgreSQL did not start: %r" % (out.stderr[-2000:],)
        self.sock = self.dir + "/pg"
        self.lock = threading.Lock()

    def url_for(self, data_dir):
        with self.lock:
            if data_dir not in self.dbs:
                name = "sh_%d" % (len(self.dbs) + 1)
                out = subprocess.run(["bash", self.SCRIPT, "createdb", self.sock, name],
                                     capture_output=True, timeout=60)
                assert out.returncode == 0, "createdb failed: %r" % (out.stderr,)
                self.dbs[data_dir] = (name, out.stdout.decode().strip())
            return self.dbs[data_dir][1]

    def name_of(self, key):
        """The database of a data dir, or of a store URL (nodes that share one)."""
        if key in self.dbs:
            return self.dbs[key][0]
        for name, url in self.dbs.values():
            if url == key:
                return name
        raise KeyError(key)

    def connect(self, data_dir):
        import psycopg2
        name = self.name_of(data_dir)
        con = psycopg2.connect(host=self.sock, port=5432, user="postgres", dbname=name)
        con.autocommit = True
        return con

    def db_oid(self, data_dir):
        con = self.connect(data_dir)
        try:
            cur = con.cursor()
            cur.execute("SELECT oid FROM pg_database WHERE datname = current_database()")
            return cur.fetchone()[0]
        finally:
            con.close()

    def dump(self, data_dir):
        name = self.name_of(data_dir)
        out = subprocess.run(["/usr/lib/postgresql/15/bin/pg_dump", "-h", self.sock, "-p", "5432",
                              "-U", "postgres", name], capture_output=True, timeout=120)
        assert out.returncode == 0, "pg_dump failed: %r" % (out.stderr,)
        return out.stdout

    def files(self, data_dir=None):
        """Every file of the cluster's data directory (heap, WAL, ...). With
        data_dir, the directories of the other servers' databases
        (base/<oid>) are left out: a server writes only to its own database,
        the shared catalogs and the cluster-wide WAL and commit logs, and the
        other databases would only make every scan slower (7 MB each)."""
        out = {}
        root = os.path.join(self.sock, "data")
        keep = None if data_dir is None else str(self.db_oid(data_dir))
        for dirpath, dirs, names in os.walk(root):
            if keep is not None and os.path.relpath(dirpath, root) == "base":
                dirs[:] = [d for d in dirs if d == keep or not d.isdigit()]
            for n in names:
                p = os.path.join(dirpath, n)
                try:
                    with open(p, "rb") as f:
                        out[os.path.relpath(p, root)] = f.read()
                except (FileNotFoundError, PermissionError):
                    pass
        return out

    def log(self):
        """PostgreSQL's own log (pg.sh start writes it next to the data dir)."""
        try:
            with open(os.path.join(self.sock, "server.log"), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def checkpoint(self):
        import psycopg2
        con = psycopg2.connect(host=self.sock, port=5432, user="postgres", dbname="postgres")
        con.autocommit = True
        con.cursor().execute("CHECKPOINT")
        con.close()

    def stop(self):
        subprocess.run(["bash", self.SCRIPT, "stop", self.sock], capture_output=True, timeout=120)
        shutil.rmtree(self.dir, ignore_errors=True)


def pg_ctl(cluster, action):
    """pg.sh stop / resume on a cluster: a store outage for fault tests."""
    out = subprocess.run(["bash", PgCluster.SCRIPT, action, cluster.sock], capture_output=True,
                         timeout=120)
    assert out.returncode == 0, "pg.sh %s failed: %r" % (action, out.stderr)


_PG = None


def pg_cluster():
    """The run's cluster, started on first use (postgres runs only)."""
    global _PG
    if _PG is None:
        _PG = PgCluster()
    return _PG


def pytest_sessionfinish(session, exitstatus):
    if _PG is not None:
        _PG.stop()


# typeof(column) on PostgreSQL: the storage class SQLite would report. A
# PostgreSQL column has one declared type for every row, so the class of a
# non-NULL value is the column's type (pg_typeof).
_PG_TYPEOF = ("(CASE WHEN {c} IS NULL THEN 'null' "
              "WHEN pg_typeof({c}) = 'bytea'::regtype THEN 'blob' "
              "WHEN pg_typeof({c}) IN ('text'::regtype, 'varchar'::regtype) THEN 'text' "
              "WHEN pg_typeof({c}) IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype) "
              "THEN 'integer' "
              "WHEN pg_typeof({c}) IN ('real'::regtype, 'double precision'::regtype) THEN 'real' "
              "ELSE pg_typeof({c})::text END)")
_TYPEOF = re.compile(r"\btypeof\(\s*([A-Za-z_][A-Za-z_0-9]*)\s*\)", re.IGNORECASE)


def sql_for_backend(sql):
    """The tests' queries are written for SQLite; the few spellings that
    differ on PostgreSQL are translated here: `?` placeholders and
    typeof(column) (see _PG_TYPEOF). Anything else SQLite-only (sqlite_master,
    PRAGMA, typeof of an expression) is refused rather than sent."""
    if STORE != "postgres":
        return sql
    out = _TYPEOF.sub(lambda m: _PG_TYPEOF.format(c=m.group(1)), sql)
    low = out.lower()
    assert "typeof(" not in _TYPEOF.sub("", sql.lower()) and "sqlite_" not in low \
        and "pragma" not in low, "SQLite-only SQL sent to PostgreSQL: %s" % sql
    return out.replace("?", "%s")


def _pg_value(v):
    return bytes(v) if isinstance(v, memoryview) else v


# --------------------------------------------------------------------------
# the server under test


class User:
    """An account created through the API plus the sessions logged in for it."""

    def __init__(self, server, email, password, id_, display_name=None):
        self.server = server
        self.email = email          # as returned by the server (normalized)
        self.password = password
        self.id = id_
        self.display_name = display_name
        self.sessions = []          # login bodies, in order

    def login(self, client="web", device_name=None):
        s = self.server.login(self.email, self.password, client=client, device_name=device_name)
        self.sessions.append(s)
        return s


class Server:
    def __init__(self, data_dir, workdir, extra_args=(), name="srv", address_limits=False,
                 store_url=None):
        self.bin = BIN
        # Every test client comes from 127.0.0.1: per-address limits are off
        # unless a test asks for them (tests/api/test_15_limits.py).
        self.address_limits = address_limits
        self.data_dir = data_dir
        self.workdir = workdir
        self.extra_args = list(extra_args)
        self.name = name
        self.proc = None
        self.admin_token = None
        self.starts = 0
        self.stdout_path = None
        self.stderr_path = None
        self.base = None
        self.admin = None
        self.http = None
        self._stderr_paths = []
        # store_url: another node's database (several nodes, one store)
        self.store_url = store_url or (pg_cluster().url_for(data_dir) if STORE == "postgres" else None)

    def store_args(self):
        """The --store flag of this server's backend (nothing for the default)."""
        return ["--store", self.store_url] if self.store_url else []

    # ---- process control -------------------------------------------------

    def start(self, extra_args=None):
        if not os.path.exists(self.bin):
            pytest.fail("safehouse binary not found at %s (set SAFEHOUSE_BIN or build it)" % self.bin)
        if extra_args is not None:
            self.extra_args = list(extra_args)
        self.starts += 1
        self.port = free_port()
        self.admin_port = free_port()
        while self.admin_port == self.port:
            self.admin_port = free_port()
        # with --tls-cert both listeners speak HTTPS, and that file is the CA
        # (test certificates are self-signed)
        args = self.extra_args
        self.tls_ca = args[args.index("--tls-cert") + 1] if "--tls-cert" in args[:-1] else None
        scheme = "https" if self.tls_ca else "http"
        self.base = "%s://127.0.0.1:%d" % (scheme, self.port)
        self.admin = "%s://127.0.0.1:%d" % (scheme, self.admin_port)
        contract.LISTENERS[self.port] = "public"
        contract.LISTENERS[self.admin_port] = "admin"
        self.stdout_path = os.path.join(self.workdir, "%s.stdout.%d" % (self.name, self.starts))
        self.stderr_path = os.path.join(self.workdir, "%s.stderr.%d" % (self.name, self.starts))
        self._stderr_paths.append(self.stderr_path)
        cmd = [self.bin, "serve", "--data-dir", self.data_dir,
               "--listen", "127.0.0.1:%d" % self.port,
               "--admin-listen", "127.0.0.1:%d" % self.admin_port] + \
            ([] if self.address_limits else ["--no-address-limits"]) + self.store_args() + \
            self.extra_args
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=env, cwd=self.workdir)
        self.http = HttpSession()
        deadline = time.monotonic() + START_TIMEOUT
        ready = set()
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                pytest.fail("safehouse exited with %s during start-up; stderr:\n%s"
                            % (rc, self.log_text()[-4000:]))
            for url in (self.base, self.admin):
                if url in ready:
                    continue
                try:
                    r = requests.get(url + "/healthz", timeout=1, verify=self.tls_ca or True)
                    if r.status_code == 200:
                        ready.add(url)
                except requests.RequestException:
                    pass
            if len(ready) == 2:
                break
            time.sleep(0.05)
        else:
            self.proc.kill()
            self.proc.wait()
            pytest.fail("safehouse not ready after %.0f s; stderr:\n%s"
                        % (START_TIMEOUT, self.log_text()[-4000:]))
        if self.starts == 1 and self.admin_token is None:
            self.admin_token = self._read_admin_token()
        return self

    def _read_admin_token(self, timeout=5.0):
        line = wait_until(lambda: self.stdout_text().strip(), timeout=timeout)
        m = ADMIN_LINE.match(line.strip()) if line else None
        assert m, "first start did not print 'admin token: sh_ad_...' on stdout, got %r" % line
        return m.group(1)

    def stdout_text(self, start=None):
        path = self.stdout_path if start is None else \
            os.path.join(self.workdir, "%s.stdout.%d" % (self.name, start))
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return 0
        if self.http is not None:
            self.http.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.proc = None
                return None
        rc = self.proc.returncode
        self.proc = None
        return rc

    def stop_ok(self):
        rc = self.stop()
        assert rc == 0, "safehouse did not exit 0 within %.0f s after SIGTERM (rc=%r); stderr tail:\n%s" \
            % (STOP_TIMEOUT, rc, self.log_text()[-3000:])
        self.assert_no_sanitizer_report()

    def kill9(self):
        if self.http is not None:
            self.http.close()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def restart(self, extra_args=None):
        self.stop_ok()
        return self.start(extra_args)

    # ---- logs --------------------------------------------------------------

    def log_text(self, all_starts=False):
        paths = self._stderr_paths if all_starts else [self.stderr_path]
        out = []
        for p in paths:
            try:
                with open(p, "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except (FileNotFoundError, TypeError):
                pass
        return "".join(out)

    def log_bytes(self, all_starts=True):
        paths = self._stderr_paths if all_starts else [self.stderr_path]
        data = b""
        for p in paths:
            try:
                with open(p, "rb") as f:
                    data += f.read()
            except FileNotFoundError:
                pass
        return data

    def log_events(self, all_starts=False):
        """Parsed JSON log objects (lines that are not JSON are skipped)."""
        events = []
        for line in self.log_text(all_starts).splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                events.append(obj)
        return events

    def request_event(self, req_id, timeout=2.0):
        """The access-log event for a request id (polls: logging may lag the response)."""
        def find():
            for ev in self.log_events():
                if ev.get("event") == "request" and ev.get("req_id") == req_id:
                    return ev
            return None
        return wait_until(find, timeout=timeout)

    def assert_no_sanitizer_report(self):
        text = self.log_text(all_starts=True)
        for m in SANITIZER_MARKERS:
            assert m not in text, "sanitizer report in stderr:\n" + text[text.index(m) - 200:][:4000]

    # ---- HTTP --------------------------------------------------------------

    def req(self, method, path, token=None, json=None, data=None, headers=None, admin=False,
            session=None, **kw):
        url = (self.admin if admin else self.base) + path
        h = {}
        if token is not None:
            h.update(bearer(token))
        if headers:
            h.update(headers)
        s = session or self.http
        # explicit: REQUESTS_CA_BUNDLE in the environment would win over a session's
        kw.setdefault("verify", self.tls_ca or True)
        return s.request(method, url, json=json, data=data, headers=h,
                         timeout=kw.pop("timeout", HTTP_TIMEOUT), **kw)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, **kw):
        return self.req("POST", path, **kw)

    def admin_req(self, method, path, json=None, token=None, **kw):
        return self.req(method, path, json=json, admin=True,
                        token=self.admin_token if token is None else token, **kw)

    # ---- domain helpers ----------------------------------------------------

    def create_account_raw(self, email, password, display_name=None, **extra):
        body = {"email": email, "password": password}
        if display_name is not None:
            body["display_name"] = display_name
        body.update(extra)
        return self.post("/v1/accounts", json=body)

    def create_account(self, email=None, password=None, display_name=None):
        email = email or new_email()
        password = password or new_password()
        r = self.create_account_raw(email, password, display_name)
        body = expect_json(r, 201)
        assert HEX32.match(body.get("id", "")), describe(r)
        return User(self, body["email"], password, body["id"], display_name)

    def login_raw(self, email, password, client="web", device_name=None):
        body = {"email": email, "password": password, "client": client}
        if device_name is not None:
            body["device_name"] = device_name
        return self.post("/v1/sessions", json=body)

    def login(self, email, password, client="web", device_name=None):
        r = self.login_raw(email, password, client, device_name)
        body = expect_json(r, 200)
        return body

    def new_user(self, clients=("web",), display_name=None):
        u = self.create_account(display_name=display_name)
        for c in clients:
            u.login(client=c)
        return u

    def refresh_raw(self, refresh_token):
        return self.post("/v1/sessions/refresh", json={"refresh_token": refresh_token})

    def me(self, token):
        return self.get("/v1/me", token=token)

    def token_ok(self, access_token):
        """True if the access token is accepted, False if refused with 401 invalid_token."""
        r = self.me(access_token)
        if r.status_code == 200:
            return True
        assert_problem(r, 401, "invalid_token")
        return False

    def refresh_ok(self, refresh_token):
        """(True, new body) if accepted, (False, None) if refused with 401 invalid_token."""
        r = self.refresh_raw(refresh_token)
        if r.status_code == 200:
            return True, r.json()
        assert_problem(r, 401, "invalid_token")
        return False, None

    def wait_token_dead(self, access_token, timeout=RULE_DELAY):
        return wait_until(lambda: not self.token_ok(access_token), timeout=timeout)

    # ---- CLI and storage -------------------------------------------------------

    def cli(self, *args, data_dir=True, timeout=30):
        cmd = [self.bin] + list(args)
        if data_dir:
            cmd += ["--data-dir", self.data_dir] + self.store_args()
        return subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=self.workdir)

    def db_query(self, sql, params=()):
        """Runs a query on the store: on SQLite a copy of safehouse.db (+ WAL),
        never touching the live files; on PostgreSQL the server's database."""
        if STORE == "postgres":
            con = pg_cluster().connect(self.store_url)
            try:
                cur = con.cursor()
                cur.execute(sql_for_backend(sql), tuple(params))
                return [tuple(_pg_value(v) for v in row) for row in cur.fetchall()]
            finally:
                con.close()
        tmp = tempfile.mkdtemp(prefix="shdb-", dir=self.workdir)
        try:
            for suffix in ("", "-wal"):
                src = os.path.join(self.data_dir, "safehouse.db" + suffix)
                if os.path.exists(src):
                    shutil.copyfile(src, os.path.join(tmp, "safehouse.db" + suffix))
            con = sqlite3.connect(os.path.join(tmp, "safehouse.db"))
            try:
                return con.execute(sql, params).fetchall()
            finally:
                con.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def db_execute(self, sql, params=()):
        """Changes the live store behind the server's back (tamper tests; stop
        the server first). Returns the number of rows changed."""
        if STORE == "postgres":
            con = pg_cluster().connect(self.store_url)
            try:
                cur = con.cursor()
                cur.execute(sql_for_backend(sql), tuple(params))
                return cur.rowcount
            finally:
                con.close()
        con = sqlite3.connect(os.path.join(self.data_dir, "safehouse.db"))
        try:
            cur = con.execute(sql, params)
            con.commit()
            return cur.rowcount
        finally:
            con.close()

    def table_ddl(self, table):
        """What the store says a table is made of, as text: on SQLite its
        CREATE TABLE statement (comments included); on PostgreSQL every
        column with its type and comment, and every constraint. Fails if
        the table does not exist."""
        if STORE == "postgres":
            cols = self.db_query(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
                "coalesce(col_description(a.attrelid, a.attnum), '') "
                "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = ? AND n.nspname = current_schema() AND c.relkind = 'r' "
                "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", (table,))
            assert cols, "no table %s in the store" % table
            cons = self.db_query(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = (current_schema() || '.' || ?)::regclass ORDER BY conname", (table,))
            comment = self.db_query("SELECT coalesce(obj_description((current_schema() || '.' || ?)"
                                    "::regclass, 'pg_class'), '')", (table,))
            return "\n".join(["TABLE %s %s" % (table, comment[0][0])] +
                             ["%s %s -- %s" % c for c in cols] + ["CONSTRAINT %s %s" % c for c in cons])
        rows = self.db_query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
        assert len(rows) == 1 and rows[0][0], "no table %s in the store" % table
        return rows[0][0]

    def store_blobs(self):
        """Everything at rest that the store wrote, by name: on SQLite the
        database file, its WAL and shm; on PostgreSQL a pg_dump of the
        server's database, every file of the cluster (heap, WAL) but the
        other servers' databases, and PostgreSQL's own log (an error such as
        a unique violation quotes the key there). Scans for canaries look at
        these."""
        out = {}
        if STORE == "postgres":
            pg_cluster().checkpoint()
            out["pg_dump"] = pg_cluster().dump(self.store_url)
            for name, data in pg_cluster().files(self.store_url).items():
                out["pgdata/" + name] = data
            out["pg server.log"] = pg_cluster().log()
            return out
        for suffix in ("", "-wal", "-shm"):
            p = os.path.join(self.data_dir, "safehouse.db" + suffix)
            if os.path.exists(p):
                with open(p, "rb") as f:
                    out["safehouse.db" + suffix] = f.read()
        assert "safehouse.db" in out
        return out

    def stored_password(self, user_id):
        rows = self.db_query("SELECT password FROM users WHERE id = ?", (bytes.fromhex(user_id),))
        assert len(rows) == 1, "user %s not found in users table" % user_id
        return rows[0][0]


# --------------------------------------------------------------------------
# fixtures


class ServerFactory:
    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.servers = []

    def __call__(self, extra_args=(), name="srv", data_dir=None, address_limits=False,
                 store_url=None, start=True):
        workdir = str(self.tmp_path_factory.mktemp(name))
        if data_dir is None:
            data_dir = os.path.join(workdir, "data")
        srv = Server(data_dir, workdir, extra_args, name, address_limits, store_url)
        self.servers.append(srv)
        return srv.start() if start else srv

    def close(self):
        errors = []
        for srv in self.servers:
            if srv.proc is None:
                continue
            rc = srv.stop()
            if rc != 0:
                errors.append("%s: exit code %r after SIGTERM (expected 0); stderr tail:\n%s"
                              % (srv.name, rc, srv.log_text()[-2000:]))
            text = srv.log_text(all_starts=True)
            for m in SANITIZER_MARKERS:
                if m in text:
                    errors.append("%s: sanitizer report:\n%s" % (srv.name, text[text.index(m) - 200:][:3000]))
                    break
        self.servers = []
        assert not errors, "\n".join(errors)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server shared by the whole run; tests use unique e-mails."""
    f = ServerFactory(tmp_path_factory)
    srv = f(name="shared")
    yield srv
    f.close()


@pytest.fixture
def server_factory(tmp_path_factory):
    """Starts private servers; on teardown each gets SIGTERM and must exit 0."""
    f = ServerFactory(tmp_path_factory)
    yield f
    f.close()


@pytest.fixture
def private_cluster():
    """A PostgreSQL cluster of its own, so stopping it disturbs no other test."""
    cl = PgCluster()
    yield cl
    cl.stop()


@pytest.fixture(scope="module")
def module_server_factory(tmp_path_factory):
    f = ServerFactory(tmp_path_factory)
    yield f
    f.close()


def parallel(fn, args_list):
    """Runs fn(*args) for each args in threads; returns results in order."""
    results = [None] * len(args_list)
    errors = []

    def run(i, args):
        try:
            results[i] = fn(*args)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


# --------------------------------------------------------------------------
# SMTP sink (tests/support/smtp_sink.py) and a server that mails through it


class SmtpSink:
    def __init__(self, workdir, fail_first=0):
        self.dir = os.path.join(workdir, "mailbox")
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(REPO, "tests", "support", "smtp_sink.py"),
             "--port", str(self.port), "--dir", self.dir, "--fail-first", str(fail_first)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        assert line.startswith("ready"), "SMTP sink did not start: %r" % line
        self.url = "smtp://127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(5)
            self.proc = None


@pytest.fixture(scope="module")
def mail_sink(tmp_path_factory):
    sink = SmtpSink(str(tmp_path_factory.mktemp("smtp")))
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def mail_server(module_server_factory, mail_sink):
    """A private server that sends its mail to the SMTP sink; .mailbox reads it."""
    from mfa_support import Mailbox
    srv = module_server_factory(name="mail", extra_args=[
        "--smtp-url", mail_sink.url, "--mail-from", "noreply@safehouse.test"])
    srv.mailbox = Mailbox(mail_sink.dir)
    srv.sink = mail_sink
    return srv
