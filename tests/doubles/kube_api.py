"""A loopback Kubernetes API double, just enough for kubernetes.core's k8s / k8s_info (the kubernetes client).

Serves discovery and create/get/patch of a few kinds, in memory, over plain HTTP on 127.0.0.1. Formats follow
kubernetes/kubernetes v1.33.0, staging/src/k8s.io/apimachinery:
- pkg/version/types.go Info (GET /version)
- pkg/apis/meta/v1/types.go APIVersions (GET /api), APIGroupList (GET /apis), APIResourceList (GET /api/v1,
  /apis/<group>/<version>), Status (errors: reason NotFound / AlreadyExists), ObjectMeta, List
Paths follow the API conventions (community/contributors/devel/sig-architecture/api-conventions.md):
/api/v1/namespaces/<ns>/<plural>/<name>, /apis/<group>/<version>/namespaces/<ns>/<plural>/<name>, cluster-scoped
/api/v1/<plural>/<name>.
Each route below cites the file it follows; kubernetes/apimachinery and kubernetes/apiserver are the published
mirrors of kubernetes/kubernetes staging/src/k8s.io/{apimachinery,apiserver} (tag v0.33.6 = v1.33.6).
"""
from __future__ import annotations

import base64
import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# group/version -> {plural: (kind, namespaced)}
RESOURCES = {
    "v1": {"namespaces": ("Namespace", False), "configmaps": ("ConfigMap", True), "services": ("Service", True),
           "secrets": ("Secret", True), "serviceaccounts": ("ServiceAccount", True), "pods": ("Pod", True),
           "endpoints": ("Endpoints", True)},
    "apps/v1": {"deployments": ("Deployment", True)},
    # kubernetes/api@v0.33.6 discovery/v1/register.go: EndpointSlice (namespaced); core/v1 Endpoints (deprecated
    # from v1.33, still served).
    "discovery.k8s.io/v1": {"endpointslices": ("EndpointSlice", True)},
    # kubernetes/api@v0.33.6 networking/v1/register.go: IngressClass (cluster-scoped).
    "networking.k8s.io/v1": {"ingressclasses": ("IngressClass", False)},
    # kubernetes/api@v0.33.6 rbac/v1/register.go: Role, RoleBinding (namespaced).
    "rbac.authorization.k8s.io/v1": {"roles": ("Role", True), "rolebindings": ("RoleBinding", True)},
    # kubernetes/apiextensions-apiserver@v0.33.6 pkg/apis/apiextensions/v1/register.go: CustomResourceDefinition,
    # cluster-scoped.
    "apiextensions.k8s.io/v1": {"customresourcedefinitions": ("CustomResourceDefinition", False)},
    "monitoring.coreos.com/v1": {"servicemonitors": ("ServiceMonitor", True), "podmonitors": ("PodMonitor", True)},
    # The Dask Kubernetes Operator's CRDs (dask/helm-chart gh-pages dask-kubernetes-operator-2026.3.0.tgz,
    # crds/daskcluster.yaml, daskworkergroup.yaml, daskautoscaler.yaml: group kubernetes.dask.org, version v1,
    # scope Namespaced, these plurals and kinds).
    "kubernetes.dask.org/v1": {"daskclusters": ("DaskCluster", True), "daskworkergroups": ("DaskWorkerGroup", True),
                               "daskautoscalers": ("DaskAutoscaler", True)},
}
# kubernetes/apimachinery@v0.33.6 pkg/apis/meta/v1/types.go APIResource.verbs (Verbs []string): the verbs the resource supports.
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def merge(patch, target):
    """RFC 7386 JSON merge patch (lists replaced, null deletes); stands in for strategic merge too."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge(v, out.get(k))
    return out


class KubeDouble:
    """`with KubeDouble(seed=[obj, ...]) as k:` then k.url, k.objects[(gv, plural, ns, name)], k.requests."""

    def __init__(self, seed=()):
        # requests: (method, path); writes: (method, path without query, Content-Type, body) of every POST, PATCH,
        # PUT and DELETE, to check what a client sent.
        self.objects, self.requests, self.writes, self._rv = {}, [], [], 0
        for obj in seed:
            gv, plural = self.locate(obj)
            self.store(gv, plural, obj)

    @staticmethod
    def locate(obj):
        gv = obj["apiVersion"]
        plural = next(p for p, (kind, _) in RESOURCES[gv].items() if kind == obj["kind"])
        return gv, plural

    @staticmethod
    def normalize(gv, plural, obj):
        if (gv, plural) == ("v1", "secrets") and "stringData" in obj:
            # kubernetes/api@v0.33.6 core/v1/types.go Secret.StringData: "All keys and values are merged into the
            # data field on write, overwriting any existing values. The stringData field is never output when
            # reading from the API." (kubernetes/kubernetes pkg/apis/core/v1/conversion.go
            # Convert_v1_Secret_To_core_Secret).
            data = dict(obj.get("data") or {})
            data.update({k: base64.b64encode(v.encode()).decode() for k, v in obj.pop("stringData").items()})
            obj["data"] = data
        return obj

    def store(self, gv, plural, obj):
        self._rv += 1
        self.normalize(gv, plural, obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{self._rv}")
        meta["resourceVersion"] = str(self._rv)
        meta.setdefault("creationTimestamp", "2026-01-05T10:00:00Z")
        key = (gv, plural, meta.get("namespace", "") if RESOURCES[gv][plural][1] else "", meta["name"])
        self.objects[key] = obj
        return obj

    def __enter__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def kubeconfig(self, namespace="default"):
        """A kubeconfig (clientcmd v1 Config) pointing at this double."""
        return {"apiVersion": "v1", "kind": "Config", "current-context": "double",
                "clusters": [{"name": "double", "cluster": {"server": self.url}}],
                "contexts": [{"name": "double", "context": {"cluster": "double", "user": "double",
                                                            "namespace": namespace}}],
                "users": [{"name": "double", "user": {"token": "double-token"}}]}

    # -- request handling ------------------------------------------------------------------------------------
    def discovery(self, path):
        # kubernetes/apiserver@v0.33.6 pkg/server/routes/version.go: WebService Path("/version") with GET("/"), so
        # /version and /version/ (what the kubernetes Python client's VersionApi asks) both answer.
        if path in ("/version", "/version/"):
            # kubernetes/apimachinery@v0.33.6 pkg/version/types.go Info: major, minor, gitVersion, gitCommit, gitTreeState, buildDate,
            # goVersion, compiler, platform (none omitempty).
            return 200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0", "gitCommit": "0" * 40,
                         "gitTreeState": "clean", "buildDate": "2025-04-23T00:00:00Z", "goVersion": "go1.24.2",
                         "compiler": "gc", "platform": "linux/amd64"}
        # kubernetes/apimachinery@v0.33.6 pkg/apis/meta/v1/types.go APIVersions: TypeMeta inline, versions []string, serverAddressByClientCIDRs (no omitempty).
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        # kubernetes/apimachinery@v0.33.6 pkg/apis/meta/v1/types.go APIGroupList.groups of APIGroup {name, versions, preferredVersion}, each a
        # GroupVersionForDiscovery {groupVersion, version}.
        if path == "/apis":
            groups = []
            for gv in RESOURCES:
                if "/" in gv:
                    version = {"groupVersion": gv, "version": gv.split("/")[1]}
                    groups.append({"name": gv.split("/")[0], "versions": [version], "preferredVersion": version})
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        gv = path[len("/api/"):] if path.startswith("/api/") else path[len("/apis/"):]
        # kubernetes/apimachinery@v0.33.6 pkg/apis/meta/v1/types.go APIResourceList {groupVersion, resources} of APIResource {name, singularName, namespaced,
        # kind, verbs}.
        if gv in RESOURCES:
            return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": [
                {"name": p, "singularName": k.lower(), "namespaced": ns, "kind": k, "verbs": VERBS}
                for p, (k, ns) in RESOURCES[gv].items()]}
        return None

    @staticmethod
    def route(path):
        """(group/version, plural, namespace, name) of a resource path, or None."""
        parts = path.strip("/").split("/")
        if parts[0] == "api":
            gv, rest = "v1", parts[2:]
        else:
            gv, rest = "/".join(parts[1:3]), parts[3:]
        if gv not in RESOURCES or not rest:
            return None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, plural, name = rest[1], rest[2], (rest[3] if len(rest) > 3 else "")
        else:
            ns, plural, name = "", rest[0], (rest[1] if len(rest) > 1 else "")
        return (gv, plural, ns, name) if plural in RESOURCES[gv] else None

    def handle(self, method, path, body, content_type=None):
        self.requests.append((method, path))
        if method in ("POST", "PATCH", "PUT", "DELETE"):
            self.writes.append((method, path.split("?", 1)[0], content_type, copy.deepcopy(body)))
        path, _, query = path.partition("?")
        if "dryRun=All" in query.split("&") and method in ("POST", "PATCH", "PUT", "DELETE"):
            # kubernetes/apiserver@v0.33.6 pkg/registry/generic/registry/dryrun.go DryRunnableStorage: with
            # dryRun=All the request is served in full but nothing is written to storage.
            saved, rv = copy.deepcopy(self.objects), self._rv
            try:
                return self._handle(method, path, body, query)
            finally:
                self.objects, self._rv = saved, rv
        return self._handle(method, path, body, query)

    def _handle(self, method, path, body, query=""):
        if method == "GET":
            found = self.discovery(path)
            if found:
                return found
        key = self.route(path)
        if key is None:
            # kubernetes/apimachinery@v0.33.6 pkg/api/errors/errors.go NewNotFound -> Status reason NotFound, code 404.
            return status(404, "NotFound", f"the server could not find the requested resource ({path})")
        gv, plural, ns, name = key
        kind = RESOURCES[gv][plural][0]
        # kubernetes/apimachinery@v0.33.6 pkg/apis/meta/v1/types.go ListMeta.resourceVersion; a list is {kind: <Kind>List, apiVersion, metadata, items}.
        if method == "GET" and not name:
            try:
                selector = parse_label_selector(query_param(query, "labelSelector"))
            except ValueError as err:
                # kubernetes/apiserver@v0.33.6 pkg/endpoints/handlers/get.go ListResource: a selector that does not
                # parse is a 400 BadRequest.
                return status(400, "BadRequest", f"unable to parse requirement: {err}")
            items = [o for (g, p, n, _), o in self.objects.items() if (g, p) == (gv, plural) and n in ("", ns)
                     and selector_matches(selector, (o.get("metadata") or {}).get("labels") or {})]
            return 200, {"kind": kind + "List", "apiVersion": gv, "metadata": {"resourceVersion": str(self._rv)},
                         "items": items}
        if method == "POST":
            name = body["metadata"]["name"]
            # kubernetes/apimachinery@v0.33.6 pkg/api/errors/errors.go NewAlreadyExists: 409, reason AlreadyExists, message
            # '<resource[.group]> "<name>" already exists' (pkg/runtime/schema GroupResource.String),
            # details {name, group, kind: <plural>}.
            if (gv, plural, ns, name) in self.objects:
                return status(409, "AlreadyExists", f'{qualified(gv, plural)} "{name}" already exists',
                              details(gv, plural, name))
            if ns:
                body["metadata"]["namespace"] = ns
            # kubernetes/apiserver@v0.33.6 pkg/endpoints/handlers/create.go: a create answers http.StatusCreated (201) and the object.
            return 201, self.store(gv, plural, body)
        obj = self.objects.get(key)
        # kubernetes/apimachinery@v0.33.6 pkg/api/errors/errors.go NewNotFound: 404, reason NotFound, message
        # '<resource[.group]> "<name>" not found', details {name, group, kind: <plural>}.
        if obj is None:
            return status(404, "NotFound", f'{qualified(gv, plural)} "{name}" not found', details(gv, plural, name))
        if method == "GET":
            return 200, obj
        # kubernetes/apiserver@v0.33.6 pkg/endpoints/handlers/patch.go: JSON merge patch and strategic merge patch (here both
        # applied as RFC 7386; strategic list merging is not imitated), 200 and the patched object.
        if method == "PATCH":
            patched = self.normalize(gv, plural, merge(body, obj))
            # kubernetes/apiserver@v0.33.6 pkg/storage/etcd3/store.go GuaranteedUpdate: an update that leaves the
            # object's bytes as they were is not written (no new resourceVersion); the object is returned as is.
            if patched == obj:
                return 200, obj
            return 200, self.store(gv, plural, patched)
        if method == "PUT":
            return 200, self.store(gv, plural, body)
        # kubernetes/apiserver@v0.33.6 pkg/endpoints/handlers/delete.go: 200 and what the registry returns;
        # pkg/registry/generic/registry/store.go finalizeDelete (ReturnDeletedObject false, the default): a Status
        # "Success" with details {name, group, kind: <resource>, uid}. Immediate deletion, no finalizers imitated.
        if method == "DELETE":
            del self.objects[key]
            gone = details(gv, plural, name)
            gone["uid"] = obj["metadata"]["uid"]
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": gone}
        return status(405, "MethodNotAllowed", method)


def query_param(query, name):
    from urllib.parse import parse_qs
    return (parse_qs(query).get(name) or [""])[0]


def parse_label_selector(text):
    """kubernetes/apimachinery@v0.33.6 pkg/labels/selector.go Parse: requirements joined by "," (all must hold),
    each `key`, `!key`, `key=value`, `key==value`, `key!=value`, `key in (v1,v2)` or `key notin (v1,v2)`.
    Returns [(key, op, values)]; raises ValueError where Parse returns an error."""
    import re
    out, rest = [], text.strip()
    pattern = re.compile(r"\s*(!?)\s*([A-Za-z0-9._/-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9._-]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*(,|$)")
    while rest:
        m = pattern.match(rest)
        if not m:
            raise ValueError(rest)
        neg, key, op, value, setop, values, _ = m.groups()
        if neg and (op or setop):
            raise ValueError(rest)
        if setop:
            out.append((key, setop, {v.strip() for v in values.split(",") if v.strip()}))
        elif op:
            out.append((key, "!=" if op == "!=" else "=", {value}))
        else:
            out.append((key, "!" if neg else "exists", set()))
        rest = rest[m.end():]
    return out


def selector_matches(selector, labels):
    """pkg/labels/selector.go Requirement.Matches: `!=` and notin also match an object without the key."""
    for key, op, values in selector:
        has, value = key in labels, labels.get(key)
        if ((op in ("=", "in") and not (has and value in values)) or (op in ("!=", "notin") and has and value in values)
                or (op == "exists" and not has) or (op == "!" and has)):
            return False
    return True


def qualified(gv, plural):
    """kubernetes/apimachinery@v0.33.6 pkg/runtime/schema/group_version.go GroupResource.String: resource, or resource.group."""
    return f"{plural}.{gv.split('/')[0]}" if "/" in gv else plural


def details(gv, plural, name):
    # kubernetes/apimachinery@v0.33.6 pkg/apis/meta/v1/types.go StatusDetails {name, group (omitempty), kind};
    # errors.go puts the resource (plural) in kind.
    return {"name": name, "kind": plural, **({"group": gv.split("/")[0]} if "/" in gv else {})}


def status(code, reason, message, details=None):
    # kubernetes/apimachinery@v0.33.6 pkg/apis/meta/v1/types.go Status {kind Status, apiVersion v1, metadata, status StatusFailure "Failure", message,
    # reason (StatusReasonNotFound / AlreadyExists / MethodNotAllowed), details, code}.
    out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
           "reason": reason, "code": code}
    if details:
        out["details"] = details
    return code, out


def _handler(double):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            code, payload = double.handle(self.command, self.path, body, self.headers.get("Content-Type"))
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, *args):
            pass

    return Handler
