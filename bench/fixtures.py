"""Bench fixtures on a running server, through its public and admin APIs.

Usage: /usr/bin/python3 bench/fixtures.py PORT APORT ADMIN_TOKEN OUT_DIR [options]
(bench/lib.sh's `fixtures` runs it). Options, each fixture only when asked:
  --bench-user         the account bench@example.com (GET /v1/me, logins, claims)
  --refresh N          N logins of the bench user as an app: OUT_DIR/refresh_tokens,
                       one refresh token per line (bench/refresh.lua)
  --heartbeat-devices N  N provisioned devices: OUT_DIR/hb.lua, a wrk script that
                       sends their heartbeats in turn
  --claim-codes N      N provisioned, unclaimed devices: OUT_DIR/claim_codes
                       (bench/claim.lua)
  --partner            a linked partner as a user links one: an OAuth client, the
                       account bench-oauth@example.com with 5 claimed devices, the
                       login and consent pages (3 of the devices granted), the code
                       exchange with PKCE; checks that introspection says active
Prints, for the shell, AT=... (the bench user's access token), PAT=... (the
partner account's own access token: a user with 5 devices), BASIC=... (the
client's client_secret_basic credentials) and OA=... (the partner's access token).
"""
import argparse
import base64
import hashlib
import os
import re
import sys
import urllib.parse

import requests

PASSWORD = "correct horse battery staple"

p = argparse.ArgumentParser()
p.add_argument("port")
p.add_argument("aport")
p.add_argument("admin")
p.add_argument("out")
p.add_argument("--bench-user", action="store_true")
p.add_argument("--refresh", type=int, default=0)
p.add_argument("--heartbeat-devices", type=int, default=0)
p.add_argument("--claim-codes", type=int, default=0)
p.add_argument("--partner", action="store_true")
a = p.parse_args()

base, abase = "http://127.0.0.1:%s" % a.port, "http://127.0.0.1:%s" % a.aport
api, adm = requests.Session(), requests.Session()
adm.headers["Authorization"] = "Bearer " + a.admin


def ok(r):
    if r.status_code >= 300:
        sys.exit("bench: %s %s -> %d %s" % (r.request.method, r.url, r.status_code, r.text[:200]))
    return r.json()


def login(email, client):
    return ok(api.post(base + "/v1/sessions", json={"email": email, "password": PASSWORD, "client": client}))


def provision(n, model):
    devs = []
    while len(devs) < n:
        k = min(1000, n - len(devs))
        devs += ok(adm.post(abase + "/admin/v1/devices",
                            json={"type": "plug", "model": model, "count": k}))["devices"]
    return devs


if a.bench_user:
    email = "bench@example.com"
    ok(api.post(base + "/v1/accounts", json={"email": email, "password": PASSWORD, "display_name": "Bench"}))
    print("AT=%s" % login(email, "cli")["access_token"])
    if a.refresh:
        with open(os.path.join(a.out, "refresh_tokens"), "w") as f:
            for _ in range(a.refresh):
                f.write(login(email, "android")["refresh_token"] + "\n")
if a.heartbeat_devices:
    hb = provision(a.heartbeat_devices, "BENCH-HB")
    with open(os.path.join(a.out, "hb.lua"), "w") as f:
        f.write("tokens={" + ",".join('"%s"' % d["device_token"] for d in hb) + "}\n" + r'''
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/v1/device/heartbeat",
    {["Content-Type"]="application/json", ["Authorization"]="Bearer " .. tokens[(i % #tokens) + 1]},
    '{"firmware_version":"2.0.1","wifi_ssid":"bench","subnet":"10.0.0.0/24","local_ip":"10.0.0.7"}')
end
''')
if a.claim_codes:
    with open(os.path.join(a.out, "claim_codes"), "w") as f:
        for d in provision(a.claim_codes, "BENCH-CLAIM"):
            f.write(d["claim_code"] + "\n")
if a.partner:
    client = ok(adm.post(abase + "/admin/v1/oauth/clients",
                         json={"name": "Bench partner", "redirect_uris": ["https://partner.example/cb"],
                               "scopes": "devices:read devices:control"}))
    pemail = "bench-oauth@example.com"
    ok(api.post(base + "/v1/accounts", json={"email": pemail, "password": PASSWORD}))
    pat = login(pemail, "cli")["access_token"]
    ids = []
    for i, d in enumerate(provision(5, "P-1")):
        ids.append(ok(api.post(base + "/v1/devices/claim", json={"claim_code": d["claim_code"], "name": "plug %d" % i},
                               headers={"Authorization": "Bearer " + pat}))["id"])
    v = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    ch = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
    s = requests.Session()
    q = urllib.parse.urlencode({"response_type": "code", "client_id": client["client_id"],
                                "redirect_uri": "https://partner.example/cb", "state": "b",
                                "code_challenge": ch, "code_challenge_method": "S256"})
    fields = lambda html: re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    page = s.get(base + "/oauth/authorize?" + q)
    data = dict(fields(page.text)); data.update(email=pemail, password=PASSWORD)
    r = s.post(base + "/oauth/authorize/login", data=data, allow_redirects=False)
    page = s.get(base + r.headers["Location"])
    data = fields(page.text) + [("device", i) for i in ids[:3]] + [("decision", "allow")]
    r = s.post(base + "/oauth/authorize", data=data, allow_redirects=False)
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(r.headers["Location"]).query))["code"]
    basic = base64.b64encode(("%s:%s" % (client["client_id"], client["client_secret"])).encode()).decode()
    tok = ok(requests.post(base + "/oauth/token", headers={"Authorization": "Basic " + basic},
                           data={"grant_type": "authorization_code", "code": code,
                                 "redirect_uri": "https://partner.example/cb", "code_verifier": v}))
    r = requests.post(base + "/oauth/introspect", headers={"Authorization": "Basic " + basic},
                      data={"token": tok["access_token"]})
    assert ok(r).get("active") is True, r.text
    print("PAT=%s" % pat)
    print("BASIC=%s" % basic)
    print("OA=%s" % tok["access_token"])
