# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Filter kubeconfig_rename: give an RKE2/k3s admin kubeconfig the cluster's name and a reachable server URL."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: kubeconfig_rename
short_description: Rename the current context, its cluster and its user of a kubeconfig and set the server URL
version_added: 0.1.0
description:
  - Parses the kubeconfig (YAML text or an already parsed dictionary) and renames the entry of the current
    context, the cluster it names and the user it names, and C(current-context), to O(name).
    Contexts that referenced the renamed cluster or user follow.
  - Sets the server URL of that cluster to O(server) when O(server) is not empty.
  - Every other field, in particular C(certificate-authority-data), C(client-certificate-data) and
    C(client-key-data), is kept unchanged.
  - The result is YAML laid out like C(clientcmd.WriteToFile) writes it (block style, keys sorted).
  - Fails when the current context, its cluster or its user does not exist, or when another entry already has
    the name O(name), so the output never references a missing entry.
  - The RKE2 admin kubeconfig C(/etc/rancher/rke2/rke2.yaml) names all three C(default) and points at
    C(https://127.0.0.1:6443).
options:
  _input:
    description: The kubeconfig, as YAML text or as a dictionary.
    type: raw
    required: true
  name:
    description: New name of the current context, its cluster and its user.
    type: str
    required: true
  server:
    description: New server URL of the current context's cluster; empty keeps the URL.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Controller copy of the RKE2 admin kubeconfig
  ansible.builtin.copy:
    content: >-
      {{ __slurped.content | b64decode
         | daskmetal.platform.kubeconfig_rename('daskmetal', 'https://10.147.17.10:6443') }}
    dest: ~/.kube/daskmetal.yaml
    mode: "0600"
"""

RETURN = r"""
_value:
  description: The rewritten kubeconfig as YAML text.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.daskmetal.platform.plugins.module_utils.kubeconfig import (
    KubeconfigError,
    dump_kubeconfig,
    rename_kubeconfig,
)


def kubeconfig_rename(kubeconfig, name, server=""):
    try:
        return dump_kubeconfig(rename_kubeconfig(kubeconfig, name, server))
    except KubeconfigError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"kubeconfig_rename": kubeconfig_rename}
