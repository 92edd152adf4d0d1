"""Render every template of the rke2 and rancher_server roles for the example inventory and check the result.

What is checked, and against what:
* config.yaml keys against the documented RKE2 configuration keys (lists below, from the RKE2 docs
  docs/reference/server_config.md and linux_agent_config.md in rancher/rke2-docs);
* the rke2-canal HelmChartConfig against a JSON schema written from the upstream type
  (k3s-io/helm-controller pkg/apis/helm.cattle.io/v1 types.go: HelmChartConfigSpec). kubernetes-validate
  --strict knows no CRDs, so it does not apply here;
* file modes the roles set, and that no secret ends up in a file other users can read.
"""
import json
import os
import re
import stat
import subprocess
import sys

import jsonschema
import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
INVENTORY = os.path.join(ROOT, "inventories", "example")
# The example inventory carries no secret (its vault.yml.example is not loaded): the test passes its own.
TEST_SECRETS = os.path.join(ROOT, "tests", "vars", "test_secrets.yml")

# RKE2 server configuration keys (docs/reference/server_config.md, rancher/rke2-docs).
RKE2_SERVER_KEYS = {
    "config", "debug", "data-dir", "bind-address", "advertise-address", "tls-san", "tls-san-security",
    "cluster-cidr", "service-cidr", "service-node-port-range", "cluster-dns", "cluster-domain",
    "egress-selector-mode", "servicelb-namespace", "cni", "write-kubeconfig", "write-kubeconfig-mode",
    "helm-job-image", "token", "token-file", "agent-token", "agent-token-file", "server", "cluster-reset",
    "cluster-reset-restore-path", "etcd-expose-metrics", "etcd-disable-snapshots", "etcd-snapshot-name",
    "etcd-snapshot-schedule-cron", "etcd-snapshot-retention", "etcd-snapshot-dir", "etcd-snapshot-compress",
    "kube-apiserver-arg", "etcd-arg", "kube-controller-manager-arg", "kube-scheduler-arg",
    "kube-cloud-controller-manager-arg", "disable", "disable-scheduler", "disable-cloud-controller",
    "disable-kube-proxy", "enable-servicelb", "ingress-controller", "profile", "audit-policy-file",
    "pod-security-admission-config-file", "secrets-encryption-provider", "embedded-registry",
    "node-name", "with-node-id", "node-label", "node-taint", "image-credential-provider-bin-dir",
    "image-credential-provider-config", "protect-kernel-defaults", "selinux", "lb-server-port",
    "container-runtime-endpoint", "default-runtime", "snapshotter", "private-registry",
    "system-default-registry", "disable-default-registry-endpoint", "node-ip", "node-external-ip",
    "resolv-conf", "kubelet-arg", "kube-proxy-arg",
}
# Agent keys (docs/reference/linux_agent_config.md): the node/runtime/networking subset plus joining.
RKE2_AGENT_KEYS = {
    "config", "debug", "data-dir", "token", "token-file", "server", "node-name", "with-node-id", "node-label",
    "node-taint", "image-credential-provider-bin-dir", "image-credential-provider-config",
    "protect-kernel-defaults", "selinux", "lb-server-port", "container-runtime-endpoint", "default-runtime",
    "snapshotter", "private-registry", "system-default-registry", "disable-default-registry-endpoint",
    "node-ip", "node-external-ip", "resolv-conf", "kubelet-arg", "kube-proxy-arg", "profile",
}

# helm.cattle.io/v1 HelmChartConfig, from the Go type (valuesContent string, values JSON, valuesSecrets,
# failurePolicy reinstall|abort). Unknown fields are rejected, like kubectl --validate=strict would.
HELMCHARTCONFIG_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "helm.cattle.io/v1"},
        "kind": {"const": "HelmChartConfig"},
        "metadata": {
            "type": "object", "required": ["name", "namespace"],
            "properties": {"name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
                           "namespace": {"type": "string"}, "labels": {"type": "object"},
                           "annotations": {"type": "object"}},
            "additionalProperties": False},
        "spec": {
            "type": "object", "additionalProperties": False,
            "properties": {"valuesContent": {"type": "string"}, "values": {"type": "object"},
                           "valuesSecrets": {"type": "array"},
                           "failurePolicy": {"enum": ["reinstall", "abort"]}}},
    },
}

