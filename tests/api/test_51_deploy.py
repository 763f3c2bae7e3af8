"""Deployment: --config files, the master key from --key-file or systemd's
credential, the sd_notify protocol, the man page, the bash completion and
the Debian package with its systemd unit; and starts that fail (store
unreachable, bad config) create nothing and print no credential."""

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import BIN, REPO, STORE, free_port, new_email, new_password, pg_cluster

from test_47_cli import COMMANDS, TOKENISH, help_flags

HEXKEY = re.compile(r"^[0-9a-f]{64}\n$")


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return str(path)


def run(*args, env=None, cwd=None, timeout=60):
    return subprocess.run([BIN] + list(args), capture_output=True, timeout=timeout, env=env,
                          cwd=cwd)


def new_key_file(path):
    return write(path, os.urandom(32).hex() + "\n")


# ---- --config FILE ------------------------------------------------------------------------


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c))
def test_every_flag_of_every_command_is_a_config_setting(server, cmd, tmp_path):
    flags = help_flags(server, cmd) - {"--help", "--config"}
    assert "--config" in help_flags(server, cmd), "%s has no --config" % " ".join(cmd)
    data = tmp_path / "d"
    for flag in sorted(flags):
        # the file is read whole before any setting applies: an unknown name on
        # line 3 is the error, so lines 1-2 (the flag) were accepted as names
        conf = write(tmp_path / "c.conf", "# one flag\n%s = true\nno-such-setting = 1\n" % flag[2:])
        p = run(*cmd, "--config", conf, "--data-dir", str(data)) if "--data-dir" in flags \
            else run(*cmd, "--config", conf)
        assert p.returncode == 2, (flag, p)
        assert b"c.conf:3: 'no-such-setting'" in p.stderr, (flag, p.stderr)
        assert b"c.conf:2" not in p.stderr, (flag, p.stderr)
        assert not data.exists()


@pytest.mark.parametrize("name", ["help", "config", "no-such-flag", "--listen", "Listen"])
def test_a_name_that_is_no_setting_is_exit_2_with_its_line(tmp_path, name):
    conf = write(tmp_path / "c.conf", "\n# comment\n\n%s = 1\n" % name)
    p = run("serve", "--config", conf, "--data-dir", str(tmp_path / "d"))
    assert p.returncode == 2, p
    assert ("c.conf:4: '%s' is not a flag of 'safehouse serve'" % name).encode() in p.stderr, p
    assert p.stdout == b"" and not (tmp_path / "d").exists()


@pytest.mark.parametrize("line,why", [
    ("threads = 0", b"--threads needs a number from 1 to 64"),
    ("access-ttl = ten", b"--access-ttl needs a number"),
    ("store = mysql://x", b"--store takes sqlite:PATH or postgres://"),
    ("debug = maybe", b"debug takes no value, or true or false"),
    ("listen", b"listen needs a value (listen = ADDR:PORT)"),
    ("listen =", b"listen needs a value"),
])
def test_a_bad_value_is_exit_2_with_its_line(tmp_path, line, why):
    conf = write(tmp_path / "c.conf", "data-dir = %s\n%s\n" % (tmp_path / "d", line))
    p = run("serve", "--config", conf, "--listen", "127.0.0.1:%d" % free_port(),
            "--admin-listen", "127.0.0.1:%d" % free_port())
    assert p.returncode == 2, p
    assert why in p.stderr, p.stderr
    assert b"c.conf:2" in p.stderr, p.stderr
    assert b"c.conf:1" not in p.stderr, p.stderr
    assert p.stdout == b"" and not (tmp_path / "d").exists()


def test_an_unreadable_config_is_exit_2(tmp_path):
    p = run("serve", "--config", str(tmp_path / "absent.conf"), "--data-dir", str(tmp_path / "d"))
    assert p.returncode == 2 and b"absent.conf" in p.stderr, p
    conf = tmp_path / "bin.conf"
    conf.write_bytes(b"threads = 2\n\0\n")
    p = run("serve", "--config", str(conf), "--data-dir", str(tmp_path / "d"))
    assert p.returncode == 2 and b"not a text file" in p.stderr, p
    assert not (tmp_path / "d").exists()


