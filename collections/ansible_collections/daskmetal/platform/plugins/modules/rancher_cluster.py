#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: rancher_cluster
short_description: Ensure Rancher knows an imported cluster and return its registration manifest
version_added: 0.1.0
description:
  - Ensures a C(provisioning.cattle.io/v1) Cluster without C(rkeConfig) (an imported cluster)
    exists in O(namespace), waits for Rancher to create the management cluster
    (C(status.clusterName)), and returns the registration manifest URL of its cluster
    registration token (C(/v3/clusterregistrationtokens?clusterId=...)).
  - An existing cluster is left as it is; then RV(changed) is false.
  - With O(wait_active), waits until Rancher reports the management cluster C(active)
    (run that after applying the manifest).
extends_documentation_fragment:
  - daskmetal.platform.rancher
options:
  token:
    description: API token (bearer).
    type: str
    required: true
  name:
    description: Cluster name in Rancher.
    type: str
    required: true
  namespace:
    description: Namespace of the provisioning cluster object.
    type: str
    default: fleet-default
  labels:
    description: Labels set when the cluster is created (not reconciled afterwards).
    type: dict
    default: {}
  description:
    description: Description shown in Rancher (set at creation).
    type: str
  wait_active:
    description: Wait until the cluster is C(active) instead of returning at once.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for the cluster id, the manifest, or the active state.
    type: int
    default: 900
  poll_interval:
    description: Seconds between polls.
    type: float
    default: 5
  retries:
    description: Retries for connection errors and 429/5xx answers.
    type: int
    default: 5
author:
  - daskmetal maintainers
attributes:
  check_mode:
    support: full
    description: Reads only; reports RV(changed) when the cluster would be created.
"""

EXAMPLES = r"""
- name: Ensure the imported cluster exists
  daskmetal.platform.rancher_cluster:
    url: https://127.0.0.1
    token: "{{ rancher_api_token }}"
    name: daskmetal
    validate_certs: false
  register: rancher_cluster
"""

RETURN = r"""
cluster_id:
  description: Management cluster id (C(c-m-...)); null in check mode when the cluster would be created.
  returned: always
  type: str
manifest_url:
  description: URL of the registration manifest to apply to the cluster.
  returned: always
  type: str
state:
  description: Rancher's state of the management cluster (C(pending), C(active), ...).
  returned: always
  type: str
registration_command:
  description: The kubectl command Rancher shows for registering the cluster.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.daskmetal.platform.plugins.module_utils.rancher_api import (
    RancherError, client_from_params, connection_argument_spec, ensure_imported_cluster)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            connection_argument_spec(),
            token=dict(type="str", required=True, no_log=True),
            name=dict(type="str", required=True),
            namespace=dict(type="str", default="fleet-default"),
            labels=dict(type="dict", default={}),
            description=dict(type="str"),
            wait_active=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=900),
            poll_interval=dict(type="float", default=5),
            retries=dict(type="int", default=5),
        ),
        supports_check_mode=True,
    )
    p = module.params
    client = client_from_params(p, token=p["token"])
    try:
        res = ensure_imported_cluster(client, p["name"], namespace=p["namespace"], labels=p["labels"],
                                      description=p["description"], check_mode=module.check_mode,
                                      timeout=p["wait_timeout"], interval=p["poll_interval"])
        if p["wait_active"] and res["cluster_id"] and not module.check_mode:
            res["state"] = client.wait_cluster_active(res["cluster_id"], timeout=p["wait_timeout"],
                                                      interval=p["poll_interval"])
    except RancherError as exc:
        module.fail_json(msg="Rancher: %s" % exc, status=exc.status)
    module.exit_json(**res)


if __name__ == "__main__":
    main()
