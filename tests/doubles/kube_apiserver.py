"""A kube-apiserver test double that answers only ``GET /version``, over TLS with client certificates required.

It stands in for the API server RKE2 runs, so that real clients (the kubernetes Python client, kubectl) can be
pointed at a kubeconfig and must authenticate with the client certificate in it. It is not an API server:

* TLS: the server certificate is signed by the cluster CA (the kubeconfig's certificate-authority-data) and
  names 127.0.0.1; clients must present a certificate signed by the same CA (``ssl.CERT_REQUIRED``), like
  kube-apiserver's ``--client-ca-file`` x509 authentication (RKE2's admin kubeconfig authenticates this way).
  A client without one fails the TLS handshake here; the real server would answer 401 instead, which is the
  same outcome for the client: no access.
* ``GET /version``: a JSON ``version.Info`` (kubernetes/apimachinery v0.33.5 pkg/version/types.go: major,
  minor, emulationMajor, emulationMinor, minCompatibilityMajor, minCompatibilityMinor (omitempty), gitVersion,
  gitCommit, gitTreeState, buildDate, goVersion, compiler, platform), written like k8s.io/apiserver
  pkg/server/routes/version.go handleVersion does (responsewriters.WriteRawJSON: 200, application/json).
* Anything else: 404 with no body. Discovery (``/api``, ``/apis``) is not modelled because neither
  ``kubectl version`` (staging/src/k8s.io/kubectl/pkg/cmd/version: discovery ServerVersion() = GET /version)
  nor ``VersionApi.get_code()`` asks for it; ``requests`` records every path so tests can assert that.

Each request is recorded as ``(path without query, client certificate CN)``.
"""
from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# What RKE2 v1.33.6+rke2r1's API server reports (Info fields as in apimachinery v0.33.5 pkg/version/types.go).
RKE2_VERSION_INFO = {
    "major": "1", "minor": "33", "emulationMajor": "1", "emulationMinor": "33",
    "minCompatibilityMajor": "1", "minCompatibilityMinor": "32",
    "gitVersion": "v1.33.6+rke2r1", "gitCommit": "0" * 40, "gitTreeState": "clean",
    "buildDate": "2025-11-12T00:00:00Z", "goVersion": "go1.24.9 X:boringcrypto", "compiler": "gc",
    "platform": "linux/amd64",
}


def _pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert(subject_cn, key, issuer_cert=None, issuer_key=None, org=None, server_ip=None, ca=False):
    now = datetime.datetime.now(datetime.timezone.utc)
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]
    if org:
        attrs.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    name = x509.Name(attrs)
    builder = (x509.CertificateBuilder().subject_name(name)
               .issuer_name(issuer_cert.subject if issuer_cert else name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                                        critical=True)
    else:
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server_ip else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if server_ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(server_ip))]), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def make_pki(directory, server_ip="127.0.0.1"):
    """CA, server certificate for server_ip, client certificate; PEM files in directory, PEM bytes returned.

    The client certificate has RKE2's admin identity (k3s pkg/daemons/control/deps/deps.go genClientCerts:
    CN system:admin, O system:masters = user.SystemPrivilegedGroup)."""
    ca_key, srv_key, cli_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _cert("daskmetal-test-server-ca", ca_key, ca=True)
    srv = _cert("kube-apiserver", srv_key, ca, ca_key, server_ip=server_ip)
    cli = _cert("system:admin", cli_key, ca, ca_key, org="system:masters")
    pems = {"ca.crt": _pem(ca), "server.crt": _pem(srv), "server.key": _pem(srv_key),
            "client.crt": _pem(cli), "client.key": _pem(cli_key)}
    for fname, data in pems.items():
        (directory / fname).write_bytes(data)
    return pems


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 (http.server API)
        peer = self.connection.getpeercert() or {}
        cn = next((v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName"), None)
        path = self.path.split("?", 1)[0]
        self.server.requests.append((path, cn))
        # go-restful WebService "/version" with route GET "/" answers both; the Python client's VersionApi asks
        # for "/version/" (kubernetes-client/python kubernetes/client/api/version_api.py), kubectl for "/version".
        if path not in ("/version", "/version/"):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps(RKE2_VERSION_INFO).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, directory):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests = []
        self.handshake_failures = []
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(directory / "server.crt", directory / "server.key")
        self.ctx.load_verify_locations(directory / "ca.crt")
        self.ctx.verify_mode = ssl.CERT_REQUIRED

    def finish_request(self, request, client_address):
        try:
            tls = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.handshake_failures.append(str(exc))
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request, client_address):
        pass


class KubeAPIServerDouble:
    """Context manager: ``with KubeAPIServerDouble(pki_dir) as d: d.url, d.requests, d.handshake_failures``."""

    def __init__(self, directory):
        self._server = _TLSServer(directory)
        self.url = "https://127.0.0.1:%d" % self._server.server_address[1]
        self.requests = self._server.requests
        self.handshake_failures = self._server.handshake_failures
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
