"""The API reference as a checked contract.

Every response the black-box suite receives through python3-requests is
checked against docs/openapi.yaml (conftest.py hooks requests.Session.send,
which requests.get/post and every session go through):

- the route: the request path is matched to a path template of the document
  (literal segments before `{param}` ones) that is served on the listener the
  request went to (path-level `servers`, told apart by their `x-listener`);
- the operation: the method (HEAD is the GET operation without a body;
  OPTIONS on a known path is the generic `Options` answer);
- the status: the exact code, else `4XX`-style ranges, else `default`;
- the headers every answer carries (X-Request-Id, Cache-Control: no-store,
  X-Content-Type-Options: nosniff) and those the response documents;
- the content type of a non-empty body (parameters such as charset are not
  compared), and for JSON bodies (`application/json`, `*+json`) the body
  against the documented schema, `$ref`s resolved inside the document.

A path no template matches (or a template not served on that listener) must
be answered with `components/responses/UnknownRoute` (404), a known path with
another method with `MethodNotAllowed` (405): the document's conventions say
so once instead of repeating them under every operation.

One exemption (LIBRARY_ANSWERS): 431, which libmicrohttpd answers itself
with a body of its own; only its status is checked.

A mismatch raises ContractError (an AssertionError) naming the route, the
status and the JSON pointer of the mismatch. OpenAPI 3.1 schemas are JSON
Schema 2020-12 already; the only OpenAPI-only keyword the document could use
that changes validation, 3.0's `nullable`, is translated anyway.
"""

import json
import os
import re
import threading
import urllib.parse

import yaml
from jsonschema import Draft202012Validator, RefResolver
from jsonschema.exceptions import best_match

SPEC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                         "openapi.yaml")
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
GENERIC = {"unknown_route": ("UnknownRoute", 404), "unknown_method": ("MethodNotAllowed", 405),
           "options": ("Options", 204)}
# The exemption list: answers the HTTP library gives before safehouse sees the
# request, on any path, with a body of its own (status -> the component that
# documents it). Only the status is checked.
LIBRARY_ANSWERS = {431: "HeadersTooLarge"}
# "Conventions that hold for every operation" (info.description): besides
# X-Request-Id, these headers with at least this value on every answer
CONVENTION_HEADERS = (("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"))
REQUEST_ID = re.compile(r"^[0-9a-f]{16}$")


class ContractError(AssertionError):
    """A response that docs/openapi.yaml does not describe."""


def _base_media(media):
    return media.split(";")[0].strip().lower()


def _json_type(media):
    base = _base_media(media)
    return base == "application/json" or base.endswith("+json")


def _pointer(parts):
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts) \
        if parts else "(the whole body)"


