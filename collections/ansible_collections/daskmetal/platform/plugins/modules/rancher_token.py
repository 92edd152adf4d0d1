#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: rancher_token
short_description: Log in to Rancher, set server-url, and obtain an API token
version_added: 0.1.0
description:
  - Logs in with the local provider (C(POST /v1-public/login), falling back to the deprecated
    C(/v3-public/localProviders/local?action=login) on older Rancher).
  - Sets the C(server-url) global setting when O(server_url) is given and differs.
  - Creates an API token unless O(existing_token) still authenticates, in which case that token is
    returned unchanged. The token is an ext token (C(tokens.ext.cattle.io)) on Rancher >= 2.12, a v3 token
    on older Rancher. Rancher 2.12 returns only C(status.value); the module presents it as
    C(ext/<name>:<value>), the form Rancher authenticates (and returns as C(status.bearerToken) from 2.13).
  - The new token is checked against the API before it is returned; a token that does not work is deleted
    again, and so is one whose creation answered a server error, so a failed run leaves no token behind.
  - Token creation (a POST) is not retried after answers that may mean it was carried out (500, 504, a
    dropped connection).
  - With O(bootstrap_password), a fresh Rancher's bootstrap password is replaced by O(password) after the first
    login.
  - The login session is logged out again at the end (C(POST /v3/tokens?action=logout)), also when a step fails.
  - The token is returned in RV(token); register the result and use C(no_log) on tasks that handle it.
extends_documentation_fragment:
  - daskmetal.platform.rancher
options:
  username:
    description: Local user to log in as.
    type: str
    default: admin
  password:
    description:
      - That user's password (on a fresh Rancher without O(bootstrap_password), the bootstrap password).
      - With O(bootstrap_password), the admin password to end up with.
    type: str
    required: true
  bootstrap_password:
    description:
      - The bootstrap password Rancher was started with (C(CATTLE_BOOTSTRAP_PASSWORD)).
      - When O(password) does not log in but this does, the module logs in with it and changes the password to
        O(password) (C(POST /v3/users?action=changepassword)), so the bootstrap password, which stays readable in
        the container environment, is not the admin password. Checked on every run, also when O(existing_token)
        is kept.
    type: str
  existing_token:
    description: A token created earlier; kept when it still authenticates.
    type: str
  server_url:
    description: Value for the C(server-url) setting (the URL downstream agents use to reach Rancher).
    type: str
  description:
    description: Description stored with the created API token.
    type: str
    default: daskmetal automation
  ttl_ms:
    description: Token lifetime in milliseconds; C(0) means Rancher's maximum.
    type: int
    default: 0
  token_api:
    description:
      - Which token API to use. V(auto) uses ext tokens where the server has them and v3 tokens otherwise.
    type: str
    choices: [auto, ext, v3]
    default: auto
  retries:
    description:
      - Retries for connection errors and 429/5xx answers (Rancher may still be starting).
      - Logins and token creation (POST) are retried only after 429, 502, 503 or a refused connection.
    type: int
    default: 10
  retry_delay:
    description: Seconds between retries.
    type: float
    default: 3
author:
  - daskmetal maintainers
attributes:
  check_mode:
    support: full
    description: Logs in and out again (the session token is deleted), reports what would change, creates nothing.
"""

EXAMPLES = r"""
- name: Get an API token
  daskmetal.platform.rancher_token:
    url: https://127.0.0.1
    password: "{{ vault_rancher_admin_password }}"
    bootstrap_password: "{{ vault_rancher_bootstrap_password }}"
    server_url: https://10.147.17.10
    validate_certs: false
  register: rancher_login
  no_log: true
"""

RETURN = r"""
token:
  description: >-
    The new API token (C(token-xxxxx:secret) or C(ext/token-xxxxx:secret)); null when O(existing_token) was
    kept or in check mode. Secret.
  returned: always
  type: str
created:
  description: Whether a new token was created.
  returned: always
  type: bool
server_url_changed:
  description: Whether the server-url setting was changed.
  returned: always
  type: bool
login_path:
  description: The login endpoint that answered (null when an existing token was kept).
  returned: always
  type: str
token_api:
  description: C(ext), C(v3) or C(existing).
  returned: always
  type: str
password_changed:
  description: Whether the bootstrap password was replaced by O(password) (in check mode, whether it would be).
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.daskmetal.platform.plugins.module_utils.rancher_api import (
    RancherError, client_from_params, connection_argument_spec, ensure_api_token)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            connection_argument_spec(),
            username=dict(type="str", default="admin"),
            password=dict(type="str", required=True, no_log=True),
            bootstrap_password=dict(type="str", no_log=True),
            existing_token=dict(type="str", no_log=True),
            server_url=dict(type="str"),
            description=dict(type="str", default="daskmetal automation"),
            ttl_ms=dict(type="int", default=0),
            token_api=dict(type="str", choices=["auto", "ext", "v3"], default="auto"),
            retries=dict(type="int", default=10),
            retry_delay=dict(type="float", default=3),
        ),
        supports_check_mode=True,
    )
    p = module.params
    client = client_from_params(p, retry_delay=p["retry_delay"])
    try:
        res = ensure_api_token(client, p["username"], p["password"], existing_token=p["existing_token"],
                               server_url=p["server_url"], description=p["description"],
                               ttl_ms=p["ttl_ms"], token_api=p["token_api"], check_mode=module.check_mode,
                               bootstrap_password=p["bootstrap_password"])
    except RancherError as exc:
        module.fail_json(msg="Rancher: %s" % exc, status=exc.status)
    if res["token_api"] == "existing":
        # the caller has it already, and Ansible would mask it anyway (it is a no_log input)
        res["token"] = None
    module.exit_json(changed=res["created"] or res["server_url_changed"] or res["password_changed"], **res)


if __name__ == "__main__":
    main()
