# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""A small Rancher API client: login, settings, API tokens, imported clusters.

Endpoints and payloads (checked against rancher/rancher source and docs):

* ``POST /v1-public/login`` with ``{"type": "localProvider", "username", "password",
  "responseType": "json"}`` answers 201 ``{"token": "token-x:secret", "expiresAt", "id",
  "type": "token"}`` (rancher/rancher pkg/auth/handler/publicapi login.go, v1LoginHandler).
  Older releases have no /v1-public and answer 404; the deprecated equivalent is
  ``POST /v3-public/localProviders/local?action=login`` with the same body minus ``type``.
  Wrong credentials answer 401.
* Settings: ``GET|PUT /v3/settings/<name>`` with ``{"name", "value"}``.
* API tokens: ext tokens ``POST /apis/ext.cattle.io/v1/tokens`` ``{"apiVersion":
  "ext.cattle.io/v1", "kind": "Token", "metadata": {"labels"}, "spec": {"description", "ttl"}}``
  answer 201 with a generated ``metadata.name`` (``token-xxxxx``; name and generateName are
  ignored) and ``status.value`` (rancher/rancher v2.12.3 pkg/ext/stores/tokens/tokens.go:252,
  550-599; enabled by default since 2.12.0, feature ``ext-tokens``). Rancher >= 2.13 also returns
  ``status.bearerToken`` = ``ext/<name>:<value>`` (v2.13.0 tokens.go:765); 2.12.x does not
  (v2.12.3 pkg/apis/ext.cattle.io/v1/types.go:113-131), but authenticates exactly that form
  (v2.12.3 pkg/auth/requests/authenticate.go:301), so the client builds it. Ext tokens come first
  because v3 tokens are phased out from 2.14 (Rancher docs "api/workflows/tokens"); on Rancher
  without the ext API (404/405, <= 2.11) ``POST /v3/tokens`` ``{"type": "token", "description",
  "ttl"}`` answers 201 ``{"token": "<name>:<key>"}`` (v2.12.3 pkg/auth/tokens/manager.go:287-324).
  A new token is checked with ``GET /v3/users?me=true``; one that does not authenticate, or whose
  create answered 5xx (it may exist: found by its ``daskmetal.io/create-id`` label), is deleted
  (``DELETE /apis/ext.cattle.io/v1/tokens/<name>`` 200, ``DELETE /v3/tokens/<name>`` 204).
* Imported cluster: ``POST /v1/provisioning.cattle.io.clusters`` ``{"type":
  "provisioning.cattle.io.cluster", "metadata": {"namespace": "fleet-default", "name"}, "spec": {}}``
  (201; 409 when it exists); ``GET /v1/provisioning.cattle.io.clusters/<ns>/<name>`` gives
  ``status.clusterName`` (the management cluster id, ``c-m-xxxxxxxx``) once Rancher created it.
* Registration: ``GET /v3/clusterregistrationtokens?clusterId=<id>`` lists tokens whose
  ``manifestUrl`` is applied to the downstream cluster; ``POST /v3/clusterregistrationtokens``
  ``{"type": "clusterRegistrationToken", "clusterId"}`` creates one when none exists.
* Cluster state: ``GET /v3/clusters/<id>`` ``state`` becomes ``active`` once the agent connected.