def test_serve_takes_its_settings_from_the_file_and_flags_win(server_factory, tmp_path):
    # the file's listen address is not one serve can use: the flag's must win;
    # the file's access-ttl (on no command line) must apply
    conf = write(tmp_path / "serve.conf", "\n".join([
        "# serve settings",
        "listen = localhost:1",
        "  access-ttl = 60  ",
        'mail-from = "ops@example.com"',
        "debug = false",
        "no-access-log = true",
        "",
    ]))
    srv = server_factory(name="conf", extra_args=["--config", conf])
    email, pw = new_email(), new_password()
    srv.create_account(email, pw)
    r = srv.login_raw(email, pw)
    assert r.status_code == 200, r.text
    assert r.json()["expires_in"] == 60, r.json()
    events = srv.log_events()
    assert not [e for e in events if e.get("event") == "request"], "no-access-log = true ignored"
    assert not [e for e in events if e.get("level") == "debug"], "debug = false turned it on"


def test_admin_command_from_a_file_with_the_command_line_winning(server, tmp_path):
    lines = ["data-dir = " + server.data_dir, "class = android"]
    if server.store_url:
        lines.append("store = " + server.store_url)
    conf = write(tmp_path / "admin.conf", "\n".join(lines) + "\n")
    p = run("admin", "revoke", "--config", conf)
    assert p.returncode == 0, p
    assert json.loads(p.stdout)["value"] == "android"
    p = run("admin", "revoke", "--config", conf, "--class", "ios")
    assert p.returncode == 0, p
    assert json.loads(p.stdout)["value"] == "ios"
    # --config before the subcommand, like --data-dir
    p = run("--config", conf, "admin", "revoke")
    assert p.returncode == 0 and json.loads(p.stdout)["value"] == "android", p


def test_crlf_tabs_quotes_and_comments(server, tmp_path):
    lines = ["# written on Windows", "\tdata-dir\t=\t" + server.data_dir + "  ",
             "   # indented comment", "class = \"cli\""]
    if server.store_url:
        lines.append("store = " + server.store_url)
    conf = tmp_path / "crlf.conf"
    conf.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    p = run("admin", "revoke", "--config", str(conf))
    assert p.returncode == 0, p
    assert json.loads(p.stdout)["value"] == "cli"


def test_a_file_for_every_command_skips_other_commands_settings(server, tmp_path):
    # serve's and revoke's settings in one file: each command takes its own
    lines = ["data-dir = " + server.data_dir, "listen = 127.0.0.1:1", "no-access-log",
             "class = web", "users = 3"]
    if server.store_url:
        lines.append("store = " + server.store_url)
    conf = write(tmp_path / "all.conf", "\n".join(lines) + "\n")
    p = run("admin", "revoke", "--config", conf)
    assert p.returncode == 0 and json.loads(p.stdout)["value"] == "web", p
    # a name no command takes is still an error, with its line
    write(tmp_path / "all.conf", "\n".join(lines + ["clas = web"]) + "\n")
    p = run("admin", "revoke", "--config", conf)
    assert p.returncode == 2, p
    assert ("all.conf:%d: 'clas'" % (len(lines) + 1)).encode() in p.stderr, p.stderr


def test_a_repeated_setting_in_the_file_repeats_the_flag(server, tmp_path):
    lines = ["data-dir = " + server.data_dir, "name = Repeat Partner",
             "redirect-uri = https://a.example.com/cb", "redirect-uri = https://b.example.com/cb",
             'scopes = "devices:read devices:control"']
    if server.store_url:
        lines.append("store = " + server.store_url)
    conf = write(tmp_path / "client.conf", "\n".join(lines) + "\n")
    p = run("admin", "oauth-client", "add", "--config", conf)
    assert p.returncode == 0, p
    client = json.loads(p.stdout)["client_id"]
    p = run("admin", "oauth-client", "list", "--config", conf)
    assert p.returncode == 0, p
    mine = [c for c in json.loads(p.stdout)["clients"] if c["client_id"] == client]
    assert mine and mine[0]["redirect_uris"] == ["https://a.example.com/cb",
                                                 "https://b.example.com/cb"], mine
    assert mine[0]["name"] == "Repeat Partner", mine


