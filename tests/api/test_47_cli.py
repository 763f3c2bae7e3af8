"""The command line: --help on every command, flags documented where the docs
say, global flags before or after the subcommand, and a start that fails
leaves nothing behind."""

import json
import os
import re
import secrets
import socket

import pytest

from conftest import BIN, REPO, STORE, free_port

FLAG = re.compile(r"--[a-z][a-z0-9-]*")

# every command and subcommand, as typed after `safehouse`
COMMANDS = [
    ("serve",),
    ("admin", "revoke"),
    ("admin", "token-reset"),
    ("admin", "device", "provision"),
    ("admin", "relay", "create"),
    ("admin", "scrape-token", "create"),
    ("admin", "oauth-client", "add"),
    ("admin", "oauth-client", "list"),
    ("admin", "oauth-client", "rotate-secret"),
    ("admin", "oauth-client", "disable"),
    ("admin", "migrate-store"),
    ("seed",),
    ("routes",),
]
# commands whose help lists their subcommands rather than flags
GROUPS = [(), ("admin",), ("admin", "oauth-client"), ("bench-internal",)]

SERVE_FLAGS = {
    "--key-file", "--config",
    "--data-dir", "--store", "--listen", "--admin-listen", "--threads", "--access-ttl",
    "--argon2-ops", "--argon2-mem-kib", "--hash-queue", "--no-access-log", "--debug",
    "--smtp-url", "--mail-from", "--mail-spool", "--reauth-window", "--no-address-limits",
    "--issuer", "--oauth-access-ttl", "--oauth-code-ttl", "--security-contact", "--tls-cert",
    "--tls-key",
}


def help_flags(server, cmd):
    p = server.cli(*cmd, "--help", data_dir=False)
    assert p.returncode == 0, p
    text = p.stdout.decode()
    assert text.startswith("usage: safehouse " + " ".join(cmd)), text
    section = text.split("\nflags:\n", 1)[1]
    return {m.group(0) for line in section.splitlines() for m in [FLAG.match(line.strip())] if m}


def doc(name):
    with open(os.path.join(REPO, name)) as f:
        return f.read()


def section(text, heading):
    start = text.index(heading)
    rest = text[start + len(heading):]
    nxt = re.search(r"^#{1,3} ", rest, re.MULTILINE)
    return rest[:nxt.start()] if nxt else rest


# ---- --help -------------------------------------------------------------------------


@pytest.mark.parametrize("cmd", COMMANDS + GROUPS, ids=lambda c: " ".join(c) or "top")
@pytest.mark.parametrize("spelling", ["--help", "-h"])
def test_help_exits_0_on_stdout(server, cmd, spelling):
    p = server.cli(*cmd, spelling, data_dir=False)
    assert p.returncode == 0, p
    assert p.stdout.startswith(b"usage: safehouse"), p.stdout[:200]
    assert p.stderr == b"", p.stderr


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c))
def test_help_lists_help_and_is_not_a_start(server, cmd, tmp_path):
    flags = help_flags(server, cmd)
    assert "--help" in flags
    # --help with other flags neither creates nor opens anything
    d = str(tmp_path / "d")
    p = server.cli(*cmd, "--help", "--data-dir", d, data_dir=False) if "--data-dir" in flags \
        else server.cli(*cmd, "--help", data_dir=False)
    assert p.returncode == 0 and not os.path.exists(d), p


def test_serve_help_lists_every_serve_flag(server):
    assert help_flags(server, ("serve",)) == SERVE_FLAGS | {"--help"}


def test_top_level_help_names_every_command(server):
    for spelling in ("--help", "-h", "help"):
        out = server.cli(spelling, data_dir=False).stdout.decode()
        for word in ("serve", "admin", "seed", "routes", "revoke", "oauth-client", "migrate-store"):
            assert word in out, (spelling, out)


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c))
def test_unknown_flag_is_exit_2_with_usage(server, cmd):
    p = server.cli(*cmd, "--no-such-flag", data_dir=False)
    assert p.returncode == 2, p
    assert b"usage: safehouse" in p.stderr and p.stdout == b"", p


# ---- the docs say what --help says ------------------------------------------------------


def test_operations_serve_table_matches_serve_help(server):
    table = section(doc("docs/operations.md"), "### `safehouse serve` flags")
    documented = {f for line in table.splitlines() if line.startswith("| `--")
                  for f in FLAG.findall(line.split("|")[1])}
    helped = help_flags(server, ("serve",))
    assert documented == helped, documented ^ helped
    assert documented - {"--help"} == SERVE_FLAGS, documented ^ SERVE_FLAGS


