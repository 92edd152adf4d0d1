"""playbooks/registration.yml against the Rancher double and the kube API double, at -vvv.

The real consumers are ansible-playbook's default callback (what the operator's terminal shows at -vvv) and
kubernetes.core.k8s applying the import manifest through the kubernetes client. The cluster-registration
token is in the manifest URL, the registration command and the manifest's cattle-credentials Secret
(review host-security M3, k8s-layer m7): neither it nor its base64 form may appear in the output.
"""
import base64
import json
import os
import subprocess
import sys

import yaml

from tests.doubles.kube_api import KubeDouble
from tests.doubles.rancher_api import RancherDouble

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_registration_never_prints_the_registration_token(tmp_path):
    with RancherDouble(cluster_id_after=1, active_after_polls=1) as d, KubeDouble() as k:
        d.settings["server-url"] = d.url
        _, _, bearer = d._new_token("v3", "daskmetal automation")
        token_file = tmp_path / "token"
        token_file.write_text(bearer)
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(k.kubeconfig()))
        inventory = tmp_path / "hosts.yml"
        inventory.write_text(yaml.safe_dump({"all": {"children": {
            "rke2_servers": {"hosts": {"localhost": None}}, "rancher": {"hosts": {"localhost": None}}}}}))
        extra = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "rancher_server_api_url": d.url, "rancher_server_token_file": str(token_file),
                 "rke2_kubeconfig_dest": str(kubeconfig), "registration_wait_timeout": 30}
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default", ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory",
                   NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-vvv", "-i", str(inventory),
             os.path.join(ROOT, "playbooks", "registration.yml"), "-e", json.dumps(extra)],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        # the flow really ran: the manifest reached the cluster and Rancher saw the cluster active
        assert ("v1", "secrets", "cattle-system", "cattle-credentials-" + d.reg_tokens[0]["token"][:7]) in k.objects
        assert [c["state"] for c in d.mgmt_clusters.values()] == ["active"]
        assert d.reg_tokens
        for reg in d.reg_tokens:
            for secret in (reg["token"], base64.b64encode(reg["token"].encode()).decode()):
                assert secret not in out, "registration token printed: ...%s" % out[max(0, out.find(secret) - 300):
                                                                                  out.find(secret) + 60]
        assert bearer.split(":", 1)[1] not in out
