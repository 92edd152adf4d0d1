"""Unit tests of the secret masking used by the CLI (no Ansible run)."""
from daskmetal.redact import MASK, Redactor, is_secret_name


def test_secret_names():
    for name in ("vault_rke2_token", "db_password", "API_KEY", "aws_secret_access_key", "grafana_admin_pwd"):
        assert is_secret_name(name)
    for name in ("dask_worker_replicas", "daskmetal_node", "limit", "keyboard_layout_x"[:8]):
        assert not is_secret_name(name)


def test_nested_values_are_collected_and_masked():
    red = Redactor.from_extravars({"backup": {"s3_secret_key": "abcd1234"}, "tokens": ["t0ken-one", "t0ken-two"],
                                   "daskmetal_node": "epyc-agent-1", "vault_flag": True})
    assert set(red.values) == {"abcd1234", "t0ken-one", "t0ken-two"}
    assert red.text("key=abcd1234 and t0ken-two") == f"key={MASK} and {MASK}"
    assert red.data({"vault_x": "short", "msg": "uses t0ken-one", "n": 3}) == {"vault_x": MASK, "msg": f"uses {MASK}", "n": 3}


def test_longest_secret_wins_and_tree_scrub(tmp_path):
    red = Redactor(["secret", "secret-and-more"])
    assert red.text("secret-and-more") == MASK
    (tmp_path / "a").write_text("x secret-and-more y")
    (tmp_path / "b").write_text("clean")
    assert red.scrub_tree(tmp_path) == 1
    assert (tmp_path / "a").read_text() == f"x {MASK} y"
    assert oct((tmp_path / "a").stat().st_mode & 0o777) == "0o600"
