"""A corpus of bad inputs, each one mistake in a copy of inventories/example, run through the real site.yml.

The real consumer: `ansible-playbook -i <copy> site.yml --check`, the command a new user runs. Every host of the
copy points at a closed loopback port (a port bound and released, so a connection is refused at once): any contact
with a host shows as UNREACHABLE. Each bad input must stop the run before the first UNREACHABLE, in the preflight
task, with the variable to fix at the start of a problem line and no filter traceback. Positive controls: the
unmodified copy (with test secrets) gets past the preflight and reaches the hosts (UNREACHABLE appears), so a case
cannot pass by failing for an unrelated reason; the local inventory passes the preflight.

The cases run two at a time (the machine is shared); the file takes about a minute and a half."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXAMPLE = ROOT / "inventories" / "example"
TEST_SECRETS = ROOT / "tests" / "vars" / "test_secrets.yml"
PREFLIGHT_TASK = "TASK [Check every input of every layer]"


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- mutations: each takes the inventory's files as {relative path: YAML data} and changes one thing ---------------

def gv(name, value):
    """Set a variable in group_vars/all (a file of its own, as a user would add it)."""
    def mutate(files):
        files.setdefault("group_vars/all/mistake.yml", {})[name] = value
    return mutate


def vault(name, value=None, delete=False):
    def mutate(files):
        if delete:
            del files["group_vars/all/vault.yml"][name]
        else:
            files["group_vars/all/vault.yml"][name] = value
    return mutate


def plan(path, value):
    """Set daskmetal_plan.<path> (dotted) in group_vars/all/plan.yml."""
    def mutate(files):
        node = files["group_vars/all/plan.yml"]["daskmetal_plan"]
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return mutate


def groups(fn):
    def mutate(files):
        fn(files["hosts.yml"]["all"]["children"])
    return mutate


def host_var(host, name, value):
    def mutate(files):
        for group in files["hosts.yml"]["all"]["children"].values():
            if (group or {}).get("hosts") and host in group["hosts"]:
                group["hosts"][host][name] = value
    return mutate


def _even_servers(children):
    children["rke2_servers"]["hosts"]["epyc-agent-1"] = children["rke2_agents"]["hosts"].pop("epyc-agent-1")


def _agents_outside_zerotier(children):
    del children["zerotier_nodes"]["children"]["rke2_agents"]


# (id, layer, mutation, variable the output must name at the start of a problem line)
CASES = [
    ("plan-cidr-host-bits", "plan", plan("zerotier.cidr", "10.147.17.1/24"), "daskmetal_plan.zerotier.cidr"),
    ("plan-node-range-outside", "plan", plan("zerotier.node_range", "10.147.18.10-10.147.18.99"),
     "daskmetal_plan.zerotier.node_range"),
    ("plan-service-outside-pools", "plan", plan("services.grafana", "10.147.17.50"),
     "daskmetal_plan.services.grafana"),
    ("plan-mtu", "plan", plan("zerotier.mtu", 100), "daskmetal_plan.zerotier.mtu"),
    ("plan-k8s-overlap", "plan", plan("kubernetes.cluster_cidr", "10.147.0.0/16"),
     "daskmetal_plan.kubernetes.cluster_cidr"),
    ("plan-network-id", "plan", plan("zerotier.network_id", "8bd5124fd60000"), "daskmetal_plan.zerotier.network_id"),
    ("groups-even-servers", "kubernetes", groups(_even_servers), "rke2_servers (inventory group)"),
    ("groups-rke2-not-zerotier", "network", groups(_agents_outside_zerotier), "zerotier_nodes (inventory group)"),
    ("groups-speakers-not-cluster", "services", plan("metallb.speakers", "rancher"),
     "daskmetal_plan.metallb.speakers"),
    ("secret-rke2-placeholder", "kubernetes", vault("vault_rke2_token", "replace-with-a-long-random-string"),
     "rke2_token (from vault_rke2_token)"),
    ("secret-rke2-short", "kubernetes", vault("vault_rke2_token", "short-tok"), "rke2_token (from vault_rke2_token)"),
    ("secret-zerotier-missing", "network", vault("vault_zerotier_api_token", delete=True),
     "zerotier_api_token (from vault_zerotier_api_token)"),
    ("secret-rancher-default", "kubernetes", vault("vault_rancher_bootstrap_password", "admin"),
     "rancher_server_bootstrap_password (from vault_rancher_bootstrap_password)"),
    ("secret-rancher-admin-short", "kubernetes", gv("rancher_server_admin_password", "short-pass"),
     "rancher_server_admin_password"),
    ("secret-grafana-default", "services", vault("vault_grafana_admin_password", "prom-operator"),
     "monitoring_grafana_admin_password (from vault_grafana_admin_password)"),
    ("secret-jupyter-empty", "services", vault("vault_jupyter_password", ""),
     "dask_jupyter_password (from vault_jupyter_password)"),
    ("zerotier-central-without-id", "network", plan("zerotier.network_id", ""), "daskmetal_plan.zerotier.network_id"),
    ("zerotier-controller-without-host", "network", gv("zerotier_mode", "controller"), "zerotier_controller_host"),
    ("zerotier-mode-unknown", "network", gv("zerotier_mode", "hybrid"), "zerotier_mode"),
    ("rancher-helm-ip-hostname", "kubernetes", gv("rancher_server_mode", "helm"), "rancher_server_hostname"),
    ("rancher-tls-provided-no-files", "kubernetes", gv("rancher_server_tls_mode", "provided"),
     "rancher_server_tls_cert_file"),
    ("rancher-version", "kubernetes", gv("rancher_server_version", "2.12.3"), "rancher_server_version"),
    ("rke2-version", "kubernetes", gv("rke2_version", "1.33.5"), "rke2_version"),
    ("rke2-version-one-host", "kubernetes", host_var("epyc-agent-2", "rke2_version", "v1.33"),
     "rke2_version (on epyc-agent-2)"),
    ("rke2-install-method-spec", "kubernetes", gv("rke2_install_method", "curl"), "rke2_install_method"),
    ("rke2-port-spec", "kubernetes", gv("rke2_supervisor_port", "nine"), "rke2_supervisor_port"),
    ("rke2-registry-scheme", "kubernetes", gv("rke2_system_default_registry", "https://registry.example.com"),
     "rke2_system_default_registry"),
    ("docker-version", "host", gv("docker_version", "latest"), "docker_version"),
    ("docker-hold-spec", "host", gv("docker_hold", "maybe"), "docker_hold"),
    ("docker-mirror-no-scheme", "host", gv("docker_registry_mirrors", ["mirror.example.com"]),
     "docker_registry_mirrors[0]"),
    ("docker-fingerprint", "host", gv("docker_apt_key_fingerprint", "0EBFCD88"), "docker_apt_key_fingerprint"),
    ("base-no-ssh-port", "host", gv("base_firewall_ssh_ports", []), "base_firewall_ssh_ports"),
    ("base-port-range", "host", gv("base_firewall_zt_tcp_ports", [6443, 70000]), "base_firewall_zt_tcp_ports"),
    ("helm-version", "services", gv("helm_version", "3.22"), "helm_version"),
    ("metallb-chart-version", "services", gv("metallb_chart_version", "latest"), "metallb_chart_version"),
    ("dask-version", "services", gv("dask_version", "2026.8"), "dask_version"),
    ("dask-replicas-word", "services", gv("dask_worker_replicas", "fifteen"), "dask_worker_replicas"),
    ("dask-replicas-negative", "services", gv("dask_worker_replicas", -3), "dask_worker_replicas"),
    ("dask-workers-exceed-nodes", "services", lambda files: [host_var(h, k, n)(files) for h in ("epyc-agent-1",
     "epyc-agent-2") for k, n in (("ansible_processor_vcpus", 4), ("ansible_memtotal_mb", 4096))],
     "dask_worker_replicas"),
    ("dask-registry-scheme", "services", gv("dask_image_registry", "https://registry.example.com"),
     "dask_image_registry"),
]


def make_inventory(dest: Path, port: int, mutate=None) -> Path:
    shutil.copytree(EXAMPLE, dest)
    shutil.copy(TEST_SECRETS, dest / "group_vars" / "all" / "vault.yml")
    files = {}
    for path in [dest / "hosts.yml", *sorted((dest / "group_vars" / "all").glob("*.yml"))]:
        files[str(path.relative_to(dest))] = yaml.safe_load(path.read_text())
    for group in files["hosts.yml"]["all"]["children"].values():
        for host, hostvars in ((group or {}).get("hosts") or {}).items():
            group["hosts"][host] = dict(hostvars or {}, ansible_host="127.0.0.1", ansible_port=port,
                                        ansible_ssh_common_args="-o ConnectTimeout=3 -o StrictHostKeyChecking=no "
                                                                "-o UserKnownHostsFile=/dev/null")
    if mutate:
        mutate(files)
    for rel, data in files.items():
        (dest / rel).write_text(yaml.safe_dump(data, sort_keys=False))
    return dest


def run(inventory: Path, playbook: str = "site.yml", *extra: str) -> str:
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory", ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default", ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_RETRY_FILES_ENABLED="0")
    proc = subprocess.run(["nice", "-n", "10", str(BIN / "ansible-playbook"), "-i", str(inventory), playbook,
                           "--check", *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return "rc=%d\n%s\n%s" % (proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def port():
    return closed_port()


def _selected(session):
    """The case ids the collected tests use (all of them, or the ones `-k` kept), and the control."""
    wanted = {"control"}
    for item in session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        wanted.add(params.get("case_id", "control"))
        if item.name.startswith("test_a_problem_message"):
            wanted.add("dask-replicas-word")
    return wanted


@pytest.fixture(scope="module")
def outputs(request, tmp_path_factory, port):
    """The selected cases and the control through site.yml, two at a time."""
    base = tmp_path_factory.mktemp("corpus")
    wanted = _selected(request.session)
    jobs = [(case_id, make_inventory(base / case_id, port, mutate)) for case_id, _layer, mutate, _var in CASES
            if case_id in wanted]
    jobs.append(("control", make_inventory(base / "control", port)))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip([j[0] for j in jobs], pool.map(lambda job: run(job[1]), jobs)))
    return results


def test_the_corpus_covers_every_layer_with_30_cases():
    layers = {layer for _id, layer, _m, _v in CASES}
    assert len(CASES) >= 30 and layers == {"plan", "host", "network", "kubernetes", "services"}
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case_id,variable", [(c[0], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_stops_site_before_any_host_is_contacted(outputs, case_id, variable):
    out = outputs[case_id]
    before = out.split("UNREACHABLE")[0]
    assert not out.startswith("rc=0"), out[-3000:]
    assert "UNREACHABLE" not in out, "the run contacted a host:\n" + out[-3000:]
    assert PREFLIGHT_TASK in before, out[-3000:]
    # the variable starts a problem line of the preflight's message (the first follows "Action failed: ")
    line = re.compile(r"(^|Action failed: )%s(:| \()" % re.escape(variable), re.M)
    assert line.search(before), "%s not named:\n%s" % (variable, before[-3000:])
    assert "; fix: " in before
    for noise in ("Traceback", "Finalization of task args", "Error while resolving value"):
        assert noise not in out, out[-3000:]


def test_control_the_unmodified_example_reaches_the_hosts(outputs, port):
    out = outputs["control"]
    assert PREFLIGHT_TASK in out and "UNREACHABLE" in out, out[-3000:]
    assert "port %d: Connection refused" % port in out, out[-3000:]
    assert "; fix: " not in out.split("UNREACHABLE")[0], out[-3000:]


def test_control_the_local_inventory_passes_the_preflight():
    out = run(ROOT / "inventories" / "local", "playbooks/preflight.yml", "-v")  # -v shows the result's msg
    assert out.startswith("rc=0"), out[-3000:]
    assert "preflight: every input of 1 host(s) is valid" in out, out[-3000:]


def test_several_mistakes_are_reported_at_once(tmp_path, port):
    def mutate(files):
        for fn in (gv("rke2_version", "1.33.5"), gv("dask_worker_replicas", "many"), vault("vault_rke2_token", "x"),
                   plan("zerotier.mtu", 100)):
            fn(files)
    out = run(make_inventory(tmp_path / "inv", port, mutate))
    assert "UNREACHABLE" not in out, out[-3000:]
    assert "(preflight: 4 problems, nothing was changed)" in out, out[-3000:]
    for variable in ("rke2_version", "dask_worker_replicas", "rke2_token (from vault_rke2_token)",
                     "daskmetal_plan.zerotier.mtu"):
        assert re.search(r"(^|Action failed: )%s(:| \()" % re.escape(variable), out, re.M), variable


def test_a_problem_message_is_one_plain_line(outputs):
    """The result's msg: one line per problem, `variable: what is wrong; fix: how`, no JSON escapes in the lines."""
    out = outputs["dask-replicas-word"]
    match = re.search(r"Action failed: (.*?)\n\(preflight: (\d+) problems?", out, re.S)
    assert match, out[-3000:]
    lines = match.group(1).splitlines()
    assert len(lines) == int(match.group(2))
    assert all(re.match(r"^[^:]+: .+; fix: .+$", line) for line in lines), lines
    assert "\\n" not in match.group(1)  # real newlines, not JSON escapes
