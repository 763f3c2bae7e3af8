"""The contract check itself (tests/api/contract.py): it must refuse what
docs/openapi.yaml does not describe, or a green suite would prove nothing.
Real answers of the binary are taken and then altered one way at a time."""

import json

import pytest
import requests
import yaml

import contract
from conftest import expect_json
from devkit import claim, heartbeat, provision, share


def check(resp, listener="public", body=None, status=None, ctype=None, method=None, url=None,
          headers=None):
    contract.contract().check(listener, method or resp.request.method, url or resp.request.url,
                              resp.status_code if status is None else status,
                              resp.headers.get("Content-Type") if ctype is None else ctype,
                              resp.content if body is None else body,
                              resp.headers if headers is None else headers)


def refused(match, *args, **kw):
    with pytest.raises(contract.ContractError, match=match) as e:
        check(*args, **kw)
    return str(e.value)


def test_real_answers_pass_and_altered_ones_fail(server):
    r = server.get("/healthz")
    check(r)
    msg = refused(r"body/status", r, body=b'{"status": "down"}')
    assert "GET /healthz (healthz) -> 200" in msg, msg
    refused("status 418 is not documented", r, status=418)
    refused("content type 'text/plain' not documented", r, ctype="text/plain")
    refused("not JSON", r, body=b"{")
    refused("a body without Content-Type", r, ctype="")
    h = requests.structures.CaseInsensitiveDict(r.headers)
    del h["X-Request-Id"]
    refused("X-Request-Id '' is not 16 lower-case hex", r, headers=h)
    h = requests.structures.CaseInsensitiveDict(r.headers, **{"Cache-Control": "max-age=60"})
    refused("Cache-Control is 'max-age=60', not 'no-store'", r, headers=h)


def test_documented_headers_are_checked(server):
    """A documented header, where sent, must match its schema: a problem body
    of a 429 with Retry-After (components/headers/Retry-After, integer >= 1)."""
    r = server.post("/v1/accounts", json={})
    assert r.status_code == 400
    h = requests.structures.CaseInsensitiveDict(r.headers, **{"Retry-After": "3"})
    check(r, status=429, headers=h)
    h["Retry-After"] = "soon"
    refused("header Retry-After 'soon' is not an integer", r, status=429, headers=h)
    h["Retry-After"] = "0"
    refused("header Retry-After: 0 is less than the minimum of 1", r, status=429, headers=h)


def test_a_nested_mismatch_names_its_json_pointer(server):
    u = server.new_user()
    tok = u.sessions[0]["access_token"]
    r = server.get("/v1/sessions", token=tok)
    body = expect_json(r, 200)
    check(r)
    body["sessions"][0]["client"] = "toaster"
    msg = refused(r"body/sessions/0/client", r, body=json.dumps(body).encode())
    assert "GET /v1/sessions (listSessions) -> 200 application/json" in msg, msg


def test_device_view_tells_owner_from_sharee(server):
    owner, guest = server.new_user(), server.new_user()
    otok, gtok = owner.sessions[0]["access_token"], guest.sessions[0]["access_token"]
    dev = provision(server)
    claim(server, otok, dev["claim_code"])
    heartbeat(server, dev["device_token"], wifi_ssid="canary-net")
    share(server, otok, dev["device_id"], guest.email, "viewer")
    mine = server.get("/v1/devices/" + dev["device_id"], token=otok)
    theirs = server.get("/v1/devices/" + dev["device_id"], token=gtok)
    check(mine)
    check(theirs)
    no_net = dict(mine.json())
    del no_net["network"]
    refused(r"network", mine, body=json.dumps(no_net).encode())
    leaked = dict(theirs.json(), network=mine.json()["network"])
    refused(r"GET /v1/devices/\{id\}", theirs, body=json.dumps(leaked).encode())


def test_routes_listeners_and_methods(server):
    # an admin route asked on the public listener is an unknown route: 404 only
    r = server.get("/admin/v1/revocations", token=server.admin_token)
    assert r.status_code == 404
    check(r)
    refused("unknown route .public listener.: status 200 is not documented", r, status=200)
    # a public route on the admin listener likewise
    r = server.req("GET", "/v1/me", admin=True)
    assert r.status_code == 404
    check(r, listener="admin")
    # a documented path with an undocumented method must be the generic 405
    r = server.req("PUT", "/v1/me", json={})
    assert r.status_code == 405
    check(r)
    refused(r"PUT /v1/me \(generic MethodNotAllowed\): status 400 is not documented",
            r, status=400)


def healthz_is_down(tmp_path, monkeypatch):
    """Makes the check use a document that says /healthz answers "down"."""
    with open(contract.SPEC_PATH, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    spec["components"]["schemas"]["Health"]["properties"]["status"]["const"] = "down"
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(spec))
    monkeypatch.setattr(contract, "_CONTRACT", contract.Contract(str(path)))
    monkeypatch.setattr(contract, "DEFER", False)


def test_the_hook_fails_the_request_that_breaks_the_contract(server, tmp_path, monkeypatch):
    """Every response goes through the check: the suite's own request raises."""
    healthz_is_down(tmp_path, monkeypatch)
    with pytest.raises(contract.ContractError, match=r"GET /healthz .*body/status"):
        server.get("/healthz")
    assert contract.take_violations(), "the mismatch was not recorded for the test's end"


@pytest.mark.xfail(strict=True, raises=contract.ContractError,
                   reason="must fail: a swallowed mismatch still fails the test at its end")
def test_a_swallowed_mismatch_still_fails_the_test(server, tmp_path, monkeypatch):
    healthz_is_down(tmp_path, monkeypatch)
    try:
        server.get("/healthz")
    except contract.ContractError:
        pass
