"""The secret rule (module_utils/secrets.py) and its filter: empty, default and placeholder secrets are rejected
with a message naming the variable, never the value; real-looking secrets pass."""
from pathlib import Path

import pytest
import yaml

from ansible_collections.daskmetal.platform.plugins.filter.secrets import secret_problems as filter_problems
from ansible_collections.daskmetal.platform.plugins.module_utils.secrets import (
    EXAMPLE_VALUES, KNOWN_DEFAULTS, secret_problem, secret_problems)

ROOT = Path(__file__).resolve().parents[6]
EXAMPLE_VAULT = ROOT / "inventories" / "example" / "group_vars" / "all" / "vault.yml.example"

BAD = [
    (None, "is empty or undefined"),
    ("", "is empty or undefined"),
    ("   ", "is empty or undefined"),
    (123456789012345678, "must be a string, got int"),
    (True, "must be a string, got bool"),
    ("admin", "well-known default"),
    ("Admin", "well-known default"),
    ("prom-operator", "well-known default"),
    ("password", "well-known default"),
    ("changeme", "well-known default"),
    ("replace-with-a-long-random-string", "placeholder from the example vault"),
    ("replace-me", "placeholder from the example vault"),
    ("Replace this with something long", "placeholder"),
    ("CHANGE_ME_BEFORE_PRODUCTION", "placeholder"),
    ("<your rke2 token here>", "placeholder"),
    ("token=<secret>", "placeholder"),
    ("xxxxxxxxxxxxxxxxxxxx", "placeholder"),
    ("XXX-fill-this-in-later", "placeholder"),
    ("your-grafana-password", "placeholder"),
    ("TODO: generate", "placeholder"),
    ("{{ vault_rke2_token }}", "unrendered template"),
    ("${RKE2_TOKEN}", "unrendered template"),
    ("aaaaaaaaaaaaaaaaaaaa", "one character repeated"),
    ("short-1", "has 7 characters, at least 16"),
]

GOOD = ["lab-check-token-0123456789", "molecule-double-token-0123456789", "not-the-real-one-42x",
        "9f2c1e7a4b8d03c6e5f1a2b3", "correct horse battery staple"]


@pytest.mark.parametrize("value,needle", BAD, ids=[repr(v)[:30] for v, _ in BAD])
def test_bad_secrets_are_rejected_naming_the_variable_not_the_value(value, needle):
    msg = secret_problem("rke2_token", value, min_length=16, source="vault_rke2_token")
    assert msg is not None, value
    assert msg.startswith("rke2_token (from vault_rke2_token): "), msg
    assert needle in msg, msg
    assert "; fix: set vault_rke2_token to a random value of at least 16 characters" in msg
    if isinstance(value, str) and value.strip():
        assert value not in msg.split(":", 1)[1], "the message must not repeat the secret"


@pytest.mark.parametrize("value", GOOD)
def test_real_looking_secrets_pass(value):
    assert secret_problem("rke2_token", value, min_length=16) is None


def test_the_example_vault_file_values_are_all_rejected():
    """Every value the shipped example carries is rejected, whatever minimum length the role asks for."""
    values = yaml.safe_load(EXAMPLE_VAULT.read_text())
    assert values and set(values) >= {"vault_rke2_token", "vault_jupyter_password"}
    for name, value in values.items():
        assert value in EXAMPLE_VALUES
        assert secret_problem(name, value, min_length=1) is not None, name


def test_every_known_default_is_rejected_in_any_case():
    for value in KNOWN_DEFAULTS:
        assert "well-known default" in secret_problem("x", value.upper())


def test_allow_empty_accepts_only_empty():
    assert secret_problem("dask_compose_jupyter_password", "", allow_empty=True) is None
    assert secret_problem("dask_compose_jupyter_password", None, allow_empty=True) is None
    assert "well-known default" in secret_problem("dask_compose_jupyter_password", "admin", allow_empty=True)


def test_name_without_source_and_list_form():
    items = [{"name": "a", "value": "admin"}, {"name": "b", "value": "fine-and-long-enough"},
             {"name": "c", "value": "", "source": "vault_c", "min_length": 12}]
    got = secret_problems(items)
    assert [m.split(":")[0] for m in got] == ["a", "c (from vault_c)"]
    assert "at least 12 characters" in got[1]


def test_filter_wraps_the_rule():
    assert filter_problems([{"name": "a", "value": "replace-me"}]) == secret_problems([{"name": "a", "value": "replace-me"}])
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError):
        filter_problems({"name": "a"})
    with pytest.raises(AnsibleFilterError):
        filter_problems([{"value": "x"}])
