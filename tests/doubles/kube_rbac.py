"""The kube API double (kube_api.KubeDouble) with authentication by bearer token and RBAC authorization, plus the
read paths a real client (kr8s 0.20.15, what dask-kubernetes 2026.3.0's KubeCluster uses) needs from it.

Kept in its own module and its own routes so that kube_api.py stays as it is. Upstream followed, kubernetes v1.33
(kubernetes/kubernetes tag v1.33.0; staging/src/k8s.io/apiserver is published as kubernetes/apiserver v0.33.0):

- Request attributes: staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go
  RequestInfoFactory.NewRequestInfo. Paths under /api/<v> and /apis/<g>/<v> with at least a resource are resource
  requests, everything else (/version, /api, /apis, /apis/<g>/<v>) is a non-resource request whose verb is the
  lower-cased method. Verbs: POST create, GET/HEAD get, PUT update, PATCH patch, DELETE delete; a GET without a name
  is list (watch with watch=<anything but false/0>), a DELETE without a name deletecollection. Parts after the name
  are the subresource (pods/<name>/log -> resource pods, subresource log). A list whose fieldSelector requires
  metadata.name=<n> carries that name (what kr8s's get-by-name sends: _api.py async_get adds the fieldSelector).
- Authorization: plugin/pkg/auth/authorizer/rbac/rbac.go RBACAuthorizer.Authorize visits the rules that apply to the
  user (pkg/registry/rbac/validation/rule.go DefaultRuleResolver.VisitRulesFor: ClusterRoleBindings' ClusterRoles,
  then, for a namespaced request, the namespace's RoleBindings whose subjects apply (appliesToUser: User by name,
  Group by membership, ServiceAccount by system:serviceaccount:<subject namespace or the binding's>:<name>) and the
  Role or ClusterRole each names) and allows when one rule allows (rbac.go RuleAllows):
  resource requests: VerbMatches && APIGroupMatches && ResourceMatches(rule, resource[/subresource], subresource)
  && ResourceNameMatches; non-resource: VerbMatches && NonResourceURLMatches (pkg/apis/rbac/v1/evaluation_helpers.go,
  `*` wildcards and `*/<subresource>` as there). No rule: denied.
- Bootstrap policy every authenticated user has: plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go
  ClusterRole system:discovery (get on /livez, /readyz, /healthz, /version, /version/, /openapi, /openapi/*, /api,
  /api/*, /apis, /apis/*) bound to group system:authenticated (clusterrolebindings system:discovery).
- Denied: 403 Status reason Forbidden (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go
  Forbidden: `<resource>[.<group>] "<name>" is forbidden: User "<user>" cannot <verb> resource "<resource>"` +
  ` in API group "<group>"` + ` in the namespace "<ns>"`; for non-resource requests `cannot <verb> path "<path>"`).
- Service-account users: staging/src/k8s.io/apiserver/pkg/authentication/serviceaccount/util.go MakeUsername
  (system:serviceaccount:<ns>:<name>) and MakeGroupNames (system:serviceaccounts, system:serviceaccounts:<ns>), plus
  system:authenticated (pkg/authentication/request/union + group adder).
- List filtering: labelSelector equality terms (`k=v`, `k==v`, `k!=v`, k8s.io/apimachinery pkg/labels/selector.go
  Parse) and fieldSelector `metadata.name`, `metadata.namespace`, `status.phase` for pods (pkg/registry/core/pod
  strategy.go ToSelectableFields) and `metadata.name` for everything (generic DefaultClusterScopedAttr).
- pods/log (GET /api/v1/namespaces/<ns>/pods/<name>/log): text/plain, the container's log
  (pkg/registry/core/pod/rest/log.go LogREST); here the text the test put in ``logs[(ns, name)]``.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from tests.doubles.kube_api import RESOURCES, KubeDouble

DISCOVERY_RULE = {"verbs": ["get"], "nonResourceURLs": ["/livez", "/readyz", "/healthz", "/version", "/version/",
                                                         "/openapi", "/openapi/*", "/api", "/api/*", "/apis",
                                                         "/apis/*"]}


def request_info(method: str, path: str, query: dict) -> dict:
    """requestinfo.go NewRequestInfo, for the prefixes api (groupless) and apis."""
    parts = [p for p in path.strip("/").split("/") if p]
    info = {"resource_request": False, "path": path, "verb": method.lower(), "group": "", "namespace": "",
            "resource": "", "subresource": "", "name": ""}
    if len(parts) < 3 or parts[0] not in ("api", "apis") or (parts[0] == "apis" and len(parts) < 4):
        return info
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    info.update(resource_request=True, group="" if parts[0] == "api" else parts[1])
    info["verb"] = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
                    "DELETE": "delete"}.get(method, "")
    if rest[0] == "namespaces" and len(rest) > 1:
        info["namespace"] = rest[1]
        if len(rest) > 2 and rest[2] not in ("status", "finalize"):
            rest = rest[2:]
    if len(rest) >= 3:
        info["subresource"] = rest[2]
    if len(rest) >= 2:
        info["name"] = rest[1]
    info["resource"] = rest[0]
    if not info["name"] and info["verb"] == "get":
        watch = (query.get("watch") or [None])[0]
        info["verb"] = "list" if watch is None or watch.lower() in ("false", "0") else "watch"
        fields = parse_selector((query.get("fieldSelector") or [""])[0])
        if ("metadata.name", "=") in {(k, op) for k, op, _ in fields}:
            info["name"] = next(v for k, op, v in fields if (k, op) == ("metadata.name", "="))
    if not info["name"] and info["verb"] == "delete":
        info["verb"] = "deletecollection"
    return info


def parse_selector(text: str) -> list[tuple[str, str, str]]:
    """Equality-based terms of a label or field selector: (key, "=" or "!=", value)."""
    terms = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        if "!=" in term:
            k, v = term.split("!=", 1)
            terms.append((k.strip(), "!=", v.strip()))
        else:
            k, v = term.replace("==", "=").split("=", 1)
            terms.append((k.strip(), "=", v.strip()))
    return terms


# ---- evaluation_helpers.go ----------------------------------------------------------------------------------------
def _any(values, wanted) -> bool:
    return "*" in values or wanted in values


def rule_allows(rule: dict, info: dict) -> bool:
    """rbac.go RuleAllows with the evaluation_helpers.go matchers."""
    if not _any(rule.get("verbs") or [], info["verb"]):
        return False
    if not info["resource_request"]:
        url = info["path"]
        return any(u == "*" or u == url or (u.endswith("*") and url.startswith(u.rstrip("*")))
                   for u in rule.get("nonResourceURLs") or [])
    if not _any(rule.get("apiGroups") or [], info["group"]):
        return False
    combined = info["resource"] + ("/" + info["subresource"] if info["subresource"] else "")
    resources = rule.get("resources") or []
    sub = info["subresource"]
    if not ("*" in resources or combined in resources
            or (sub and any(r.startswith("*/") and r[2:] == sub for r in resources))):
        return False
    names = rule.get("resourceNames") or []
    return not names or info["name"] in names


def applies_to(subject: dict, user: dict, binding_namespace: str) -> bool:
    """rule.go appliesToUser."""
    kind = subject.get("kind")
    if kind == "User":
        return subject["name"] == user["name"]
    if kind == "Group":
        return subject["name"] in user["groups"]
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_namespace
        return bool(ns) and user["name"] == f"system:serviceaccount:{ns}:{subject['name']}"
    return False


def service_account_user(namespace: str, name: str) -> dict:
    return {"name": f"system:serviceaccount:{namespace}:{name}",
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"]}


class RBACKubeDouble(KubeDouble):
    """``RBACKubeDouble(seed, users={token: user})``: every request must carry ``Authorization: Bearer <token>`` of a
    known user (else 401) and pass RBAC against the Roles/RoleBindings in the store (else 403). ``decisions`` records
    (user, verb, group, resource[/subresource], namespace, allowed) for every resource request."""

    def __init__(self, seed=(), users=None):
        super().__init__(seed)
        self.users = dict(users or {})
        self.decisions: list[tuple] = []
        self.logs: dict[tuple[str, str], str] = {}
        self.errors: list[str] = []
        self.lock = threading.RLock()

    def rules_for(self, user: dict, namespace: str) -> list[dict]:
        rules = [DISCOVERY_RULE] if "system:authenticated" in user["groups"] else []
        if not namespace:
            return rules  # no ClusterRoleBindings beyond the bootstrap one are modelled
        rbac = "rbac.authorization.k8s.io/v1"
        for (gv, plural, ns, _), binding in list(self.objects.items()):
            if (gv, plural, ns) != (rbac, "rolebindings", namespace):
                continue
            if not any(applies_to(s, user, namespace) for s in binding.get("subjects") or []):
                continue
            ref = binding["roleRef"]
            role = self.objects.get((rbac, "roles", namespace, ref["name"])) if ref["kind"] == "Role" else None
            rules += (role or {}).get("rules") or []
        return rules

    def authorize(self, user: dict, info: dict) -> bool:
        allowed = any(rule_allows(r, info) for r in self.rules_for(user, info["namespace"]))
        if info["resource_request"]:
            res = info["resource"] + ("/" + info["subresource"] if info["subresource"] else "")
            self.decisions.append((user["name"], info["verb"], info["group"], res, info["namespace"], allowed))
        return allowed

    def forbidden(self, user: dict, info: dict):
        if not info["resource_request"]:
            msg = f'forbidden: User "{user["name"]}" cannot {info["verb"]} path "{info["path"]}"'
            return 403, _status(403, "Forbidden", msg)
        res = info["resource"] + ("/" + info["subresource"] if info["subresource"] else "")
        qual = res + ("." + info["group"] if info["group"] else "")
        msg = (f'{qual} "{info["name"]}" is forbidden: ' if info["name"] else f"{qual} is forbidden: ") + \
            f'User "{user["name"]}" cannot {info["verb"]} resource "{res}" in API group "{info["group"]}"'
        if info["namespace"]:
            msg += f' in the namespace "{info["namespace"]}"'
        return 403, _status(403, "Forbidden", msg, {"name": info["name"], "group": info["group"],
                                                     "kind": info["resource"]})

    def serve(self, method: str, full_path: str, body, content_type, token: str | None):
        path, _, qs = full_path.partition("?")
        query = parse_qs(qs)
        user = self.users.get(token or "")
        if user is None:
            return 401, _status(401, "Unauthorized", "Unauthorized")
        if path == "/api/":
            # go-restful serves the legacy APIVersions at /api and /api/ (staging/src/k8s.io/apiserver/pkg/endpoints/
            # discovery/legacy.go NewLegacyRootAPIHandler WebService(...).Path(prefix) + GET("/")), kr8s asks /api/
            full_path = path = "/api" + ("?" + qs if qs else "")
            path = "/api"
        info = request_info(method, path, query)
        with self.lock:
            if not self.authorize(user, info):
                return self.forbidden(user, info)
            if info["resource_request"] and info["subresource"] == "log" and method == "GET":
                return self.pod_log(info)
            code, payload = self.handle(method, full_path, body, content_type)
            if method == "GET" and info["verb"] == "list" and code == 200 and "items" in payload:
                payload = dict(payload, items=self.select(payload["items"], query, info["namespace"]))
            return code, payload

    def select(self, items: list[dict], query: dict, namespace: str) -> list[dict]:
        labels = parse_selector((query.get("labelSelector") or [""])[0])
        fields = parse_selector((query.get("fieldSelector") or [""])[0])

        def field(obj, key):
            if key == "metadata.name":
                return obj["metadata"]["name"]
            if key == "metadata.namespace":
                return obj["metadata"].get("namespace", "")
            if key == "status.phase":
                return (obj.get("status") or {}).get("phase", "")
            raise ValueError(f"field selector {key} is not supported by the double")

        def ok(obj):
            have = obj["metadata"].get("labels") or {}
            return all((have.get(k) == v) == (op == "=") for k, op, v in labels) and \
                all((field(obj, k) == v) == (op == "=") for k, op, v in fields) and \
                (not namespace or obj["metadata"].get("namespace", "") == namespace)
        return [o for o in items if ok(o)]

    def pod_log(self, info: dict):
        key = ("v1", "pods", info["namespace"], info["name"])
        if key not in self.objects:
            return 404, _status(404, "NotFound", f'pods "{info["name"]}" not found')
        return 200, self.logs.get((info["namespace"], info["name"]), "")

    def __enter__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _rbac_handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def kubeconfig_for(self, token: str, namespace: str) -> dict:
        config = self.kubeconfig(namespace)
        config["users"][0]["user"]["token"] = token
        return config


def _status(code, reason, message, details=None):
    out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
           "reason": reason, "code": code}
    if details:
        out["details"] = details
    return out


def _rbac_handler(double: RBACKubeDouble):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            auth = self.headers.get("Authorization") or ""
            token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
            try:
                body = json.loads(raw) if raw else None
                code, payload = double.serve(self.command, self.path, body, self.headers.get("Content-Type"), token)
            except Exception as exc:  # noqa: BLE001 (a bug in the double answers 500, visible to the test)
                double.errors.append(f"{self.command} {self.path}: {exc!r}")
                code, payload = 500, _status(500, "InternalError", repr(exc))
            text = isinstance(payload, str)
            data = payload.encode() if text else json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain" if text else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, *args):
            pass

    return Handler


__all__ = ["RBACKubeDouble", "RESOURCES", "request_info", "rule_allows", "service_account_user"]
