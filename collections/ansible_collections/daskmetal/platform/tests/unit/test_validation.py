"""module_utils/validation.py: each preflight rule on plain data, good and bad.

The argument-spec rule runs ansible-core's own ArgumentSpecValidator on the roles' real meta/argument_specs.yml;
the plan rule runs plan.derive; the secret rules run secrets.secret_problem. Every negative case has a positive
control next to it, so a rule that reports everything (or nothing) fails here."""
import copy
import os

import pytest

from ansible_collections.daskmetal.platform.plugins.module_utils import validation as v

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 6))
ROLES_DIR = os.path.join(ROOT, "roles")

GROUPS = {
    "all": ["rancher-1", "s1", "s2", "s3", "a1", "a2"],
    "rancher": ["rancher-1"], "rke2_servers": ["s1", "s2", "s3"], "rke2_agents": ["a1", "a2"],
    "rke2_cluster": ["s1", "s2", "s3", "a1", "a2"], "docker_hosts": ["rancher-1"],
    "zerotier_nodes": ["rancher-1", "s1", "s2", "s3", "a1", "a2"], "zerotier_controller": [], "dask_single_host": [],
    "ungrouped": [],
}
PLAN = {
    "zerotier": {"network_id": "8bd5124fd6000001", "cidr": "10.147.17.0/24", "node_range": "10.147.17.10-10.147.17.99",
                 "auto_assign_pool": "10.147.17.100-10.147.17.149"},
    "metallb": {"speakers": "rke2_agents", "pools": [{"name": "services", "addresses": ["10.147.17.200-10.147.17.219"],
                                                      "auto_assign": False}]},
    "services": {"dask_scheduler": "10.147.17.200", "jupyter": "10.147.17.201", "grafana": "10.147.17.202"},
}
GOOD = {
    "rke2_token": "k3-join-token-0123456789abcdef", "rke2_version": "v1.33.5+rke2r1", "rke2_install_method": "tarball",
    "rke2_tarball_sha256": "", "rke2_cni": "canal", "rke2_cluster_cidr": "10.42.0.0/16",
    "rke2_service_cidr": "10.43.0.0/16", "rke2_release_url_base": "https://github.com/rancher/rke2/releases/download",
    "rke2_system_default_registry": "", "rke2_registries": {},
    "zerotier_mode": "central", "zerotier_api_token": "zt-central-token-0123456789", "zerotier_network_id":
        "8bd5124fd6000001", "zerotier_controller_host": "", "zerotier_package_version": "",
    "rancher_server_mode": "docker", "rancher_server_tls_mode": "self-signed", "rancher_server_helm_tls_source":
        "rancher", "rancher_server_version": "v2.12.3", "rancher_server_url": "https://10.147.17.10",
    "rancher_server_hostname": "10.147.17.10", "rancher_server_bootstrap_password": "rancher-boot-password-42",
    "rancher_server_admin_password": "rancher-boot-password-42", "rancher_server_registry": "docker.io",
    "rancher_server_helm_chart_version": "2.12.3", "rancher_server_cert_manager_version": "v1.18.2",
    "docker_install_source": "upstream", "docker_version": "28.5.2",
    "docker_apt_key_fingerprint": "9DC858229FC7DD38854AE2D88D81803C0EBFCD88", "docker_registry_mirrors": [],
    "docker_insecure_registries": [],
    "base_firewall_enabled": True, "base_firewall_ssh_ports": [22], "base_firewall_zerotier_port": 9993,
    "base_firewall_zt_tcp_ports": [6443, "30000-32767"], "base_firewall_zt_udp_ports": [8472],
    "base_firewall_rancher_tcp_ports": [80, 443], "base_firewall_public_tcp_ports": [],
    "base_firewall_public_udp_ports": [], "base_firewall_zt_interfaces": ["zt*"],
    "base_firewall_trusted_interfaces": ["lo", "docker0"], "base_sysctl": {"net.ipv4.ip_forward": 1},
    "base_sysctl_extra": {}, "base_ca_certificates": [],
    "helm_version": "v3.22.0", "helm_download_base_url": "https://get.helm.sh", "metallb_chart_version": "0.16.1",
    "monitoring_provider": "kube-prometheus-stack", "monitoring_chart_version": "88.5.3",
    "monitoring_grafana_ip": "10.147.17.202", "monitoring_grafana_admin_password": "grafana-password-42",
    "dask_worker_replicas": 15, "dask_jupyter_password": "jupyter-password-42", "dask_operator_chart_version": "2026.3.0",
    "dask_version": "2026.8.0", "dask_image_registry": "ghcr.io",
}


