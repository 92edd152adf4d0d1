"""The helm-mode hostname rule (module_utils/hostnames.py) and its filter (review k8s-layer M3)."""
import pytest

from ansible_collections.daskmetal.platform.plugins.filter.hostnames import hostname_problems
from ansible_collections.daskmetal.platform.plugins.module_utils.hostnames import hostname_problem

BAD = [
    (None, "is empty"),
    ("", "is empty"),
    ("  ", "is empty"),
    ("10.147.17.5", "is an IP address"),
    ("127.0.0.1", "is an IP address"),
    ("fd00::1", "is an IP address"),
    ("[fd00::1]", "is an IP address"),
    ("localhost", "only resolves on the machine itself"),
    ("rancher.local", "mDNS domain .local"),
    ("rancher", "single label"),
    ("Rancher.Example.com", "characters other than"),
    ("rancher_1.example.com", "characters other than"),
    ("-rancher.example.com", "starts or ends with '-'"),
    ("rancher..example.com", "empty label"),
    ("a" * 64 + ".example.com", "over 63 characters"),
]


@pytest.mark.parametrize("value,expected", BAD)
def test_bad_hostnames_are_rejected_with_variable_and_fix(value, expected):
    msg = hostname_problem("rancher_server_hostname", value)
    assert msg is not None and expected in msg
    assert msg.startswith("rancher_server_hostname: ") and "; fix: set rancher_server_hostname" in msg


@pytest.mark.parametrize("value", ["rancher.example.com", "rancher.lab.daskmetal.io", "r-1.example.com."])
def test_dns_names_pass(value):
    assert hostname_problem("rancher_server_hostname", value) is None
    assert hostname_problems(value, "rancher_server_hostname") == []


def test_filter_returns_a_list():
    assert hostname_problems("10.0.0.1", "x") == [hostname_problem("x", "10.0.0.1")]
