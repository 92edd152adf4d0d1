"""HTTP test double of the Scaleway Instance API (for tests only).

    python -m tests.doubles.scaleway_api [--port 0] [--token T] [--certs DIR]

community.general's scaleway_* modules and its scaleway inventory plugin ignore api_url: they build
https://api.scaleway.com/instance/v1/zones/<zone>/... from a fixed table (module_utils/scaleway.py,
SCALEWAY_LOCATION). So the double is reached the way a client reaches any HTTPS host through a proxy:
it listens on 127.0.0.1 as an HTTP proxy, answers CONNECT api.scaleway.com:443, terminates TLS with a
certificate for api.scaleway.com signed by a throw-away CA, and serves the API inside the tunnel. Point a
run at it with https_proxy=http://127.0.0.1:<port> and SSL_CERT_FILE=<ca.pem> (certificates stay
verified). Plain HTTP requests to the listener (no CONNECT) are served too, for tools that take a base URL.

Routes (https://www.scaleway.com/en/developers/api/instance/), all under /instance/v1/zones/{zone}:
  GET  /images?name=&arch=&public=        {"images": [...]}  (name: substring match)
  GET  /images/{id}                       {"image": {...}}   404 {"type": "not_found", "resource": ...} when absent
  GET  /ips                               {"ips": []}
  GET  /servers?name=&tags=&per_page=&page=   {"servers": [...]}  (name: substring match, as documented)
  POST /servers                           201 {"server": {...}}  created "stopped"
  GET  /servers/{id}                      {"server": {...}}
  PATCH /servers/{id}                     {"server": {...}}
  POST /servers/{id}/action {"action": poweron|poweroff|reboot|terminate}   202 {"task": {...}}
  DELETE /servers/{id}                    204 (400 unless stopped)
  GET  /servers/{id}/user_data            {"user_data": ["cloud-init", ...]}
  GET|PATCH|DELETE /servers/{id}/user_data/{key}   raw text/plain content; PATCH takes text/plain
  GET  /security_groups?name=&project=    {"security_groups": [...]}   POST /security_groups  201 {"security_group"}
  GET|PATCH|DELETE /security_groups/{id}  (DELETE refused while a server uses the group)
  GET|POST|PUT /security_groups/{id}/rules   PUT replaces every rule (SetSecurityGroupRules)
  A server joins the group named at creation (404 if it does not exist) or its project's default group
  (inbound accept); PATCH /servers/{id} {"security_group": {"id"}} moves it.
  Each server gets an sbs_volume root volume; deleting (or terminating) the server only detaches it:
  GET|DELETE /block/v1alpha1/zones/{zone}/volumes/{id}   (DELETE refused while in_use)
Header X-Auth-Token is required (401 {"type": "denied_authentication"} otherwise).
A started server goes "starting" -> "running" on the next read, like the real transition.
Test-only: GET /_double/state (everything, including user data and the request log).

Upstream followed: scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go (paths, query parameters, request and
response fields), server_utils.go (user data by key), scw/errors.go (error "type" values) and the recorded real
responses in api/instance/v1/testdata/*.cassette.yaml (status codes, bodies).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import ipaddress
import json
import select
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

API_HOST = "api.scaleway.com"
# scaleway/scaleway-sdk-go@v1.0.0-beta.37 scw/locality.go: Zone fr-par-1..3, nl-ams-1..3, pl-waw-1..3.
ZONES = ("fr-par-1", "fr-par-2", "fr-par-3", "nl-ams-1", "nl-ams-2", "nl-ams-3", "pl-waw-1", "pl-waw-2", "pl-waw-3")
PREFIX = "/instance/v1/zones/"
BLOCK_PREFIX = "/block/v1alpha1/zones/"


def make_certs(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for api.scaleway.com; returns (ca.pem, server.pem, server.key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = _dt.datetime.now(_dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "daskmetal test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - _dt.timedelta(minutes=5))
          .not_valid_after(now + _dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, API_HOST)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - _dt.timedelta(minutes=5)).not_valid_after(now + _dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(API_HOST)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_pem, cert_pem, key_pem = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    key_pem.chmod(0o600)
    return ca_pem, cert_pem, key_pem


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat()


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, **extra):
        super().__init__(message)
        self.status, self.kind, self.message, self.extra = status, kind, message, extra


def not_found(resource: str, resource_id: str) -> ApiError:
    # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/testdata/*.cassette.yaml: a missing Instance resource answers 404 {"type": "not_found", "message": "resource is
    # not found", "resource": "instance_<kind>", "resource_id": <id>} (recorded for instance_volume/_snapshot;
    # instance_server/_image by analogy). scw/errors.go parses "not_found" into a ResourceNotFoundError.
    return ApiError(404, "not_found", "resource is not found", resource=resource, resource_id=resource_id)


def server_project(data: dict, organization: str) -> str:
    return data.get("project") or data.get("organization") or organization


def _rule_range(value: str) -> str:
    # scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/testdata/test-api-update-security-group-rule.cassette.yaml:
    # a rule sent with "ip_range": "8.8.8.8/32" is answered with "ip_range": "8.8.8.8" (a single address loses
    # its /32); a wider range keeps its prefix length.
    net = ipaddress.ip_network(value, strict=False)
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)


class ScalewayDouble:
    def __init__(self, token: str = "test-scw-token", organization: str | None = None, certs_dir: Path | None = None,
                 port: int = 0):
        self.token = token
        self.organization = organization or str(uuid.uuid4())
        self.images: dict[str, dict] = {}
        self.servers: dict[str, dict] = {}
        self.user_data: dict[str, dict[str, str]] = {}
        self.security_groups: dict[str, dict] = {}
        self.volumes: dict[str, dict] = {}          # Block Storage (SBS) volumes
        self.rules: dict[str, list[dict]] = {}
        self.log: list[dict] = []
        self.lock = threading.RLock()
        self._next_ip = int(ipaddress.ip_address("51.15.0.10"))
        self.certs_dir = certs_dir
        self.ssl_context = None
        if certs_dir is not None:
            self.ca_pem, cert, key = make_certs(certs_dir)
            self.ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ssl_context.load_cert_chain(cert, key)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self._thread = None

    # -- lifecycle ---------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ScalewayDouble":
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- test set-up -------------------------------------------------------------------------------------
    def add_image(self, zone: str, name: str, arch: str = "x86_64", public: bool = True, image_id: str | None = None) -> str:
        image_id = image_id or str(uuid.uuid4())
        with self.lock:
            self.images[image_id] = {"id": image_id, "name": name, "arch": arch, "public": public, "zone": zone,
                                     "state": "available", "creation_date": _now(), "modification_date": _now(),
                                     "organization": self.organization, "project": self.organization,
                                     "root_volume": {"id": str(uuid.uuid4()), "name": name, "volume_type": "sbs_snapshot"}}
        return image_id

    def state(self) -> dict:
        with self.lock:
            return json.loads(json.dumps({"servers": self.servers, "user_data": self.user_data, "images": self.images,
                                          "security_groups": self.security_groups, "rules": self.rules,
                                          "volumes": self.volumes,
                                          "log": self.log}))

    # -- API -----------------------------------------------------------------------------------------------
    def _server_view(self, server: dict) -> dict:
        if server["state"] == "starting" and server.get("_reads", 0) >= 1:
            server["state"] = "running"
        server["_reads"] = server.get("_reads", 0) + 1
        return {k: v for k, v in server.items() if not k.startswith("_")}

    def handle(self, method: str, path: str, query: dict, headers, body: bytes) -> tuple[int, object, str]:
        """Returns (status, payload, content type); payload is JSON-able or str for text/plain."""
        if path == "/_double/state":
            return 200, self.state(), "application/json"
        # scaleway/scaleway-sdk-go@v1.0.0-beta.37 scw/config.go: the secret key is sent in the X-Auth-Token header;
        # scw/errors.go knows the error type "denied_authentication".
        if headers.get("X-Auth-Token") != self.token:
            raise ApiError(401, "denied_authentication", "invalid token")
        if path.startswith(BLOCK_PREFIX):
            zone, *rest = path[len(BLOCK_PREFIX):].strip("/").split("/")
            with self.lock:
                self.log.append({"method": method, "path": path, "query": query})
                return self.block_route(method, zone, rest)
        if not path.startswith(PREFIX):
            raise ApiError(404, "not_found", f"no route {path}")
        parts = path[len(PREFIX):].strip("/").split("/")
        zone, parts = parts[0], parts[1:]
        if zone not in ZONES:
            raise ApiError(400, "invalid_arguments", f"unknown zone {zone}")
        with self.lock:
            self.log.append({"method": method, "path": path, "query": query})
            return self._route(method, zone, parts, query, headers, body)

    def _route(self, method, zone, parts, query, headers, body):
        q = {k: v[-1] for k, v in query.items()}
        # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go ListImages: GET .../images, query per_page, page, name, public, arch, tags;
        # ListImagesResponse {"images", "total_count"}; Image fields id, name, arch, public, state, zone, project,
        # organization, root_volume, creation_date, modification_date.
        if parts == ["images"] and method == "GET":
            images = [i for i in self.images.values() if i["zone"] == zone
                      and q.get("name", "") in i["name"]
                      and (not q.get("arch") or i["arch"] == q["arch"])
                      and (not q.get("public") or str(i["public"]).lower() == q["public"].lower())]
            return 200, {"images": images, "total_count": len(images)}, "application/json"
        # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go GetImage: GET .../images/{image_id} -> GetImageResponse {"image"}.
        if len(parts) == 2 and parts[0] == "images" and method == "GET":
            image = self.images.get(parts[1])
            if not image or image["zone"] != zone:
                raise not_found("instance_image", parts[1])
            return 200, {"image": image}, "application/json"
        # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go ListIPs: GET .../ips -> ListIPsResponse {"ips", "total_count"}.
        if parts == ["ips"] and method == "GET":
            return 200, {"ips": [], "total_count": 0}, "application/json"
        # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go ListServers: GET .../servers, query per_page, page, name, tags (comma-joined) ->
        # ListServersResponse {"servers", "total_count"}.
        if parts and parts[0] == "security_groups":
            return self._security_group_route(method, zone, parts[1:], q, body)
        if parts == ["servers"] and method == "GET":
            servers = [s for s in self.servers.values() if s["zone"] == zone and q.get("name", "") in s["name"]]
            if q.get("tags"):
                wanted = q["tags"].split(",")
                servers = [s for s in servers if all(t in s["tags"] for t in wanted)]
            per_page, page = int(q.get("per_page", 50)), int(q.get("page", 1))
            total = len(servers)
            servers = servers[(page - 1) * per_page: page * per_page]
            return 200, {"servers": [self._server_view(s) for s in servers], "total_count": total}, "application/json"
        # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go createServer: POST .../servers -> CreateServerResponse {"server"}; scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/testdata/*.cassette.yaml:
        # "POST /servers" answers 201.
        if parts == ["servers"] and method == "POST":
            return 201, {"server": self._create(zone, json.loads(body or b"{}"))}, "application/json"
        if len(parts) >= 2 and parts[0] == "servers":
            server = self.servers.get(parts[1])
            if not server or server["zone"] != zone:
                raise not_found("instance_server", parts[1])
            return self._server_route(method, server, parts[2:], headers, body)
        raise ApiError(404, "not_found", "no such route")

    def _create(self, zone, data):
        # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go CreateServerRequest: name, dynamic_ip_required, commercial_type, image, volumes, enable_ipv6,
        # public_ip(s), organization | project (one of), tags ([]string), security_group. A recorded 400 (cassettes)
        # is {"type": "invalid_arguments", "message": "invalid argument(s)", "details": [...]} for a missing
        # commercial_type / image.
        for field in ("commercial_type", "image"):
            if not data.get(field):
                raise ApiError(400, "invalid_arguments", f"{field} is required")
        if bool(data.get("project")) == bool(data.get("organization")):
            raise ApiError(400, "invalid_arguments", "exactly one of project and organization is required")
        image = self.images.get(data["image"])
        if not image or image["zone"] != zone:
            raise not_found("instance_image", data["image"])
        if not isinstance(data.get("tags", []), list):
            raise ApiError(400, "invalid_arguments", "tags must be a list")
        server_id = str(uuid.uuid4())
        public_ip = None
        if data.get("dynamic_ip_required"):
            address = str(ipaddress.ip_address(self._next_ip))
            self._next_ip += 1
            public_ip = {"id": str(uuid.uuid4()), "address": address, "dynamic": True, "family": "inet"}
        # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go Server: id, name, organization, project, tags, commercial_type, creation_date,
        # dynamic_ip_required, enable_ipv6, hostname, image, private_ip, public_ip, public_ips, modification_date,
        # state (ServerState "stopped"/"starting"/"running"), location (ServerLocation zone_id ...), ipv6, volumes,
        # security_group, arch, zone.
        server = {
            "id": server_id, "name": data.get("name") or f"scw-{server_id[:6]}", "hostname": data.get("name") or server_id,
            "commercial_type": data["commercial_type"], "arch": image["arch"], "state": "stopped",
            "image": {"id": image["id"], "name": image["name"]}, "tags": data.get("tags", []),
            "organization": data.get("organization") or self.organization, "project": data.get("project") or self.organization,
            "dynamic_ip_required": bool(data.get("dynamic_ip_required")), "enable_ipv6": bool(data.get("enable_ipv6")),
            "ipv6": None, "public_ip": public_ip, "public_ips": [public_ip] if public_ip else [], "private_ip": None,
            "security_group": self._group_summary(self._group_for(zone, server_project(data, self.organization),
                                                                  data.get("security_group"))),
            # scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/testdata/*.cassette.yaml: location.zone_id is the zone
            # name itself ("zone_id": "fr-par-1", "platform_id": ...).
            "location": {"zone_id": zone},
            "zone": zone, "creation_date": _now(), "modification_date": _now(),
            # testdata/test-instance-helpers-block-volume.cassette.yaml: a server's Block Storage volume is
            # "volumes": {"0": {"boot": false, "volume_type": "sbs_volume", "id": ..., "zone": ...}} (VolumeServer);
            # POP2 images have an sbs_snapshot root volume (Image.root_volume), so the server gets an sbs_volume.
            "volumes": {"0": {"boot": False, "volume_type": "sbs_volume", "id": self._new_volume(zone, server_id, data), "zone": zone}},
        }
        self.servers[server_id] = server
        self.user_data[server_id] = {}
        return self._server_view(server)

    # -- security groups -----------------------------------------------------------------------------------
    # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go SecurityGroup: id, name, description,
    # enable_default_security, inbound_default_policy, outbound_default_policy (SecurityGroupPolicy accept | drop),
    # organization, project, tags, organization_default, project_default, creation_date, modification_date,
    # servers ([]ServerSummary {id, name}), stateful, state (SecurityGroupState available | syncing |
    # syncing_error), zone. SecurityGroupRule: id, protocol (TCP | UDP | ICMP | ANY), direction (inbound |
    # outbound), action (accept | drop), ip_range, dest_port_from, dest_port_to, position, editable, zone.
    POLICIES = ("accept", "drop")
    PROTOCOLS = ("TCP", "UDP", "ICMP", "ANY")
    DIRECTIONS = ("inbound", "outbound")

    def _new_group(self, zone, project, data, project_default=False):
        group_id = str(uuid.uuid4())
        group = {"id": group_id, "name": data.get("name") or f"sg-{group_id[:6]}", "description": data.get("description", ""),
                 "enable_default_security": True, "organization": self.organization, "project": project,
                 "tags": data.get("tags") or [], "organization_default": False,
                 "project_default": bool(data.get("project_default", project_default)),
                 "stateful": bool(data.get("stateful", False)),
                 "inbound_default_policy": data.get("inbound_default_policy") or "accept",
                 "outbound_default_policy": data.get("outbound_default_policy") or "accept",
                 "state": "available", "zone": zone, "creation_date": _now(), "modification_date": _now()}
        for key in ("inbound_default_policy", "outbound_default_policy"):
            if group[key] not in self.POLICIES:
                raise ApiError(400, "invalid_arguments", f"{key} must be accept or drop")
        self.security_groups[group_id] = group
        self.rules[group_id] = []
        return group

    def _group_for(self, zone, project, group_id):
        """The group a new server joins: the one named (it must exist in the zone), else the project default
        (a project always has one; created here on first use, inbound policy accept)."""
        if group_id:
            group = self.security_groups.get(group_id)
            if not group or group["zone"] != zone:
                raise not_found("instance_security_group", group_id)
            return group
        for group in self.security_groups.values():
            if group["zone"] == zone and group["project"] == project and group["project_default"]:
                return group
        return self._new_group(zone, project, {"name": "Default security group"}, project_default=True)

    @staticmethod
    def _group_summary(group):
        # SecurityGroupSummary {id, name} (instance_sdk.go) is what a Server carries.
        return {"id": group["id"], "name": group["name"]}

    def _group_view(self, group):
        servers = [{"id": s["id"], "name": s["name"]} for s in self.servers.values() if s["security_group"]["id"] == group["id"]]
        return {**group, "servers": servers}

    def _check_rule(self, zone, data, position):
        if data.get("protocol") not in self.PROTOCOLS or data.get("direction") not in self.DIRECTIONS \
                or data.get("action") not in self.POLICIES:
            raise ApiError(400, "invalid_arguments", "protocol, direction and action are required")
        try:
            ip_range = _rule_range(data.get("ip_range") or "")
        except ValueError:
            raise ApiError(400, "invalid_arguments", "ip_range must be an IP network") from None
        port_from, port_to = data.get("dest_port_from"), data.get("dest_port_to")
        for port in (port_from, port_to):
            if port is not None and not (isinstance(port, int) and 0 < port < 65536):
                raise ApiError(400, "invalid_arguments", "ports are 1-65535")
        return {"id": data.get("id") or str(uuid.uuid4()), "protocol": data["protocol"], "direction": data["direction"],
                "ip_range": ip_range, "dest_ip_range": None, "dest_port_from": port_from, "dest_port_to": port_to,
                "position": data.get("position") or position, "editable": True, "action": data["action"], "zone": zone}

    def _security_group_route(self, method, zone, rest, q, body):
        data = json.loads(body or b"{}") if method in ("POST", "PUT", "PATCH") else {}
        # instance_sdk.go ListSecurityGroups: GET .../security_groups, query name, organization, project, tags,
        # project_default, per_page, page -> ListSecurityGroupsResponse {"total_count", "security_groups"}.
        # (The name filter is taken to match substrings, like ListServers'.)
        if not rest and method == "GET":
            groups = [g for g in self.security_groups.values() if g["zone"] == zone and q.get("name", "") in g["name"]
                      and (not q.get("project") or g["project"] == q["project"])
                      and (not q.get("organization") or g["organization"] == q["organization"])]
            per_page, page = int(q.get("per_page", 50)), int(q.get("page", 1))
            return 200, {"security_groups": [self._group_view(g) for g in groups[(page - 1) * per_page: page * per_page]],
                         "total_count": len(groups)}, "application/json"
        # instance_sdk.go CreateSecurityGroup: POST .../security_groups, CreateSecurityGroupRequest name, description,
        # organization | project (one of), tags, organization_default, project_default, stateful,
        # inbound_default_policy, outbound_default_policy, enable_default_security -> {"security_group"};
        # testdata/test-api-update-security-group.cassette.yaml: 201.
        if not rest and method == "POST":
            if bool(data.get("project")) == bool(data.get("organization")):
                raise ApiError(400, "invalid_arguments", "exactly one of project and organization is required")
            group = self._new_group(zone, server_project(data, self.organization), data)
            return 201, {"security_group": self._group_view(group)}, "application/json"
        group = self.security_groups.get(rest[0]) if rest else None
        if not group or group["zone"] != zone:
            raise not_found("instance_security_group", rest[0] if rest else "")
        gid = group["id"]
        if len(rest) == 1:
            # instance_sdk.go GetSecurityGroup: GET .../security_groups/{id} -> {"security_group"} (cassette: 200).
            if method == "GET":
                return 200, {"security_group": self._group_view(group)}, "application/json"
            # instance_sdk.go UpdateSecurityGroup: PATCH .../security_groups/{id}, UpdateSecurityGroupRequest name,
            # description, inbound_default_policy, outbound_default_policy, stateful, tags, ... -> {"security_group"}
            # (cassette: 200).
            if method == "PATCH":
                for key in ("inbound_default_policy", "outbound_default_policy"):
                    if key in data and data[key] not in self.POLICIES:
                        raise ApiError(400, "invalid_arguments", f"{key} must be accept or drop")
                for key in ("name", "description", "inbound_default_policy", "outbound_default_policy", "stateful", "tags"):
                    if key in data:
                        group[key] = data[key]
                group["modification_date"] = _now()
                return 200, {"security_group": self._group_view(group)}, "application/json"
            # instance_sdk.go DeleteSecurityGroup: DELETE .../security_groups/{id} (cassette: 204). A group still
            # attached to a server is refused here (the real answer's status and body are not recorded).
            if method == "DELETE":
                if self._group_view(group)["servers"]:
                    raise ApiError(400, "invalid_request_error", "security group is in use by servers")
                del self.security_groups[gid]
                self.rules.pop(gid, None)
                return 204, None, "application/json"
        if rest[1:] == ["rules"]:
            # instance_sdk.go ListSecurityGroupRules: GET .../security_groups/{id}/rules, query per_page, page ->
            # ListSecurityGroupRulesResponse {"total_count", "rules"}.
            if method == "GET":
                return 200, {"rules": self.rules[gid], "total_count": len(self.rules[gid])}, "application/json"
            # instance_sdk.go CreateSecurityGroupRule: POST .../rules -> {"rule"} (cassette: 201).
            if method == "POST":
                rule = self._check_rule(zone, data, len(self.rules[gid]) + 1)
                self.rules[gid].append(rule)
                return 201, {"rule": rule}, "application/json"
            # instance_sdk.go SetSecurityGroupRules: PUT .../rules {"rules": [SetSecurityGroupRulesRequestRule id,
            # action, protocol, direction, ip_range, dest_port_from, dest_port_to, position, editable, zone]}:
            # "Replaces the existing rules of the security group with the rules provided" (rules not passed are
            # deleted) -> SetSecurityGroupRulesResponse {"rules"} (status not recorded; 200 here).
            if method == "PUT":
                if not isinstance(data.get("rules"), list):
                    raise ApiError(400, "invalid_arguments", "rules is required")
                self.rules[gid] = [self._check_rule(zone, r, i + 1) for i, r in enumerate(data["rules"])]
                return 200, {"rules": self.rules[gid]}, "application/json"
        raise ApiError(404, "not_found", "no such route")

    # -- Block Storage (api/block/v1alpha1/block_sdk.go at the same tag) ----------------------------------------
    def _new_volume(self, zone, server_id, data):
        volume_id = str(uuid.uuid4())
        # block_sdk.go Volume: id, name, type, size, project_id, created_at, updated_at, references
        # ([]Reference {product_resource_type, product_resource_id, status}), status (VolumeStatus available |
        # in_use | deleting ...), zone; the cassette above shows "type": "sbs_5k" and a reference of
        # product_resource_type "instance_server".
        self.volumes[volume_id] = {
            "id": volume_id, "name": f"{data.get('name', 'server')}-root", "type": "sbs_5k", "size": 10_000_000_000,
            "project_id": data.get("project") or self.organization, "zone": zone, "status": "in_use",
            "references": [{"product_resource_type": "instance_server", "product_resource_id": server_id,
                            "status": "attached"}],
            "created_at": _now(), "updated_at": _now()}
        return volume_id

    def _detach_volumes(self, server):
        """Deleting a server leaves its Block Storage volumes (instance_sdk.go ServerAction: terminate deletes local
        volumes, "sbs_volume volumes will only be detached"; DeleteServer deletes the Instance only): they
        become available, and are billed, until deleted through the Block Storage API."""
        for attached in server["volumes"].values():
            volume = self.volumes.get(attached["id"])
            if volume:
                volume["status"], volume["references"] = "available", []

    def block_route(self, method, zone, parts):
        # block_sdk.go GetVolume: GET /block/v1alpha1/zones/{zone}/volumes/{id} -> Volume (cassette: 200).
        # DeleteVolume: DELETE same path (cassette: 204); "The volume must not be in the in_use status" (the
        # refusal's status and body are not recorded; 412 precondition_failed here).
        if len(parts) != 2 or parts[0] != "volumes":
            raise ApiError(404, "not_found", "no such route")
        volume = self.volumes.get(parts[1])
        if not volume or volume["zone"] != zone:
            raise ApiError(404, "not_found", "resource is not found", resource="volume", resource_id=parts[1])
        if method == "GET":
            return 200, volume, "application/json"
        if method == "DELETE":
            if volume["status"] == "in_use":
                raise ApiError(412, "precondition_failed", "volume is in use")
            del self.volumes[volume["id"]]
            return 204, None, "application/json"
        raise ApiError(404, "not_found", "no such route")

    def _server_route(self, method, server, rest, headers, body):
        sid = server["id"]
        if not rest:
            # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go GetServer: GET .../servers/{server_id} -> {"server"}.
            if method == "GET":
                return 200, {"server": self._server_view(server)}, "application/json"
            # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go updateServer: PATCH .../servers/{server_id} -> {"server"} (cassettes: 200).
            if method == "PATCH":
                data = json.loads(body or b"{}")
                for key in ("name", "tags", "dynamic_ip_required", "enable_ipv6"):
                    if key in data:
                        server[key] = data[key]
                # UpdateServerRequest.security_group is a SecurityGroupTemplate {id, name} (instance_sdk.go).
                if isinstance(data.get("security_group"), dict):
                    server["security_group"] = self._group_summary(
                        self._group_for(server["zone"], server["project"], data["security_group"].get("id")))
                server["modification_date"] = _now()
                return 200, {"server": self._server_view(server)}, "application/json"
            # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go DeleteServer: DELETE .../servers/{server_id}, no body (cassettes: 204).
            if method == "DELETE":
                if server["state"] != "stopped":
                    raise ApiError(400, "invalid_request_error", "server should be stopped")
                self._detach_volumes(server)
                del self.servers[sid]
                self.user_data.pop(sid, None)
                return 204, None, "application/json"
        # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go ServerAction: POST .../servers/{server_id}/action {"action"}, ServerAction poweron |
        # poweroff | reboot | terminate ...; ServerActionResponse {"task"}; Task id, description, status
        # (TaskStatus "pending"), href_from. Cassettes: 202 with {"task": {..., "status": "pending",
        # "href_from": "/servers/<id>/action", ...}}.
        if rest == ["action"] and method == "POST":
            action = json.loads(body or b"{}").get("action")
            transitions = {"poweron": ("stopped", "starting"), "poweroff": (None, "stopped"), "reboot": ("running", "running"),
                           "terminate": (None, None)}
            if action not in transitions:
                raise ApiError(400, "invalid_arguments", f"unknown action {action}")
            needed, after = transitions[action]
            if needed and server["state"] != needed:
                raise ApiError(400, "precondition_failed", f"server is {server['state']}, {action} needs {needed}")
            if action == "terminate":
                self._detach_volumes(server)
                del self.servers[sid]
            else:
                server["state"], server["_reads"] = after, 0
            task = {"id": str(uuid.uuid4()), "description": f"server_{action}", "status": "pending", "href_from": f"/servers/{sid}/action"}
            return 202, {"task": task}, "application/json"
        # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go ListServerUserData: GET .../servers/{id}/user_data -> {"user_data": [keys]} (cassettes:
        # 200, e.g. ["cloud-init", "hello", ...]).
        if rest == ["user_data"] and method == "GET":
            return 200, {"user_data": sorted(self.user_data[sid])}, "application/json"
        if len(rest) == 2 and rest[0] == "user_data":
            key = rest[1]
            # scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/server_utils.go GetServerUserData / SetServerUserData: GET and PATCH
            # .../servers/{id}/user_data/{key}, raw bytes; cassettes: PATCH with Content-Type text/plain -> 204,
            # GET -> 200 text/plain. scaleway/scaleway-sdk-go@v1.0.0-beta.37 api/instance/v1/instance_sdk.go DeleteServerUserData: DELETE ... -> 204.
            if method == "GET":
                if key not in self.user_data[sid]:
                    raise ApiError(404, "not_found", f"user data {key} not found")  # type as above; body not recorded
                return 200, self.user_data[sid][key], "text/plain"
            if method == "PATCH":
                if not headers.get("Content-Type", "").startswith("text/plain"):
                    raise ApiError(400, "invalid_request_error", "user data must be sent as text/plain")
                self.user_data[sid][key] = body.decode()
                return 204, None, "application/json"
            if method == "DELETE":
                self.user_data[sid].pop(key, None)
                return 204, None, "application/json"
        raise ApiError(404, "not_found", "no such route")

    # -- HTTP ------------------------------------------------------------------------------------------------
    def _handler(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_CONNECT(self):
                host = self.path.split(":")[0]
                if host != API_HOST or double.ssl_context is None:
                    self.send_error(403, f"this proxy only reaches {API_HOST}")
                    return
                self.send_response(200, "Connection established")
                self.end_headers()
                self.wfile.flush()
                try:
                    tls = double.ssl_context.wrap_socket(self.connection, server_side=True)
                except (ssl.SSLError, OSError):
                    self.close_connection = True
                    return
                self.connection = tls
                self.rfile = tls.makefile("rb", self.rbufsize)
                self.wfile = tls.makefile("wb")
                self.close_connection = False
                while not self.close_connection:
                    ready, _, _ = select.select([tls], [], [], 30)
                    if not ready and not tls.pending():
                        break
                    self.handle_one_request()
                self.close_connection = True

            def _serve(self, method):
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    status, payload, ctype = double.handle(method, url.path, parse_qs(url.query), self.headers, body)
                except ApiError as exc:
                    status, payload, ctype = exc.status, {"type": exc.kind, "message": exc.message, **exc.extra}, "application/json"
                except (ValueError, KeyError) as exc:
                    status, payload, ctype = 400, {"type": "invalid_request_error", "message": str(exc)}, "application/json"
                data = b"" if payload is None else (payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def do_PATCH(self):
                self._serve("PATCH")

            def do_DELETE(self):
                self._serve("DELETE")

            def do_PUT(self):
                self._serve("PUT")

        return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="test-scw-token")
    parser.add_argument("--certs", type=Path, default=Path("/tmp/daskmetal-scaleway-double"))
    parser.add_argument("--image", action="append", default=[], metavar="ZONE:NAME", help="add a public x86_64 image")
    args = parser.parse_args(argv)
    double = ScalewayDouble(token=args.token, certs_dir=args.certs, port=args.port)
    for spec in args.image:
        zone, name = spec.split(":", 1)
        print(f"image {double.add_image(zone, name)} {zone} {name}")
    print(f"https_proxy={double.proxy_url} SSL_CERT_FILE={double.ca_pem}", flush=True)
    try:
        double.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
