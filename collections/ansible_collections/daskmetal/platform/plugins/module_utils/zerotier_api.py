# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""One ZeroTier API client, two back ends.

* ``central``: ZeroTier Central, https://api.zerotier.com/api/v1, header ``Authorization: token <token>``.
  Network settings live in a ``config`` object (name included); a member's ``name``/``description``
  are top level and its settings in ``config`` (docs.zerotier.com/openapi/central/v1.json).
* ``controller``: the controller built into zerotier-one, http://127.0.0.1:9993/controller, header
  ``X-ZT1-Auth: <authtoken.secret>``; flat objects, strict JSON types
  (ZeroTierOne controller/EmbeddedNetworkController.cpp, controller/README.md).

Callers see one flat representation with the API's own field names:
network ``{id, name, private, mtu, multicastLimit, enableBroadcast, routes, ipAssignmentPools, v4AssignMode}``,
member ``{id, networkId, name, description, authorized, activeBridge, ipAssignments, noAutoAssignIps}``.

HTTP goes through a small transport so tests can swap it; the default one uses Ansible's
``open_url``. Retries with exponential backoff on 429, 5xx and timeouts (Retry-After honoured);
401/403/404 give errors that say what to check. The token never appears in messages.

Central is throttled client side: "Paid users are limited to 100 requests per second. Free users are limited to
20 requests per second" (docs.zerotier.com/central/v1, "Rate Limiting"). Every module run is its own process and
up to ``forks`` of them call Central at once, so the token bucket (``TokenBucket``) keeps its state in a file
locked with flock, shared by every process of the controller that uses the same URL and token. The default rate
(15 requests/s, burst 5) admits at most burst + rate = 20 requests in any one-second window, the free limit.
A 429 pauses the shared bucket for Retry-After seconds (RFC 6585 section 4, RFC 9110 section 10.2.3), so the
other processes wait too instead of spending their retries.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import hashlib
import ipaddress
import json
import os
import re
import socket
import tempfile
import threading
import time
from contextlib import contextmanager

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: one bucket per process
    fcntl = None

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

CENTRAL_URL = "https://api.zerotier.com/api/v1"
CONTROLLER_URL = "http://127.0.0.1:9993"
RETRY_STATUS = (429, 500, 502, 503, 504)

NETWORK_FIELDS = ("name", "private", "mtu", "multicastLimit", "enableBroadcast", "routes", "ipAssignmentPools", "v4AssignMode")
MEMBER_CONFIG_FIELDS = ("authorized", "activeBridge", "ipAssignments", "noAutoAssignIps")

_NWID_RE = re.compile(r"^[0-9a-f]{16}$")
_NODE_RE = re.compile(r"^[0-9a-f]{10}$")

# Central's free limit is 20 requests/s (docs.zerotier.com/central/v1): burst + rate <= 20 in any second.
CENTRAL_RATE = 15.0
CENTRAL_BURST = 5
MAX_PAUSE = 300.0  # the longest a 429 pauses the shared bucket (ZeroTierClient caps Retry-After lower)


class ZeroTierApiError(Exception):
    def __init__(self, message, status=None):
        super(ZeroTierApiError, self).__init__(message)
        self.status = status


class TransportError(Exception):
    """No HTTP answer (timeout, refused, DNS). ``timeout`` tells which; ``sent`` is False only when the request
    cannot have reached the server (connection refused, name not resolved), so even a POST may be repeated."""

    def __init__(self, message, timeout=False, sent=True):
        super(TransportError, self).__init__(message)
        self.timeout = timeout
        self.sent = sent


def _not_sent(reason):
    return isinstance(reason, (ConnectionRefusedError, socket.gaierror))