def ctx(changes=None, groups=None, plan=PLAN, explicit=None, specs=None, inputs=None, roles=None, host_changes=None):
    groups = copy.deepcopy(groups or GROUPS)
    hosts = set(groups["all"]) | {"localhost"}
    values = dict((h, dict(GOOD, **(changes or {}))) for h in hosts)
    for host, more in (host_changes or {}).items():
        values[host].update(more)
    return v.Context(groups, values, explicit=explicit, specs=specs, plan=copy.deepcopy(plan), inputs=inputs,
                     roles=roles)


def variables(problems):
    return [p["variable"] for p in problems]


def test_the_good_inventory_has_no_problem():
    assert v.check(ctx()) == []


def test_render_is_one_line_per_problem_and_reads_back():
    items = [v.problem("a_var", "is wrong", "set it"), v.problem("b_var", "is bad", "fix it")]
    text = v.render(items)
    assert text.splitlines() == ["a_var: is wrong; fix: set it", "b_var: is bad; fix: fix it"]
    assert [v.from_message(line) for line in text.splitlines()] == items


def test_every_problem_at_once():
    problems = v.check(ctx({"rke2_version": "1.33", "dask_worker_replicas": -1, "rke2_token": "changeme"}))
    assert sorted(variables(problems)) == ["dask_worker_replicas", "rke2_token (from vault_rke2_token)", "rke2_version"]


# --- argument specs (the real role specs, ansible's ArgumentSpecValidator) -----------------------------------------

def _specs():
    return dict((role, v.load_spec(os.path.join(ROLES_DIR, role))) for role in v.ROLES)


def test_every_role_has_a_main_argument_spec():
    specs = _specs()
    assert [r for r in v.ROLES if not specs[r]] == []


@pytest.mark.parametrize("name,value,needle", [
    ("docker_hold", "maybe", "to bool"),
    ("rke2_supervisor_port", "nine", "to int"),
    ("rke2_install_method", "curl", "must be one of"),
    ("zerotier_apt_components", "main", None),        # a str becomes a one-item list: valid
])
def test_argument_specs_check_what_the_inventory_sets(name, value, needle):
    explicit = dict((h, {name}) for h in GROUPS["all"] + ["localhost"])
    problems = [p for p in v.check(ctx({name: value}, explicit=explicit, specs=_specs())) if p["variable"] == name]
    if needle is None:
        assert problems == []
    else:
        assert len(problems) == 1 and needle in problems[0]["problem"], problems
        assert "argument_specs.yml" in problems[0]["fix"]


def test_argument_specs_ignore_options_the_inventory_does_not_set():
    # the same bad value, not set by the inventory (a role default): not the inventory's problem
    assert v.check(ctx({"docker_hold": "maybe"}, explicit={}, specs=_specs())) == []


def test_argument_specs_report_a_missing_required_option():
    specs = {"dask": {"dask_namespace": {"type": "str", "required": True}}}
    values = {"localhost": dict(GOOD)}
    problems = v.check(v.Context(GROUPS, values, specs=specs, roles=["dask"], plan=None))
    assert [("dask_namespace", True)] == [(p["variable"], "missing required" in p["problem"]) for p in problems]


