"""Drive the `daskmetal` CLI for real (ansible-runner -> ansible-playbook on localhost) and check what it reports."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PLAYBOOKS = HERE / "playbooks"
INVENTORY = HERE / "inventory.yml"
SECRET = "Sup3r-Secret-Token-42"
PASSWORD = "hunter2-password-xyz"


def daskmetal(*args: str, timeout: int = 120, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    env.pop("DASKMETAL_ROOT", None)
    env.pop("ANSIBLE_HOST_KEY_CHECKING", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "daskmetal", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def summary_of(proc: subprocess.CompletedProcess) -> tuple[Path, dict]:
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("run folder: "))
    run_dir = Path(line.split(": ", 1)[1])
    path = run_dir / "summary.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    return run_dir, json.loads(path.read_text())


def test_ok_changed_skipped_are_counted_from_runner_stats():
    proc = daskmetal("run", str(PLAYBOOKS / "mixed.yml"), "-i", str(INVENTORY))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, summary = summary_of(proc)
    assert summary["status"] == "successful" and summary["rc"] == 0 and summary["exit_code"] == 0
    assert summary["stats"]["ok"] == {"localhost": 2}
    assert summary["stats"]["changed"] == {"localhost": 1}
    assert summary["stats"]["skipped"] == {"localhost": 1}
    assert summary["hosts"] == [{"host": "localhost", "ok": 2, "changed": 1, "failed": 0, "unreachable": 0,
                                 "skipped": 1, "rescued": 0, "ignored": 0}]
    statuses = [(e["task"], e["status"]) for e in summary["events"]]
    assert statuses == [("Say hello", "ok"), ("Report a change", "changed"), ("Never runs", "skipped")]
    # live progress: task and host lines, then the table
    assert "TASK  Report a change" in proc.stdout
    assert "changed      localhost" in proc.stdout
    assert "HOST       OK  CHANGED  FAILED  UNREACHABLE  SKIPPED" in proc.stdout


def test_failed_host_exits_2_and_lists_the_failure():
    proc = daskmetal("run", str(PLAYBOOKS / "failing.yml"), "-i", str(INVENTORY))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    _, summary = summary_of(proc)
    assert summary["stats"]["failures"] == {"localhost": 1}
    assert summary["stats"]["ignored"] == {"localhost": 1}
    assert [f["task"] for f in summary["failures"]] == ["Break on purpose"]
    assert summary["failures"][0]["msg"] == "broken on purpose"
    assert "FAILED: localhost / Break on purpose: broken on purpose" in proc.stdout


def test_unreachable_host_exits_3():
    proc = daskmetal("run", str(PLAYBOOKS / "mixed.yml"), "-i", str(HERE / "unreachable.yml"))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    _, summary = summary_of(proc)
    assert summary["stats"]["dark"] == {"nowhere": 1}
    assert summary["stats"]["ok"]["localhost"] == 2
    assert not summary["stats"]["failures"]
    assert [row["host"] for row in summary["hosts"]] == ["localhost", "nowhere"]


def test_secrets_never_printed_nor_left_on_disk(tmp_path):
    varsfile = tmp_path / "secrets.yml"
    varsfile.write_text(f"db_password: {PASSWORD}\n")
    proc = daskmetal("run", str(PLAYBOOKS / "secrets.yml"), "-i", str(INVENTORY),
                     "-e", f"vault_test_token={SECRET}", "-e", f"@{varsfile}")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    for text in (proc.stdout, proc.stderr):
        assert SECRET not in text and PASSWORD not in text
    assert 'vault_test_token="********"' in proc.stdout
    run_dir, summary = summary_of(proc)
    assert summary["extra_vars"] == {"vault_test_token": "********", "db_password": "********"}
    # the no_log task stays censored, the careless one is masked
    failure = summary["failures"][0]
    assert failure["task"] == "A no_log task that fails with the secret in its message"
    assert "no_log" in failure["msg"]
    leaks = [str(p) for p in run_dir.rglob("*") if p.is_file()
             and (SECRET.encode() in p.read_bytes() or PASSWORD.encode() in p.read_bytes())]
    assert leaks == []
    # the artefacts are really there (the scrub did not just delete them)
    assert (run_dir / "artifacts" / "ansible" / "job_events").is_dir()
    assert "********" in (run_dir / "artifacts" / "ansible" / "stdout").read_text()


def test_deploy_check_runs_site_yml_in_check_mode():
    proc = daskmetal("deploy", "--check", "-i", str(HERE / "deploy_inventory.yml"), "--limit", "localhost",
                     "--output", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["command"] == "deploy" and summary["check"] is True
    assert summary["playbook"] == str(ROOT / "site.yml")
    assert summary["stats"]["failures"] == {} and summary["stats"]["dark"] == {}
    assert "localhost" in {row["host"] for row in summary["hosts"]}
    assert summary["stats"]["changed"] == {}
    command = json.loads((Path(summary["run_dir"]) / "artifacts" / "ansible" / "command").read_text())
    assert "--check" in command["command"]


def test_ansible_error_without_host_failure_exits_5():
    proc = daskmetal("run", str(PLAYBOOKS / "broken.yml"), "-i", str(INVENTORY))
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert "no.such.module_xyz" in proc.stdout


def test_timeout_exits_6():
    proc = daskmetal("run", str(PLAYBOOKS / "slow.yml"), "-i", str(INVENTORY), "--timeout", "3", "--output", "quiet")
    assert proc.returncode == 6, proc.stdout + proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("args", [
    ["run", "no_such_runbook"],
    ["run"],
    ["scale", "-1"],
    ["scale", "many"],
    ["status", "-i", "/nonexistent/inventory.yml"],
    ["run", str(PLAYBOOKS / "mixed.yml"), "-e", "not a pair"],
    ["frobnicate"],
])
def test_usage_errors_exit_4(args):
    proc = daskmetal(*args)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "error" in proc.stderr
    assert not proc.stdout.startswith("run folder")


def test_run_list_names_the_runbooks():
    proc = daskmetal("run", "--list")
    assert proc.returncode == 0
    names = proc.stdout.split()
    assert "plan" not in names
    assert names == sorted(names)
    for path in (ROOT / "playbooks").glob("*.yml"):
        if path.stem != "plan":
            assert path.stem in names


def test_destructive_runbook_needs_confirmation_without_a_terminal():
    proc = daskmetal("run", "teardown", "-i", str(INVENTORY), "-e", '{"daskmetal_teardown_layers": ["dask"]}')
    assert proc.returncode == 7, proc.stdout + proc.stderr
    assert "daskmetal_force=true" in proc.stderr
    assert proc.stdout == ""


def test_destructive_runbook_runs_when_forced():
    proc = daskmetal("run", "teardown", "-i", str(INVENTORY), "-e", '{"daskmetal_teardown_layers": ["dask"]}',
                     "-e", "daskmetal_force=true")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _, summary = summary_of(proc)
    assert summary["extra_vars"]["daskmetal_force"] in (True, "true")
    tasks = [e["task"] for e in summary["events"] if e["status"] == "ok"]
    assert "Stop unless confirmed" in tasks


def test_scale_passes_the_worker_count_to_scale_dask():
    # --tags none_here: the real scale needs a cluster; what is checked is what the CLI hands to the playbook.
    proc = daskmetal("scale", "7", "-i", str(INVENTORY), "--tags", "none_here", "--output", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["playbook"] == str(ROOT / "playbooks" / "scale_dask.yml")
    assert summary["extra_vars"] == {"dask_worker_replicas": 7}
    assert summary["tags"] == "none_here"


def test_scale_disable_adaptive_lets_the_playbook_delete_the_autoscaler():
    proc = daskmetal("scale", "15", "--disable-adaptive", "-i", str(INVENTORY), "--tags", "none_here",
                     "--output", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the variable roles/dask/tasks/scale.yml reads (meta/argument_specs.yml entry point scale)
    assert json.loads(proc.stdout)["extra_vars"] == {"dask_worker_replicas": 15, "dask_scale_disable_adaptive": True}
    specs = yaml.safe_load((ROOT / "roles" / "dask" / "meta" / "argument_specs.yml").read_text())
    assert set(json.loads(proc.stdout)["extra_vars"]) <= set(specs["argument_specs"]["scale"]["options"])


@pytest.mark.parametrize("operator_setting,expected", [(None, True), ("False", False), ("True", True)],
                         ids=["default-on", "operator-off", "operator-on"])
def test_ssh_host_key_checking_is_on_unless_the_operator_turns_it_off(tmp_path, operator_setting, expected):
    """ansible-runner sets ANSIBLE_HOST_KEY_CHECKING=False when the variable is absent (ansible-runner 2.4
    ansible_runner/config/_base.py); ansible-playbook itself reports the setting it runs with."""
    out = tmp_path / "hkc.json"
    proc = daskmetal("run", str(PLAYBOOKS / "host_key_checking.yml"), "-i", str(INVENTORY), "-e", f"out={out}",
                     env_extra={} if operator_setting is None else {"ANSIBLE_HOST_KEY_CHECKING": operator_setting})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(out.read_text()) is expected


def test_run_folder_keeps_no_operator_environment(tmp_path):
    """ansible-runner 2.4.3 copies the CLI's whole environment into the child and into
    artifacts/ansible/command (config/_base.py os.environ.copy(); runner.py Runner.run json.dump of env).
    The CLI passes only the allow-listed names; a provider secret that must reach the playbooks (SCW_SECRET_KEY,
    read by playbooks/provision_scaleway.yml) does, and is masked in the run folder. The real consumers:
    ansible-runner writes the run folder, ansible-playbook's env lookup reports what the run saw."""
    unrelated = "ghp_0perator-Unrelated-Token-9271"
    provider = "scw-Provider-Secret-Key-5583"
    out = tmp_path / "env.json"
    names = ["OPERATOR_API_TOKEN", "SCW_SECRET_KEY", "HOME", "PATH"]
    proc = daskmetal("run", str(PLAYBOOKS / "environment.yml"), "-i", str(INVENTORY), "-e", f"out={out}",
                     "-e", json.dumps({"names": names}),
                     env_extra={"OPERATOR_API_TOKEN": unrelated, "SCW_SECRET_KEY": provider})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(out.read_text()) == {"OPERATOR_API_TOKEN": False, "SCW_SECRET_KEY": True, "HOME": True,
                                           "PATH": True}
    run_dir, _ = summary_of(proc)
    command = run_dir / "artifacts" / "ansible" / "command"
    recorded = json.loads(command.read_text())["env"]
    assert "OPERATOR_API_TOKEN" not in recorded and recorded["SCW_SECRET_KEY"] == "********"
    assert recorded["ANSIBLE_HOST_KEY_CHECKING"] == "True"
    leaks = [str(p) for p in run_dir.rglob("*") if p.is_file()
             and (unrelated.encode() in p.read_bytes() or provider.encode() in p.read_bytes())]
    assert leaks == [], leaks
    assert unrelated not in proc.stdout + proc.stderr and provider not in proc.stdout + proc.stderr