class AnsibleTransport(object):
    """HTTP through ansible.module_utils.urls.open_url. request() -> (status, headers, body bytes)."""

    def __init__(self, validate_certs=True, ca_path=None):
        self.validate_certs = validate_certs
        self.ca_path = ca_path

    def request(self, method, url, headers, body, timeout):
        kwargs = dict(method=method, headers=headers, data=body, timeout=timeout,
                      validate_certs=self.validate_certs, follow_redirects="safe")
        if self.ca_path:
            kwargs["ca_path"] = self.ca_path
        try:
            resp = open_url(url, **kwargs)
            return resp.getcode(), dict(resp.headers.items()), resp.read()
        except HTTPError as exc:
            try:
                data = exc.read()
            except Exception:  # pragma: no cover - body already consumed
                data = b""
            return exc.code, dict(exc.headers.items()) if exc.headers else {}, data
        except socket.timeout as exc:
            raise TransportError("timed out after %ss" % timeout, timeout=True)
        except URLError as exc:
            reason = getattr(exc, "reason", exc)
            raise TransportError(str(reason), timeout=isinstance(reason, socket.timeout), sent=not _not_sent(reason))
        except (OSError, ValueError) as exc:
            raise TransportError(str(exc), timeout="timed out" in str(exc), sent=not _not_sent(exc))


class MemoryState(object):
    """Bucket state for one process (threads share it)."""

    def __init__(self):
        self._data = {}
        self._lock = threading.Lock()

    @contextmanager
    def locked(self):
        with self._lock:
            yield self._data


class FileState(object):
    """Bucket state in a JSON file under an exclusive flock, shared by every process that opens the same path."""

    def __init__(self, path):
        self.path = path

    @contextmanager
    def locked(self):
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = b""
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                raw += chunk
            try:
                data = json.loads(raw.decode("utf-8")) if raw else {}
            except ValueError:
                data = {}
            if not isinstance(data, dict):
                data = {}
            yield data
            payload = json.dumps(data).encode("utf-8")
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, payload)
        finally:
            os.close(fd)  # closing releases the lock


class TokenBucket(object):
    """At most ``burst`` requests at once and ``rate`` per second on average; ``acquire()`` sleeps until allowed.

    ``clock`` and ``sleep`` are injectable (tests drive a fake clock). ``state`` is a MemoryState or a FileState;
    with a FileState the clock must be one all processes share (time.monotonic is system-wide on Linux).
    """

    def __init__(self, rate, burst, clock=time.monotonic, sleep=time.sleep, state=None):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = float(rate)
        self.burst = float(burst)
        self.clock = clock
        self.sleep = sleep
        self.state = state if state is not None else MemoryState()
        self.waited = 0.0

    def _take(self):
        """Take a token and return 0, or return the seconds to wait before trying again."""
        now = self.clock()
        with self.state.locked() as st:
            # a new file, or one written before a reboot (time.monotonic restarts): start full
            if "stamp" not in st or now < st["stamp"] or st.get("blocked_until", 0.0) - now > MAX_PAUSE:
                st.clear()
                st.update(tokens=self.burst, stamp=now, blocked_until=0.0)
            st["tokens"] = min(self.burst, st["tokens"] + max(0.0, now - st["stamp"]) * self.rate)
            st["stamp"] = max(st["stamp"], now)
            if now < st["blocked_until"]:
                return st["blocked_until"] - now
            if st["tokens"] >= 1.0 - 1e-9:
                st["tokens"] = max(0.0, st["tokens"] - 1.0)
                return 0.0
            return (1.0 - st["tokens"]) / self.rate

    def acquire(self):
        while True:
            wait = self._take()
            if wait <= 0:
                return
            self.waited += wait
            self.sleep(wait)

    def pause(self, seconds):
        """The server said 429: nobody sharing this bucket sends anything for ``seconds``."""
        now = self.clock()
        with self.state.locked() as st:
            st.setdefault("stamp", now)
            st.setdefault("tokens", 0.0)
            st["blocked_until"] = max(st.get("blocked_until", 0.0), now + min(MAX_PAUSE, max(0.0, seconds)))
            st["tokens"] = 0.0