def test_a_rule_and_the_spec_name_a_variable_once():
    explicit = {"localhost": {"dask_worker_replicas"}}
    problems = v.check(ctx({"dask_worker_replicas": "abc"}, explicit=explicit, specs=_specs()))
    assert variables(problems) == ["dask_worker_replicas"]


# --- plan and groups ---------------------------------------------------------------------------------------------------

def test_the_plan_problems_come_from_plan_derive():
    plan = copy.deepcopy(PLAN)
    plan["zerotier"]["cidr"] = "10.147.17.0/33"
    problems = v.check(ctx(plan=plan))
    assert "daskmetal_plan.zerotier.cidr" in variables(problems)
    assert all(p["fix"] for p in problems)


@pytest.mark.parametrize("servers,bad", [(["s1"], False), (["s1", "s2"], True), (["s1", "s2", "s3"], False),
                                         (["s1", "s2", "s3", "a1"], True)])
def test_rke2_server_count_is_odd(servers, bad):
    groups = copy.deepcopy(GROUPS)
    groups["rke2_servers"] = servers
    problems = v.rke2_server_count_rule(v.Context(groups, {}))
    assert bool(problems) == bad
    assert not problems or problems[0]["variable"].startswith("rke2_servers")


def test_every_rke2_node_is_a_zerotier_node():
    groups = copy.deepcopy(GROUPS)
    groups["zerotier_nodes"] = ["rancher-1", "s1", "s2", "s3", "a1"]
    problems = v.rke2_nodes_are_zerotier_nodes_rule(v.Context(groups, {}))
    assert len(problems) == 1 and "a2" in problems[0]["problem"]
    assert v.rke2_nodes_are_zerotier_nodes_rule(v.Context(GROUPS, {})) == []


def test_metallb_speakers_are_cluster_nodes():
    plan = copy.deepcopy(PLAN)
    plan["metallb"]["speakers"] = ["rancher-1", "a1"]
    problems = v.metallb_speakers_are_cluster_nodes_rule(v.Context(GROUPS, {}, plan=plan))
    assert variables(problems) == ["daskmetal_plan.metallb.speakers"] and "rancher-1" in problems[0]["problem"]
    assert v.metallb_speakers_are_cluster_nodes_rule(v.Context(GROUPS, {}, plan=PLAN)) == []


# --- secrets and modes ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,value,variable", [
    ("rke2_token", "replace-with-a-long-random-string", "rke2_token (from vault_rke2_token)"),
    ("rke2_token", None, "rke2_token (from vault_rke2_token)"),
    ("rke2_token", "short-token", "rke2_token (from vault_rke2_token)"),
    ("zerotier_api_token", "<your token>", "zerotier_api_token (from vault_zerotier_api_token)"),
    ("rancher_server_bootstrap_password", "admin", "rancher_server_bootstrap_password (from "
                                                   "vault_rancher_bootstrap_password)"),
    ("monitoring_grafana_admin_password", "prom-operator", "monitoring_grafana_admin_password (from "
                                                           "vault_grafana_admin_password)"),
    ("dask_jupyter_password", "", "dask_jupyter_password (from vault_jupyter_password)"),
])
def test_bad_secrets_are_named_never_shown(name, value, variable):
    changes = {name: value}
    if name == "rancher_server_bootstrap_password":
        changes["rancher_server_admin_password"] = value
    problems = v.check(ctx(changes))
    assert variables(problems) == [variable]
    if value:
        assert value not in v.render(problems)


def test_rancher_admin_password_is_checked_when_it_differs():
    problems = v.check(ctx({"rancher_server_admin_password": "password"}))
    assert variables(problems) == ["rancher_server_admin_password"]


def test_the_central_token_is_needed_in_central_mode_only():
    assert "zerotier_api_token (from vault_zerotier_api_token)" in variables(
        v.check(ctx({"zerotier_api_token": ""})))
    groups = copy.deepcopy(GROUPS)
    groups["zerotier_controller"] = ["rancher-1"]
    controller = {"zerotier_api_token": "", "zerotier_mode": "controller", "zerotier_controller_host": "rancher-1",
                  "zerotier_network_id": ""}
    assert v.check(ctx(controller, groups=groups)) == []
    missing = dict(controller, zerotier_controller_host="gone-host")
    assert variables(v.check(ctx(missing, groups=groups))) == ["zerotier_controller_host"]


