"""A start that fails leaves nothing behind: no data dir, key or database,
and no credential on stdout or stderr."""

import os
import re
import socket

import pytest

from conftest import STORE, free_port


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
