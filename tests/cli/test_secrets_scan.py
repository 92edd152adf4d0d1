"""A -vvv --diff run through the CLI that handles vault secrets leaves none of them on the terminal or in the run
folder (stdout, ansible-runner's job_events, command file, fact cache, summary.json).

The secrets come from a real ansible-vault encrypted file (ansible-vault encrypts it here; ansible-playbook
decrypts it with ANSIBLE_VAULT_PASSWORD_FILE). The CLI never sees the values, so its own masking cannot help:
only the tasks' no_log keeps them out. The play (tests/cli/playbooks/secret_handling.yml) runs the real secret
checks of the roles zerotier and dask_compose and the single-host stack's password tasks (dask_compose
tasks/secrets.yml). The scan looks for each value raw and JSON-escaped. The positive control: the run really
handled the values (the password file it wrote holds the Grafana password)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

SECRETS = {
    "vault_zerotier_api_token": "scan-zt-Central-Token-5f3a9c2e71",
    "vault_jupyter_password": "scan-Jupyter-Passw0rd-\u00e9\"q\"-8841",
    "vault_grafana_admin_password": "scan-Grafana-Admin-Pw-3307",
}


def forms(value: str) -> set[str]:
    return {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}


def test_vault_secrets_leave_no_trace_at_vvv(tmp_path):
    password_file = tmp_path / "vault-pass"
    password_file.write_text("scan-vault-password\n")
    vault = tmp_path / "vault.yml"
    vault.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in SECRETS.items()))
    subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password_file), str(vault)],
                   check=True, capture_output=True)
    assert vault.read_text().startswith("$ANSIBLE_VAULT")
    project = tmp_path / "stack"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), ANSIBLE_VAULT_PASSWORD_FILE=str(password_file))
    env.pop("DASKMETAL_ROOT", None)
    proc = subprocess.run([sys.executable, "-m", "daskmetal", "run", str(HERE / "playbooks" / "secret_handling.yml"),
                           "-i", str(HERE / "inventory.yml"), "-vvv", "--diff", "-e", f"@{vault}",
                           "-e", f"project_dir={project}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    # positive control: the secrets were decrypted and used
    assert (project / "secrets" / "grafana-admin-password").read_text().strip() == SECRETS["vault_grafana_admin_password"]

    run_dir = Path(next(ln for ln in proc.stdout.splitlines() if ln.startswith("run folder: ")).split(": ", 1)[1])
    stdout_log = run_dir / "artifacts" / "ansible" / "stdout"
    assert "ESTABLISH LOCAL CONNECTION" in stdout_log.read_text(), "the run was not at -vvv"
    needles = {(name, f) for name, value in SECRETS.items() for f in forms(value)}
    on_terminal = sorted({name for name, f in needles if f in proc.stdout + proc.stderr})
    assert on_terminal == [], f"secret values printed: {on_terminal}"
    in_files = sorted({(str(p.relative_to(run_dir)), name) for p in run_dir.rglob("*") if p.is_file()
                       for name, f in needles if f.encode() in p.read_bytes()})
    assert in_files == [], f"secret values in the run folder: {in_files}"
