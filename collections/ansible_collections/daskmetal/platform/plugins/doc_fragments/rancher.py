# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """How the Rancher modules reach Rancher (argument spec: rancher_api.connection_argument_spec)."""

    DOCUMENTATION = r"""
options:
  url:
    description: Base URL of the Rancher API, e.g. C(https://127.0.0.1).
    type: str
    required: true
  validate_certs:
    description: Verify Rancher's TLS certificate (a self-signed Rancher needs C(false) or O(ca_path)).
    type: bool
    default: true
  ca_path:
    description: CA bundle to verify Rancher's certificate with.
    type: path
  tls_server_name:
    description:
      - Verify Rancher's certificate against this name (also sent as SNI) instead of the host in O(url).
      - For calling Rancher at C(https://127.0.0.1) when its certificate names the public host name.
      - Only used when O(validate_certs=true).
    type: str
  retries:
    description:
      - Retries for connection errors and 429/5xx answers.
      - A creating request (POST) that is not idempotent by name is retried only after 429, 502, 503 or a
        refused connection, never after an answer that may mean it was carried out (500, 504, a dropped
        connection).
    type: int
"""