def test_become_password_numbers_and_escaped_secrets_stay_masked(tmp_path):
    """A real run: the header line, stdout, summary.json and ansible-runner's job_events (json.dump with
    ensure_ascii=True, so quotes and non-ASCII are escaped there) never hold the values."""
    weird = 'Gr\u00fc\u00dfe-"quoted"-\\back-\u2603-token'
    become = "Bec0me-Passw0rd-7781"
    pin = 86753091
    proc = daskmetal("run", str(PLAYBOOKS / "secrets.yml"), "-i", str(INVENTORY),
                     "-e", json.dumps({"vault_test_token": weird, "db_password": pin}),
                     "-e", f"ansible_become_pass={become}")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    header = proc.stdout.splitlines()[0]
    assert 'ansible_become_pass="********"' in header and 'db_password="********"' in header, header
    run_dir, summary = summary_of(proc)
    assert summary["extra_vars"] == {"vault_test_token": "********", "db_password": "********",
                                     "ansible_become_pass": "********"}
    forms = {weird, json.dumps(weird)[1:-1], json.dumps(weird, ensure_ascii=False)[1:-1], become, str(pin)}
    assert [f for f in forms if f in proc.stdout + proc.stderr] == []
    leaks = [(str(p), f) for p in run_dir.rglob("*") if p.is_file() for f in forms
             if f.encode() in p.read_bytes()]
    assert leaks == []
    events = list((run_dir / "artifacts" / "ansible" / "job_events").glob("*.json"))
    assert any("the token is ********" in p.read_text() for p in events)