def shared_bucket(base_url, token, rate=CENTRAL_RATE, burst=CENTRAL_BURST, directory=None):
    """The bucket every process of this controller shares for one (URL, token): a flock'ed file in a 0700
    directory of the temp dir, named by a hash of both (the token itself is never written)."""
    if fcntl is None:  # pragma: no cover
        return TokenBucket(rate, burst)
    directory = directory or os.path.join(tempfile.gettempdir(), "daskmetal-zerotier-%d" % os.getuid())
    try:
        os.makedirs(directory, 0o700)
    except OSError:
        pass  # exists (another process made it) or cannot be made: checked below
    st = os.lstat(directory) if os.path.isdir(directory) else None
    if st is None or st.st_uid != os.getuid() or st.st_mode & 0o077:  # not ours alone: do not share through it
        return TokenBucket(rate, burst, clock=time.monotonic, sleep=time.sleep)
    digest = hashlib.sha256(("%s\n%s" % (base_url, token)).encode("utf-8")).hexdigest()[:24]
    return TokenBucket(rate, burst, clock=time.monotonic, sleep=time.sleep,
                       state=FileState(os.path.join(directory, "bucket-%s.json" % digest)))


def retry_after_seconds(value, now=None):
    """Retry-After is delta-seconds or an HTTP-date (RFC 9110 10.2.3); None when absent/garbled."""
    if value is None:
        return None
    value = str(value).strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0, int(when.timestamp() - now))


def _canon_routes(routes):
    out = []
    for r in routes or []:
        via = r.get("via")
        out.append({"target": str(r.get("target")), "via": None if via in (None, "") else str(via)})
    return sorted(out, key=lambda r: (r["target"], r["via"] or ""))


def _canon_pools(pools):
    out = [{"ipRangeStart": str(p.get("ipRangeStart")), "ipRangeEnd": str(p.get("ipRangeEnd"))} for p in pools or []]
    return sorted(out, key=lambda p: (p["ipRangeStart"], p["ipRangeEnd"]))


def canonical(field, value):
    """Comparable form of a field value (order-insensitive lists, normalised JSON types)."""
    if value is None:
        return None
    if field == "routes":
        return _canon_routes(value)
    if field == "ipAssignmentPools":
        return _canon_pools(value)
    if field == "ipAssignments":
        return sorted(str(v) for v in value)
    if field == "v4AssignMode":
        # the legacy string form: "zt" means {"zt": true}, anything else false (ZeroTierOne 1.14.1
        # controller/EmbeddedNetworkController.cpp:636-645)
        if isinstance(value, str):
            return {"zt": value == "zt"}
        return {"zt": bool((value or {}).get("zt", False)) if isinstance(value, dict) else False}
    if field in ("mtu", "multicastLimit"):
        return int(value)
    if field in ("private", "enableBroadcast", "authorized", "activeBridge", "noAutoAssignIps"):
        return bool(value)
    return value


def differences(current, wanted):
    """{field: (current, wanted)} for every wanted field (not None) that differs."""
    diff = {}
    for field, value in wanted.items():
        if value is None:
            continue
        have = canonical(field, (current or {}).get(field))
        want = canonical(field, value)
        if have != want:
            diff[field] = (have, want)
    return diff


def _ip_text(value):
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return str(value)


def stale_holders(members, planned):
    """The authorized members that hold a planned address without being the node it is planned for.

    members: flat members (ZeroTierClient.list_members); planned: [{host, node_id, address}] for the hosts of
    this run. The controller does not refuse a second member with the same static address: a POST of
    ipAssignments is stored as given (ZeroTierOne 1.14.1 controller/EmbeddedNetworkController.cpp:1187-1201),
    and the allocatedIps set (controller/DB.cpp:276-285) is read only by auto-assignment (:1922, :1980). A member that is itself planned
    in this run is left out: the run replaces its addresses with its own planned one. A de-authorized member
    gets no network config, so its addresses are not in use. Returns [{host, address, node_id, member_id,
    member_name}], ordered by host then member id."""
    planned_ids = set(p["node_id"] for p in planned)
    out = []
    for p in sorted(planned, key=lambda p: p["host"]):
        want = _ip_text(p["address"])
        for m in sorted(members, key=lambda m: m.get("id") or ""):
            if m.get("id") in planned_ids or not m.get("authorized"):
                continue
            if want in [_ip_text(ip) for ip in m.get("ipAssignments") or []]:
                out.append({"host": p["host"], "address": want, "node_id": p["node_id"],
                            "member_id": m.get("id"), "member_name": m.get("name")})
    return out


def check_network_id(nwid):
    if not isinstance(nwid, str) or not _NWID_RE.match(nwid):
        raise ZeroTierApiError("network id %r is not 16 lower-case hexadecimal digits" % (nwid,))