# ---- failed starts create nothing ---------------------------------------------------------


def assert_created_nothing(p, data_dir, code=1):
    assert p.returncode == code, p
    assert not TOKENISH.search(p.stdout + p.stderr), p
    assert p.stdout == b"", p
    assert not os.path.exists(data_dir), os.listdir(data_dir)


def listen_args():
    return ["--listen", "127.0.0.1:%d" % free_port(), "--admin-listen", "127.0.0.1:%d" % free_port()]


def test_unreachable_postgres_creates_no_data_dir_no_key_no_token(tmp_path):
    d = str(tmp_path / "d")
    p = run("serve", "--data-dir", d, "--store", "postgres://127.0.0.1:1/x?connect_timeout=5",
            *listen_args())
    assert_created_nothing(p, d)
    assert b"startup_failed" in p.stderr and b"store_unavailable" in p.stderr, p.stderr


def test_bad_config_creates_nothing(tmp_path):
    d = str(tmp_path / "d")
    conf = write(tmp_path / "c.conf", "data-dir = %s\nthreads = 65\n" % d)
    assert_created_nothing(run("serve", "--config", conf, *listen_args()), d, code=2)


def test_missing_key_file_creates_nothing(tmp_path):
    d = str(tmp_path / "d")
    p = run("serve", "--data-dir", d, "--key-file", str(tmp_path / "none.key"), *listen_args())
    assert_created_nothing(p, d)
    assert b"master_key_unavailable" in p.stderr, p.stderr


def test_key_file_readable_by_others_is_refused(tmp_path):
    d = str(tmp_path / "d")
    key = new_key_file(tmp_path / "k")
    os.chmod(key, 0o644)
    p = run("serve", "--data-dir", d, "--key-file", key, *listen_args())
    assert_created_nothing(p, d)
    assert b"master_key_file_mode_too_open" in p.stderr, p.stderr


# ---- the master key from --key-file or $CREDENTIALS_DIRECTORY ----------------------------


def test_key_from_file_then_from_the_credential_and_never_in_the_data_dir(
        server_factory, tmp_path, monkeypatch):
    key = new_key_file(tmp_path / "master.key")
    srv = server_factory(name="keyfile", extra_args=["--key-file", key])
    email, pw = new_email(), new_password()
    srv.create_account(email, pw)
    srv.stop_ok()
    assert not os.path.exists(os.path.join(srv.data_dir, "master.key"))
    # the same key as systemd's LoadCredential= passes it: 0400 in a directory
    creds = tmp_path / "creds"
    creds.mkdir()
    shutil.copyfile(key, creds / "master.key")
    os.chmod(creds / "master.key", 0o400)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    srv.start([])
    assert srv.login_raw(email, pw).status_code == 200
    srv.stop_ok()
    assert not os.path.exists(os.path.join(srv.data_dir, "master.key"))
    # another key in the credential: the sealed e-mail no longer opens
    os.chmod(creds / "master.key", 0o600)
    new_key_file(creds / "master.key")
    os.chmod(creds / "master.key", 0o400)
    srv.start([])
    assert srv.login_raw(email, pw).status_code == 401
    srv.stop_ok()
    assert not os.path.exists(os.path.join(srv.data_dir, "master.key"))


