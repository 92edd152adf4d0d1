# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Every input rule of the platform, one definition each, run before any host changes.

Pure Python on plain data (no templating, no I/O beyond reading a role's ``meta/argument_specs.yml``), so each
rule can be unit-tested. The ``daskmetal.platform.preflight`` action resolves the variables every host of every
layer would get (inventory over role defaults) and calls :func:`check`; a role run on its own calls the same
action on itself, so a rule exists once.

A problem is ``{"variable": ..., "problem": ..., "fix": ...}``; :func:`render` turns the list into the one
message the operator sees, one line per problem: ``variable: what is wrong; fix: how``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import re

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.daskmetal.platform.plugins.module_utils import plan as _plan
from ansible_collections.daskmetal.platform.plugins.module_utils.dask_sizing import SizingError, worker_resources
from ansible_collections.daskmetal.platform.plugins.module_utils.hostnames import hostname_problem
from ansible_collections.daskmetal.platform.plugins.module_utils.secrets import secret_problem

CONTROLLER = "localhost"


def problem(variable, what, fix):
    return {"variable": variable, "problem": what, "fix": fix}


def from_message(message):
    """``"variable: what is wrong; fix: how"`` (the plan's, the secret rule's, the hostname rule's form) -> problem."""
    head, _sep, fix = message.rpartition("; fix: ")
    if not _sep:
        head, fix = message, ""
    variable, _sep, what = head.partition(": ")
    return problem(variable.strip(), what.strip(), fix.strip())


def render(problems):
    return "\n".join("%s: %s; fix: %s" % (p["variable"], p["problem"], p["fix"]) for p in problems)


# --- which hosts each layer touches (the host patterns of playbooks/*.yml) ------------------------------------------

def _members(groups, *names):
    out = []
    for name in names:
        for host in groups.get(name) or []:
            if host not in out:
                out.append(host)
    return out


def _cluster(groups):
    return len(groups.get("rke2_servers") or []) > 0


# role -> hosts it runs on (playbooks/hosts.yml, docker.yml, zerotier.yml, rancher.yml, rke2.yml, the controller
# plays of metallb.yml, monitoring.yml, dask.yml and controller_tools.yml, single_host.yml)
LAYERS = (
    ("base", lambda g: [h for h in g.get("all") or [] if h != CONTROLLER]),
    ("docker", lambda g: _members(g, "docker_hosts", "rancher", "dask_single_host")),
    ("zerotier", lambda g: _members(g, "zerotier_controller", "zerotier_nodes")),
    ("rancher_server", lambda g: _members(g, "rancher")),
    ("rke2", lambda g: _members(g, "rke2_servers", "rke2_agents")),
    ("helm", lambda g: [CONTROLLER] if _cluster(g) else []),
    ("metallb", lambda g: [CONTROLLER] if _cluster(g) else []),
    ("monitoring", lambda g: [CONTROLLER] if _cluster(g) else []),
    ("dask", lambda g: [CONTROLLER] if _cluster(g) else []),
    ("dask_compose", lambda g: _members(g, "dask_single_host")),
)
ROLES = tuple(name for name, _hosts in LAYERS)

# The variables the cross-variable rules read, per role (the action resolves these besides the argument specs').
ROLE_VARS = {
    "base": ("base_firewall_enabled", "base_firewall_ssh_ports", "base_firewall_zerotier_port",
             "base_firewall_zt_tcp_ports", "base_firewall_zt_udp_ports", "base_firewall_rancher_tcp_ports",
             "base_firewall_public_tcp_ports", "base_firewall_public_udp_ports", "base_firewall_zt_interfaces",
             "base_firewall_trusted_interfaces", "base_sysctl", "base_sysctl_extra", "base_ca_certificates"),
    "docker": ("docker_install_source", "docker_version", "docker_apt_key_fingerprint", "docker_registry_mirrors",
               "docker_insecure_registries"),
    "zerotier": ("zerotier_mode", "zerotier_api_token", "zerotier_network_id", "zerotier_controller_host",
                 "zerotier_package_version"),
    "rancher_server": ("rancher_server_mode", "rancher_server_version", "rancher_server_tls_mode",
                       "rancher_server_tls_cert_file", "rancher_server_tls_key_file", "rancher_server_acme_domain",
                       "rancher_server_helm_tls_source", "rancher_server_url", "rancher_server_hostname",
                       "rancher_server_bootstrap_password", "rancher_server_admin_password",
                       "rancher_server_registry", "rancher_server_helm_chart_version",
                       "rancher_server_cert_manager_version", "rancher_server_bind_address"),
    "rke2": ("rke2_version", "rke2_token", "rke2_install_method", "rke2_artifacts_dir", "rke2_tarball_sha256",
             "rke2_servers_group", "rke2_release_url_base", "rke2_system_default_registry", "rke2_registries",
             "rke2_cni", "rke2_cluster_cidr", "rke2_service_cidr"),
    "helm": ("helm_version", "helm_download_base_url"),
    "metallb": ("metallb_chart_version",),
    "monitoring": ("monitoring_provider", "monitoring_grafana_admin_password", "monitoring_chart_version",
                   "monitoring_grafana_ip", "monitoring_prometheus_storage_size"),
    "dask": ("dask_worker_replicas", "dask_jupyter_password", "dask_operator_chart_version", "dask_version",
             "dask_image_registry", "dask_adaptive_enabled", "dask_adaptive_minimum", "dask_adaptive_maximum",
             "dask_source_ranges", "dask_worker_threads", "dask_worker_memory", "dask_worker_hosts_group",
             "dask_worker_reserve_cpus", "dask_worker_reserve_memory_mb"),
    "dask_compose": ("dask_compose_worker_replicas", "dask_compose_jupyter_password",
                     "dask_compose_grafana_admin_password", "dask_compose_registry"),
}

# A node's capacity where the inventory or the fact cache knows it (facts injected as ansible_* variables).
CAPACITY_VARS = ("ansible_processor_vcpus", "ansible_memtotal_mb")


class Context(object):
    """What the rules read.

    :param groups: the inventory ``groups``.
    :param values: ``{host: {variable: value}}`` as each host would see them (a variable missing = undefined).
    :param explicit: ``{host: set of variables the inventory (or -e) sets}``: the argument specs check these.
    :param specs: ``{role: argument_specs main options}``.
    :param plan: ``daskmetal_plan`` (None: the inventory has none).
    :param inputs: a day-2 playbook's own inputs (see :func:`input_problems`).
    :param roles: only these roles; :param hosts: ``{role: [hosts]}`` instead of :data:`LAYERS` (a role on itself).
    """

    def __init__(self, groups, values, explicit=None, specs=None, plan=None, inputs=None, roles=None, hosts=None):
        self.groups = groups or {}
        self.values = values or {}
        self.explicit = explicit or {}
        self.specs = specs or {}
        self.plan = plan
        self.inputs = inputs or {}
        self.roles = ROLES if roles is None else tuple(roles)
        self._hosts = hosts
        self._derived = False

    @property
    def derived(self):
        """The derived plan, None when there is no plan or it is invalid (computed once)."""
        if self._derived is False:
            self._derived = derived_plan(self.plan, self.groups)
        return self._derived

    def role_hosts(self, role):
        if role not in self.roles:
            return []
        if self._hosts is not None:
            return list(self._hosts.get(role) or [])
        return dict(LAYERS)[role](self.groups)

    def get(self, host, name, default=None):
        value = self.values.get(host, {}).get(name, default)
        return default if value is None and default is not None else value


# --- rule registry ---------------------------------------------------------------------------------------------------
# A host rule runs once per host of its role: fn(ctx, host) -> problems. A global rule runs once: fn(ctx) -> problems.

HOST_RULES = []
GLOBAL_RULES = []


def host_rule(role):
    def register(fn):
        HOST_RULES.append((role, fn))
        return fn
    return register


def global_rule(fn):
    GLOBAL_RULES.append(fn)
    return fn


def check(ctx):
    """Every problem of ``ctx``, each once; a problem found on some hosts of a role only names those hosts."""
    found = []
    for fn in GLOBAL_RULES:
        found.extend(fn(ctx))
    for role, fn in HOST_RULES:
        hosts = ctx.role_hosts(role)
        order, per_key = [], {}
        for host in hosts:
            for item in fn(ctx, host):
                key = (item["variable"], item["problem"], item["fix"])
                if key not in per_key:
                    per_key[key] = []
                    order.append(item)
                per_key[key].append(host)
        for item in order:
            where = per_key[(item["variable"], item["problem"], item["fix"])]
            if len(where) < len(hosts):
                item = dict(item, variable="%s (on %s)" % (item["variable"], ", ".join(where)))
            found.append(item)
    # the argument specs last: a variable a specific rule already explains gets no second, generic line
    named = set(item["variable"].split(" ")[0] for item in found)
    found.extend(item for item in argument_spec_rule(ctx) if item["variable"] not in named)
    return _unique(found)


def _unique(problems):
    seen, out = set(), []
    for item in problems:
        key = (item["variable"], item["problem"], item["fix"])
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


# --- argument specs ---------------------------------------------------------------------------------------------------

def load_spec(role_dir, entry_point="main"):
    """The options of a role's ``meta/argument_specs.yml`` entry point (``{}`` when it has none)."""
    import yaml  # PyYAML ships with ansible-core

    path = os.path.join(role_dir, "meta", "argument_specs.yml")
    if not os.path.isfile(path):
        return {}
    with open(path) as handle:
        data = yaml.safe_load(handle) or {}
    return ((data.get("argument_specs") or {}).get(entry_point) or {}).get("options") or {}


_ARG_NAME_RES = (re.compile(r"argument '([^']+)'"), re.compile(r"value of ([A-Za-z0-9_]+) must"),
                 re.compile(r"(?:missing required arguments|parameters are required together): ([A-Za-z0-9_, ]+)"))


def _spec_fix(name, option):
    parts = ["set %s to a %s" % (name, option.get("type", "str"))]
    if option.get("elements"):
        parts[0] += " of %s" % option["elements"]
    if option.get("choices"):
        parts.append("one of %s" % ", ".join(str(c) for c in option["choices"]))
    return " ".join(parts) + " (see the role's meta/argument_specs.yml)"


def spec_problems(role, options, params):
    """Validate ``params`` against ``options`` (pass only the options to check) with ansible's ArgumentSpecValidator."""
    if not options:
        return []
    result = ArgumentSpecValidator(options).validate(dict(params), validate_role_argument_spec=True)
    out = []
    for message in result.error_messages:
        name = None
        for regex in _ARG_NAME_RES:
            match = regex.search(message)
            if match:
                name = match.group(1).split(",")[0].strip()
                break
        option = options.get(name, {})
        out.append(problem(name or role, "%s (role %s)" % (message, role), _spec_fix(name or role, option)))
    return out


def argument_spec_rule(ctx):
    """Each role's argument specs, for every host of the role: the options the inventory sets and the required ones."""
    out = []
    for role in ctx.roles:
        options = ctx.specs.get(role) or {}
        for host in ctx.role_hosts(role):
            given = ctx.explicit.get(host, set())
            values = ctx.values.get(host, {})
            params = dict((name, values[name]) for name in options if name in given and name in values)
            # a required option left undefined is passed as missing, so the validator reports it
            required = [n for n, o in options.items() if (o or {}).get("required") and n not in values]
            for item in spec_problems(role, dict((n, o) for n, o in options.items() if n in params or n in required),
                                      params):
                out.append(item)
    return _unique(out)


# --- the plan ---------------------------------------------------------------------------------------------------------

@global_rule
def plan_rule(ctx):
    """The addressing plan's own problems (module_utils/plan.py ``derive``)."""
    if ctx.plan is None:
        return []
    try:
        _plan.derive(ctx.plan, ctx.groups)
    except _plan.PlanError as exc:
        return [from_message(m) for m in exc.errors]
    return []


def derived_plan(plan, groups):
    """The derived plan, or None when the plan is missing or invalid (its problems come from :func:`plan_rule`)."""
    if plan is None:
        return None
    try:
        return _plan.derive(plan, groups)
    except _plan.PlanError:
        return None


# --- group consistency -----------------------------------------------------------------------------------------------

def _allow_even_servers(ctx, servers):
    """add_node.yml grows the control plane one server at a time (1 -> 2 -> 3): it allows the even step."""
    def true(value):
        return value is True or str(value).strip().lower() in ("true", "yes", "1")
    if true(ctx.inputs.get("allow_even_servers")):
        return True
    return any(true(ctx.get(host, "rke2_allow_even_servers", False)) for host in servers)


@global_rule
def rke2_server_count_rule(ctx):
    if "rke2" not in ctx.roles:
        return []
    servers = ctx.groups.get("rke2_servers") or []
    agents = ctx.groups.get("rke2_agents") or []
    if not servers and not agents:
        return []
    if len(servers) % 2 == 1 or _allow_even_servers(ctx, servers):
        return []
    return [problem("rke2_servers (inventory group)",
                    "has %d hosts; RKE2 servers run etcd, which needs an odd number for quorum" % len(servers),
                    "put 1 (a lab) or 3 (HA) hosts in rke2_servers; move the others to rke2_agents")]


@global_rule
def rke2_nodes_are_zerotier_nodes_rule(ctx):
    if "rke2" not in ctx.roles:
        return []
    zt = set(ctx.groups.get("zerotier_nodes") or [])
    missing = [h for h in _members(ctx.groups, "rke2_servers", "rke2_agents") if h not in zt]
    if not missing:
        return []
    return [problem("zerotier_nodes (inventory group)",
                    "does not contain the RKE2 node(s) %s, which talk to each other over ZeroTier" % ", ".join(missing),
                    "add rke2_servers and rke2_agents as children of zerotier_nodes (see inventories/example/hosts.yml)")]


@global_rule
def metallb_speakers_are_cluster_nodes_rule(ctx):
    if "metallb" not in ctx.roles or not _cluster(ctx.groups):
        return []
    derived = ctx.derived
    if derived is None:
        return []
    cluster = set(_members(ctx.groups, "rke2_servers", "rke2_agents"))
    outside = [h for h in derived["metallb"]["speakers"] if h not in cluster]
    if not outside:
        return []
    return [problem("daskmetal_plan.metallb.speakers",
                    "%s %s not RKE2 node(s), so no MetalLB speaker runs there to announce the addresses"
                    % (", ".join(outside), "is" if len(outside) == 1 else "are"),
                    "name a group of cluster nodes (e.g. rke2_agents) or list hosts of rke2_servers/rke2_agents")]


# --- secrets (module_utils/secrets.py is the rule; these say which secret each role reads) ---------------------------

def _secret(ctx, host, name, source, min_length, allow_empty=False):
    message = secret_problem(name, ctx.get(host, name), min_length, source, allow_empty)
    return [from_message(message)] if message else []


@host_rule("rke2")
def rke2_token_rule(ctx, host):
    return _secret(ctx, host, "rke2_token", "vault_rke2_token", 16)


@host_rule("zerotier")
def zerotier_mode_rule(ctx, host):
    """Central mode needs the API token and a Central network id; controller mode a controller host."""
    mode = ctx.get(host, "zerotier_mode")
    if mode == "central":
        out = _secret(ctx, host, "zerotier_api_token", "vault_zerotier_api_token", 16)
        nwid = ctx.get(host, "zerotier_network_id")
        # from the derived plan: an invalid plan (its own problems are reported) says nothing about the id
        plan_ok = ctx.plan is None or ctx.derived is not None
        if plan_ok and nwid is not None and not re.match(r"^[0-9a-f]{16}$", str(nwid)):
            out.append(problem("daskmetal_plan.zerotier.network_id",
                               "is empty, but ZeroTier Central mode (no zerotier_controller host) needs the id of "
                               "the Central network" if not nwid else "%r is not a 16-hex-digit network id" % (nwid,),
                               "copy the network id from ZeroTier Central (quoted), or put a host in the "
                               "zerotier_controller group to run a self-hosted controller"))
        return out
    if mode == "controller":
        ctl = ctx.get(host, "zerotier_controller_host")
        if not ctl or ctl not in (ctx.groups.get("all") or []):
            return [problem("zerotier_controller_host", "%r is not a host of the inventory" % (ctl,),
                            "put the controller host in the zerotier_controller group")]
        return []
    return [problem("zerotier_mode", "%r is neither central nor controller" % (mode,),
                    "leave zerotier_mode unset (it follows the zerotier_controller group) or set central or "
                    "controller")]


@host_rule("rancher_server")
def rancher_secrets_rule(ctx, host):
    out = _secret(ctx, host, "rancher_server_bootstrap_password", "vault_rancher_bootstrap_password", 12)
    admin = ctx.get(host, "rancher_server_admin_password")
    if admin != ctx.get(host, "rancher_server_bootstrap_password"):
        out.extend(_secret(ctx, host, "rancher_server_admin_password", None, 12))
    return out


@host_rule("monitoring")
def grafana_password_rule(ctx, host):
    return _secret(ctx, host, "monitoring_grafana_admin_password", "vault_grafana_admin_password", 8)


@host_rule("dask")
def jupyter_password_rule(ctx, host):
    return _secret(ctx, host, "dask_jupyter_password", "vault_jupyter_password", 8)


@host_rule("dask_compose")
def compose_passwords_rule(ctx, host):
    return (_secret(ctx, host, "dask_compose_jupyter_password", None, 8, allow_empty=True)
            + _secret(ctx, host, "dask_compose_grafana_admin_password", None, 8, allow_empty=True))


# --- modes ------------------------------------------------------------------------------------------------------------

def _choice(ctx, host, name, choices):
    value = ctx.get(host, name)
    if value in choices:
        return []
    return [problem(name, "%r is not one of %s" % (value, ", ".join(choices)), "set %s to one of them" % name)]


@host_rule("rancher_server")
def rancher_mode_rule(ctx, host):
    out = _choice(ctx, host, "rancher_server_mode", ("docker", "helm"))
    out += _choice(ctx, host, "rancher_server_tls_mode", ("self-signed", "provided", "acme"))
    out += _choice(ctx, host, "rancher_server_helm_tls_source", ("rancher", "letsEncrypt", "secret"))
    tls = ctx.get(host, "rancher_server_tls_mode")
    if tls == "provided":
        for name in ("rancher_server_tls_cert_file", "rancher_server_tls_key_file"):
            if not ctx.get(host, name):
                out.append(problem(name, "is empty, but rancher_server_tls_mode is provided",
                                   "set it to the PEM file on the controller, or use rancher_server_tls_mode: "
                                   "self-signed"))
    if tls == "acme" and not ctx.get(host, "rancher_server_acme_domain"):
        out.append(problem("rancher_server_acme_domain", "is empty, but rancher_server_tls_mode is acme",
                           "set the public DNS name Let's Encrypt issues the certificate for"))
    url = ctx.get(host, "rancher_server_url")
    if url is not None and not str(url).startswith("https://"):
        out.append(problem("rancher_server_url", "%r does not start with https://" % (url,),
                           "set an https:// URL (Rancher serves only HTTPS) or leave it unset"))
    bind = ctx.get(host, "rancher_server_bind_address")
    if bind:
        try:
            ipaddress.IPv4Address(str(bind))
        except ValueError:
            out.append(problem("rancher_server_bind_address", "%r is not an IPv4 address" % (bind,),
                               "leave it to the default (the host's ZeroTier address) or set an IPv4 address"))
    if ctx.get(host, "rancher_server_mode") == "helm":
        message = hostname_problem("rancher_server_hostname", ctx.get(host, "rancher_server_hostname"))
        if message:
            out.append(from_message(message))
    return out


@host_rule("rke2")
def rke2_install_rule(ctx, host):
    out = []
    if ctx.get(host, "rke2_install_method") == "artifacts" and not ctx.get(host, "rke2_artifacts_dir"):
        out.append(problem("rke2_artifacts_dir", "is empty, but rke2_install_method is artifacts",
                           "set it to the controller directory with the release files, or use rke2_install_method: "
                           "tarball"))
    out += _rke2_cni_problems(ctx.get(host, "rke2_cni"))
    for name in ("rke2_cluster_cidr", "rke2_service_cidr"):
        value = ctx.get(host, name)
        if value is not None and not _cidr_ok(value):
            out.append(problem(name, "%r is not an IPv4 network in CIDR notation" % (value,),
                               "set daskmetal_plan.kubernetes (RKE2 defaults: 10.42.0.0/16, 10.43.0.0/16)"))
    sha = ctx.get(host, "rke2_tarball_sha256")
    if sha and not re.match(r"^[0-9a-f]{64}$", str(sha)):
        out.append(problem("rke2_tarball_sha256", "is not 64 lower-case hex digits",
                           "copy the value from the release's sha256sum-<arch>.txt, or leave it empty"))
    return out


# rke2 v1.33.5+rke2r1 pkg/cli/types.go CNIItems; pkg/cli/cmds/server.go validateCNI / disableExceptSelected: the
# config key `cni` is a string slice (a YAML list, or values split on commas), one of none + CNIItems, optionally
# after "multus" as the first of exactly two values.
RKE2_CNI_ITEMS = ("calico", "canal", "cilium", "flannel")


def rke2_cni_values(cni):
    """``rke2_cni`` (a string, comma-separated string or list) as RKE2 splits it; None if it is neither."""
    if isinstance(cni, str):
        cni = [cni]
    if not isinstance(cni, (list, tuple)) or not all(isinstance(v, str) for v in cni):
        return None
    return [v.strip() for item in cni for v in item.split(",")]


def _rke2_cni_problems(cni):
    if cni is None:
        return []
    values = rke2_cni_values(cni)
    fix = "set rke2_cni to one of none, %s, or [multus, <one of them>]" % ", ".join(RKE2_CNI_ITEMS)
    if values is None:
        return [problem("rke2_cni", "%r is neither a string nor a list of strings" % (cni,), fix)]
    if len(values) == 2 and values[0] == "multus":
        primary = values[1]
    elif len(values) == 1 and values[0] != "multus":
        primary = values[0]
    elif values == ["multus"]:
        return [problem("rke2_cni", "multus must be used alongside another primary cni selection", fix)]
    else:
        return [problem("rke2_cni", "%r: RKE2 takes one CNI, or two with multus first" % (cni,), fix)]
    if primary != "none" and primary not in RKE2_CNI_ITEMS:
        return [problem("rke2_cni", "%r is not one of none, %s" % (primary, ", ".join(RKE2_CNI_ITEMS)), fix)]
    return []


def _cidr_ok(value):
    try:
        return isinstance(value, str) and "/" in value and ipaddress.ip_network(value).version == 4
    except ValueError:
        return False


@host_rule("monitoring")
def monitoring_rule(ctx, host):
    out = _choice(ctx, host, "monitoring_provider", ("kube-prometheus-stack", "rancher-monitoring"))
    address = ctx.get(host, "monitoring_grafana_ip")
    if address is not None:
        try:
            ipaddress.IPv4Address(str(address))
        except ValueError:
            out.append(problem("monitoring_grafana_ip", "%r is not an IPv4 address" % (address,),
                               "set daskmetal_plan.services.grafana to an address of a MetalLB pool"))
    size = ctx.get(host, "monitoring_prometheus_storage_size")
    if size and not re.match(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$", str(size)):
        out.append(problem("monitoring_prometheus_storage_size", "%r is not a Kubernetes quantity" % (size,),
                           "write a size such as 50Gi, or leave it empty (no PersistentVolume)"))
    return out


# --- version formats --------------------------------------------------------------------------------------------------

_SEMVER = r"[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?"
VERSION_FORMATS = {
    "rke2_version": (r"^v[0-9]+\.[0-9]+\.[0-9]+\+rke2r[0-9]+$", "an RKE2 release such as v1.33.5+rke2r1"),
    "rancher_server_version": (r"^v" + _SEMVER + "$", "a Rancher release such as v2.12.3"),
    "rancher_server_helm_chart_version": ("^" + _SEMVER + "$", "a chart version such as 2.12.3"),
    "rancher_server_cert_manager_version": (r"^v" + _SEMVER + "$", "a cert-manager release such as v1.18.2"),
    # roles/docker/vars/main.yml __docker_version_re: a minor "28.5" (28.5.*), upstream "28.5.2", a full apt version,
    # or "" (newest)
    "docker_version": (r"^([0-9]+\.[0-9]+|[0-9]+\.[0-9]+\.[0-9]+|[0-9]+:[0-9]+\.[0-9]+\.[0-9]+-[0-9A-Za-z.+~]+)?$",
                       'a minor like "28.5" (its patch releases through playbooks/patch.yml), an upstream version '
                       'like "28.5.2", a full apt version like "5:28.5.2-1~debian.12~bookworm", or "" for the newest'),
    "zerotier_package_version": (r"^([0-9]+\.[0-9]+\.[0-9]+)?$", 'a ZeroTier release such as "1.14.2", or "" for '
                                                                 'the newest'),
    "helm_version": (r"^v" + _SEMVER + "$", "a Helm release such as v3.22.0"),
    "metallb_chart_version": ("^v?" + _SEMVER + "$", "a chart version such as 0.16.1"),
    "monitoring_chart_version": ("^v?" + _SEMVER + "$", "a chart version such as 88.5.3"),
    "dask_operator_chart_version": ("^v?" + _SEMVER + "$", "a chart version such as 2026.3.0"),
    "dask_version": (r"^[0-9]{4}\.[0-9]{1,2}\.[0-9]+$", "a Dask release such as 2026.8.0"),
}


def version_problem(name, value):
    regex, example = VERSION_FORMATS[name]
    if value is None:
        return []
    if isinstance(value, str) and re.match(regex, value):
        return []
    return [problem(name, "%r is not a version in the expected format" % (value,),
                    "write %s (quoted in YAML)" % example)]


def _version_rule(role):
    names = [n for n in VERSION_FORMATS if n in ROLE_VARS[role]]

    def rule(ctx, host):
        out = []
        for name in names:
            out.extend(version_problem(name, ctx.get(host, name)))
        return out
    rule.__name__ = "%s_versions_rule" % role
    return rule


for _role in ("rke2", "rancher_server", "docker", "zerotier", "helm", "metallb", "monitoring", "dask"):
    host_rule(_role)(_version_rule(_role))


# --- registry and mirror URLs ---------------------------------------------------------------------------------------

_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _host_ok(host):
    if not host:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    return len(host) <= 253 and all(_HOST_LABEL.match(label) for label in host.rstrip(".").split("."))


def _hostport_ok(text):
    host, _sep, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    if _sep and not (port.isdigit() and 0 < int(port) < 65536):
        return False
    return _host_ok(host if _sep else text)


def url_problem(name, value, schemes=("http", "https")):
    """A base URL: scheme://host[:port][/path]."""
    if not isinstance(value, str) or not value:
        return [problem(name, "%r is not a URL" % (value,), "write it like https://mirror.example.com/path")]
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        parts, port_ok = None, False
    if parts is None or parts.scheme not in schemes or not port_ok or not _host_ok(parts.hostname or "") \
            or " " in value:
        return [problem(name, "%r is not a well-formed %s URL" % (value, "/".join(schemes)),
                        "write it like %s://mirror.example.com:5000/path" % schemes[-1])]
    return []


def registry_problem(name, value, allow_empty=False):
    """An image registry: host[:port][/prefix], no scheme (it becomes the first part of an image name)."""
    if value in (None, "") and allow_empty:
        return []
    text = value if isinstance(value, str) else ""
    hostport, _sep, prefix = text.partition("/")
    prefix_ok = all(re.match(r"^[a-z0-9]+([._-][a-z0-9]+)*$", p) for p in prefix.split("/")) if prefix else True
    if "://" in text or not _hostport_ok(hostport) or not prefix_ok:
        return [problem(name, "%r is not a registry host[:port][/prefix]" % (value,),
                        "write it like registry.example.com:5000 (no https://)")]
    return []


@host_rule("docker")
def docker_registries_rule(ctx, host):
    out = []
    for i, mirror in enumerate(ctx.get(host, "docker_registry_mirrors") or []):
        out.extend(url_problem("docker_registry_mirrors[%d]" % i, mirror))
    for i, entry in enumerate(ctx.get(host, "docker_insecure_registries") or []):
        try:
            ipaddress.ip_network(str(entry), strict=False)
            continue
        except ValueError:
            pass
        if not isinstance(entry, str) or not _hostport_ok(entry):
            out.append(problem("docker_insecure_registries[%d]" % i, "%r is not a host[:port] or CIDR" % (entry,),
                               "write it like registry.lab:5000 or 10.0.0.0/8 (no scheme)"))
    return out


@host_rule("rke2")
def rke2_registries_rule(ctx, host):
    out = url_problem("rke2_release_url_base", ctx.get(host, "rke2_release_url_base")) \
        if ctx.get(host, "rke2_release_url_base") is not None else []
    out += registry_problem("rke2_system_default_registry", ctx.get(host, "rke2_system_default_registry"), True)
    mirrors = (ctx.get(host, "rke2_registries") or {}).get("mirrors") or {} \
        if isinstance(ctx.get(host, "rke2_registries"), dict) else {}
    for name, mirror in mirrors.items():
        endpoints = (mirror or {}).get("endpoint") or [] if isinstance(mirror, dict) else [None]
        for i, endpoint in enumerate(endpoints):
            out.extend(url_problem("rke2_registries.mirrors.%s.endpoint[%d]" % (name, i), endpoint))
    return out


@host_rule("helm")
def helm_url_rule(ctx, host):
    value = ctx.get(host, "helm_download_base_url")
    return url_problem("helm_download_base_url", value) if value is not None else []


@host_rule("rancher_server")
def rancher_registry_rule(ctx, host):
    value = ctx.get(host, "rancher_server_registry")
    return registry_problem("rancher_server_registry", value) if value is not None else []


@host_rule("dask")
def dask_registry_rule(ctx, host):
    value = ctx.get(host, "dask_image_registry")
    return registry_problem("dask_image_registry", value) if value is not None else []


@host_rule("dask_compose")
def compose_registry_rule(ctx, host):
    return registry_problem("dask_compose_registry", ctx.get(host, "dask_compose_registry"), True)


# --- sizes ------------------------------------------------------------------------------------------------------------

def count_problem(name, value, minimum=0):
    """A count given in YAML or with -e (a string of digits there): an integer >= minimum."""
    if isinstance(value, bool) or value is None:
        ok = False
    elif isinstance(value, int):
        ok = value >= minimum
    else:
        ok = isinstance(value, str) and value.strip().isdigit() and int(value) >= minimum
    if ok:
        return []
    return [problem(name, "%r is not a whole number >= %d" % (value, minimum),
                    "set %s to a number of workers such as 3 (0 stops them)" % name)]


@host_rule("dask")
def dask_replicas_rule(ctx, host):
    return count_problem("dask_worker_replicas", ctx.get(host, "dask_worker_replicas"))


@host_rule("dask")
def dask_adaptive_rule(ctx, host):
    """With adaptive scaling on, 0 <= minimum <= maximum (the DaskAutoscaler's spec.minimum / spec.maximum)."""
    enabled = ctx.get(host, "dask_adaptive_enabled")
    if not (enabled is True or str(enabled).strip().lower() in ("true", "yes", "1")):
        return []
    low, high = ctx.get(host, "dask_adaptive_minimum", 1), ctx.get(host, "dask_adaptive_maximum")
    out = count_problem("dask_adaptive_minimum", low) + count_problem("dask_adaptive_maximum", high)
    if not out and int(low) > int(high):
        out.append(problem("dask_adaptive_minimum", "%s is above dask_adaptive_maximum (%s)" % (low, high),
                           "set dask_adaptive_minimum <= dask_adaptive_maximum (e.g. 1 and 15)"))
    return out


@host_rule("dask")
def dask_source_ranges_rule(ctx, host):
    """Who may reach the scheduler and JupyterLab LoadBalancers: a non-empty list of IPv4 CIDRs, never everyone."""
    ranges = ctx.get(host, "dask_source_ranges")
    if ranges is None:
        return []
    fix = "list the networks that may reach Dask, normally only the ZeroTier network (the default)"
    if isinstance(ranges, str) or not isinstance(ranges, (list, tuple)) or not ranges:
        return [problem("dask_source_ranges", "%r is not a non-empty list of CIDRs" % (ranges,), fix)]
    bad = [r for r in ranges if not _cidr_ok(r) or ipaddress.ip_network(r, strict=False).prefixlen == 0]
    if bad:
        return [problem("dask_source_ranges", "%r: not IPv4 CIDRs, or open to every address" % (bad,), fix)]
    return []


@host_rule("dask")
def dask_capacity_rule(ctx, host):
    """The workers fit the worker nodes, where their capacity is known (module_utils/dask_sizing.py, as the role sizes)."""
    replicas = ctx.get(host, "dask_worker_replicas")
    if count_problem("dask_worker_replicas", replicas) or int(replicas) == 0:
        return []
    group = ctx.get(host, "dask_worker_hosts_group") or "rke2_agents"
    nodes = [{"vcpus": ctx.get(h, CAPACITY_VARS[0]), "memory_mb": ctx.get(h, CAPACITY_VARS[1])}
             for h in ctx.groups.get(group) or []]
    known = [n for n in nodes if n["vcpus"] and n["memory_mb"]]
    if not known:
        return []  # nothing known before the facts are gathered: the role sizes the workers then
    threads, memory = ctx.get(host, "dask_worker_threads"), ctx.get(host, "dask_worker_memory")
    try:
        sized = worker_resources(known, replicas, threads, memory, ctx.get(host, "dask_worker_reserve_cpus", 1),
                                 ctx.get(host, "dask_worker_reserve_memory_mb", 2048))
    except (SizingError, ValueError, TypeError) as exc:
        return [problem("dask_worker_replicas", "does not fit the %s nodes: %s" % (group, exc),
                        "lower dask_worker_replicas, add nodes to %s, or set dask_worker_memory" % group)]
    fewest = min(int(n["vcpus"]) for n in known)
    if threads and sized["workers_per_node"] * int(sized["threads"]) > fewest:
        return [problem("dask_worker_threads", "%d workers per node with %s threads each need more than the %d vCPUs "
                        "of the smallest %s node" % (sized["workers_per_node"], threads, fewest, group),
                        "lower dask_worker_threads or dask_worker_replicas")]
    return []


@host_rule("dask_compose")
def compose_replicas_rule(ctx, host):
    return count_problem("dask_compose_worker_replicas", ctx.get(host, "dask_compose_worker_replicas"))


# --- the host baseline (roles/base) ---------------------------------------------------------------------------------

_PORT_RE = re.compile(r"^([1-9][0-9]{0,4})(-([1-9][0-9]{0,4}))?$")
_IFACE_RE = re.compile(r"^[A-Za-z0-9_.@-]+\*?$")
_SYSCTL_KEY_RE = re.compile(r"^[a-z0-9_]+(\.[A-Za-z0-9_-]+)+$")
_SYSCTL_VALUE_RE = re.compile(r"^[0-9A-Za-z ._-]+$")
_PORT_VARS = ("base_firewall_ssh_ports", "base_firewall_zt_tcp_ports", "base_firewall_zt_udp_ports",
              "base_firewall_rancher_tcp_ports", "base_firewall_public_tcp_ports", "base_firewall_public_udp_ports")


def _port_ok(value):
    match = _PORT_RE.match(str(value)) if not isinstance(value, bool) else None
    if not match:
        return False
    low, high = int(match.group(1)), int(match.group(3) or match.group(1))
    return low <= high <= 65535


@host_rule("base")
def base_firewall_rule(ctx, host):
    if ctx.get(host, "base_firewall_enabled") in (False, "false", "no", 0):
        return []
    out = []
    if not ctx.get(host, "base_firewall_ssh_ports"):
        out.append(problem("base_firewall_ssh_ports", "must not be empty (the firewall never closes SSH)",
                           "list the SSH port, e.g. [22]"))
    for name in _PORT_VARS + ("base_firewall_zerotier_port",):
        value = ctx.get(host, name)
        items = value if isinstance(value, list) else ([] if value is None else [value])
        bad = [v for v in items if not _port_ok(v)]
        if bad:
            out.append(problem(name, "%s %s not a port 1-65535 or a \"low-high\" range"
                               % (", ".join(repr(v) for v in bad), "is" if len(bad) == 1 else "are"),
                               "write ports as numbers (6443) or ranges (\"30000-32767\")"))
    for name in ("base_firewall_zt_interfaces", "base_firewall_trusted_interfaces"):
        bad = [v for v in ctx.get(host, name) or [] if not isinstance(v, str) or not _IFACE_RE.match(v)]
        if bad:
            out.append(problem(name, "%s %s not an interface name (an optional trailing '*' matches a prefix)"
                               % (", ".join(repr(v) for v in bad), "is" if len(bad) == 1 else "are"),
                               "list interface names such as zt* or docker0"))
    return out


@host_rule("base")
def base_sysctl_rule(ctx, host):
    out = []
    for name in ("base_sysctl", "base_sysctl_extra"):
        for key, value in (ctx.get(host, name) or {}).items():
            if not _SYSCTL_KEY_RE.match(str(key)) or isinstance(value, (dict, list)) \
                    or not _SYSCTL_VALUE_RE.match(str(value)):
                out.append(problem("%s[%r]" % (name, key), "is not a dotted kernel parameter with a scalar value",
                                   "map names like net.ipv4.ip_forward to values like 1"))
    return out


@host_rule("base")
def base_ca_rule(ctx, host):
    out = []
    for i, cert in enumerate(ctx.get(host, "base_ca_certificates") or []):
        cert = cert if isinstance(cert, dict) else {}
        ok = (re.match(r"^[A-Za-z0-9_.-]+$", str(cert.get("name", ""))) and ("content" in cert) != ("src" in cert)
              and ("src" in cert or "-----BEGIN CERTIFICATE-----" in str(cert.get("content"))))
        if not ok:
            out.append(problem("base_ca_certificates[%d]" % i, "needs a file-safe name and exactly one of content "
                               "(a PEM certificate) or src (a PEM file on the controller)",
                               "write {name: corp-ca, content: \"-----BEGIN CERTIFICATE-----...\"} or "
                               "{name: corp-ca, src: files/corp-ca.pem}"))
    return out


@host_rule("docker")
def docker_key_rule(ctx, host):
    if ctx.get(host, "docker_install_source") != "upstream":
        return []
    fingerprint = ctx.get(host, "docker_apt_key_fingerprint")
    if isinstance(fingerprint, str) and re.match(r"^[0-9A-Fa-f]{40}$", fingerprint.replace(" ", "")):
        return []
    return [problem("docker_apt_key_fingerprint", "is not a 40-hex-digit OpenPGP fingerprint",
                    "copy the fingerprint Docker publishes (9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88)")]


# --- a day-2 playbook's own inputs -------------------------------------------------------------------------------------

TEARDOWN_LAYERS = ("dask", "monitoring", "metallb", "rancher", "rke2", "zerotier", "single_host")


@global_rule
def input_problems(ctx):
    """``inputs`` of a day-2 playbook: worker_replicas, node (+ node_groups), teardown_layers, restore_files."""
    inputs, out = ctx.inputs, []
    if "worker_replicas" in inputs:
        out += count_problem("dask_worker_replicas", inputs["worker_replicas"])
    if "node" in inputs:
        node = inputs["node"]
        if not node:
            out.append(problem("daskmetal_node", "is not given", "pass -e daskmetal_node=<inventory hostname>"))
        else:
            for group in ["all"] + list(inputs.get("node_groups") or []):
                if node not in (ctx.groups.get(group) or []):
                    out.append(problem("daskmetal_node", "%r is not in the inventory%s" % (
                        node, "" if group == "all" else " group %s" % group),
                        "add it to %s first, or check the spelling"
                        % ("the inventory" if group == "all" else "the %s group" % group)))
                    break
    if "teardown_layers" in inputs:
        layers = inputs["teardown_layers"]
        if not isinstance(layers, list) or not layers or [x for x in layers if x not in TEARDOWN_LAYERS]:
            out.append(problem("daskmetal_teardown_layers", "%r is not a non-empty list of layers" % (layers,),
                               "pass -e '{\"daskmetal_teardown_layers\": [\"dask\"]}' with layers from %s"
                               % ", ".join(TEARDOWN_LAYERS)))
    if "restore_files" in inputs:
        files = dict((k, v) for k, v in (inputs["restore_files"] or {}).items() if v)
        if not files:
            out.append(problem("daskmetal_restore_snapshot", "neither it nor daskmetal_restore_rancher_archive is "
                               "given", "pass -e daskmetal_restore_snapshot=<file> and/or "
                               "-e daskmetal_restore_rancher_archive=<file> (made by backup.yml)"))
        for name, path in sorted(files.items()):
            if not os.path.isfile(str(path)):
                out.append(problem(name, "%r is not a file on this machine" % (path,),
                                   "give the path of a file made by playbooks/backup.yml"))
    return out