def check_node_id(node_id):
    if not isinstance(node_id, str) or not _NODE_RE.match(node_id):
        raise ZeroTierApiError("node id %r is not 10 lower-case hexadecimal digits" % (node_id,))


class ZeroTierClient(object):
    def __init__(self, backend, token, base_url=None, transport=None, timeout=30, retries=5,
                 backoff=1.0, max_backoff=30.0, sleep=time.sleep, rate_limiter=None):
        """rate_limiter: a TokenBucket every request waits for (None: unthrottled); client_from_module gives
        Central the shared bucket (shared_bucket)."""
        if backend not in ("central", "controller"):
            raise ZeroTierApiError("backend must be central or controller, got %r" % (backend,))
        if not token:
            raise ZeroTierApiError("no API token given" + (
                " (Central: create one under Account > API Access Tokens and pass it from a vault variable)"
                if backend == "central" else " (controller: the contents of /var/lib/zerotier-one/authtoken.secret)"))
        self.backend = backend
        self._token = token.strip()
        self.base_url = (base_url or (CENTRAL_URL if backend == "central" else CONTROLLER_URL)).rstrip("/")
        self.transport = transport or AnsibleTransport()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.rate_limiter = rate_limiter
        self.requests = 0
        self.throttled = 0  # 429 answers seen

    # --- HTTP -------------------------------------------------------------------------------
    @property
    def _label(self):
        return "ZeroTier Central" if self.backend == "central" else "the ZeroTier controller at %s" % self.base_url

    def _headers(self):
        h = {"Accept": "application/json", "Content-Type": "application/json"}
        if self.backend == "central":
            h["Authorization"] = "token %s" % self._token
        else:
            h["X-ZT1-Auth"] = self._token
        return h

    def call(self, method, path, payload=None, idempotent=True, allow_404=False):
        """JSON request with retries. Returns the decoded body, or None for an allowed 404."""
        url = self.base_url + path
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            retry_in = None
            if self.rate_limiter is not None:
                self.rate_limiter.acquire()
            try:
                status, headers, data = self.transport.request(method, url, self._headers(), body, self.timeout)
            except TransportError as exc:
                # a non-idempotent request that may have reached the server (timeout, reset after sending) may
                # have been applied: do not repeat it (a second POST can create a second network)
                if attempt > self.retries or ((exc.timeout or exc.sent) and not idempotent):
                    raise ZeroTierApiError("%s %s: no answer from %s after %d attempt(s): %s"
                                           % (method, path, self._label, attempt, exc))
                status, headers, data = None, {}, b""
            if status is not None and 200 <= status < 300:
                if not data:
                    return {}
                try:
                    return json.loads(data.decode("utf-8"))
                except ValueError:
                    raise ZeroTierApiError("%s %s: %s answered %d with a body that is not JSON" % (method, path, self._label, status), status)
            if status == 404 and allow_404:
                return None
            if status in (401, 403, 404):
                raise ZeroTierApiError(self._explain(status, method, path), status)
            if status is not None and status not in RETRY_STATUS:
                raise ZeroTierApiError("%s %s: %s answered %d: %s" % (method, path, self._label, status, _snippet(data)), status)
            if status is not None and (attempt > self.retries or (status != 429 and not idempotent)):
                raise ZeroTierApiError("%s %s: %s answered %d after %d attempt(s): %s"
                                       % (method, path, self._label, status, attempt, _snippet(data)), status)
            headers = {str(k).lower(): v for k, v in (headers or {}).items()}
            retry_in = retry_after_seconds(headers.get("retry-after"))
            if retry_in is None:
                retry_in = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
            retry_in = min(retry_in, max(self.max_backoff, 1) * 4)
            if status == 429:
                self.throttled += 1
                if self.rate_limiter is not None:  # everyone sharing the bucket waits; acquire() sleeps
                    self.rate_limiter.pause(retry_in)
                    continue
            self.sleep(retry_in)

    def _explain(self, status, method, path):
        if status == 401:
            if self.backend == "central":
                return ("%s %s: ZeroTier Central rejected the API token (401 Unauthorized); check that "
                        "vault_zerotier_api_token holds a current token from my.zerotier.com > Account" % (method, path))
            return ("%s %s: the controller rejected the auth token (401); it must be the contents of "
                    "/var/lib/zerotier-one/authtoken.secret on the controller host" % (method, path))
        if status == 403:
            return ("%s %s: %s refused access (403 Forbidden); the token's account cannot manage this network "
                    "(is the network owned by another account, or is the token read-only?)" % (method, path, self._label))
        return ("%s %s: not found on %s (404); check daskmetal_plan.zerotier.network_id (and, for the controller, "
                "that the network's first 10 digits are the controller's node id)" % (method, path, self._label))

    # --- objects ----------------------------------------------------------------------------
    def _net_path(self, nwid):
        check_network_id(nwid)
        return ("/network/%s" if self.backend == "central" else "/controller/network/%s") % nwid

    def _member_path(self, nwid, node_id):
        check_node_id(node_id)
        return self._net_path(nwid) + "/member/%s" % node_id

    @staticmethod
    def _flat_network(obj, backend):
        if obj is None:
            return None
        src = (obj.get("config") or {}) if backend == "central" else obj
        out = {"id": obj.get("id") or obj.get("nwid")}
        for field in NETWORK_FIELDS:
            out[field] = src.get(field)
        return out

    @staticmethod
    def _flat_member(obj, backend):
        if obj is None:
            return None
        if backend == "central":
            cfg = obj.get("config") or {}
            out = {"id": obj.get("nodeId") or cfg.get("address") or cfg.get("id"),
                   "networkId": obj.get("networkId"), "name": obj.get("name"), "description": obj.get("description")}
        else:
            cfg = obj
            out = {"id": obj.get("id") or obj.get("address"), "networkId": obj.get("nwid"),
                   "name": obj.get("name"), "description": None}
        for field in MEMBER_CONFIG_FIELDS:
            out[field] = cfg.get(field)
        return out

    def status(self):
        """Central: GET /status; controller: GET /controller ({controller, apiVersion, clock, databaseReady})."""
        return self.call("GET", "/status" if self.backend == "central" else "/controller")

    def node_id(self):
        """The controller's own node id (GET /status of the local service); controller backend only."""
        return self.call("GET", "/status").get("address")

    def list_networks(self):
        if self.backend == "central":
            return [n.get("id") for n in self.call("GET", "/network")]
        return list(self.call("GET", "/controller/network"))

    def get_network(self, nwid):
        return self._flat_network(self.call("GET", self._net_path(nwid), allow_404=True), self.backend)

    def _network_body(self, settings):
        settings = {k: v for k, v in settings.items() if v is not None and k in NETWORK_FIELDS}
        return {"config": settings} if self.backend == "central" else settings

    def update_network(self, nwid, settings):
        return self._flat_network(self.call("POST", self._net_path(nwid), self._network_body(settings)), self.backend)

    def create_network(self, settings, controller_id=None):
        """Create a network with a random id: controller POST /controller/network/<id>______, Central POST /network."""
        if self.backend == "central":
            path = "/network"
        else:
            controller_id = controller_id or self.node_id()
            check_node_id(controller_id)
            path = "/controller/network/%s______" % controller_id
        return self._flat_network(self.call("POST", path, self._network_body(settings), idempotent=False), self.backend)

    def get_member(self, nwid, node_id):
        return self._flat_member(self.call("GET", self._member_path(nwid, node_id), allow_404=True), self.backend)

    def update_member(self, nwid, node_id, settings):
        settings = {k: v for k, v in settings.items() if v is not None}
        if self.backend == "central":
            body = {k: settings[k] for k in ("name", "description") if k in settings}
            cfg = {k: settings[k] for k in MEMBER_CONFIG_FIELDS if k in settings}
            if cfg:
                body["config"] = cfg
        else:
            body = {k: settings[k] for k in ("name",) + MEMBER_CONFIG_FIELDS if k in settings}
        return self._flat_member(self.call("POST", self._member_path(nwid, node_id), body), self.backend)

    def delete_member(self, nwid, node_id):
        self.call("DELETE", self._member_path(nwid, node_id), allow_404=True)

    def list_members(self, nwid):
        """Every member of the network, flat, sorted by id; None when the network does not exist.

        Central: GET /network/{nwid}/member answers an array of Member objects (getNetworkMemberList,
        docs.zerotier.com/openapi/central/v1.json). Controller: GET /controller/network/{nwid}/member answers only
        {id: revision} (ZeroTierOne 1.14.1 controller/EmbeddedNetworkController.cpp:1063-1087), so this asks
        GET /unstable/controller/network/{nwid}/member, {"data": [member, ...], "meta": {...}} (:878, :1089-1122;
        added in 1.14.0), in one request. A controller older than 1.14.0 answers that route 404: then the id list
        and one GET per member (404 on the id list too: the network does not exist)."""
        check_network_id(nwid)
        if self.backend == "central":
            found = self.call("GET", "/network/%s/member" % nwid, allow_404=True)
            if found is None:
                return None
            objs = list(found)
        else:
            found = self.call("GET", "/unstable/controller/network/%s/member" % nwid, allow_404=True)
            if found is not None:
                objs = list((found or {}).get("data") or [])
            else:
                ids = self.call("GET", "/controller/network/%s/member" % nwid, allow_404=True)
                if ids is None:
                    return None
                objs = [self.call("GET", self._member_path(nwid, node), allow_404=True) for node in sorted(ids)]
        members = [self._flat_member(obj, self.backend) for obj in objs if obj]
        return sorted(members, key=lambda m: m.get("id") or "")

    def wait_for_member(self, nwid, node_id, timeout, interval=2.0, clock=time.monotonic):
        """Poll until the member exists (the node has asked the controller for its config)."""
        deadline = clock() + timeout
        while True:
            member = self.get_member(nwid, node_id)
            if member is not None:
                return member
            if clock() >= deadline:
                return None
            self.sleep(interval)