SERVERS = ["epyc-server-1", "epyc-server-2", "epyc-server-3"]
AGENTS = ["epyc-agent-1", "epyc-agent-2"]

AIRGAP = {
    "rke2_system_default_registry": "registry.example.internal:5000",
    "rke2_registries": {
        "mirrors": {"docker.io": {"endpoint": ["https://registry.example.internal:5000"]}},
        "configs": {"registry.example.internal:5000": {"auth": {"username": "pull", "password": "registry-secret-123"}}},
    },
    "rke2_install_method": "artifacts",
    "rke2_artifacts_dir": "/srv/rke2-artifacts",
    "rke2_airgap_images": True,
    "rke2_registration_address": "k8s.example.internal",
    "rancher_server_tls_mode": "provided",
    "rancher_server_tls_cert_file": "/srv/tls/fullchain.pem",
    "rancher_server_tls_key_file": "/srv/tls/key.pem",
}


def render(tmp_path, extra=None):
    out = tmp_path / "render"
    extra_vars = {"render_dir": str(out), "ansible_connection": "local",
                  "ansible_python_interpreter": sys.executable}
    extra_vars.update(extra or {})
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.default",
               ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory", ANSIBLE_RETRY_FILES_ENABLED="0")
    proc = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", INVENTORY, os.path.join(os.path.dirname(__file__), "render.yml"),
         "-e", "@" + TEST_SECRETS, "-e", json.dumps(extra_vars)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def default_render(tmp_path_factory):
    return render(tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="module")
def airgap_render(tmp_path_factory):
    return render(tmp_path_factory.mktemp("airgap"), AIRGAP)


def load(out, host, name):
    with open(out / host / name) as f:
        return yaml.safe_load(f) if not name.endswith(".json") else json.load(f)


def given_secrets():
    with open(TEST_SECRETS) as f:
        return yaml.safe_load(f)


def secrets():
    with open(TEST_SECRETS) as f:
        values = [v for v in yaml.safe_load(f).values() if isinstance(v, str)]
    return values + ["registry-secret-123"]


@pytest.mark.parametrize("host", SERVERS + AGENTS)
def test_config_keys_are_documented_rke2_keys(default_render, host):
    cfg = load(default_render, host, "config.yaml")
    allowed = RKE2_SERVER_KEYS if host in SERVERS else RKE2_AGENT_KEYS
    assert set(cfg) <= allowed, set(cfg) - allowed


def test_servers_bootstrap_then_join_over_zerotier(default_render):
    ips = {h: load(default_render, h, "derived.json")["zerotier_ip"] for h in SERVERS + AGENTS}
    assert len(set(ips.values())) == len(ips), "every node has its own ZeroTier address"
    first = load(default_render, SERVERS[0], "config.yaml")
    assert "server" not in first, "the first server bootstraps"
    for host in SERVERS:
        cfg = load(default_render, host, "config.yaml")
        assert cfg["node-ip"] == cfg["advertise-address"] == ips[host]
        assert cfg["cni"] == "canal"
        assert cfg["cluster-cidr"] == "10.42.0.0/16" and cfg["service-cidr"] == "10.43.0.0/16"
        assert set(ips[s] for s in SERVERS) <= set(cfg["tls-san"])
        assert cfg["write-kubeconfig-mode"] == "0600" and isinstance(cfg["write-kubeconfig-mode"], str)
        assert cfg["token"] == given_secrets()["vault_rke2_token"]
        assert cfg["node-name"] == host
        if host != SERVERS[0]:
            assert cfg["server"] == "https://%s:9345" % ips[SERVERS[0]]
    for host in AGENTS:
        cfg = load(default_render, host, "config.yaml")
        assert cfg["server"] == "https://%s:9345" % ips[SERVERS[0]]
        assert cfg["node-ip"] == ips[host]
        assert "cni" not in cfg and "advertise-address" not in cfg


