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

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("SAFEHOUSE_BIN", os.path.join(REPO, "build", "safehouse")))

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
        assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer"), \
            "401 without WWW-Authenticate: Bearer: " + describe(resp)
    if status == 405:
        assert resp.headers.get("Allow"), "405 without Allow: " + describe(resp)
    return body


def bearer(token):
    return {"Authorization": "Bearer " + token}


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
    def __init__(self, data_dir, workdir, extra_args=(), name="srv", address_limits=False):
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
        self.base = "http://127.0.0.1:%d" % self.port
        self.admin = "http://127.0.0.1:%d" % self.admin_port
        self.stdout_path = os.path.join(self.workdir, "%s.stdout.%d" % (self.name, self.starts))
        self.stderr_path = os.path.join(self.workdir, "%s.stderr.%d" % (self.name, self.starts))
        self._stderr_paths.append(self.stderr_path)
        cmd = [self.bin, "serve", "--data-dir", self.data_dir,
               "--listen", "127.0.0.1:%d" % self.port,
               "--admin-listen", "127.0.0.1:%d" % self.admin_port] + \
            ([] if self.address_limits else ["--no-address-limits"]) + self.extra_args
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=env, cwd=self.workdir)
        self.http = requests.Session()
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
                    r = requests.get(url + "/healthz", timeout=1)
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
            cmd += ["--data-dir", self.data_dir]
        return subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=self.workdir)

    def db_query(self, sql, params=()):
        """Runs a query on a copy of safehouse.db (+ WAL), never touching the live files."""
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

    def __call__(self, extra_args=(), name="srv", data_dir=None, address_limits=False):
        workdir = str(self.tmp_path_factory.mktemp(name))
        if data_dir is None:
            data_dir = os.path.join(workdir, "data")
        srv = Server(data_dir, workdir, extra_args, name, address_limits)
        self.servers.append(srv)
        return srv.start()

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
