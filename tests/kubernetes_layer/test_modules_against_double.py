"""The rancher_token and rancher_cluster modules, run by ansible-playbook against the Rancher API test double.

This exercises what the unit tests cannot: argument parsing, no_log, check mode and the Ansible URL
transport (open_url) of the real modules. The default run uses the double's 2.12 generation, the line
roles/rancher_server pins (v2.12.3: v3-public login, ext token without status.bearerToken); 2.11 (v3 only)
and 2.13 (v1-public login, ext token with status.bearerToken) run when DASKMETAL_FULL_TESTS is set.
"""
import json
import os
import subprocess
import sys

import pytest

from tests.doubles.rancher_api import RancherDouble

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PASSWORD = "bootstrap-password-1234"


PINNED = "2.12"  # roles/rancher_server/defaults/main.yml: rancher_server_version: v2.12.3
_FULL = pytest.mark.skipif(not os.environ.get("DASKMETAL_FULL_TESTS"),
                           reason="one playbook run per version costs ~30 s; set DASKMETAL_FULL_TESTS=1")


def test_pinned_version_is_the_default_generation():
    """The default run must follow the Rancher the role installs."""
    import yaml

    with open(os.path.join(ROOT, "roles", "rancher_server", "defaults", "main.yml")) as fh:
        pinned = yaml.safe_load(fh)["rancher_server_version"]
    assert pinned.lstrip("v").rsplit(".", 1)[0] == PINNED


@pytest.mark.parametrize("version", [PINNED, pytest.param("2.11", marks=_FULL), pytest.param("2.13", marks=_FULL)])
def test_modules_flow(tmp_path, version):
    report = tmp_path / "report.json"
    with RancherDouble(version=version, password=PASSWORD, cluster_id_after=2, active_after_polls=2) as d:
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default", ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory",
                   NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
             os.path.join(os.path.dirname(__file__), "modules_flow.yml"),
             "-e", json.dumps({"rancher_url": d.url, "rancher_password": PASSWORD, "report_file": str(report),
                               "ansible_python_interpreter": sys.executable})],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        # secrets never reach the output
        for bearer in d.tokens:
            assert bearer.split(":", 1)[1] not in proc.stdout
        assert PASSWORD not in proc.stdout
        r = json.loads(report.read_text())
        server_url = d.settings["server-url"]
        ext, v1 = d.features["ext_tokens"], d.features["v1_login"]
        # exactly the one API token the module returned is left (none from check mode, none orphaned)
        assert len(d.api_tokens("ext" if ext else "v3")) == 1 and not d.api_tokens("v3" if ext else "ext")
        assert d.api_tokens("session") == []  # every login (check mode too) was logged out again
    assert r["token_check"]["changed"] is True and r["token_check"]["created"] is True
    assert r["token_check"]["login_path"] == ("/v1-public/login" if v1 else
                                              "/v3-public/localProviders/local?action=login")
    assert r["token_first_created"] is True and r["token_first_is_str"]
    assert r["token_first_api"] == ("ext" if ext else "v3")
    assert r["token_again"]["changed"] is False and r["token_again"]["created"] is False
    assert r["token_again"]["token_api"] == "existing" and r["again_token_is_none"]
    assert r["token_wrong"]["failed"] and r["token_wrong"]["status"] == 401 and "401" in r["token_wrong"]["msg"]
    assert server_url == d.url
    assert r["cluster_check"]["changed"] is True and r["cluster_check"]["cluster_id"] is None
    assert r["cluster_first"]["changed"] is True and r["cluster_first"]["cluster_id"].startswith("c-m-")
    assert r["cluster_first"]["manifest_url"].startswith(d.url + "/v3/import/")
    assert r["cluster_again"]["changed"] is False
    assert r["cluster_again"]["cluster_id"] == r["cluster_first"]["cluster_id"]
    assert r["manifest_docs"] == ["Namespace", "ConfigMap", "Secret"]
    assert r["cluster_active"]["state"] == "active"
