"""Run a playbook through the daskmetal CLI at -vvv with secrets from a real ansible-vault file, then look for every
secret value on the terminal, in the run folder (ansible-runner's job_events, stdout, command, env, the fact cache)
and in every other file the run left or touched in .cache/: raw and JSON-escaped (ASCII and not).

The CLI never sees the values (ansible-playbook decrypts the vault with ANSIBLE_VAULT_PASSWORD_FILE), so only the
tasks' no_log keeps them out. Run from molecule/cluster_check's verify (the layers at -vvv --check), and runnable
from any Molecule verify against the scenario's own converged hosts:

    python -m tests.cli.secrets_scan PLAYBOOK -i INVENTORY [--check] [--secret NAME=VALUE ...]
        [--look-for-file FILE] [-e VARS ...]

--secret plants a vault variable; --look-for-file (a JSON mapping name -> value, e.g. passwords a converge
generated, read from the host) adds values that are looked for without being planted.

Exit 0: no value found (the report lists the files scanned); 1: values found (listed by name, never printed);
2: the run itself failed."""
from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def forms(value: str) -> set[str]:
    """The value raw and JSON-escaped, and the base64 that slurp (and any module returning file content) prints
    for a file that starts with it: the whole 3-byte groups of the value encode the same whatever follows."""
    found = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    raw = value.encode()
    whole = raw[:len(raw) - len(raw) % 3]
    if len(whole) >= 12:
        found.add(base64.b64encode(whole).decode())
    return found


@dataclass
class Scan:
    proc: subprocess.CompletedProcess
    run_dir: Path | None
    scanned: list[Path] = field(default_factory=list)
    on_terminal: list[str] = field(default_factory=list)
    in_files: list[tuple[str, str]] = field(default_factory=list)


def write_vault(folder: Path, secrets: dict[str, str]) -> tuple[Path, Path]:
    """A vault file holding `secrets`, encrypted by ansible-vault; returns (vault, password file)."""
    password_file = folder / "vault-pass"
    password_file.write_text("scan-vault-password\n")
    password_file.chmod(0o600)
    vault = folder / "vault.yml"
    vault.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in secrets.items()))
    subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password_file), str(vault)],
                   check=True, capture_output=True)
    assert vault.read_text().startswith("$ANSIBLE_VAULT")
    return vault, password_file


def run_and_scan(playbook: Path, inventory: Path, secrets: dict[str, str], args: list[str], folder: Path,
                 timeout: int = 900, look_for: dict[str, str] | None = None) -> Scan:
    vault, password_file = write_vault(folder, secrets)
    secrets = {**(look_for or {}), **secrets}
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), ANSIBLE_VAULT_PASSWORD_FILE=str(password_file))
    env.pop("DASKMETAL_ROOT", None)
    started = time.time()
    proc = subprocess.run([sys.executable, "-m", "daskmetal", "run", str(playbook), "-i", str(inventory), "-vvv",
                           *args, "-e", f"@{vault}"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("run folder: ")), None)
    scan = Scan(proc, Path(line.split(": ", 1)[1]) if line else None)
    needles = {(name, f) for name, value in secrets.items() for f in forms(value)}
    scan.on_terminal = sorted({name for name, f in needles if f in proc.stdout + proc.stderr})
    scan.scanned = [p for p in (ROOT / ".cache").rglob("*") if p.is_file() and not p.is_symlink()
                    and ((scan.run_dir and p.is_relative_to(scan.run_dir)) or p.stat().st_mtime >= started)]
    scan.in_files = sorted({(str(p.relative_to(ROOT)), name) for p in scan.scanned
                            for name, f in needles if f.encode() in p.read_bytes()})
    return scan


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.cli.secrets_scan", description=__doc__.split("\n\n")[0])
    ap.add_argument("playbook", type=Path)
    ap.add_argument("-i", "--inventory", type=Path, required=True)
    ap.add_argument("--secret", action="append", default=[], metavar="NAME=VALUE", help="a vault variable to plant")
    ap.add_argument("--look-for-file", type=Path, help="JSON mapping name -> value: also look for these")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("-e", "--extra-vars", action="append", default=[])
    opts = ap.parse_args(argv)
    secrets = dict(s.split("=", 1) for s in opts.secret)
    args = (["--check", "--diff"] if opts.check else []) + [a for e in opts.extra_vars for a in ("-e", e)]
    with tempfile.TemporaryDirectory(prefix="daskmetal-scan-") as tmp:
        look_for = json.loads(opts.look_for_file.read_text()) if opts.look_for_file else {}
        scan = run_and_scan(opts.playbook.resolve(), opts.inventory.resolve(), secrets, args, Path(tmp),
                            look_for=look_for)
    if scan.proc.returncode != 0:
        print(scan.proc.stdout[-4000:] + scan.proc.stderr[-2000:])
        return 2
    print(f"scanned the terminal and {len(scan.scanned)} files under .cache/ for {sorted({*secrets, *look_for})}")
    if scan.on_terminal or scan.in_files:
        print(f"secret values printed: {scan.on_terminal}; left in files: {scan.in_files}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
