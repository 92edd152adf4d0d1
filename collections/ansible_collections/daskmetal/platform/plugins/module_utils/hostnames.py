# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Is a value usable as the Rancher chart's hostname (Ingress rule host and server-url)?

Kubernetes v1.33 pkg/apis/networking/validation/validation.go (validateIngressRules) rejects an IP address as a
rule host ("must be a DNS name, not an IP address") and requires a DNS-1123 subdomain
(staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go IsDNS1123Subdomain: lowercase alphanumerics,
'-' and '.', labels start and end alphanumeric, at most 253 characters). On top of that the downstream agents must
resolve it: a single label, localhost and the mDNS domain .local (RFC 6762) are rejected.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import string

_LABEL_CHARS = frozenset(string.ascii_lowercase + string.digits + "-")


def _is_ip(value):
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


def _label_problem(label):
    if not label or len(label) > 63:
        return "has an empty label or one over 63 characters"
    if not set(label) <= _LABEL_CHARS:
        return "label %r has characters other than a-z, 0-9 and '-'" % label
    if label[0] == "-" or label[-1] == "-":
        return "label %r starts or ends with '-'" % label
    return None


def hostname_problem(name, value):
    """One 'variable: problem; fix: ...' message, or None when value is a usable DNS name."""
    fix = "fix: set %s to the DNS name the agents and browsers reach Rancher at (e.g. rancher.example.com)" % name
    if not isinstance(value, str) or not value.strip():
        return "%s: is empty; %s" % (name, fix)
    host = value.strip()
    if _is_ip(host):
        return "%s: %r is an IP address, the Ingress host must be a DNS name; %s" % (name, host, fix)
    if len(host) > 253:
        return "%s: longer than 253 characters; %s" % (name, fix)
    labels = host.rstrip(".").split(".")
    if host.lower() == "localhost" or labels[-1].lower() == "localhost":
        return "%s: %r only resolves on the machine itself; %s" % (name, host, fix)
    if labels[-1].lower() == "local":
        return "%s: %r is in the mDNS domain .local, which cluster DNS does not resolve; %s" % (name, host, fix)
    if len(labels) < 2:
        return "%s: %r is a single label, not a fully qualified name; %s" % (name, host, fix)
    for label in labels:
        problem = _label_problem(label)
        if problem:
            return "%s: %r %s; %s" % (name, host, problem, fix)
    return None
