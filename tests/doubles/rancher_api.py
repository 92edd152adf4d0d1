"""A Rancher API test double: the endpoints daskmetal uses, with the documented payloads.

It is a test double, not a Rancher: it keeps a little state in memory and answers the way
Rancher answers (paths, status codes, field names as in rancher/rancher; see the docstring of
collections/.../module_utils/rancher_api.py and the comments beside each route). One generation
per Rancher line the project pins or supports, chosen with ``RancherDouble(version=...)``:

* ``"2.11"``: no ``/v1-public`` (404) and no ext Token API (404): clients must use
  ``/v3-public/localProviders/local?action=login`` and ``/v3/tokens``.
* ``"2.12"`` (the default; roles/rancher_server/defaults/main.yml pins v2.12.3): no ``/v1-public``
  (404), so login falls back to v3-public; ext tokens exist and answer 201 with ``status.value``
  only (no ``status.bearerToken``), under a generated name ``token-xxxxx``.
* ``"2.13"``: ``POST /v1-public/login`` (201) and ext tokens with ``status.bearerToken``.

Upstream sources are rancher/rancher at the tags named beside each route (v2.11.16, v2.12.3,
v2.13.0) and k8s.io/apiserver v0.33.4 (the version in rancher v2.12.3 go.mod) for the generic
create/delete/list behaviour of the aggregated ext API.

Behaviour worth knowing in tests:

* A new provisioning cluster gets ``status.clusterName`` only after ``cluster_id_after`` GETs
  (Rancher creates the management cluster asynchronously).
* Rancher creates ``default-token`` for an imported cluster on its own; with
  ``auto_registration_token=False`` the client must POST one.
* The management cluster is ``pending`` until its import manifest was downloaded (standing in
  for "the manifest was applied and the agent connected"), then ``active`` after
  ``active_after_polls`` further polls of ``GET /v3/clusters/<id>``.
* ``tls=(certfile, keyfile)`` serves HTTPS with that certificate, as Docker-mode Rancher serves the
  certificate mounted at /etc/rancher/ssl/cert.pem (Rancher docs v2.12, "Installing Rancher on a Single Node
  Using Docker", option "Bring Your Own Certificate"); ``sni_names`` records the server names clients asked for.
* Fault injection (not upstream behaviour): ``fail_next`` answers 503 to that many requests;
  ``fail_after_commit`` makes that many token-creating POSTs create the token and then answer
  500 (what a client sees when a proxy or the apiserver times out after the write).

Run standalone for manual poking: ``python -m tests.doubles.rancher_api --port 8080 --version 2.12``.
"""
from __future__ import annotations

import argparse
import base64
import itertools
import json
import random
import secrets
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: cattle-system
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: daskmetal-double-import
  namespace: cattle-system
data:
  clusterId: "{cluster_id}"
---
# The agent's credentials: rancher/rancher v2.12.3 pkg/systemtemplate/import.go renders a Secret
# cattle-credentials-<TokenKey> in cattle-system with base64 data url/token (the registration token), which
# is why the manifest is a secret for playbooks/registration.yml (review host-security M3).
apiVersion: v1
kind: Secret
metadata:
  name: cattle-credentials-{token_key}
  namespace: cattle-system
type: Opaque
data:
  url: "{url_b64}"
  token: "{token_b64}"
