"""Native TLS: `serve --tls-cert FILE --tls-key FILE` serves HTTPS on both
listeners with TLS 1.2/1.3 and AEAD ciphers only, sends HSTS on every answer,
reloads the certificate on SIGHUP without dropping open connections, keeps the
old one when the new files are bad, and refuses to start (creating nothing)
on files it cannot use. Clients are the real tools: curl, openssl s_client
and Python's ssl module; certificates are throw-away ones made with openssl."""

import http.client
import os
import re
import signal
import ssl
import subprocess

import pytest
import requests

from conftest import RULE_DELAY, expect_json, free_port, wait_until
from test_47_cli import failed_start

TOOL_TIMEOUT = 20
HSTS = re.compile(r"^max-age=(\d+)$")


def make_cert(dirpath, cn, kind="rsa"):
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files;
    returns (cert path, key path)."""
    cert = os.path.join(str(dirpath), cn + ".crt")
    key = os.path.join(str(dirpath), cn + ".key")
    newkey = ["-newkey", "rsa:2048"] if kind == "rsa" else \
        ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    p = subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=" + cn,
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True, timeout=TOOL_TIMEOUT)
    assert p.returncode == 0, p.stderr
    return cert, key


def fingerprint(cert):
    """SHA-256 of the certificate, lower-case hex without colons."""
    p = subprocess.run(["openssl", "x509", "-in", cert, "-noout", "-fingerprint", "-sha256"],
                       capture_output=True, timeout=TOOL_TIMEOUT, check=True)
    return p.stdout.decode().split("=", 1)[1].strip().replace(":", "").lower()


def key_lines(key):
    """The base64 lines of a PEM key: what must never reach a log."""
    with open(key) as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("-----")]


def s_client(port, *args):
    """openssl s_client on the port; returns its combined output."""
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, *args],
                       input=b"", capture_output=True, timeout=TOOL_TIMEOUT)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def served_fingerprint(port):
    """The SHA-256 fingerprint of the certificate a new handshake gets."""
    der = ssl.get_server_certificate(("127.0.0.1", port))
    p = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"],
                       input=der.encode(), capture_output=True, timeout=TOOL_TIMEOUT, check=True)
    return p.stdout.decode().split("=", 1)[1].strip().replace(":", "").lower()


def tls_args(cert, key):
    return ["--tls-cert", cert, "--tls-key", key]


@pytest.fixture
def rsa_pair(tmp_path):
    return make_cert(tmp_path, "first.test")


@pytest.fixture
def tls_server(server_factory, rsa_pair):
    return server_factory(tls_args(*rsa_pair), name="tls")


def events(srv, name):
    return [e for e in srv.log_events() if e.get("event") == name]


def sighup_and_wait(srv, event):
    """SIGHUP, then the log event that says how the reload went."""
    before = len(events(srv, event))
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: len(events(srv, event)) > before, timeout=RULE_DELAY * 4), \
        srv.log_text()[-2000:]
    return events(srv, event)[-1]


def assert_not_logged(srv, lines):
    logs = srv.log_bytes() + srv.stdout_text().encode()
    for line in lines:
        assert line.encode() not in logs, "key material in the log"


def assert_key_never_logged(srv, key):
    assert_not_logged(srv, key_lines(key))


# ---- HTTPS and HSTS ----------------------------------------------------------------


def test_curl_gets_https_with_hsts_on_both_listeners(tls_server, rsa_pair):
    cert, key = rsa_pair
    for port in (tls_server.port, tls_server.admin_port):
        p = subprocess.run(["curl", "-sS", "-i", "--cacert", cert,
                            "https://127.0.0.1:%d/healthz" % port],
                           capture_output=True, timeout=TOOL_TIMEOUT)
        assert p.returncode == 0, p.stderr
        head, _, body = p.stdout.decode().partition("\r\n\r\n")
        assert head.startswith("HTTP/1.1 200"), head
        hsts = [ln.split(":", 1)[1].strip() for ln in head.split("\r\n")
                if ln.lower().startswith("strict-transport-security:")]
        assert len(hsts) == 1 and HSTS.match(hsts[0]), head
        assert int(HSTS.match(hsts[0]).group(1)) >= 31536000, hsts
        assert '"ok"' in body, body
    assert_key_never_logged(tls_server, key)


def test_api_works_over_https_and_every_answer_has_hsts(tls_server):
    user = tls_server.create_account()
    tokens = user.login()
    r = tls_server.get("/v1/me", token=tokens["access_token"])
    assert expect_json(r, 200)["id"] == user.id
    for r in (r, tls_server.get("/no/such/route"), tls_server.get("/v1/me"),
              tls_server.admin_req("GET", "/readyz")):
        assert HSTS.match(r.headers.get("Strict-Transport-Security", "")), \
            (r.status_code, dict(r.headers))


def test_oauth_issuer_defaults_to_https_with_tls(tls_server):
    r = tls_server.get("/.well-known/oauth-authorization-server")
    assert expect_json(r, 200)["issuer"] == "https://127.0.0.1:%d" % tls_server.port


def test_no_hsts_without_tls(server):
    assert server.base.startswith("http://")
    for r in (server.get("/healthz"), server.get("/no/such/route"),
              server.admin_req("GET", "/readyz")):
        assert r.status_code in (200, 404), r.status_code
        assert "Strict-Transport-Security" not in r.headers, dict(r.headers)


def test_plain_http_to_the_tls_port_gets_no_answer(tls_server):
    for port in (tls_server.port, tls_server.admin_port):
        with pytest.raises(requests.ConnectionError):
            requests.get("http://127.0.0.1:%d/healthz" % port, timeout=10)
    # and the listener is none the worse for it
    assert tls_server.get("/healthz").status_code == 200


# ---- versions and ciphers ----------------------------------------------------------


def assert_refused(port, *args):
    """s_client with args sent a ClientHello (it could offer what it was told
    to) and got no ServerHello: the server refused, not the client."""
    rc, out = s_client(port, *args, "-msg")
    assert "no cipher match" not in out and "no protocols available" not in out, \
        "this OpenSSL cannot offer %s: %s" % (args, out)
    assert re.search(r"^>>> .*ClientHello", out, re.MULTILINE), out
    assert not re.search(r"^<<< .*ServerHello", out, re.MULTILINE), out
    assert rc != 0 and "Cipher is (NONE)" in out, out


def assert_accepted(port, protocol, cipher, *args):
    rc, out = s_client(port, *args)
    assert rc == 0 and "New, %s, Cipher is %s" % (protocol, cipher) in out, out
    return out


# SECLEVEL=0 lets this OpenSSL offer old versions and weak choices at all
@pytest.mark.parametrize("args", [
    ["-tls1"], ["-tls1_1"],
    ["-tls1_2", "-cipher", "AES128-SHA"],                 # RSA key exchange, CBC, SHA-1
    ["-tls1_2", "-cipher", "AES256-GCM-SHA384"],          # RSA key exchange, even with GCM
    ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"],       # CBC with SHA-1
    ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-SHA384"],    # CBC with SHA-384
    ["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256"],  # finite-field DHE
    ["-tls1_2", "-sigalgs", "RSA+SHA1"],                  # SHA-1 signature
    ["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256"],
    ["-tls1_3", "-groups", "ffdhe2048"],
    ["-tls1_3", "-groups", "X448"],
], ids=lambda a: "_".join(x.strip("-") for x in a))
def test_old_versions_and_weak_choices_refused(tls_server, args):
    if "-cipher" in args:
        i = args.index("-cipher")
        args = args[:i + 1] + [args[i + 1] + ":@SECLEVEL=0"] + args[i + 2:]
    else:
        args = args + ["-cipher", "DEFAULT:@SECLEVEL=0"]
    assert_refused(tls_server.port, *args)


@pytest.mark.parametrize("version,name", [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
def test_tls_1_2_and_1_3_accepted(tls_server, rsa_pair, version, name):
    out = assert_accepted(tls_server.port, name, "", version, "-CAfile", rsa_pair[0],
                          "-verify_return_error")
    assert "Verify return code: 0 (ok)" in out, out


@pytest.mark.parametrize("protocol,flag,cipher", [
    ("TLSv1.2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"),
    ("TLSv1.2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"),
    ("TLSv1.2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"),
    ("TLSv1.3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"),
    ("TLSv1.3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"),
    ("TLSv1.3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"),
], ids=lambda v: v.strip("-"))
def test_modern_ciphers_accepted(tls_server, protocol, flag, cipher):
    assert_accepted(tls_server.port, protocol, cipher,
                    "-tls1_2" if protocol == "TLSv1.2" else "-tls1_3", flag, cipher)


# ---- SIGHUP: reload --------------------------------------------------------------


def keepalive_get(conn, path="/healthz"):
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    assert r.status == 200, (r.status, body)
    assert (r.getheader("Connection") or "").lower() != "close", r.getheaders()
    return r


def test_sighup_new_cert_for_new_handshakes_open_connection_lives_on(
        server_factory, tmp_path, rsa_pair):
    cert, key = rsa_pair
    srv = server_factory(tls_args(cert, key), name="reload")
    first = fingerprint(cert)
    assert served_fingerprint(srv.port) == first
    # a keep-alive connection opened before the reload
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=10,
                                       context=ssl.create_default_context(cafile=cert))
    keepalive_get(conn)
    sock = conn.sock
    # the new pair replaces the files under the same names (an ECDSA key this time)
    new_cert, new_key = make_cert(tmp_path, "second.test", kind="ec")
    second = fingerprint(new_cert)
    os.replace(new_cert, cert)
    os.replace(new_key, key)
    ev = sighup_and_wait(srv, "tls_reloaded")
    assert ev.get("sha256") == second, ev
    # new handshakes: the new certificate, on both listeners
    assert served_fingerprint(srv.port) == second
    assert served_fingerprint(srv.admin_port) == second
    rc, out = s_client(srv.port, "-CAfile", cert, "-verify_return_error")
    assert rc == 0 and "CN = second.test" in out, out
    # the old connection: same socket, same certificate, still answering
    for _ in range(3):
        keepalive_get(conn)
    assert conn.sock is sock
    old_der = sock.getpeercert(binary_form=True)
    assert old_der != ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", srv.port)))
    conn.close()
    assert srv.get("/healthz").status_code == 200
    assert srv.running()
    assert_key_never_logged(srv, key)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def break_cert(cert, key, other):
    write(cert, b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")


def break_key(cert, key, other):
    write(key, b"garbage\n")


def mismatched_key(cert, key, other):
    # a valid key, but not the certificate's
    os.replace(other[1], key)


def missing_key(cert, key, other):
    os.unlink(key)


@pytest.mark.parametrize("breaker,event", [
    (break_cert, "tls_cert_invalid"),
    (break_key, "tls_key_invalid"),
    (mismatched_key, "tls_key_does_not_match_cert"),
    (missing_key, "tls_key_unreadable"),
], ids=["garbage_cert", "garbage_key", "mismatched_key", "missing_key"])
def test_sighup_with_bad_files_keeps_the_old_cert(server_factory, tmp_path, rsa_pair, breaker,
                                                  event):
    cert, key = rsa_pair
    srv = server_factory(tls_args(cert, key), name="badreload")
    first = fingerprint(cert)
    secret = key_lines(key)
    with open(cert, "rb") as f:
        original_cert = f.read()
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, timeout=10,
                                       context=ssl.create_default_context(cafile=cert))
    keepalive_get(conn)
    other = make_cert(tmp_path, "other.test")
    secret += key_lines(other[1])
    breaker(cert, key, other)
    sighup_and_wait(srv, "tls_reload_failed")
    assert events(srv, event), srv.log_text()[-2000:]
    assert not events(srv, "tls_reloaded")
    assert served_fingerprint(srv.port) == first
    keepalive_get(conn)
    conn.close()
    write(cert, original_cert)  # the CA of the harness's own client
    r = srv.get("/healthz")
    assert r.status_code == 200 and HSTS.match(r.headers["Strict-Transport-Security"])
    assert_not_logged(srv, secret)


def test_sighup_without_tls_is_ignored(server_factory):
    srv = server_factory(name="plainhup")
    sighup_and_wait(srv, "sighup_ignored")
    assert srv.running()
    assert srv.get("/healthz").status_code == 200


# ---- bad configurations: no start, nothing created ------------------------------------


@pytest.mark.parametrize("flag", ["--tls-cert", "--tls-key"])
def test_one_tls_flag_alone_is_a_usage_error(server_factory, rsa_pair, flag):
    srv = server_factory(name="half", start=False)
    value = rsa_pair[0] if flag == "--tls-cert" else rsa_pair[1]
    p = srv.cli("serve", "--listen", "127.0.0.1:%d" % free_port(),
                "--admin-listen", "127.0.0.1:%d" % free_port(), flag, value)
    assert p.returncode == 2, p
    assert b"--tls-cert and --tls-key go together" in p.stderr, p
    assert p.stdout == b"", p
    assert not os.path.exists(srv.data_dir), os.listdir(srv.data_dir)


def garbage_cert(d, cert, key):
    write(cert, b"hello\n")


def garbage_key(d, cert, key):
    write(key, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def empty_cert(d, cert, key):
    write(cert, b"")


def cert_missing(d, cert, key):
    os.unlink(cert)


def key_is_a_directory(d, cert, key):
    # root reads any file whatever its mode: a directory is what cannot be read here
    os.unlink(key)
    os.mkdir(key)


def key_of_another_cert(d, cert, key):
    os.replace(make_cert(d, "another.test")[1], key)


def key_encrypted(d, cert, key):
    p = subprocess.run(["openssl", "pkey", "-in", key, "-aes256", "-passout", "pass:secret",
                        "-out", key + ".enc"], capture_output=True, timeout=TOOL_TIMEOUT)
    assert p.returncode == 0, p.stderr
    os.replace(key + ".enc", key)


@pytest.mark.parametrize("breaker,event", [
    (garbage_cert, b"tls_cert_invalid"),
    (garbage_key, b"tls_key_invalid"),
    (empty_cert, b"tls_cert_size_invalid"),
    (cert_missing, b"tls_cert_unreadable"),
    (key_is_a_directory, b"tls_key_size_invalid"),
    (key_of_another_cert, b"tls_key_does_not_match_cert"),
    (key_encrypted, b"tls_key_invalid"),
], ids=lambda v: v.__name__ if callable(v) else None)
def test_unusable_tls_files_fail_the_start_and_create_nothing(server_factory, tmp_path, breaker,
                                                              event):
    d = tmp_path / "certs"
    d.mkdir()
    cert, key = make_cert(d, "start.test")
    breaker(d, cert, key)
    p = failed_start(server_factory, tmp_path, *tls_args(cert, key))
    assert event in p.stderr, p.stderr
    if os.path.isfile(key):
        for line in key_lines(key):
            assert line.encode() not in p.stderr + p.stdout