def _snippet(data):
    try:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    except Exception:  # pragma: no cover
        text = repr(data)
    text = " ".join(text.split())
    return (text[:200] + "...") if len(text) > 200 else (text or "(empty body)")


def read_token_file(path):
    with open(path) as fh:
        return fh.read().strip()


def controller_url(home="/var/lib/zerotier-one"):
    """The local controller's URL: the port zerotier-one wrote to <home>/zerotier-one.port (settings.primaryPort
    of local.conf can move it off 9993), which zerotier-cli reads too (ZeroTierOne 1.14.1 one.cpp:254-270);
    CONTROLLER_URL when the file is missing or not a port."""
    try:
        with open(os.path.join(home, "zerotier-one.port")) as fh:
            port = int(fh.read().strip())
    except (IOError, OSError, ValueError):
        return CONTROLLER_URL
    return "http://127.0.0.1:%d" % port if 0 < port <= 0xffff else CONTROLLER_URL


def client_from_module(module):
    """Build a client from the common module options (see doc fragment daskmetal.platform.zerotier)."""
    p = module.params
    token = p.get("api_token")
    if not token and p.get("api_token_file"):
        try:
            token = read_token_file(p["api_token_file"])
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot read api_token_file %s: %s" % (p["api_token_file"], exc))
    if not token and p["backend"] == "controller":
        try:
            token = read_token_file("/var/lib/zerotier-one/authtoken.secret")
        except (IOError, OSError) as exc:
            module.fail_json(msg="no api_token given and /var/lib/zerotier-one/authtoken.secret unreadable: %s" % exc)
    try:
        base_url = p.get("api_url") or (controller_url() if p["backend"] == "controller" else None)
        client = ZeroTierClient(p["backend"], token, base_url=base_url,
                                transport=AnsibleTransport(validate_certs=p.get("validate_certs", True)),
                                timeout=p.get("timeout", 30), retries=p.get("retries", 5))
        if client.backend == "central":  # the self-hosted controller has no rate limit
            client.rate_limiter = shared_bucket(client.base_url, client._token)
        return client
    except ZeroTierApiError as exc:
        module.fail_json(msg=str(exc))


COMMON_ARGS = dict(
    backend=dict(type="str", choices=["central", "controller"], default="central"),
    api_url=dict(type="str"),
    api_token=dict(type="str", no_log=True),
    api_token_file=dict(type="path"),
    validate_certs=dict(type="bool", default=True),
    timeout=dict(type="int", default=30),
    retries=dict(type="int", default=5),
)