def test_credentials_directory_without_the_key_falls_back_to_the_data_dir(
        server_factory, tmp_path, monkeypatch):
    empty = tmp_path / "creds"
    empty.mkdir()
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(empty))
    srv = server_factory(name="nocred")
    key = os.path.join(srv.data_dir, "master.key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    with open(key) as f:
        assert HEXKEY.match(f.read())


# ---- sd_notify ----------------------------------------------------------------------------


class NotifySocket:
    def __init__(self, tmp_path, abstract):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "safehouse-test-%s" % os.urandom(6).hex()
            self.sock.bind("\0" + name)
            self.env = "@" + name
        else:
            path = os.path.join(tempfile.mkdtemp(dir=str(tmp_path)), "notify")
            self.sock.bind(path)
            self.env = path
        self.sock.settimeout(30)

    def next(self):
        return self.sock.recv(4096).decode()

    def until(self, word):
        seen = []
        while True:
            msg = self.next()
            seen.append(msg)
            if word in msg.split("\n"):
                return seen

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_notify_ready_watchdog_stopping(server_factory, tmp_path, monkeypatch, abstract):
    ns = NotifySocket(tmp_path, abstract)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", ns.env)
        monkeypatch.setenv("WATCHDOG_USEC", "400000")
        srv = server_factory(name="notify", start=False)
        # READY=1 comes once both listeners are bound and the store is open,
        # and nothing comes before it
        srv.start()
        first = ns.until("READY=1")
        assert first == [first[-1]], "something before READY=1: %r" % first
        assert "STATUS=serving" in first[-1].split("\n")
        pings = [ns.next() for _ in range(3)]
        assert pings == ["WATCHDOG=1"] * 3, pings
        assert srv.get("/healthz").status_code == 200
        srv.stop_ok()
        rest = ns.until("STOPPING=1")
        assert set(rest[:-1]) <= {"WATCHDOG=1"}, rest
    finally:
        ns.close()


def test_no_watchdog_pings_for_another_process(server_factory, tmp_path, monkeypatch):
    ns = NotifySocket(tmp_path, False)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", ns.env)
        monkeypatch.setenv("WATCHDOG_USEC", "100000")
        monkeypatch.setenv("WATCHDOG_PID", "1")  # not the server: the variables are inherited
        srv = server_factory(name="wdpid")
        assert ns.until("READY=1")[-1].startswith("READY=1")
        # many ping intervals of requests, then the stop: nothing in between
        for _ in range(20):
            srv.create_account(new_email(), new_password())
        srv.stop_ok()
        assert ns.next().startswith("STOPPING=1")
    finally:
        ns.close()


# ---- man page and completion --------------------------------------------------------------


def rendered_man(source_bytes, tmp_path):
    page = tmp_path / "safehouse.1"
    page.write_bytes(source_bytes)
    groff = subprocess.run(["groff", "-man", "-Tutf8", "-ww", str(page)], capture_output=True,
                           timeout=60)
    assert groff.returncode == 0 and groff.stderr == b"", groff.stderr
    man = subprocess.run(["man", "-l", str(page)], capture_output=True, timeout=60,
                         env=dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING="0"))
    assert man.returncode == 0, man
    text = re.sub(r".\x08", "", man.stdout.decode())
    text = re.sub(r"\u2010\s*\n\s*", "", text)  # words hyphenated over lines
    return re.sub(r"[ \t]+", " ", text)  # justified lines: one space between words


def assert_man_names_everything(server, text):
    assert text.startswith("SAFEHOUSE(1)"), text[:200]
    for cmd in COMMANDS:
        assert " ".join(cmd) in text, cmd
        for flag in help_flags(server, cmd):
            assert flag in text, (cmd, flag)
    for word in ("CONFIGURATION FILE", "CREDENTIALS_DIRECTORY", "NOTIFY_SOCKET", "EXIT STATUS",
                 "completion bash", "version"):
        assert word in text, word


def test_man_page_renders_and_names_every_command_and_flag(server, tmp_path):
    p = run("help", "--man")
    assert p.returncode == 0 and p.stderr == b"", p
    assert_man_names_everything(server, rendered_man(p.stdout, tmp_path))


