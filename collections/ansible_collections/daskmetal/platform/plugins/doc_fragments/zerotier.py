# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  backend:
    description:
      - C(central) talks to ZeroTier Central (U(https://api.zerotier.com/api/v1), header C(Authorization) set to C(token <token>)).
      - C(controller) talks to the network controller built into zerotier-one (U(http://127.0.0.1:9993/controller),
        header C(X-ZT1-Auth)); run the task on the controller host.
    type: str
    choices: [central, controller]
    default: central
  api_url:
    description:
      - Base URL. Defaults to U(https://api.zerotier.com/api/v1) for C(central) and U(http://127.0.0.1:9993) for C(controller).
    type: str
  api_token:
    description:
      - Central API token, or the controller's C(authtoken.secret). Pass it from a vault variable.
      - For C(controller), when neither this nor O(api_token_file) is set, C(/var/lib/zerotier-one/authtoken.secret) is read.
    type: str
  api_token_file:
    description: Read the token from this file on the host that runs the module.
    type: path
  validate_certs:
    description: Verify TLS certificates (set a CA bundle through the usual environment variables behind a proxy).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for one HTTP answer.
    type: int
    default: 30
  retries:
    description:
      - Retries on 429, 500, 502, 503, 504 and timeouts, with exponential backoff (1, 2, 4, ... s, at most 30 s),
        honouring C(Retry-After). 401, 403 and 404 fail at once with an explanation.
    type: int
    default: 5
notes:
  - Check mode and diff mode are supported; C(changed) is true only when the remote object differs.
"""
