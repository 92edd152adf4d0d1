# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Filter image_with_registry: point a pinned image reference at a mirror / air-gap registry."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: image_with_registry
short_description: Replace the registry part of a container image reference
version_added: 0.1.0
description:
  - With an empty O(registry), returns the reference unchanged.
  - Otherwise replaces the registry host of the reference (its first path component when that contains a dot or
    a colon or is C(localhost), as Docker decides) with O(registry) and keeps the repository path, tag and digest.
  - For example C(ghcr.io/dask/dask:2026.8.0-py3.11) becomes C(mirror.example:5000/dask/dask:2026.8.0-py3.11).
  - A reference
    without a registry (Docker Hub short form, e.g. C(grafana/grafana:12.2.0)) gets O(registry) prepended.
    This is the layout registry mirrors and C(skopeo sync) keep.
options:
  _input:
    description: The image reference.
    type: str
    required: true
  registry:
    description: Registry host, optionally with port and path prefix; empty for no change.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Image from the private registry
  ansible.builtin.debug:
    msg: "{{ 'ghcr.io/dask/dask:2026.8.0-py3.11' | daskmetal.platform.image_with_registry('registry.lan:5000') }}"
"""

RETURN = r"""
_value:
  description: The image reference pulled from O(registry).
  type: str
"""

from ansible.errors import AnsibleFilterError


def image_with_registry(image, registry=""):
    image = str(image or "").strip()
    if not image:
        raise AnsibleFilterError("image_with_registry: empty image reference")
    registry = str(registry or "").strip().rstrip("/")
    if not registry:
        return image
    first, sep, rest = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        image = rest
    return registry + "/" + image


class FilterModule(object):
    def filters(self):
        return {"image_with_registry": image_with_registry}