def test_an_invalid_plan_is_not_also_reported_as_a_missing_network_id():
    plan = copy.deepcopy(PLAN)
    plan["zerotier"]["mtu"] = 100
    # what the role default gives when the derived plan is missing: ''
    problems = v.check(ctx({"zerotier_network_id": ""}, plan=plan))
    assert variables(problems) == ["daskmetal_plan.zerotier.mtu"]


def test_central_mode_needs_a_network_id():
    problems = v.check(ctx({"zerotier_network_id": ""}))
    assert variables(problems) == ["daskmetal_plan.zerotier.network_id"]


@pytest.mark.parametrize("changes,variable", [
    ({"rancher_server_mode": "k3s"}, "rancher_server_mode"),
    ({"rancher_server_tls_mode": "provided", "rancher_server_tls_cert_file": "",
      "rancher_server_tls_key_file": "/etc/ssl/rancher.key"}, "rancher_server_tls_cert_file"),
    ({"rancher_server_tls_mode": "acme", "rancher_server_acme_domain": ""}, "rancher_server_acme_domain"),
    ({"rancher_server_url": "http://rancher.example.com"}, "rancher_server_url"),
    ({"rancher_server_mode": "helm"}, "rancher_server_hostname"),
    ({"rke2_install_method": "artifacts", "rke2_artifacts_dir": ""}, "rke2_artifacts_dir"),
    ({"rke2_tarball_sha256": "abc"}, "rke2_tarball_sha256"),
    ({"rke2_cni": "weave"}, "rke2_cni"),
    ({"monitoring_provider": "victoria"}, "monitoring_provider"),
    ({"monitoring_grafana_ip": "10.147.17"}, "monitoring_grafana_ip"),
])
def test_mode_rules(changes, variable):
    assert variables(v.check(ctx(changes))) == [variable]


def test_helm_mode_with_a_dns_name_passes():
    assert v.check(ctx({"rancher_server_mode": "helm", "rancher_server_hostname": "rancher.example.com",
                        "rancher_server_url": "https://rancher.example.com"})) == []


# --- formats ------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,good,bad", [
    ("rke2_version", "v1.33.5+rke2r1", "v1.33.5"), ("rancher_server_version", "v2.12.3", "2.12.3"),
    ("docker_version", "5:28.5.2-1~debian.12~bookworm", "28"), ("docker_version", "28.5", "28.5.x"),
    ("docker_version", "", "latest"),
    ("helm_version", "v3.22.0", "3.22"), ("metallb_chart_version", "0.16.1", "0.16"),
    ("monitoring_chart_version", "88.5.3", "latest"), ("dask_operator_chart_version", "2026.3.0", 2026.3),
    ("dask_version", "2026.8.0", "2026.8"), ("zerotier_package_version", "1.14.2", "1.14"),
    ("rancher_server_helm_chart_version", "2.12.3", "v2.12"),
    ("rancher_server_cert_manager_version", "v1.18.2", "1.18.2"),
])
def test_version_formats(name, good, bad):
    assert v.check(ctx({name: good})) == []
    problems = v.check(ctx({name: bad}))
    assert variables(problems) == [name] and repr(bad) in problems[0]["problem"]