The HTTP layer is a *transport*: a callable ``(method, url, headers, body, timeout) ->
(status, body_bytes)``. Modules use :func:`ansible_transport` (Ansible's ``open_url``); tests
pass their own or talk to the test double in tests/doubles/rancher_api.py.
"""
from __future__ import annotations

import json
import secrets
import ssl
import time

try:  # the client is usable (and tested) without Ansible's URL helpers
    from ansible.module_utils.urls import Request, open_url
    from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
except ImportError:  # pragma: no cover
    Request = open_url = None
    from urllib.error import HTTPError, URLError

LOGIN_V1 = "/v1-public/login"
LOGIN_V3 = "/v3-public/localProviders/local?action=login"
EXT_TOKENS = "/apis/ext.cattle.io/v1/tokens"
V3_TOKENS = "/v3/tokens"
PROVISIONING_CLUSTERS = "/v1/provisioning.cattle.io.clusters"
REGISTRATION_TOKENS = "/v3/clusterregistrationtokens"

# Statuses worth retrying: the server is starting, overloaded, or a proxy in front of it is.
RETRY_STATUSES = (429, 500, 502, 503, 504)
# A POST is not idempotent: after a 500 or 504 it may have been carried out, so it is retried only
# on answers that mean "not processed" (and on a refused connection, see _retryable_error).
RETRY_STATUSES_POST = (429, 502, 503)
SAFE_METHODS = ("GET", "HEAD", "PUT", "DELETE")
# Label put on ext tokens so one whose create answered ambiguously can be found and removed.
CREATE_ID_LABEL = "daskmetal.io/create-id"


class RancherError(Exception):
    """An API call failed; ``status`` is the HTTP status (None for connection errors)."""

    def __init__(self, message, status=None, url=None, body=None):
        super().__init__(message)
        self.status = status
        self.url = url
        self.body = body


class RancherAuthError(RancherError):
    """Rancher refused the credentials or the token (401/403)."""


def ansible_transport(validate_certs=True, ca_path=None, tls_server_name=None):
    """Return a transport built on Ansible's ``open_url`` (proxy, CA and TLS handling included).

    ``tls_server_name`` verifies the certificate against that name (and sends it as SNI) instead of
    the URL's host, as ``curl --connect-to`` or kubectl's ``tls-server-name`` do: the Docker-mode role
    calls Rancher at ``https://127.0.0.1`` while a provided or ACME certificate names the public host.
    """
    context = None
    if validate_certs and tls_server_name:
        context = _server_name_context(tls_server_name, ca_path)

    def _transport(method, url, headers, body, timeout):
        try:
            if context is not None:
                resp = Request().open(method, url, data=body, headers=headers, timeout=timeout,
                                      follow_redirects="safe", context=context)
            else:
                resp = open_url(url, data=body, headers=headers, method=method, timeout=timeout,
                                validate_certs=validate_certs, ca_path=ca_path,
                                follow_redirects="safe")
            return resp.getcode(), resp.read()
        except HTTPError as exc:  # a status, not a transport failure
            return exc.code, exc.read() if hasattr(exc, "read") else b""

    return _transport


class _ServerNameContext(ssl.SSLContext):
    """An SSLContext that checks (and asks via SNI for) a fixed server name, whatever host is dialled."""

    server_name = None

    def wrap_socket(self, sock, *args, **kwargs):
        kwargs["server_hostname"] = self.server_name
        return super().wrap_socket(sock, *args, **kwargs)


def _server_name_context(server_name, ca_path=None):
    context = _ServerNameContext(ssl.PROTOCOL_TLS_CLIENT)  # verify_mode CERT_REQUIRED, check_hostname on
    context.server_name = server_name
    if ca_path:
        context.load_verify_locations(cafile=ca_path)
    else:
        context.load_default_certs()
    return context


def connection_argument_spec():
    """Options every Rancher module shares (documented once in doc_fragments/rancher.py)."""
    return dict(
        url=dict(type="str", required=True),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        tls_server_name=dict(type="str"),
    )


def client_from_params(params, **kwargs):
    """A RancherClient for a module's validated params (url, validate_certs, ca_path, retries)."""
    return RancherClient(params["url"], ansible_transport(params["validate_certs"], params["ca_path"],
                                                          params.get("tls_server_name")),
                         retries=params["retries"], **kwargs)


class RancherClient:
    """Rancher API client. ``token`` is a bearer token ``token-xxxxx:secret``."""

    def __init__(self, base_url, transport, token=None, retries=5, retry_delay=2.0, timeout=30,
                 sleep=time.sleep, clock=time.monotonic):
        self.base_url = base_url.rstrip("/")
        self.transport = transport
        self.token = token
        self.retries = max(0, int(retries))
        self.retry_delay = float(retry_delay)
        self.timeout = timeout
        self._sleep = sleep
        self._clock = clock

    # ------------------------------------------------------------------ HTTP
    def request(self, method, path, payload=None, auth=True, ok=(200, 201), allow=(), idempotent=None):
        """Send one request; retry connection errors and 429/5xx. Return ``(status, data)``.

        A status in ``ok`` or ``allow`` is returned; any other raises :class:`RancherError`.
        ``idempotent`` (default: not for POST) decides whether answers that may mean "done, but
        the answer got lost" (500, 504, a dropped connection) are retried.
        """
        url = self.base_url + path
        headers = {"Accept": "application/json"}
        body = None
        if payload is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(payload).encode("utf-8")
        if auth:
            if not self.token:
                raise RancherError("no API token: log in first", url=url)
            headers["Authorization"] = "Bearer " + self.token
        if idempotent is None:
            idempotent = method.upper() in SAFE_METHODS
        retry_statuses = RETRY_STATUSES if idempotent else RETRY_STATUSES_POST
        attempt = 0
        while True:
            attempt += 1
            try:
                status, raw = self.transport(method, url, headers, body, self.timeout)
            except (URLError, OSError) as exc:
                if attempt > self.retries or not (idempotent or _refused(exc)):
                    raise RancherError("cannot reach Rancher at %s: %s" % (url, exc), url=url)
                self._sleep(self.retry_delay)
                continue
            if status in retry_statuses and attempt <= self.retries:
                self._sleep(self.retry_delay)
                continue
            data = _decode(raw)
            if status in ok or status in allow:
                return status, data
            message = "%s %s answered %s: %s" % (method, path, status, _message(data, raw))
            if status in (401, 403):
                raise RancherAuthError(message, status=status, url=url, body=data)
            raise RancherError(message, status=status, url=url, body=data)

    # ----------------------------------------------------------------- login
    def login(self, username, password, description="daskmetal"):
        """Log in with the local provider; set and return the session token.

        Tries ``/v1-public/login`` first and falls back to the deprecated v3-public action
        when the server does not know the v1 path (404/405). Returns ``(token, path_used)``.
        """
        v1 = {"type": "localProvider", "username": username, "password": password,
              "responseType": "json", "description": description}
        status, data = self.request("POST", LOGIN_V1, v1, auth=False, allow=(404, 405))
        path = LOGIN_V1
        if status in (404, 405):
            v3 = {"username": username, "password": password, "responseType": "json",
                  "description": description}
            status, data = self.request("POST", LOGIN_V3, v3, auth=False)
            path = LOGIN_V3
        token = (data or {}).get("token") if isinstance(data, dict) else None
        if not token:
            raise RancherError("login at %s answered %s without a token" % (path, status), status=status)
        self.token = token
        return token, path

    def logout(self):
        """End the login session: ``POST /v3/tokens?action=logout`` deletes the session token
        (rancher/rancher v2.12.3 pkg/auth/tokens/api.go:37-39,63-67, manager.go:368-427; still
        served in v2.13.0). Best effort (a session token expires on its own); return True if done."""
        try:
            status, _ = self.request("POST", V3_TOKENS + "?action=logout", ok=(200, 204), allow=(401, 404, 410))
            return status in (200, 204)
        except RancherError:
            return False
        finally:
            self.token = None

    def change_password(self, current, new):
        """Change the logged-in user's password: ``POST /v3/users?action=changepassword``
        ``{"currentPassword", "newPassword"}`` answers 200 with no body, 422 InvalidBodyContent when
        the current password is wrong or the new one too short (< 12), the username, or the current
        one (rancher/rancher v2.12.3 pkg/auth/api/user/user_actions.go:30,69-118,195-208; v2.13.0
        still serves it). Not retried after an ambiguous answer: the caller logs in again instead."""
        self.request("POST", "/v3/users?action=changepassword",
                     {"currentPassword": current, "newPassword": new}, ok=(200, 201, 204))

    def token_valid(self, token=None):
        """True when ``token`` (default: the client's) authenticates; False on 401/403."""
        saved = self.token
        if token is not None:
            self.token = token
        try:
            status, _ = self.request("GET", "/v3/users?me=true", allow=(401, 403))
            return status == 200
        finally:
            self.token = saved

    # -------------------------------------------------------------- settings
    def get_setting(self, name):
        _, data = self.request("GET", "/v3/settings/%s" % name)
        return (data or {}).get("value")

    def ensure_setting(self, name, value, check_mode=False):
        """Set a global setting when it differs. Return True when it changed (or would)."""
        if self.get_setting(name) == value:
            return False
        if not check_mode:
            self.request("PUT", "/v3/settings/%s" % name, {"name": name, "value": value})
        return True

    # ---------------------------------------------------------------- tokens
    def create_api_token(self, description, ttl_ms=0, api="auto"):
        """Create an API token for the logged-in user. Return ``{"token", "name", "api"}``.

        ``api``: ``ext`` (Rancher >= 2.12), ``v3``, or ``auto`` (ext, else v3 when the ext
        endpoint is unknown to the server). The token is checked before it is returned; a token
        that cannot be used is deleted again, so a failure leaves none behind.
        """
        made = None
        if api in ("auto", "ext"):
            made = self._create_ext_token(description, ttl_ms, fallback=api == "auto")
        if made is None:
            _, data = self.request("POST", V3_TOKENS,
                                   {"type": "token", "description": description, "ttl": int(ttl_ms or 0)})
            data = data if isinstance(data, dict) else {}
            made = {"token": data.get("token"), "name": data.get("name") or data.get("id"), "api": "v3"}
        self._check_new_token(made)
        return made

    def _create_ext_token(self, description, ttl_ms, fallback):
        """POST an ext token; ``None`` when the server has no ext Token API and ``fallback`` is set."""
        spec = {"description": description}
        if ttl_ms:
            spec["ttl"] = int(ttl_ms)
        create_id = secrets.token_hex(8)
        try:
            status, data = self.request(
                "POST", EXT_TOKENS,
                {"apiVersion": "ext.cattle.io/v1", "kind": "Token",
                 "metadata": {"labels": {CREATE_ID_LABEL: create_id}}, "spec": spec},
                allow=(404, 405) if fallback else ())
        except RancherError as exc:
            if exc.status is None or exc.status >= 500:  # it may have been created all the same
                self._delete_ext_tokens_labelled(create_id)
            raise
        if status in (404, 405):
            return None
        data = data if isinstance(data, dict) else {}
        name = (data.get("metadata") or {}).get("name")
        token_status = data.get("status") or {}
        bearer = token_status.get("bearerToken")  # Rancher >= 2.13
        if not bearer and name and token_status.get("value"):
            bearer = "ext/%s:%s" % (name, token_status["value"])  # the form 2.12 authenticates
        return {"token": bearer, "name": name, "api": "ext"}

    def _check_new_token(self, made):
        """Raise (after deleting the new token) unless it authenticates."""
        if not made["token"]:
            problem = "came without a usable value"
        else:
            try:
                problem = None if self.token_valid(made["token"]) else "does not authenticate"
            except RancherError as exc:
                problem = "could not be checked (%s)" % exc
        if problem is None:
            return
        outcome = "deleted it"
        if made["name"]:
            try:
                self.delete_api_token(made["name"], made["api"])
            except RancherError as exc:
                outcome = "could not delete it: %s" % exc
        else:
            outcome = "it has no name to delete it by"
        raise RancherError("the new %s token %s %s; %s" % (made["api"], made["name"] or "", problem, outcome))

    def delete_api_token(self, name, api):
        """Delete an API token by name (``api``: ext or v3); a missing one is not an error."""
        path = "%s/%s" % (EXT_TOKENS if api == "ext" else V3_TOKENS, name)
        self.request("DELETE", path, ok=(200, 202, 204), allow=(404,))

    def _delete_ext_tokens_labelled(self, create_id):
        try:
            _, data = self.request("GET", "%s?labelSelector=%s%%3D%s" % (EXT_TOKENS, CREATE_ID_LABEL, create_id))
            for item in (data or {}).get("items") or []:
                self.delete_api_token(item["metadata"]["name"], "ext")
        except (RancherError, KeyError, TypeError, AttributeError):
            pass  # best effort: the original error is the one to report

    # -------------------------------------------------------------- clusters
    def get_provisioning_cluster(self, namespace, name):
        status, data = self.request("GET", "%s/%s/%s" % (PROVISIONING_CLUSTERS, namespace, name),
                                    allow=(404,))
        return None if status == 404 else data

    def create_imported_cluster(self, namespace, name, labels=None, description=None):
        """Create a provisioning.cattle.io/v1 Cluster without rkeConfig (= an imported cluster).

        Return ``(created, object)``; a 409 (already exists) is not an error.
        """
        metadata = {"namespace": namespace, "name": name}
        if labels:
            metadata["labels"] = dict(labels)
        if description:
            metadata["annotations"] = {"field.cattle.io/description": description}
        # idempotent by name: a retried POST that had succeeded answers 409, handled below
        status, data = self.request("POST", PROVISIONING_CLUSTERS,
                                    {"type": "provisioning.cattle.io.cluster",
                                     "metadata": metadata, "spec": {}}, allow=(409,), idempotent=True)
        if status == 409:
            return False, self.get_provisioning_cluster(namespace, name)
        return True, data

    def wait_cluster_id(self, namespace, name, timeout=120, interval=2.0):
        """Wait until the provisioning cluster has ``status.clusterName``; return it."""
        deadline = self._clock() + timeout
        while True:
            obj = self.get_provisioning_cluster(namespace, name)
            if obj is None:
                raise RancherError("cluster %s/%s disappeared" % (namespace, name), status=404)
            cluster_id = (obj.get("status") or {}).get("clusterName")
            if cluster_id:
                return cluster_id
            if self._clock() >= deadline:
                raise RancherError("cluster %s/%s has no status.clusterName after %ss"
                                   % (namespace, name, timeout))
            self._sleep(interval)

    def registration_token(self, cluster_id, timeout=120, interval=2.0, create=True):
        """Return the cluster's registration token (a dict with ``manifestUrl``).

        Creates one when the cluster has none (Rancher usually creates ``default-token``
        itself) and waits until its ``manifestUrl`` is filled in.
        """
        deadline = self._clock() + timeout
        created = False
        while True:
            _, data = self.request("GET", "%s?clusterId=%s" % (REGISTRATION_TOKENS, cluster_id))
            items = [t for t in (data or {}).get("data", []) if t.get("clusterId", cluster_id) == cluster_id]
            ready = [t for t in items if t.get("manifestUrl")]
            if ready:
                # prefer Rancher's own default token, then the newest
                ready.sort(key=lambda t: (t.get("name") != "default-token", t.get("created", "")))
                return ready[0]
            if not items and create and not created:
                self.request("POST", REGISTRATION_TOKENS,
                             {"type": "clusterRegistrationToken", "clusterId": cluster_id})
                created = True
                continue
            if self._clock() >= deadline:
                raise RancherError("no registration manifest for cluster %s after %ss" % (cluster_id, timeout))
            self._sleep(interval)

    def cluster_state(self, cluster_id):
        _, data = self.request("GET", "/v3/clusters/%s" % cluster_id)
        return (data or {}).get("state")

    def wait_cluster_active(self, cluster_id, timeout=900, interval=5.0):
        deadline = self._clock() + timeout
        state = None
        while True:
            state = self.cluster_state(cluster_id)
            if state == "active":
                return state
            if self._clock() >= deadline:
                raise RancherError("cluster %s is %r, not active, after %ss" % (cluster_id, state, timeout))
            self._sleep(interval)


def _refused(exc):
    """True for a connection that was refused (nothing was sent, so any request may be retried)."""
    return isinstance(exc, ConnectionRefusedError) or isinstance(getattr(exc, "reason", None), ConnectionRefusedError)


def _decode(raw):
    if not raw:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _message(data, raw):
    if isinstance(data, dict):
        return data.get("message") or data.get("code") or json.dumps(data)[:200]
    text = data if isinstance(data, str) else (raw or b"").decode("utf-8", "replace")
    return text[:200]


# ---------------------------------------------------------------------- flows used by the modules
def ensure_api_token(client, username, password, existing_token=None, server_url=None,
                     description="daskmetal automation", ttl_ms=0, token_api="auto", check_mode=False,
                     bootstrap_password=None):
    """Log in, set ``server-url``, and return a working API token.

    An ``existing_token`` that still authenticates is kept (idempotence: one token per
    controller, not one per run). A login session is logged out again, also when a step fails.
    With ``bootstrap_password``, ``password`` is the admin password to end up with: when it does
    not log in but the bootstrap password does, the password is changed to it (also when a token
    is kept, so the bootstrap password never stays the admin password).
    Returns a dict: ``token``, ``created``, ``server_url_changed``, ``login_path``, ``token_api``,
    ``password_changed``.
    """
    result = {"token": None, "created": False, "server_url_changed": False,
              "login_path": None, "token_api": None, "password_changed": False}
    keep = bool(existing_token) and client.token_valid(existing_token)
    session = not keep or (bootstrap_password and bootstrap_password != password)
    if session:
        result["login_path"], result["password_changed"] = _login_admin(
            client, username, password, bootstrap_password, check_mode)
    try:
        if keep:
            if session:
                client.logout()
            client.token = existing_token
            result.update(token=existing_token, token_api="existing")
        if server_url:
            result["server_url_changed"] = client.ensure_setting("server-url", server_url, check_mode=check_mode)
        if not keep:
            if check_mode:
                result["created"] = True
            else:
                made = client.create_api_token(description, ttl_ms=ttl_ms, api=token_api)
                result.update(token=made["token"], created=True, token_api=made["api"])
    finally:
        if not keep:  # the session token was only needed for the steps above
            client.logout()
            client.token = result["token"]
    return result


def _login_admin(client, username, password, bootstrap_password, check_mode):
    """Log in with ``password``; failing that, with ``bootstrap_password`` and change it to ``password``.

    Returns ``(login_path, password_changed)``; the client is left logged in.
    """
    try:
        return client.login(username, password, description="daskmetal login")[1], False
    except RancherAuthError:
        if not bootstrap_password or bootstrap_password == password:
            raise
    try:
        path = client.login(username, bootstrap_password, description="daskmetal login")[1]
    except RancherAuthError as exc:
        raise RancherAuthError("neither the admin password nor the bootstrap password logs in as %s (%s)"
                               % (username, exc), status=exc.status, url=exc.url)
    if not check_mode:
        try:
            client.change_password(bootstrap_password, password)
        except RancherError as exc:
            client.logout()
            raise RancherError("logged in with the bootstrap password but could not set the admin password "
                               "(Rancher needs at least 12 characters, not the username): %s" % exc,
                               status=exc.status, url=exc.url)
    return path, True


def ensure_imported_cluster(client, name, namespace="fleet-default", labels=None, description=None,
                            check_mode=False, timeout=120, interval=2.0):
    """Make sure an imported cluster ``name`` exists; return its id and registration manifest URL.

    Returns a dict: ``changed``, ``cluster_id`` (management id, c-m-...), ``manifest_url``,
    ``state`` (management cluster state), ``registration_command``. An existing cluster is left
    as it is (labels are not reconciled).
    """
    obj = client.get_provisioning_cluster(namespace, name)
    changed = False
    if obj is None:
        if check_mode:
            return {"changed": True, "cluster_id": None, "manifest_url": None, "state": None,
                    "registration_command": None}
        changed, obj = client.create_imported_cluster(namespace, name, labels=labels, description=description)
    if ((obj or {}).get("spec") or {}).get("rkeConfig") is not None:
        raise RancherError("cluster %s/%s exists but is Rancher-provisioned (spec.rkeConfig), "
                           "not an imported cluster; choose another rancher_cluster name" % (namespace, name))
    cluster_id = client.wait_cluster_id(namespace, name, timeout=timeout, interval=interval)
    if check_mode:  # look, do not create or wait
        try:
            token = client.registration_token(cluster_id, timeout=0, interval=interval, create=False)
        except RancherError:
            token = {}
    else:
        token = client.registration_token(cluster_id, timeout=timeout, interval=interval)
    return {"changed": changed, "cluster_id": cluster_id, "manifest_url": token.get("manifestUrl"),
            "state": client.cluster_state(cluster_id), "registration_command": token.get("command")}