"""


DEFAULT_VERSION = "2.12"

# What differs between the Rancher lines the project pins or supports.
VERSIONS = {
    # rancher/rancher v2.11.16: pkg/multiclustermanager/routes.go mounts only /v3-public (no /v1-public);
    # pkg/ext/stores/install.go installs no token store (only useractivity), so the apiserver answers 404.
    "2.11": {"v1_login": False, "ext_tokens": False, "bearer_token": False},
    # rancher/rancher v2.12.3: routes.go:98 mounts only /v3-public; pkg/ext/stores/install.go:36-44 installs
    # the token store (feature ext-tokens, default true: pkg/features/feature.go:185-190);
    # pkg/apis/ext.cattle.io/v1/types.go:113-131 TokenStatus has Value but no BearerToken.
    "2.12": {"v1_login": False, "ext_tokens": True, "bearer_token": False},
    # rancher/rancher v2.13.0: routes.go:107 mounts /v1-public (publicapi/handler.go:28 POST /v1-public/login);
    # pkg/apis/ext.cattle.io/v1/types.go:146-147 adds BearerToken, set in pkg/ext/stores/tokens/tokens.go:765.
    "2.13": {"v1_login": True, "ext_tokens": True, "bearer_token": True},
}

# k8s.io/apiserver v0.33.4 pkg/storage/names SimpleNameGenerator: prefix + utilrand.String(5), whose
# alphabet is k8s.io/apimachinery pkg/util/rand "bcdfghjklmnpqrstvwxz2456789". Rancher v2.12.3 names ext
# tokens with it and the prefix "token-" (pkg/ext/stores/tokens/tokens.go:59,1084-1110); v3 tokens use
# GenerateName "token-" as well (pkg/auth/tokens/manager.go createToken).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

EXT_TOKENS = "/apis/ext.cattle.io/v1/tokens"


class RancherDouble:
    def __init__(self, version=DEFAULT_VERSION, password="bootstrap-password-1234", username="admin",
                 cluster_id_after=1, auto_registration_token=True, active_after_polls=1,
                 fail_next=0, fail_after_commit=0, seed=0, tls=None):
        if version not in VERSIONS:
            raise ValueError("unknown Rancher version %r (known: %s)" % (version, ", ".join(VERSIONS)))
        self.version = version
        self.features = VERSIONS[version]
        self.users = {username: password}
        self.username = username
        self.password_changes = []          # usernames whose password changepassword changed
        self.cluster_id_after = cluster_id_after
        self.auto_registration_token = auto_registration_token
        self.active_after_polls = active_after_polls
        self.fail_next = fail_next          # answer 503 to this many requests first (retry tests)
        self.fail_after_commit = fail_after_commit  # create the token, then answer 500 (ambiguous failure)
        self.tokens = {}                    # bearer -> {"name", "kind", "description", "labels"}
        self.settings = {"server-url": ""}
        self.prov_clusters = {}             # (ns, name) -> object
        self.mgmt_clusters = {}             # id -> {"state", "imported", "polls"}
        self.reg_tokens = []                # list of dicts
        self.requests = []                  # (method, path, body) for assertions
        self._ids = itertools.count(1)
        self._names = random.Random(seed)   # deterministic generated names
        self._lock = threading.Lock()
        self._server = None
        self._thread = None
        self.tls = tls                      # (certfile, keyfile) -> HTTPS
        self.sni_names = []                 # server names (SNI) of TLS handshakes

    # ----------------------------------------------------------- lifecycle
    def start(self, port=0):
        double = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # headers and body go out in two writes

            def log_message(self, *args):  # keep test output clean
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = "<invalid json>"
                auth = self.headers.get("Authorization", "")
                bearer = auth[7:] if auth.startswith("Bearer ") else None
                with double._lock:
                    status, payload, ctype = double.dispatch(self.command, self.path, body, bearer)
                data = b"" if payload is None else (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)

            def _sni(sock, name, ctx):
                double.sni_names.append(name)

            context.sni_callback = _sni
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return "%s://%s:%d" % ("https" if self.tls else "http", host, port)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------- helpers
    def _generate_name(self):
        taken = {t["name"] for t in self.tokens.values()}
        while True:
            name = "token-" + "".join(self._names.choice(_NAME_ALPHABET) for _ in range(5))
            if name not in taken:
                return name

    def _new_token(self, kind, description, labels=None, user=None):
        name = self._generate_name()
        value = secrets.token_hex(16)
        # v3 and session tokens authenticate as "<name>:<key>" (v2.12.3 pkg/auth/tokens/token_util.go:34
        # SplitTokenParts); ext tokens only as "ext/<name>:<value>" (pkg/auth/requests/authenticate.go:301).
        bearer = ("ext/%s:%s" if kind == "ext" else "%s:%s") % (name, value)
        self.tokens[bearer] = {"name": name, "kind": kind, "description": description,
                               "labels": dict(labels or {}), "user": user or self.username}
        return name, value, bearer

    def api_tokens(self, kind=None):
        """Names of the tokens that exist (optionally of one kind: session, v3, ext), for assertions."""
        return sorted(t["name"] for t in self.tokens.values() if kind is None or t["kind"] == kind)

    def _find(self, name, kinds):
        for bearer, t in self.tokens.items():
            if t["name"] == name and t["kind"] in kinds:
                return bearer, t
        return None, None

    def add_imported_cluster(self, name, namespace="fleet-default", state="active"):
        """Pre-register a cluster (for 'already registered' tests)."""
        cid = "c-m-%08d" % next(self._ids)
        self.prov_clusters[(namespace, name)] = {
            "type": "provisioning.cattle.io.cluster", "id": "%s/%s" % (namespace, name),
            "metadata": {"namespace": namespace, "name": name}, "spec": {},
            "status": {"clusterName": cid, "ready": state == "active"}, "_gets": 99}
        self.mgmt_clusters[cid] = {"state": state, "imported": state == "active", "polls": 0}
        self._add_reg_token(cid)
        return cid

    def _add_reg_token(self, cid, name="default-token"):
        token = secrets.token_hex(20)
        base = self.settings.get("server-url") or "https://rancher.invalid"
        self.reg_tokens.append({
            "type": "clusterRegistrationToken", "id": "%s:%s" % (cid, name), "name": name,
            "clusterId": cid, "token": token, "created": "2026-01-01T00:00:%02dZ" % len(self.reg_tokens),
            "manifestUrl": "%s/v3/import/%s_%s.yaml" % (base, token, cid),
            "command": "kubectl apply -f %s/v3/import/%s_%s.yaml" % (base, token, cid)})

    # ------------------------------------------------------------ dispatch
    def dispatch(self, method, path, body, bearer):
        self.requests.append((method, path, body))
        if self.fail_next > 0:
            self.fail_next -= 1
            return 503, {"type": "error", "status": 503, "message": "starting"}, "application/json"
        url = urlparse(path)
        route, query = url.path, parse_qs(url.query)

        if route == "/ping" and method == "GET":
            return 200, "pong", "text/plain"
        public = self._public_route(method, route, query, body)
        if public is not None:
            return public
        # -------- everything else needs a valid bearer token
        if bearer not in self.tokens:
            return 401, {"type": "error", "status": 401, "code": "Unauthorized",
                         "message": "must authenticate"}, J
        for handler in (self._token_route, self._settings_route, self._cluster_route):
            answer = handler(method, route, query, body, bearer)
            if answer is not None:
                return answer
        return 404, {"type": "error", "status": 404, "message": "no route %s %s" % (method, route)}, J

    def _public_route(self, method, route, query, body):
        if route == "/v1-public/login" and method == "POST":
            if not self.features["v1_login"]:
                # v2.12.3: no /v1-public route (pkg/multiclustermanager/routes.go); the request falls through
                # steve to pkg/ui/routes.go emberIndexUnlessAPI, which answers http.NotFound for non-browsers.
                return 404, "404 page not found\n", "text/plain; charset=utf-8"
            if not isinstance(body, dict) or body.get("type") != "localProvider":
                return 422, {"type": "error", "status": 422, "code": "InvalidBodyContent"}, J
            return self._login(body)  # v2.13.0 publicapi/login.go:154-159,371-373 (201)
        if route == "/v3-public/localProviders/local" and method == "POST" and query.get("action") == ["login"]:
            if not isinstance(body, dict):
                return 422, {"type": "error", "status": 422, "code": "InvalidBodyContent"}, J
            return self._login(body)  # v2.12.3 pkg/auth/providers/publicapi/login.go:98 (201)
        # -------- import manifest (no auth: v2.12.3 pkg/multiclustermanager/routes.go:86)
        if route.startswith("/v3/import/") and route.endswith(".yaml") and method == "GET":
            stem = route[len("/v3/import/"):-len(".yaml")]
            for t in self.reg_tokens:
                if stem == "%s_%s" % (t["token"], t["clusterId"]):
                    self.mgmt_clusters[t["clusterId"]]["imported"] = True
                    return 200, self._manifest(t), "application/yaml"
            return 404, "not found", "text/plain"
        return None

    def _manifest(self, reg):
        b64 = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
        return MANIFEST.format(cluster_id=reg["clusterId"], token_key=reg["token"][:7],
                               url_b64=b64(self.settings.get("server-url") or ""), token_b64=b64(reg["token"]))

    def _settings_route(self, method, route, query, body, bearer):
        if route == "/v3/users" and method == "POST" and query.get("action") == ["changepassword"]:
            return self._change_password(body, self.tokens[bearer]["user"])
        if route == "/v3/users" and method == "GET":
            return 200, {"type": "collection", "data": [{"id": "user-admin", "username": "admin", "me": True}]}, J
        if route.startswith("/v3/settings/"):
            name = route[len("/v3/settings/"):]
            if name not in self.settings:
                return 404, {"type": "error", "status": 404}, J
            if method == "PUT":
                if not isinstance(body, dict) or "value" not in body:
                    return 422, {"type": "error", "status": 422, "code": "MissingRequired"}, J
                self.settings[name] = body["value"]
            return 200, {"type": "setting", "id": name, "name": name, "value": self.settings[name]}, J
        return None

    # -------------------------------------------------------------- tokens
    def _token_route(self, method, route, query, body, bearer):
        if route == EXT_TOKENS or route.startswith(EXT_TOKENS + "/"):
            if not self.features["ext_tokens"]:
                # v2.11.16: no tokens resource in ext.cattle.io; the kube-apiserver answers a 404 Status
                return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                             "code": 404, "message": "the server could not find the requested resource"}, J
            return self._ext_token_route(method, route[len(EXT_TOKENS):].strip("/"), query, body)
        if route == "/v3/tokens" and method == "POST" and query.get("action") == ["logout"]:
            # v2.12.3 pkg/auth/tokens/api.go:37-39,63-67 and manager.go:368-427: deletes the request's token
            del self.tokens[bearer]
            return 200, {}, J
        if route == "/v3/tokens" and method == "POST":
            if not isinstance(body, dict) or body.get("type") != "token":
                return 422, {"type": "error", "status": 422}, J
            name, value, bearer_new = self._new_token("v3", body.get("description", ""))
            if self._commit_then_fail():
                return self._after_commit_error()
            # v2.12.3 pkg/auth/tokens/manager.go:287-324 deriveToken: 201, "token" = "<name>:<key>"
            return 201, {"type": "token", "id": name, "name": name, "token": bearer_new,
                         "description": body.get("description", ""), "ttl": body.get("ttl", 0)}, J
        if route.startswith("/v3/tokens/") and method == "DELETE":
            name = route[len("/v3/tokens/"):]
            found, t = self._find(name, ("v3", "session"))
            if found is None:
                return 404, {"type": "error", "status": 404, "code": "NotFound"}, J
            if found == bearer and t["kind"] == "session":
                # v2.12.3 pkg/auth/tokens/manager.go:495-497
                return 400, {"type": "error", "status": 400, "code": "InvalidBodyContent",
                             "message": "Cannot delete token for current session. Use logout instead"}, J
            del self.tokens[found]
            return 204, None, J  # manager.go:503
        return None

    def _ext_token_route(self, method, name, query, body):
        if method == "POST" and not name:
            kind = (body.get("kind"), body.get("apiVersion")) if isinstance(body, dict) else None
            if kind != ("Token", "ext.cattle.io/v1"):
                return 400, {"kind": "Status", "code": 400, "message": "bad token object"}, J
            meta, spec = body.get("metadata") or {}, body.get("spec") or {}
            # v2.12.3 tokens.go:252 and types.go:42: name and generateName are ignored, a name is generated;
            # labels are kept (tokens.go toSecret copies token.Labels onto the backing Secret)
            name, value, bearer_new = self._new_token("ext", spec.get("description", ""), meta.get("labels"))
            if self._commit_then_fail():
                return self._after_commit_error()
            status = {"value": value, "current": False, "expired": False, "expiresAt": "",
                      "lastUpdateTime": "2026-01-01T00:00:00Z"}  # tokens.go:591-599: value shown only here
            if self.features["bearer_token"]:
                status["bearerToken"] = bearer_new  # v2.13.0 tokens.go:765 "ext/<name>:<value>"
            # k8s.io/apiserver v0.33.4 pkg/endpoints/handlers/create.go: a created object answers 201
            return 201, self._ext_object(name, status), J
        if method == "GET" and not name:
            # list, filtered by ?labelSelector=k=v (v2.12.3 tokens.go ListOptionMerge:1282-1325); the value is
            # never shown again (tokens.go:679)
            wanted = dict(s.split("=", 1) for s in (query.get("labelSelector") or [""])[0].split(",") if "=" in s)
            items = [self._ext_object(t["name"], {"current": False, "expired": False})
                     for t in self.tokens.values() if t["kind"] == "ext"
                     and all(t["labels"].get(k) == v for k, v in wanted.items())]
            return 200, {"apiVersion": "ext.cattle.io/v1", "kind": "TokenList", "metadata": {}, "items": items}, J
        found, _ = self._find(name, ("ext",))
        if found is None or method not in ("GET", "DELETE"):
            return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                         "code": 404, "message": 'tokens.ext.cattle.io "%s" not found' % name}, J
        obj = self._ext_object(name, {"current": False, "expired": False})
        if method == "DELETE":
            # tokens.go:279-303 returns the deleted object; k8s.io/apiserver handlers/delete.go answers 200
            del self.tokens[found]
        return 200, obj, J

    def _ext_object(self, name, status):
        _, t = self._find(name, ("ext",))
        return {"apiVersion": "ext.cattle.io/v1", "kind": "Token",
                "metadata": {"name": name, "labels": dict(t["labels"])},
                "spec": {"description": t["description"], "kind": "", "ttl": 0}, "status": status}

    def _commit_then_fail(self):
        if self.fail_after_commit > 0:
            self.fail_after_commit -= 1
            return True
        return False

    @staticmethod
    def _after_commit_error():
        return 500, {"kind": "Status", "code": 500, "message": "injected: created, then failed"}, J

    # ------------------------------------------------------------ clusters
    def _cluster_route(self, method, route, query, body, bearer):
        if route == "/v1/provisioning.cattle.io.clusters" and method == "POST":
            return self._create_prov_cluster(body)
        if route.startswith("/v1/provisioning.cattle.io.clusters/") and method == "GET":
            return self._get_prov_cluster(route)
        if route == "/v3/clusterregistrationtokens":
            if method == "GET":
                cid = (query.get("clusterId") or [None])[0]
                data = [t for t in self.reg_tokens if cid is None or t["clusterId"] == cid]
                return 200, {"type": "collection", "data": data}, J
            if method == "POST":
                cid = (body or {}).get("clusterId")
                if cid not in self.mgmt_clusters:
                    return 422, {"type": "error", "status": 422, "message": "unknown cluster"}, J
                self._add_reg_token(cid, name="crt-%05d" % next(self._ids))
                return 201, self.reg_tokens[-1], J
        if route.startswith("/v3/clusters/") and method == "GET":
            cid = route[len("/v3/clusters/"):]
            c = self.mgmt_clusters.get(cid)
            if c is None:
                return 404, {"type": "error", "status": 404}, J
            if c["imported"] and c["state"] != "active":
                c["polls"] += 1
                if c["polls"] >= self.active_after_polls:
                    c["state"] = "active"
            return 200, {"type": "cluster", "id": cid, "state": c["state"]}, J
        return None

    def _create_prov_cluster(self, body):
        meta = (body or {}).get("metadata") or {}
        if (body or {}).get("type") != "provisioning.cattle.io.cluster" or not meta.get("name") \
                or not meta.get("namespace"):
            return 422, {"type": "error", "status": 422, "code": "InvalidBodyContent"}, J
        key = (meta["namespace"], meta["name"])
        if key in self.prov_clusters:
            return 409, {"type": "error", "status": 409, "code": "AlreadyExists",
                         "message": 'clusters.provisioning.cattle.io "%s" already exists' % meta["name"]}, J
        obj = {"type": "provisioning.cattle.io.cluster", "id": "%s/%s" % key, "metadata": dict(meta),
               "spec": body.get("spec") or {}, "status": {}, "_gets": 0}
        self.prov_clusters[key] = obj
        return 201, _public(obj), J

    def _get_prov_cluster(self, route):
        parts = route.split("/")[3:]
        if len(parts) != 2 or tuple(parts) not in self.prov_clusters:
            return 404, {"type": "error", "status": 404, "code": "NotFound"}, J
        obj = self.prov_clusters[tuple(parts)]
        obj["_gets"] += 1
        if not obj["status"].get("clusterName") and obj["_gets"] >= self.cluster_id_after:
            cid = "c-m-%08d" % next(self._ids)
            obj["status"]["clusterName"] = cid
            self.mgmt_clusters[cid] = {"state": "pending", "imported": False, "polls": 0}
            if self.auto_registration_token:
                self._add_reg_token(cid)
        return 200, _public(obj), J

    def _change_password(self, body, user):
        """rancher/rancher v2.12.3 pkg/auth/api/user/user_actions.go: the users collection action changepassword
        (added by CollectionFormatter, :30) changes the password of the authenticated user (changePassword, :69-118;
        the user is the Impersonate-User Rancher sets from the token). Checks in that order: currentPassword and
        newPassword present, validatePassword (:195-208: at least password-min-length runes, default 12 in
        pkg/settings/setting.go:98; not the username; not the current password), then the current password.
        Failures are norman httperror InvalidBodyContent, 422 (rancher/norman v0.6.1 httperror/error.go:28). On
        success the handler writes nothing, so net/http answers 200 with an empty body (norman v0.6.1
        api/server.go handle/handleAction). Still served in v2.13.0 (which adds ext passwordchangerequests)."""
        body = body if isinstance(body, dict) else {}
        current, new = body.get("currentPassword"), body.get("newPassword")
        problem = None
        if not isinstance(current, str) or not current:
            problem = "must specify current password"
        elif not isinstance(new, str) or not new:
            problem = "invalid new password"
        elif len(new) < 12:
            problem = "Password must be at least 12 characters"
        elif new == user:
            problem = "Password cannot be the same as username"
        elif new == current:
            problem = "The new password must not be the same as the current password"
        elif self.users.get(user) != current:
            problem = "invalid current password"
        if problem:
            return 422, {"type": "error", "status": 422, "code": "InvalidBodyContent", "message": problem}, J
        self.users[user] = new
        self.password_changes.append(user)
        return 200, None, J

    def _login(self, body):
        if self.users.get(body.get("username")) != body.get("password"):
            return 401, {"type": "error", "status": 401, "code": "Unauthorized",
                         "message": "authentication failed"}, J
        name, _, bearer = self._new_token("session", body.get("description", ""), user=body.get("username"))
        return 201, {"token": bearer, "expiresAt": "", "id": name, "baseType": "token", "type": "token"}, J


J = "application/json"


def _public(obj):
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def main():  # pragma: no cover - manual use
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--version", choices=sorted(VERSIONS), default=DEFAULT_VERSION)
    parser.add_argument("--password", default="bootstrap-password-1234")
    args = parser.parse_args()
    double = RancherDouble(version=args.version, password=args.password).start(args.port)
    print("Rancher %s double on" % args.version, double.url)
    threading.Event().wait()


if __name__ == "__main__":
    main()
