"""A Rancher API test double: the endpoints daskmetal uses, with the documented payloads.

It is a test double, not a Rancher: it keeps a little state in memory and answers the way
Rancher answers (paths, status codes, field names as in rancher/rancher; see the docstring of
collections/.../module_utils/rancher_api.py for the sources). Two generations:

* ``RancherDouble(generation="current")``: Rancher >= 2.13 — ``POST /v1-public/login`` (201,
  ``{"token", "expiresAt", "id", "type": "token"}``), ext tokens at
  ``/apis/ext.cattle.io/v1/tokens``, and the v3 endpoints.
* ``RancherDouble(generation="legacy")``: an older Rancher — ``/v1-public/login`` and the ext
  token API answer 404, so clients must use ``/v3-public/localProviders/local?action=login``
  and ``/v3/tokens``.

Behaviour worth knowing in tests:

* A new provisioning cluster gets ``status.clusterName`` only after ``cluster_id_after`` GETs
  (Rancher creates the management cluster asynchronously).
* Rancher creates ``default-token`` for an imported cluster on its own; with
  ``auto_registration_token=False`` the client must POST one.
* The management cluster is ``pending`` until its import manifest was downloaded (standing in
  for "the manifest was applied and the agent connected"), then ``active`` after
  ``active_after_polls`` further polls of ``GET /v3/clusters/<id>``.

Run standalone for manual poking: ``python -m tests.doubles.rancher_api --port 8080``.
"""
from __future__ import annotations

