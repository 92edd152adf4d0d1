# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Rewrite a kubeconfig structurally (pure functions, no I/O).

RKE2 (k3s pkg/clientaccess/kubeconfig.go WriteClientKubeConfig -> client-go clientcmd.WriteToFile) writes the
admin kubeconfig with one cluster, one context and one user, all named ``default``, and the server URL
``https://127.0.0.1:6443``. The controller copy gets the cluster's name and a reachable server URL. Doing this
on the parsed document, not on the text, keeps every reference consistent: the current context names a cluster
and a user that exist, and the certificate data is carried over untouched.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import yaml


class KubeconfigError(ValueError):
    pass


def _named(doc, section):
    entries = doc.get(section)
    if entries is None:
        return []
    if not isinstance(entries, list) or not all(isinstance(e, dict) and e.get("name") for e in entries):
        raise KubeconfigError("kubeconfig: %s must be a list of entries with a name" % section)
    return entries


def _find(entries, name, section):
    for entry in entries:
        if entry["name"] == name:
            return entry
    raise KubeconfigError("kubeconfig: %s has no entry named %r" % (section, name))


def _rename(entries, old, new, section):
    """Rename entry `old` to `new` in a named list; refuse to merge it into a different existing entry."""
    if old == new:
        return
    if any(e["name"] == new for e in entries):
        raise KubeconfigError("kubeconfig: %s already has an entry named %r" % (section, new))
    _find(entries, old, section)["name"] = new


def _load(kubeconfig):
    if isinstance(kubeconfig, dict):
        # A JSON round trip copies the document and turns str/dict subclasses (templating types) into plain ones.
        return json.loads(json.dumps(kubeconfig))
    try:
        doc = yaml.safe_load(kubeconfig or "")
    except yaml.YAMLError as exc:
        raise KubeconfigError("kubeconfig: not YAML: %s" % exc)
    if not isinstance(doc, dict) or doc.get("kind", "Config") != "Config":
        raise KubeconfigError("kubeconfig: not a kind Config document")
    return doc


def rename_kubeconfig(kubeconfig, name, server=None):
    """Return the kubeconfig (text or dict) as a dict whose current context, its cluster and its user are `name`.

    The current context's cluster gets `server` as its URL when `server` is given. Other entries and every other
    field (certificate-authority-data, client-certificate-data, client-key-data, preferences, ...) are kept; other
    contexts that pointed at the renamed cluster or user follow the rename.
    """
    name = str(name or "").strip()
    if not name:
        raise KubeconfigError("kubeconfig: empty name")
    doc = _load(kubeconfig)
    clusters, contexts, users = _named(doc, "clusters"), _named(doc, "contexts"), _named(doc, "users")
    current = doc.get("current-context")
    if not current:
        raise KubeconfigError("kubeconfig: no current-context")
    context = _find(contexts, current, "contexts").setdefault("context", {})
    old_cluster, old_user = context.get("cluster"), context.get("user")
    cluster = _find(clusters, old_cluster, "clusters").setdefault("cluster", {})
    _find(users, old_user, "users")
    _rename(clusters, old_cluster, name, "clusters")
    _rename(users, old_user, name, "users")
    _rename(contexts, current, name, "contexts")
    for entry in contexts:
        ref = entry.setdefault("context", {})
        if ref.get("cluster") == old_cluster:
            ref["cluster"] = name
        if ref.get("user") == old_user:
            ref["user"] = name
    doc["current-context"] = name
    if server:
        cluster["server"] = str(server)
    return doc


def dump_kubeconfig(doc):
    """YAML the way clientcmd.WriteToFile lays it out: block style, keys sorted, long base64 lines unwrapped."""
    return yaml.safe_dump(doc, default_flow_style=False, sort_keys=True, width=2 ** 31)