def _nullable_to_type(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema's `type: [T, 'null']`."""
    if isinstance(node, dict):
        out = {k: _nullable_to_type(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") is True and "type" in out:
            t = out["type"]
            out["type"] = (list(t) if isinstance(t, list) else [t]) + ["null"]
        return out
    if isinstance(node, list):
        return [_nullable_to_type(v) for v in node]
    return node


class Contract:
    def __init__(self, path=SPEC_PATH):
        with open(path, encoding="utf-8") as f:
            self.spec = _nullable_to_type(yaml.safe_load(f))
        self.resolver = RefResolver(base_uri="", referrer=self.spec)
        self.validators = {}
        self.lock = threading.Lock()
        self.routes = []
        for tmpl, item in self.spec["paths"].items():
            segs = tmpl.strip("/").split("/")
            rx = "^/" + "/".join("[^/]+" if re.fullmatch(r"\{[^}]+\}", s) else re.escape(s)
                                 for s in segs) + "$"
            params = [i for i, s in enumerate(segs) if s.startswith("{")]
            servers = item.get("servers", self.spec.get("servers", []))
            listeners = {s.get("x-listener") for s in servers}
            assert None not in listeners, "a server of %s has no x-listener" % tmpl
            for op in item.values():
                if isinstance(op, dict) and "responses" in op:   # YAML may read 200 as a number
                    op["responses"] = {str(k): v for k, v in op["responses"].items()}
            # literal segments win over parameters (/v1/devices/claim over /v1/devices/{id})
            self.routes.append((len(params), re.compile(rx), tmpl, listeners))
        self.routes.sort(key=lambda r: r[0])

    # ---- look-ups ------------------------------------------------------------

    def deref(self, node):
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            assert ref.startswith("#/"), "only local $refs: %s" % ref
            node = self.spec
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def template_of(self, path, listener):
        """(template, served on this listener) for a concrete path, or (None, False)."""
        for _params, rx, tmpl, listeners in self.routes:
            if rx.match(path):
                return tmpl, listener in listeners
        return None, False

    def responses_for(self, method, path, listener):
        """(what, responses, head) for a request: what names the operation."""
        tmpl, served = self.template_of(path, listener)
        if tmpl is None or not served:
            return ("unknown route (%s listener)" % listener,) + self.generic("unknown_route")
        item = self.spec["paths"][tmpl]
        m = method.lower()
        head = False
        if m == "head" and "head" not in item and "get" in item:
            m, head = "get", True
        if m in item and m in HTTP_METHODS:
            op = item[m]
            return "%s %s (%s)" % (method, tmpl, op.get("operationId", "?")), op["responses"], head
        key = "options" if m == "options" else "unknown_method"
        return ("%s %s (generic %s)" % (method, tmpl, GENERIC[key][0]),) + self.generic(key)

    @staticmethod
    def generic(key):
        """(responses, head) of an answer every path gives (GENERIC)."""
        name, status = GENERIC[key]
        return {str(status): {"$ref": "#/components/responses/" + name}}, False

    def validator(self, schema):
        key = id(schema)
        with self.lock:
            v = self.validators.get(key)
            if v is None:
                v = Draft202012Validator(schema, resolver=self.resolver)
                self.validators[key] = (v, schema)   # keep schema alive: id() stays unique
            else:
                v = v[0]
        return v

    # ---- the check -------------------------------------------------------------

    def check_headers(self, where, resp, headers):
        """The conventions every answer keeps (the document's description),
        and the headers the response object documents, where sent."""
        rid = headers.get("X-Request-Id", "")
        if not REQUEST_ID.match(rid):
            raise ContractError("contract: %s: X-Request-Id %r is not 16 lower-case hex" % (where, rid))
        for name, want in CONVENTION_HEADERS:
            if want not in headers.get(name, ""):
                raise ContractError("contract: %s: %s is %r, not %r" % (where, name, headers.get(name), want))
        for name, h in (resp.get("headers") or {}).items():
            h = self.deref(h)
            value = headers.get(name)
            if value is None:
                if h.get("required"):
                    raise ContractError("contract: %s: required header %s missing" % (where, name))
                continue
            schema = self.deref(h.get("schema") or {})
            if schema.get("type") == "integer":
                try:
                    value = int(value)
                except ValueError:
                    raise ContractError("contract: %s: header %s %r is not an integer" % (where, name, value))
            err = best_match(self.validator(h.get("schema") or {}).iter_errors(value))
            if err is not None:
                raise ContractError("contract: %s: header %s: %s" % (where, name, err.message[:200]))

    def check(self, listener, method, url, status, content_type, body, headers=None):
        """Raises ContractError if the answer is not what the document says.
        body is the raw bytes (empty for none); content_type may be None;
        headers (a case-insensitive mapping), if given, are checked too."""
        path = urllib.parse.urlsplit(url).path or "/"
        if status in LIBRARY_ANSWERS:
            assert LIBRARY_ANSWERS[status] in self.spec["components"]["responses"], \
                "docs/openapi.yaml lost components/responses/" + LIBRARY_ANSWERS[status]
            return
        what, responses, head = self.responses_for(method, path, listener)
        where = "%s -> %d" % (what, status)
        resp = responses.get(str(status)) or responses.get("%dXX" % (status // 100)) \
            or responses.get("default")
        if resp is None:
            raise ContractError("contract: %s: status %d is not documented (documented: %s) [%s %s]"
                                % (what, status, ", ".join(sorted(responses)), method, url))
        resp = self.deref(resp)
        if headers is not None:
            self.check_headers("%s [%s %s]" % (where, method, url), resp, headers)
        content = resp.get("content") or {}
        if head or method.upper() == "HEAD":
            body = b""
        if not body:
            if content_type and content and not head and method.upper() != "HEAD" and \
                    _base_media(content_type) not in {_base_media(k) for k in content}:
                raise ContractError("contract: %s: content type %r not documented [%s %s]"
                                    % (where, content_type, method, url))
            return
        if not content_type:
            raise ContractError("contract: %s: a body without Content-Type [%s %s]"
                                % (where, method, url))
        media = None
        for k, v in content.items():
            if _base_media(k) == _base_media(content_type):
                media = v or {}
                break
        if media is None:
            raise ContractError("contract: %s: content type %r not documented (documented: %s) [%s %s]"
                                % (where, content_type, ", ".join(content) or "no body", method, url))
        if not _json_type(content_type):
            return
        if "schema" not in media:
            raise ContractError("contract: %s %s: no schema documented for a JSON body [%s %s]"
                                % (where, content_type, method, url))
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise ContractError("contract: %s: the body is not JSON (%s) [%s %s]"
                                % (where, e, method, url))
        err = best_match(self.validator(media["schema"]).iter_errors(doc))
        if err is not None:
            raise ContractError(
                "contract: %s %s: body%s: %s (schema keyword %s) [%s %s]\nbody: %s"
                % (where, _base_media(content_type), _pointer(list(err.absolute_path)),
                   err.message[:300], _pointer(list(err.absolute_schema_path)), method, url,
                   body[:600].decode("utf-8", "replace")))


_CONTRACT = None
_CONTRACT_LOCK = threading.Lock()


def contract():
    """The document, loaded once per run."""
    global _CONTRACT
    with _CONTRACT_LOCK:
        if _CONTRACT is None:
            _CONTRACT = Contract()
        return _CONTRACT


# ---- what the hook found during the running test -------------------------------

_violations = []
_violations_lock = threading.Lock()
# SAFEHOUSE_CONTRACT_DEFER=1 (a development aid): a mismatch does not raise at once;
# the test still fails at its end, listing every mismatch it met
DEFER = os.environ.get("SAFEHOUSE_CONTRACT_DEFER") == "1"
# port -> "public" / "admin", filled by conftest's Server.start: responses from any other
# port (nothing in the suite today) are not the binary's and are not checked
LISTENERS = {}


def check_response(resp):
    """Checks one requests.Response; records and raises a mismatch."""
    parts = urllib.parse.urlsplit(resp.request.url)
    if parts.hostname not in ("127.0.0.1", "localhost") or parts.port not in LISTENERS:
        return
    try:
        contract().check(LISTENERS[parts.port], resp.request.method, resp.request.url,
                         resp.status_code, resp.headers.get("Content-Type"), resp.content,
                         resp.headers)
    except ContractError as e:
        with _violations_lock:
            _violations.append(str(e))
        if not DEFER:
            raise


def take_violations():
    with _violations_lock:
        out = list(_violations)
        del _violations[:]
        return out