@pytest.mark.parametrize("changes,variable", [
    ({"docker_registry_mirrors": ["mirror.example.com"]}, "docker_registry_mirrors[0]"),
    ({"docker_registry_mirrors": ["https://good.example.com", "ftp://x.example.com"]}, "docker_registry_mirrors[1]"),
    ({"docker_insecure_registries": ["https://lab:5000"]}, "docker_insecure_registries[0]"),
    ({"rke2_system_default_registry": "https://registry.example.com"}, "rke2_system_default_registry"),
    ({"rke2_registries": {"mirrors": {"docker.io": {"endpoint": ["registry:5000"]}}}},
     "rke2_registries.mirrors.docker.io.endpoint[0]"),
    ({"rke2_release_url_base": "github.com/rancher"}, "rke2_release_url_base"),
    ({"helm_download_base_url": "https://get helm.sh"}, "helm_download_base_url"),
    ({"dask_image_registry": "https://ghcr.io"}, "dask_image_registry"),
    ({"rancher_server_registry": "registry.example.com:99999"}, "rancher_server_registry"),
])
def test_registry_and_mirror_urls(changes, variable):
    assert variables(v.check(ctx(changes))) == [variable]


def test_well_formed_registries_pass():
    assert v.check(ctx({
        "docker_registry_mirrors": ["https://mirror.example.com:5000/v2"], "docker_insecure_registries":
            ["registry.lab:5000", "10.0.0.0/8"], "rke2_system_default_registry": "registry.example.com:5000",
        "rke2_registries": {"mirrors": {"docker.io": {"endpoint": ["https://registry.example.com:5000"]}}},
        "dask_image_registry": "registry.example.com:5000/mirror"})) == []


@pytest.mark.parametrize("value,ok", [(0, True), (15, True), ("4", True), (-1, False), ("abc", False), (True, False),
                                      (1.5, False), (None, False), ("", False)])
def test_worker_replicas_are_whole_numbers(value, ok):
    assert (v.count_problem("dask_worker_replicas", value) == []) is ok


def _capacity(vcpus, memory_mb):
    return dict((h, {"ansible_processor_vcpus": vcpus, "ansible_memtotal_mb": memory_mb}) for h in ("a1", "a2"))


def test_workers_that_do_not_fit_the_known_nodes():
    problems = v.check(ctx(host_changes=_capacity(4, 4096)))   # 15 workers on two 4 GiB nodes
    assert variables(problems) == ["dask_worker_replicas"] and "does not fit the rke2_agents nodes" in \
        problems[0]["problem"]
    assert v.check(ctx(host_changes=_capacity(64, 262144))) == []
    assert v.check(ctx()) == []                                 # capacity unknown: nothing to say yet
    assert v.check(ctx({"dask_worker_replicas": 0}, host_changes=_capacity(4, 4096))) == []


def test_threads_that_do_not_fit_the_known_nodes():
    problems = v.check(ctx({"dask_worker_threads": 8, "dask_worker_memory": "1Gi", "dask_worker_replicas": 4},
                           host_changes=_capacity(8, 65536)))
    assert variables(problems) == ["dask_worker_threads"]
    assert v.check(ctx({"dask_worker_threads": 4, "dask_worker_memory": "1Gi", "dask_worker_replicas": 4},
                       host_changes=_capacity(8, 65536))) == []


@pytest.mark.parametrize("changes,variable", [
    ({"base_firewall_ssh_ports": []}, "base_firewall_ssh_ports"),
    ({"base_firewall_zt_tcp_ports": [6443, "70000"]}, "base_firewall_zt_tcp_ports"),
    ({"base_firewall_public_tcp_ports": ["http"]}, "base_firewall_public_tcp_ports"),
    ({"base_firewall_zt_udp_ports": ["9000-8000"]}, "base_firewall_zt_udp_ports"),
    ({"base_firewall_zt_interfaces": ["zt* ; drop"]}, "base_firewall_zt_interfaces"),
    ({"base_sysctl_extra": {"not a key": 1}}, "base_sysctl_extra['not a key']"),
    ({"base_ca_certificates": [{"name": "corp", "content": "hello"}]}, "base_ca_certificates[0]"),
    ({"docker_apt_key_fingerprint": "0EBFCD88"}, "docker_apt_key_fingerprint"),
])
def test_host_baseline_and_docker_rules(changes, variable):
    assert variables(v.check(ctx(changes))) == [variable]


def test_firewall_rules_are_off_with_the_firewall():
    assert v.check(ctx({"base_firewall_enabled": False, "base_firewall_ssh_ports": []})) == []