import argparse
import itertools
import json
import secrets
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
"""


class RancherDouble:
    def __init__(self, generation="current", password="bootstrap-password-1234", username="admin",
                 cluster_id_after=1, auto_registration_token=True, active_after_polls=1,
                 fail_next=0):
        assert generation in ("current", "legacy")
        self.generation = generation
        self.users = {username: password}
        self.cluster_id_after = cluster_id_after
        self.auto_registration_token = auto_registration_token
        self.active_after_polls = active_after_polls
        self.fail_next = fail_next          # answer 503 to this many requests first (retry tests)
        self.tokens = {}                    # bearer -> {"name", "kind", "description"}
        self.settings = {"server-url": ""}
        self.prov_clusters = {}             # (ns, name) -> object
        self.mgmt_clusters = {}             # id -> {"state", "imported", "polls"}
        self.reg_tokens = []                # list of dicts
        self.requests = []                  # (method, path, body) for assertions
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

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
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
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
        return "http://%s:%d" % (host, port)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------- helpers
    def _new_token(self, kind, description):
        name = "token-%05d" % next(self._ids)
        bearer = "%s:%s" % (name, secrets.token_hex(16))
        self.tokens[bearer] = {"name": name, "kind": kind, "description": description}
        return name, bearer

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
        j = "application/json"

        if route == "/ping" and method == "GET":
            return 200, "pong", "text/plain"

        # -------- public login
        if route == "/v1-public/login" and method == "POST":
            if self.generation == "legacy":
                return 404, {"type": "error", "status": 404, "message": "not found"}, j
            if not isinstance(body, dict) or body.get("type") != "localProvider":
                return 422, {"type": "error", "status": 422, "code": "InvalidBodyContent"}, j
            return self._login(body)
        if route == "/v3-public/localProviders/local" and method == "POST" and query.get("action") == ["login"]:
            if not isinstance(body, dict):
                return 422, {"type": "error", "status": 422, "code": "InvalidBodyContent"}, j
            return self._login(body)

        # -------- import manifest (no auth, like Rancher)
        if route.startswith("/v3/import/") and route.endswith(".yaml") and method == "GET":
            stem = route[len("/v3/import/"):-len(".yaml")]
            for t in self.reg_tokens:
                if stem == "%s_%s" % (t["token"], t["clusterId"]):
                    self.mgmt_clusters[t["clusterId"]]["imported"] = True
                    return 200, MANIFEST.format(cluster_id=t["clusterId"]), "application/yaml"
            return 404, "not found", "text/plain"

        # -------- everything else needs a valid bearer token
        if bearer not in self.tokens:
            return 401, {"type": "error", "status": 401, "code": "Unauthorized",
                         "message": "must authenticate"}, j

        if route == "/v3/users" and method == "GET":
            return 200, {"type": "collection", "data": [{"id": "user-admin", "username": "admin", "me": True}]}, j

        if route.startswith("/v3/settings/"):
            name = route[len("/v3/settings/"):]
            if name not in self.settings:
                return 404, {"type": "error", "status": 404}, j
            if method == "PUT":
                if not isinstance(body, dict) or "value" not in body:
                    return 422, {"type": "error", "status": 422, "code": "MissingRequired"}, j
                self.settings[name] = body["value"]
            return 200, {"type": "setting", "id": name, "name": name, "value": self.settings[name]}, j

        if route == "/apis/ext.cattle.io/v1/tokens" and method == "POST":
            if self.generation == "legacy":
                return 404, {"kind": "Status", "code": 404, "message": "the server could not find the requested resource"}, j
            if not isinstance(body, dict) or body.get("kind") != "Token" or body.get("apiVersion") != "ext.cattle.io/v1":
                return 400, {"kind": "Status", "code": 400, "message": "bad token object"}, j
            name, bearer_new = self._new_token("ext", (body.get("spec") or {}).get("description", ""))
            # ext tokens authenticate as "ext/<name>:<value>" (status.bearerToken)
            self.tokens["ext/" + bearer_new] = self.tokens.pop(bearer_new)
            return 201, {"apiVersion": "ext.cattle.io/v1", "kind": "Token", "metadata": {"name": name},
                         "spec": body.get("spec") or {},
                         "status": {"value": bearer_new.split(":", 1)[1], "bearerToken": "ext/" + bearer_new}}, j

        if route == "/v3/tokens" and method == "POST":
            if not isinstance(body, dict) or body.get("type") != "token":
                return 422, {"type": "error", "status": 422}, j
            name, bearer_new = self._new_token("v3", body.get("description", ""))
            return 201, {"type": "token", "id": name, "name": name, "token": bearer_new,
                         "description": body.get("description", ""), "ttl": body.get("ttl", 0)}, j

        if route == "/v1/provisioning.cattle.io.clusters" and method == "POST":
            meta = (body or {}).get("metadata") or {}
            if body.get("type") != "provisioning.cattle.io.cluster" or not meta.get("name") or not meta.get("namespace"):
                return 422, {"type": "error", "status": 422, "code": "InvalidBodyContent"}, j
            key = (meta["namespace"], meta["name"])
            if key in self.prov_clusters:
                return 409, {"type": "error", "status": 409, "code": "AlreadyExists",
                             "message": 'clusters.provisioning.cattle.io "%s" already exists' % meta["name"]}, j
            obj = {"type": "provisioning.cattle.io.cluster", "id": "%s/%s" % key, "metadata": dict(meta),
                   "spec": body.get("spec") or {}, "status": {}, "_gets": 0}
            self.prov_clusters[key] = obj
            return 201, _public(obj), j

        if route.startswith("/v1/provisioning.cattle.io.clusters/") and method == "GET":
            parts = route.split("/")[3:]
            if len(parts) != 2 or tuple(parts) not in self.prov_clusters:
                return 404, {"type": "error", "status": 404, "code": "NotFound"}, j
            obj = self.prov_clusters[tuple(parts)]
            obj["_gets"] += 1
            if not obj["status"].get("clusterName") and obj["_gets"] >= self.cluster_id_after:
                cid = "c-m-%08d" % next(self._ids)
                obj["status"]["clusterName"] = cid
                self.mgmt_clusters[cid] = {"state": "pending", "imported": False, "polls": 0}
                if self.auto_registration_token:
                    self._add_reg_token(cid)
            return 200, _public(obj), j

        if route == "/v3/clusterregistrationtokens":
            if method == "GET":
                cid = (query.get("clusterId") or [None])[0]
                data = [t for t in self.reg_tokens if cid is None or t["clusterId"] == cid]
                return 200, {"type": "collection", "data": data}, j
            if method == "POST":
                cid = (body or {}).get("clusterId")
                if cid not in self.mgmt_clusters:
                    return 422, {"type": "error", "status": 422, "message": "unknown cluster"}, j
                self._add_reg_token(cid, name="crt-%05d" % next(self._ids))
                return 201, self.reg_tokens[-1], j

        if route.startswith("/v3/clusters/") and method == "GET":
            cid = route[len("/v3/clusters/"):]
            c = self.mgmt_clusters.get(cid)
            if c is None:
                return 404, {"type": "error", "status": 404}, j
            if c["imported"] and c["state"] != "active":
                c["polls"] += 1
                if c["polls"] >= self.active_after_polls:
                    c["state"] = "active"
            return 200, {"type": "cluster", "id": cid, "state": c["state"]}, j

        return 404, {"type": "error", "status": 404, "message": "no route %s %s" % (method, route)}, j

    def _login(self, body):
        j = "application/json"
        if self.users.get(body.get("username")) != body.get("password"):
            return 401, {"type": "error", "status": 401, "code": "Unauthorized",
                         "message": "authentication failed"}, j
        name, bearer = self._new_token("session", body.get("description", ""))
        return 201, {"token": bearer, "expiresAt": "", "id": name, "baseType": "token", "type": "token"}, j


def _public(obj):
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def main():  # pragma: no cover - manual use
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--generation", choices=["current", "legacy"], default="current")
    parser.add_argument("--password", default="bootstrap-password-1234")
    args = parser.parse_args()
    double = RancherDouble(generation=args.generation, password=args.password).start(args.port)
    print("Rancher double on", double.url)
    threading.Event().wait()


if __name__ == "__main__":
    main()