def test_zerotier_addresses_are_inside_the_plan_network(default_render):
    import ipaddress

    net = ipaddress.ip_network("10.147.17.0/24")
    for host in SERVERS + AGENTS:
        assert ipaddress.ip_address(load(default_render, host, "config.yaml")["node-ip"]) in net


@pytest.mark.parametrize("host", SERVERS)
def test_helmchartconfig_points_flannel_at_the_zerotier_interface(default_render, host):
    doc = load(default_render, host, "rke2-canal-config.yaml")
    jsonschema.validate(doc, HELMCHARTCONFIG_SCHEMA)
    assert doc["metadata"] == {"name": "rke2-canal", "namespace": "kube-system"}
    values = yaml.safe_load(doc["spec"]["valuesContent"])
    assert values == {"flannel": {"iface": "", "regexIface": "^(?:ztabcdef12)$"},
                      "calico": {"ipAutoDetectionMethod": "kubernetes-internal-ip"}}


def test_helmchartconfig_schema_rejects_mistakes():
    bad = {"apiVersion": "helm.cattle.io/v1", "kind": "HelmChartConfig",
           "metadata": {"name": "rke2-canal", "namespace": "kube-system"},
           "spec": {"valuesContent": {"flannel": {"iface": "zt0"}}}}   # a mapping, must be a string
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, HELMCHARTCONFIG_SCHEMA)
    bad["spec"] = {"valueContent": "x"}   # misspelt field
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, HELMCHARTCONFIG_SCHEMA)


def test_registries_empty_by_default_and_rendered_for_airgap(default_render, airgap_render):
    assert load(default_render, SERVERS[0], "registries.yaml") in ({}, None)
    reg = load(airgap_render, SERVERS[0], "registries.yaml")
    assert set(reg) <= {"mirrors", "configs"}
    assert reg["mirrors"]["docker.io"]["endpoint"] == ["https://registry.example.internal:5000"]
    for host in SERVERS + AGENTS:
        cfg = load(airgap_render, host, "config.yaml")
        assert cfg["system-default-registry"] == "registry.example.internal:5000"
        if host != SERVERS[0]:
            assert cfg["server"] == "https://k8s.example.internal:9345"
    assert "k8s.example.internal" in load(airgap_render, SERVERS[0], "config.yaml")["tls-san"]


def test_release_url_and_rancher_arguments(default_render, airgap_render):
    d = load(default_render, SERVERS[0], "derived.json")
    assert d["release_url"] == "https://github.com/rancher/rke2/releases/download/v1.33.5%2Brke2r1"
    assert d["tarball"] == "rke2.linux-amd64.tar.gz"
    r = load(default_render, "rancher-1", "derived.json")
    assert r["rancher_command"] == [] and r["rancher_ssl_mounts"] == []
    assert r["rancher_url"] == "https://10.147.17.10"
    assert re.fullmatch(r"docker\.io/rancher/rancher:v\d+\.\d+\.\d+", r["rancher_image"])
    a = load(airgap_render, "rancher-1", "derived.json")
    assert a["rancher_command"] == ["--no-cacerts"]
    assert "/etc/daskmetal/rancher/ssl/key.pem:/etc/rancher/ssl/key.pem:ro" in a["rancher_ssl_mounts"]


# ------------------------------------------------------------------ ports off the public interface (host-security C1)
def test_nodeports_answer_only_on_zerotier_addresses(default_render):
    """kube-proxy --nodeport-addresses (kubernetes cmd/kube-proxy/app/options.go: a list of CIDRs) via kube-proxy-arg
    (rke2 v1.33.5 pkg/cli/cmds/{server,agent}.go copy it to kube-proxy): the ZeroTier network, which holds every
    node address, so NodePorts keep working on ZeroTier and are not opened on the public interface."""
    import ipaddress

    for host in SERVERS + AGENTS:
        cfg = load(default_render, host, "config.yaml")
        assert cfg["kube-proxy-arg"] == ["nodeport-addresses=10.147.17.0/24"], host
        flag, _, value = cfg["kube-proxy-arg"][0].partition("=")
        nets = [ipaddress.ip_network(v) for v in value.split(",")]
        assert any(ipaddress.ip_address(cfg["node-ip"]) in n for n in nets)


