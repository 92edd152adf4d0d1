"""Docker-mode Rancher with a provided certificate: the role's API calls verify it (review k8s M4), and the first
login replaces the bootstrap password with the vault's admin password (review k8s M5).

The real consumer is Python's ssl module, through Ansible's URL layer in the real rancher_token module: the
Rancher double serves a certificate issued for a DNS name by a private CA, as a provided certificate is, and
the role calls the API at its default ``https://127.0.0.1:<port>``. Python's ssl rejects that address for a
certificate that names only the host name, unless the call verifies against ``rancher_server_hostname``.
"""
import json
import os
import subprocess
import sys

import pytest

from tests.doubles.rancher_api import RancherDouble
from tests.kubernetes_layer.tls_certs import make_ca_and_server_cert

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "collections"))
from ansible_collections.daskmetal.platform.plugins.module_utils.rancher_api import (  # noqa: E402
    RancherClient, RancherError, ansible_transport)

PASSWORD = "bootstrap-password-1234"
ADMIN = "admin-password-from-vault-77"
NAME = "rancher.daskmetal.test"


@pytest.fixture()
def certs(tmp_path):
    return make_ca_and_server_cert(tmp_path, NAME)


def test_loopback_call_fails_verification_without_the_server_name(certs):
    """What the role did before: validate_certs against https://127.0.0.1 (the premise of the fix)."""
    with RancherDouble(password=PASSWORD, tls=(str(certs["cert.pem"]), str(certs["key.pem"]))) as d:
        plain = RancherClient(d.url, ansible_transport(True, str(certs["ca.pem"])), retries=0)
        with pytest.raises(RancherError, match="certificate verify failed"):
            plain.login("admin", PASSWORD)
        named = RancherClient(d.url, ansible_transport(True, str(certs["ca.pem"]), NAME), retries=0)
        assert named.login("admin", PASSWORD)[0]
        assert NAME in d.sni_names


def test_role_api_step_verifies_the_provided_certificate(tmp_path, certs):
    ssl_dir = tmp_path / "ssl"
    ssl_dir.mkdir()
    (ssl_dir / "cacerts.pem").write_bytes(certs["ca.pem"].read_bytes())  # where docker.yml copies the CA
    token_file = tmp_path / "token" / "rancher-api-token"
    with RancherDouble(password=PASSWORD, tls=(str(certs["cert.pem"]), str(certs["key.pem"]))) as d:
        port = d.url.rsplit(":", 1)[1]
        extra = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "rancher_server_tls_mode": "provided", "rancher_server_hostname": NAME,
                 "rancher_server_tls_cert_file": str(certs["cert.pem"]), "rancher_server_tls_key_file": str(certs["key.pem"]),
                 "rancher_server_tls_ca_file": str(certs["ca.pem"]), "rancher_server_ssl_dir": str(ssl_dir),
                 "rancher_server_https_port": int(port), "rancher_server_token_file": str(token_file),
                 "vault_rancher_bootstrap_password": PASSWORD, "vault_rancher_admin_password": ADMIN,
                 "__rancher_server_ping": {"status": 200}}
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default", ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory",
                   NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
             os.path.join(os.path.dirname(__file__), "rancher_api_tls.yml"), "-e", json.dumps(extra)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        assert d.url.startswith("https://127.0.0.1:")
        assert set(d.sni_names) == {NAME}
        assert d.settings["server-url"] == "https://%s:%s" % (NAME, port)
        assert token_file.read_text().strip() in d.tokens
        # the bootstrap password (readable in the container environment) is no longer the admin password
        assert d.users["admin"] == ADMIN and d.password_changes == ["admin"]
        assert PASSWORD not in proc.stdout + proc.stderr and ADMIN not in proc.stdout + proc.stderr
        assert "WARNING: vault_rancher_admin_password is not set" not in proc.stdout
