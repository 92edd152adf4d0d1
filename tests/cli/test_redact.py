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


# Ansible's connection and privilege-escalation variables (ansible-core 2.19 docs "Connecting to hosts:
# behavioral inventory parameters" and the become plugins' options), plus the review's list (host-security M4).
ANSIBLE_SECRETS = ("ansible_password", "ansible_ssh_pass", "ansible_ssh_password", "ansible_become_pass",
                   "ansible_become_password", "ansible_sudo_pass", "ansible_su_pass", "ansible_httpapi_pass",
                   "ansible_winrm_password", "ansible_ssh_private_key_passphrase", "ansible_private_key_file")
OTHER_SECRETS = ("passphrase", "scw_access_key", "aws_access_key_id", "grafana_admin_pass", "jupyter_pw",
                 "tls_key", "SCW_SECRET_KEY", "basic_auth", "auth")
NOT_SECRETS = ("docker_apt_key_url", "docker_apt_key_fingerprint", "keyboard", "bypass_checks", "compass",
               "dask_worker_replicas", "author", "monkey_count", "ansible_user", "ansible_host_key_checking")


def test_ansible_password_variables_and_review_names_are_secret():
    missed = [n for n in ANSIBLE_SECRETS + OTHER_SECRETS if not is_secret_name(n)]
    assert missed == []


def test_ordinary_names_are_not_secret():
    assert [n for n in NOT_SECRETS if is_secret_name(n)] == []


def test_become_password_is_masked_on_the_header_and_scrubbed_from_text():
    red = Redactor.from_extravars({"ansible_become_pass": "Bec0me-Pass!", "ansible_user": "deploy"})
    assert red.data({"ansible_become_pass": "Bec0me-Pass!", "ansible_user": "deploy"}) == {
        "ansible_become_pass": MASK, "ansible_user": "deploy"}
    assert red.text("sudo -S <<< Bec0me-Pass!") == f"sudo -S <<< {MASK}"


def test_non_string_values_under_secret_names_are_masked_and_collected():
    extravars = {"vault_pin": 123456, "ansible_password": 98765.5, "credentials": {"nested": 424242, "flag": True},
                 "secrets": [31337, "s3cret-item"], "vault_empty": None}
    red = Redactor.from_extravars(extravars)
    assert red.data(extravars) == {"vault_pin": MASK, "ansible_password": MASK,
                                   "credentials": {"nested": MASK, "flag": True}, "secrets": [MASK, MASK],
                                   "vault_empty": None}
    assert {"123456", "98765.5", "424242", "31337", "s3cret-item"} <= set(red.values)
    assert red.text("pin=123456") == f"pin={MASK}"


def test_json_escaped_forms_are_scrubbed_from_files(tmp_path):
    """ansible-runner writes job events with json.dump (ensure_ascii=True): '"', '\\' and non-ASCII are escaped."""
    import json
    secret = 'Gr\u00fc\u00dfe "q" back\\slash \u2603'
    red = Redactor([secret])
    (tmp_path / "ascii.json").write_text(json.dumps({"msg": f"value {secret} end"}))
    (tmp_path / "utf8.json").write_text(json.dumps({"msg": secret}, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "raw.txt").write_text(f"raw {secret}", encoding="utf-8")
    assert red.scrub_tree(tmp_path) == 3
    assert json.loads((tmp_path / "ascii.json").read_text()) == {"msg": f"value {MASK} end"}
    assert json.loads((tmp_path / "utf8.json").read_text(encoding="utf-8")) == {"msg": MASK}
    assert (tmp_path / "raw.txt").read_text(encoding="utf-8") == f"raw {MASK}"
    assert red.text(json.dumps(secret)) == f'"{MASK}"'


def test_run_folders_are_rotated(tmp_path):
    from daskmetal.run import run_dir_for
    runs = tmp_path / ".cache" / "runs"
    runs.mkdir(parents=True)
    for i in range(7):
        (runs / f"2026010{i}T000000.000000Z-deploy").mkdir()
    (runs / "notes").mkdir()                           # not a run folder: left alone
    new = run_dir_for(tmp_path, "status", keep=3)
    kept = sorted(p.name for p in runs.iterdir())
    assert kept == ["20260105T000000.000000Z-deploy", "20260106T000000.000000Z-deploy", new.name, "notes"]