def test_rancher_ports_are_published_on_the_zerotier_address_only(default_render, airgap_render):
    """community.docker's own parser (docker_container _preprocess_ports, the code that builds the Docker API port
    bindings from published_ports) reads what the role passes."""
    from ansible_collections.community.docker.plugins.module_utils.module_container.base import _preprocess_ports

    class Module:
        def fail_json(self, **kw):
            raise AssertionError(kw["msg"])

    r = load(default_render, "rancher-1", "derived.json")
    binds = _preprocess_ports(Module(), {"published_ports": r["rancher_ports"]})["published_ports"]
    assert binds == {80: ("10.147.17.10", "80"), 443: ("10.147.17.10", "443")}
    # the API step talks to the address Rancher listens on (127.0.0.1 no longer answers)
    assert r["rancher_api_url"] == "https://10.147.17.10:443"


def test_rancher_acme_mode_keeps_every_address(tmp_path):
    """Let's Encrypt validates over the public interface: acme mode binds every address (also loopback for the API)."""
    out = render(tmp_path, {"rancher_server_tls_mode": "acme", "rancher_server_acme_domain": "rancher.example.org"})
    from ansible_collections.community.docker.plugins.module_utils.module_container.base import (
        _DEFAULT_IP_REPLACEMENT_STRING, _preprocess_ports)

    r = load(out, "rancher-1", "derived.json")
    binds = _preprocess_ports(None, {"published_ports": r["rancher_ports"]})["published_ports"]
    assert binds == {80: (_DEFAULT_IP_REPLACEMENT_STRING, "80"), 443: (_DEFAULT_IP_REPLACEMENT_STRING, "443")}
    assert r["rancher_api_url"] == "https://127.0.0.1:443" and r["rancher_url"] == "https://rancher.example.org"


# ------------------------------------------------------------------ modes and secrets (static + rendered)
def role_file_tasks(role):
    """Every template/copy task of a role with its dest and mode."""
    found = []
    tasks_dir = os.path.join(ROOT, "roles", role, "tasks")
    for name in sorted(os.listdir(tasks_dir)):
        with open(os.path.join(tasks_dir, name)) as f:
            stack = list(yaml.safe_load(f) or [])
        while stack:
            task = stack.pop()
            stack.extend(task.get("block", []))
            for mod in ("ansible.builtin.template", "ansible.builtin.copy"):
                if mod in task:
                    args = task[mod]
                    found.append((name, task["name"], mod, args.get("src"), args.get("dest"), args.get("mode"),
                                  task.get("no_log", False), task.get("loop")))
    return found


def test_every_file_task_sets_an_explicit_mode():
    for role in ("rke2", "rancher_server"):
        for name, tname, _, _, _, mode, _, _ in role_file_tasks(role):
            assert mode, "%s/%s: %r has no mode" % (role, name, tname)


@pytest.mark.parametrize("template", ["config.yaml.j2", "registries.yaml.j2", "rke2-canal-config.yaml.j2",
                                      "rke2-flannel-config.yaml.j2"])
def test_rendered_secrets_only_in_private_files(airgap_render, template):
    """A template whose output holds a secret must be written 0600 and with no_log."""
    tasks = [t for t in role_file_tasks("rke2") if t[2] == "ansible.builtin.template" and t[3] == template]
    assert tasks, "template %s is not used by any task" % template
    rendered = (airgap_render / SERVERS[1] / template[:-3]).read_text()
    holds_secret = any(s in rendered for s in secrets())
    if template not in ("rke2-canal-config.yaml.j2", "rke2-flannel-config.yaml.j2"):
        assert holds_secret, "test data should put a secret into %s" % template
    for _, tname, _, _, dest, mode, no_log, _ in tasks:
        perms = int(str(mode), 8)
        if holds_secret:
            assert perms & 0o077 == 0, "%s writes a secret with mode %s" % (tname, mode)
            assert no_log is True, "%s writes a secret without no_log" % tname