def test_a_problem_on_some_hosts_names_them():
    problems = v.check(ctx(host_changes={"a2": {"rke2_version": "v1"}}))
    assert variables(problems) == ["rke2_version (on a2)"]


def test_roles_limit_the_rules():
    assert v.check(ctx({"rke2_token": ""}, roles=["zerotier"])) == []
    assert v.check(ctx({"rke2_token": ""}, roles=[])) == []


# --- day-2 inputs -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("inputs,variable", [
    ({"worker_replicas": None}, "dask_worker_replicas"),
    ({"worker_replicas": "many"}, "dask_worker_replicas"),
    ({"node": None}, "daskmetal_node"),
    ({"node": "epyc-agent-9"}, "daskmetal_node"),
    ({"node": "rancher-1", "node_groups": ["rke2_cluster"]}, "daskmetal_node"),
    ({"teardown_layers": "dask"}, "daskmetal_teardown_layers"),
    ({"teardown_layers": ["dask", "kafka"]}, "daskmetal_teardown_layers"),
    ({"restore_files": {"daskmetal_restore_snapshot": None}}, "daskmetal_restore_snapshot"),
    ({"restore_files": {"daskmetal_restore_snapshot": "/nonexistent/snap"}}, "daskmetal_restore_snapshot"),
])
def test_day2_inputs(inputs, variable):
    assert variables(v.input_problems(v.Context(GROUPS, {}, inputs=inputs))) == [variable]


def test_good_day2_inputs(tmp_path):
    snap = tmp_path / "snap"
    snap.write_text("x")
    inputs = {"worker_replicas": "3", "node": "a1", "node_groups": ["rke2_cluster", "zerotier_nodes"],
              "teardown_layers": ["dask"], "restore_files": {"daskmetal_restore_snapshot": str(snap),
                                                            "daskmetal_restore_rancher_archive": None}}
    assert v.input_problems(v.Context(GROUPS, {}, inputs=inputs)) == []


@pytest.mark.parametrize("values, variable", [
    ({"dask_adaptive_enabled": True, "dask_adaptive_minimum": 5, "dask_adaptive_maximum": 2}, "dask_adaptive_minimum"),
    ({"dask_adaptive_enabled": "true", "dask_adaptive_minimum": 1, "dask_adaptive_maximum": "many"},
     "dask_adaptive_maximum"),
    ({"dask_source_ranges": "10.147.17.0/24"}, "dask_source_ranges"),
    ({"dask_source_ranges": ["0.0.0.0/0"]}, "dask_source_ranges"),
    ({"dask_source_ranges": ["10.147.17.0/33"]}, "dask_source_ranges"),
])
def test_dask_operator_inputs_are_refused(values, variable):
    from ansible_collections.daskmetal.platform.plugins.module_utils import validation
    problems = validation.dask_adaptive_rule(_dask_ctx(values), "localhost") + \
        validation.dask_source_ranges_rule(_dask_ctx(values), "localhost")
    assert [p["variable"] for p in problems] == [variable]


@pytest.mark.parametrize("values", [
    {"dask_adaptive_enabled": False, "dask_adaptive_minimum": 5, "dask_adaptive_maximum": 2},
    {"dask_adaptive_enabled": True, "dask_adaptive_minimum": 0, "dask_adaptive_maximum": 15},
    {"dask_source_ranges": ["10.147.17.0/24"]},
])
def test_dask_operator_inputs_accepted(values):
    from ansible_collections.daskmetal.platform.plugins.module_utils import validation
    assert validation.dask_adaptive_rule(_dask_ctx(values), "localhost") == []
    assert validation.dask_source_ranges_rule(_dask_ctx(values), "localhost") == []


def _dask_ctx(values):
    from ansible_collections.daskmetal.platform.plugins.module_utils import validation
    return validation.Context({"all": ["localhost"]}, {"localhost": dict(values)}, roles=["dask"])