def completion(words, tmp_path, cwd=None):
    script = tmp_path / "safehouse.bash"
    if not script.exists():
        p = run("completion", "bash")
        assert p.returncode == 0 and p.stderr == b"", p
        script.write_bytes(p.stdout)
    body = "source %s\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_safehouse\nprintf '%%s\\n' \"${COMPREPLY[@]}\"\n" \
        % (script, " ".join("'%s'" % w for w in words), len(words) - 1)
    p = subprocess.run(["bash", "--norc", "-c", body], capture_output=True, timeout=30, cwd=cwd)
    assert p.returncode == 0 and p.stderr == b"", p
    return set(p.stdout.decode().split())


def test_completion_of_commands(tmp_path):
    assert {"serve", "admin", "seed", "routes", "version", "help", "completion"} <= \
        completion(["safehouse", ""], tmp_path)
    assert completion(["safehouse", "se"], tmp_path) == {"serve", "seed"}
    assert completion(["safehouse", "admin", ""], tmp_path) == {
        "revoke", "token-reset", "device", "relay", "scrape-token", "oauth-client", "migrate-store"}
    assert completion(["safehouse", "admin", "oauth-client", "r"], tmp_path) == {"rotate-secret"}
    # global flags and their values before the subcommand are skipped
    assert completion(["safehouse", "--data-dir", "admin", "admin", "device", ""], tmp_path) == \
        {"provision"}


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c))
def test_completion_offers_exactly_the_flags_of_help(server, cmd, tmp_path):
    assert completion(["safehouse", *cmd, "--"], tmp_path) == help_flags(server, cmd)


def test_completion_of_flag_values(tmp_path):
    (tmp_path / "work" / "dir-a").mkdir(parents=True)
    (tmp_path / "work" / "file-b").write_text("")
    cwd = str(tmp_path / "work")
    assert completion(["safehouse", "serve", "--data-dir", ""], tmp_path, cwd) == {"dir-a"}
    assert completion(["safehouse", "serve", "--config", ""], tmp_path, cwd) == {"dir-a", "file-b"}
    assert completion(["safehouse", "serve", "--listen", ""], tmp_path, cwd) == set()
    assert completion(["safehouse", "serve", "--listen", "x", "--th"], tmp_path) == {"--threads"}


# ---- the Debian package and the systemd unit ----------------------------------------------


def version():
    return run("--version").stdout.decode().split()[1]


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    """The package of the binary under test, as `make deb` builds it."""
    out = str(tmp_path_factory.mktemp("deb") / ("safehouse_%s.deb" % version()))
    p = subprocess.run(["bash", os.path.join(REPO, "scripts", "build-deb.sh"), BIN, version(), out],
                       capture_output=True, timeout=300)
    assert p.returncode == 0, p
    return out


def control(deb_path):
    p = subprocess.run(["dpkg-deb", "-f", deb_path], capture_output=True, check=True)
    fields, key = {}, None
    for line in p.stdout.decode().splitlines():
        if line.startswith(" ") and key:
            fields[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def test_deb_contents(deb):
    listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, check=True).stdout.decode()
    files = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
    modes = {line.split()[-1].lstrip("."): line.split()[0] for line in listing.splitlines()}
    for path in ("/usr/bin/safehouse", "/lib/systemd/system/safehouse.service",
                 "/usr/share/man/man1/safehouse.1.gz",
                 "/usr/share/bash-completion/completions/safehouse",
                 "/etc/safehouse/safehouse.conf"):
        assert path in files, (path, listing)
    assert modes["/usr/bin/safehouse"] == "-rwxr-xr-x"
    assert all(" root/root " in line for line in listing.splitlines()), listing
    info = subprocess.run(["dpkg-deb", "-I", deb], capture_output=True, check=True).stdout.decode()
    for part in ("postinst", "prerm", "postrm", "conffiles"):
        assert part in info, info
    conffiles = subprocess.run(["dpkg-deb", "-I", deb, "conffiles"], capture_output=True, check=True)
    assert conffiles.stdout == b"/etc/safehouse/safehouse.conf\n", conffiles