def test_rendered_files_do_not_leak_into_world_readable_outputs(airgap_render):
    """The rendering run writes 0600 like the role; nothing world-readable holds a secret."""
    for root, _, files in os.walk(airgap_render):
        for fname in files:
            path = os.path.join(root, fname)
            mode = stat.S_IMODE(os.stat(path).st_mode)
            text = open(path).read()
            if any(s in text for s in secrets()):
                assert mode & 0o004 == 0, path


def test_secret_handling_tasks_use_no_log():
    """Tasks that pass a password or token are no_log (static check of both roles and the playbook)."""
    pattern = re.compile(r"(bootstrap_password|admin_password|rke2_token|token_file\)|\.token\b|kubeconfig_raw)")
    for role in ("rke2", "rancher_server"):
        tasks_dir = os.path.join(ROOT, "roles", role, "tasks")
        for name in sorted(os.listdir(tasks_dir)):
            with open(os.path.join(tasks_dir, name)) as f:
                stack = list(yaml.safe_load(f) or [])
            while stack:
                task = stack.pop()
                stack.extend(task.get("block", []))
                module_args = {k: v for k, v in task.items()
                               if k not in ("name", "when", "block", "vars", "loop", "assert", "ansible.builtin.assert",
                                            "ansible.builtin.import_tasks", "ansible.builtin.include_tasks")}
                text = json.dumps(module_args)
                if pattern.search(text) and "ansible.builtin.set_fact" not in task and "ansible.builtin.stat" not in task \
                        and "ansible.builtin.file" not in task:
                    assert task.get("no_log"), "%s/%s: %r handles a secret without no_log" % (role, name, task["name"])


def test_check_scenario_follows_site_yml():
    """molecule/cluster_check runs the Kubernetes layer exactly as site.yml imports it, in the same order."""
    def imports(path):
        with open(path) as f:
            return [os.path.basename(p["ansible.builtin.import_playbook"]) for p in yaml.safe_load(f)
                    if "ansible.builtin.import_playbook" in p]
    site = imports(os.path.join(ROOT, "site.yml"))
    layer = ["rancher.yml", "rke2.yml", "registration.yml"]
    assert [p for p in site if p in layer] == layer
    assert site.index("zerotier.yml") < site.index("rancher.yml") if "zerotier.yml" in site else True
    scenario = imports(os.path.join(ROOT, "molecule", "cluster_check", "converge.yml"))
    assert scenario == ["plan.yml"] + layer


@pytest.mark.parametrize("host", SERVERS)
def test_rke2_server_reads_the_config_without_skipping_keys_and_deploys_no_ingress(default_render, host):
    """Hand each rendered server config.yaml to the rke2 double's parser (tests/doubles/rke2_cli.py, which follows
    rke2 v1.33.5 configfilearg and disableExceptSelected): every key is a flag of `rke2 server` (none is skipped
    as unknown) and rke2-ingress-nginx, whose hostPorts 80/443 open on every address, is not deployed by default."""
    from tests.doubles import rke2_cli

    eff = rke2_cli.effective([], config=str(default_render / host / "config.yaml"))
    assert eff["warnings"] == []
    assert {"rke2-ingress-nginx", "rke2-ingress-nginx-crd", "rke2-traefik"} <= set(eff["disable"]), eff["disable"]
    assert "rke2-canal" not in eff["disable"]


def test_rke2_double_refuses_what_rke2_v1_33_5_refuses():
    from tests.doubles import rke2_cli

    with pytest.raises(rke2_cli.Fatal, match="Invalid value nginx for --ingress-controller flag"):
        rke2_cli.selected({"ingress-controller": ["nginx"]}, "ingress-controller", rke2_cli.INGRESS_ITEMS)
    assert rke2_cli.selected({"cni": ["flannel"]}, "cni", rke2_cli.CNI_ITEMS) >= {"rke2-canal"}
    assert rke2_cli.config_args("flannel-iface: zt0\n", warnings := []) == [] and warnings == [
        "Unknown flag --flannel-iface found in config.yaml, skipping"]
    assert rke2_cli.main(["server", "--cluster-reset-restore-path=/x", "--config", "/nonexistent"]) == 1
