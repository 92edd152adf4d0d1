"""Unit tests for the image_with_registry filter."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.daskmetal.platform.plugins.filter.images import image_with_registry


@pytest.mark.parametrize(
    "image,registry,expected",
    [
        ("ghcr.io/dask/dask:2026.8.0-py3.11", "", "ghcr.io/dask/dask:2026.8.0-py3.11"),
        ("ghcr.io/dask/dask:2026.8.0-py3.11", "mirror.lan:5000", "mirror.lan:5000/dask/dask:2026.8.0-py3.11"),
        ("quay.io/prometheus/prometheus:v3.5.0", "10.0.0.5:5000/", "10.0.0.5:5000/prometheus/prometheus:v3.5.0"),
        ("docker.io/grafana/grafana:12.2.0", "reg.lan/mirror", "reg.lan/mirror/grafana/grafana:12.2.0"),
        ("grafana/grafana:12.2.0", "reg.lan", "reg.lan/grafana/grafana:12.2.0"),
        ("localhost/app:1", "reg.lan", "reg.lan/app:1"),
        ("localhost:5000/app:1", "reg.lan", "reg.lan/app:1"),
        ("busybox", "reg.lan", "reg.lan/busybox"),
        ("daskmetal-lab/dask:abc", "172.18.0.1:5000", "172.18.0.1:5000/daskmetal-lab/dask:abc"),
        ("ghcr.io/dask/dask@sha256:" + "a" * 64, "r.lan", "r.lan/dask/dask@sha256:" + "a" * 64),
    ],
)
def test_image_with_registry(image, registry, expected):
    assert image_with_registry(image, registry) == expected


def test_empty_image_is_refused():
    with pytest.raises(AnsibleFilterError):
        image_with_registry("", "reg.lan")