def test_deb_control_depends_on_every_linked_library(deb):
    f = control(deb)
    assert f["Package"] == "safehouse" and f["Version"] == version(), f
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True,
                          check=True).stdout.decode().strip()
    assert f["Architecture"] == arch, f
    assert f["Maintainer"] and f["Description"], f
    deps = {}
    for d in f["Depends"].split(","):
        m = re.match(r"^\s*([a-z0-9.+-]+)(?: \(>= ([^)]+)\))?\s*$", d)
        assert m, d
        deps[m.group(1)] = m.group(2)
    for pkg in ("libmicrohttpd12", "libjansson4", "libsodium23", "libsqlite3-0", "libpq5", "libc6"):
        assert pkg in deps, (pkg, f["Depends"])
    # each is installed here at a version that satisfies it
    for pkg, ver in deps.items():
        have = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True)
        assert have.returncode == 0, pkg
        if ver:
            ok = subprocess.run(["dpkg", "--compare-versions", have.stdout.decode(), "ge", ver])
            assert ok.returncode == 0, (pkg, have.stdout, ver)


@pytest.fixture(scope="module")
def scratch_root(deb, tmp_path_factory):
    """The package installed with dpkg into an empty root, maintainer scripts
    included (chrootless: the root has no shell of its own). The libraries
    it depends on are this machine's, hence --force-depends."""
    root = str(tmp_path_factory.mktemp("root"))
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates"):
        os.makedirs(os.path.join(root, d))
    open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
    p = subprocess.run(["dpkg", "--root=" + root, "--force-script-chrootless", "--force-depends",
                        "--force-not-root", "--log=/dev/null", "-i", deb], capture_output=True,
                       timeout=300)
    assert p.returncode == 0, p
    return root


def test_scratch_install_makes_the_key_and_the_installed_files_work(scratch_root, tmp_path):
    key = os.path.join(scratch_root, "etc/safehouse/master.key")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    with open(key) as f:
        assert HEXKEY.match(f.read())
    installed = os.path.join(scratch_root, "usr/bin/safehouse")
    assert subprocess.run([installed, "--version"], capture_output=True).stdout.decode() \
        == "safehouse %s\n" % version()
    # the page and the completion as installed
    with subprocess.Popen(["gzip", "-dc", os.path.join(scratch_root, "usr/share/man/man1/safehouse.1.gz")],
                          stdout=subprocess.PIPE) as z:
        page = z.stdout.read()
    assert page == run("help", "--man").stdout
    with open(os.path.join(scratch_root, "usr/share/bash-completion/completions/safehouse"), "rb") as f:
        assert f.read() == run("completion", "bash").stdout


def test_installed_config_and_credential_start_the_server(scratch_root, tmp_path):
    """The unit's command line, with the packaged config and the key passed
    the way LoadCredential= does; only the data dir and ports are the test's."""
    creds = tmp_path / "creds"
    creds.mkdir()
    shutil.copyfile(os.path.join(scratch_root, "etc/safehouse/master.key"), creds / "master.key")
    os.chmod(creds / "master.key", 0o400)
    data = tmp_path / "state"
    port, admin = free_port(), free_port()
    env = dict(os.environ, CREDENTIALS_DIRECTORY=str(creds))
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    store = ["--store", pg_cluster().url_for(str(data))] if STORE == "postgres" else []
    args = [BIN, "serve", "--config", os.path.join(scratch_root, "etc/safehouse/safehouse.conf"),
            "--data-dir", str(data), "--listen", "127.0.0.1:%d" % port,
            "--admin-listen", "127.0.0.1:%d" % admin] + store
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 20
        ok = False
        while time.monotonic() < deadline and proc.poll() is None and not ok:
            try:
                ok = requests.get("http://127.0.0.1:%d/readyz" % port, timeout=1).status_code == 200
            except requests.RequestException:
                time.sleep(0.05)
        assert ok, proc.poll()
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert not (data / "master.key").exists(), "the credential's key was not used"
    assert out.startswith(b"admin token: sh_ad_"), out