def test_readme_configuration_table_has_only_serve_flags(server):
    readme = doc("README.md")
    table = section(readme, "## Configuration")
    documented = {f for line in table.splitlines() if line.startswith("| ")
                  for f in FLAG.findall(line.split("|")[1])}
    assert documented and documented <= help_flags(server, ("serve",)), \
        documented - help_flags(server, ("serve",))
    # no table rows outside a table with a header
    lines = readme.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("| `--"):
            j = i
            while lines[j - 1].startswith("|"):
                j -= 1
            assert lines[j + 1].startswith("|---"), "orphan table row: %s" % line


def synopses():
    block = section(doc("docs/operations.md"), "### Other commands")
    out = {}
    for line in block.splitlines():
        if not line.startswith("safehouse "):
            continue
        words = []
        for w in line.split()[1:]:
            if w[0] in "-[(" or w[0].isupper():
                break
            words.append(w)
        out[tuple(words)] = set(FLAG.findall(line))
    return out


@pytest.mark.parametrize("cmd", [c for c in COMMANDS if c != ("serve",)],
                         ids=lambda c: " ".join(c))
def test_operations_synopsis_matches_help(server, cmd):
    documented = synopses()
    assert cmd in documented, "docs/operations.md has no synopsis for: safehouse %s" % " ".join(cmd)
    assert documented[cmd] == help_flags(server, cmd) - {"--help"}


# ---- global flags before or after the subcommand ----------------------------------------


def rule_user(p):
    assert p.returncode == 0, p
    return json.loads(p.stdout)["value"]


def test_data_dir_before_the_subcommand(server):
    store = server.store_args()
    user = secrets.token_hex(16)
    after = server.cli("admin", "revoke", "--user", user)
    before = server.cli("admin", "--data-dir", server.data_dir, *store, "revoke", "--user", user,
                        data_dir=False)
    first = server.cli("--data-dir", server.data_dir, *store, "admin", "revoke", "--user", user,
                       data_dir=False)
    assert rule_user(after) == rule_user(before) == rule_user(first) == user


def test_global_flag_with_equals_before_a_two_word_subcommand(server):
    store = ["--store=" + server.store_url] if server.store_url else []
    p = server.cli("admin", "--data-dir=" + server.data_dir, *store, "device", "provision",
                   "--type", "plug", "--model", "P-1", data_dir=False)
    assert p.returncode == 0, p
    assert json.loads(p.stdout)["device_token"].startswith("sh_dt_")


def test_misplaced_global_flag_still_refused_where_unknown(server):
    p = server.cli("admin", "--data-dir", server.data_dir, "migrate-store", "--from", "sqlite:/x",
                   "--to", "sqlite:/y", data_dir=False)
    assert p.returncode == 2, p


# ---- a failed start leaves nothing -------------------------------------------------------


TOKENISH = re.compile(rb"sh_[a-z]{2}_|admin token")


def failed_start(server_factory, tmp_path, *args):
    srv = server_factory(name="fail", start=False)
    # the listener a test does not name gets a free port, so only the one it breaks fails
    defaults = []
    for flag in ("--listen", "--admin-listen"):
        if flag not in args:
            defaults += [flag, "127.0.0.1:%d" % free_port()]
    p = srv.cli("serve", *(defaults + list(args)))
    assert p.returncode == 1, p
    assert not TOKENISH.search(p.stdout + p.stderr), p
    assert p.stdout == b"", p
    assert b"startup_failed" in p.stderr, p
    assert not os.path.exists(srv.data_dir) or os.listdir(srv.data_dir) == [], \
        os.listdir(srv.data_dir)
    if STORE == "postgres":
        n = srv.db_query("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_schema = 'public'")[0][0]
        assert n == 0, "a failed start created %d tables" % n
    return p


@pytest.mark.parametrize("flag,value", [
    ("--listen", "localhost:8080"),
    ("--listen", "127.0.0.1"),
    ("--listen", "127.0.0.1:99999"),
    ("--admin-listen", "nonsense"),
])
def test_bad_listen_address_creates_nothing(server_factory, tmp_path, flag, value):
    p = failed_start(server_factory, tmp_path, flag, value)
    assert b"listen_address_invalid" in p.stderr, p


def test_address_in_use_creates_nothing(server_factory, tmp_path):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        p = failed_start(server_factory, tmp_path, "--listen", "127.0.0.1:%d" % port)
        assert b"listen_address_in_use" in p.stderr, p
    finally:
        s.close()


def test_same_address_twice_creates_nothing(server_factory, tmp_path):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    addr = "127.0.0.1:%d" % port
    p = failed_start(server_factory, tmp_path, "--listen", addr, "--admin-listen", addr)
    assert b"listen_addresses_equal" in p.stderr, p


def test_bin_is_the_one_under_test():
    assert os.path.exists(BIN), BIN