def unit_text(scratch_root):
    with open(os.path.join(scratch_root, "lib/systemd/system/safehouse.service")) as f:
        return f.read()


def test_unit_has_the_promised_settings(scratch_root):
    unit = unit_text(scratch_root)
    for line in ("Type=notify", "DynamicUser=yes", "StateDirectory=safehouse", "ProtectSystem=strict",
                 "PrivateTmp=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n",
                 "SystemCallFilter=@system-service", "WatchdogSec=",
                 "LoadCredential=master.key:/etc/safehouse/master.key", "StandardOutput=null",
                 "ExecStart=/usr/bin/safehouse serve --config /etc/safehouse/safehouse.conf"):
        assert line in unit, line


def systemd_analyze():
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    return path


def test_unit_verifies(scratch_root, tmp_path):
    tool = systemd_analyze()
    # verify checks that ExecStart's binary exists: point it at the scratch copy
    unit = unit_text(scratch_root).replace("ExecStart=/usr/bin/safehouse",
                                           "ExecStart=%s/usr/bin/safehouse" % scratch_root)
    path = write(tmp_path / "safehouse.service", unit, 0o644)
    p = subprocess.run([tool, "verify", "--man=no", path], capture_output=True, timeout=120)
    assert p.returncode == 0 and p.stdout == b"" and p.stderr == b"", p
    # the check can fail: a unit with a mistake does not pass it quietly
    bad = write(tmp_path / "bad.service", unit.replace("Type=notify", "Type=notifyy"), 0o644)
    p = subprocess.run([tool, "verify", "--man=no", bad], capture_output=True, timeout=120)
    assert p.stderr != b""


def test_unit_exposure_is_at_most_2(scratch_root):
    tool = systemd_analyze()
    p = subprocess.run([tool, "security", "--offline=true",
                        os.path.join(scratch_root, "lib/systemd/system/safehouse.service")],
                       capture_output=True, timeout=120)
    text = p.stdout.decode() + p.stderr.decode()
    m = re.search(r"Overall exposure level for safehouse\.service: (\d+\.\d+)", text)
    assert m, text[-2000:]
    assert float(m.group(1)) <= 2.0, text


def test_real_install_with_systemd(deb, tmp_path):
    if not os.path.isdir("/run/systemd/system"):
        pytest.skip("systemd is not PID 1 here (no /run/systemd/system): a real install "
                    "could not start the unit; the scratch-root install above ran instead")
    if os.geteuid() != 0:
        pytest.skip("a real install needs root")
    if os.environ.get("SAFEHOUSE_TEST_SYSTEM_INSTALL") != "1":
        pytest.skip("set SAFEHOUSE_TEST_SYSTEM_INSTALL=1 to install the package on this machine")
    release = os.path.join(REPO, "build", "safehouse")
    if not os.path.exists(release):
        pytest.skip("no release build (make): the unit's seccomp filter is for it, not ASan")
    pkg = str(tmp_path / "release.deb")
    subprocess.run(["bash", os.path.join(REPO, "scripts", "build-deb.sh"), release, version(), pkg],
                   check=True, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-q", pkg], check=True, capture_output=True,
                   timeout=600)
    try:
        subprocess.run(["systemctl", "start", "safehouse.service"], check=True, timeout=120)
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and status != 200:
            try:
                status = requests.get("http://127.0.0.1:8080/healthz", timeout=1).status_code
            except requests.RequestException:
                time.sleep(0.2)
        assert status == 200
        state = subprocess.run(["systemctl", "show", "-p", "ActiveState,StatusText",
                                "safehouse.service"], capture_output=True).stdout.decode()
        assert "ActiveState=active" in state and "StatusText=serving" in state, state
    finally:
        subprocess.run(["systemctl", "stop", "safehouse.service"], timeout=120)
        subprocess.run(["dpkg", "--purge", "safehouse"], timeout=300)
