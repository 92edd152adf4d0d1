"""Keep secrets out of everything the CLI prints or writes.

Ansible itself censors the results of tasks marked ``no_log: true``. What it cannot know is that a value
given on the command line (``-e vault_rke2_token=...``) is secret. The CLI treats every extra variable whose
name looks secret (password, token, secret, key, ...) as such and replaces its value wherever it would
appear: live progress lines, the summary, the JSON artefact, and the files ansible-runner leaves in the run
folder.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterable

MASK = "********"
# A name is secret when it contains one of these words. Besides the obvious ones: Ansible's own connection and
# privilege variables (ansible_password, ansible_become_pass, ansible_ssh_pass, ansible_become_password,
# ansible_sudo_pass, ansible_httpapi_pass, ...: pass as a word), passphrases (ansible_ssh_private_key_passphrase),
# access keys (aws_access_key_id, scw_access_key), "*_key" (tls_key, s3_secret_key), short "pw" and auth.
SECRET_NAME = re.compile(
    r"(passw|passphrase|(^|[_-])pass($|[_-])|(^|[_-])pw($|[_-])|pwd|token|secret|api[_-]?key|private[_-]?key"
    r"|access[_-]?key|(^|[_-])key$|(^|[_-])auth($|[_-])|credential|vault_|bootstrap)",
    re.I,
)
# Values shorter than this are not scrubbed from free text (they would mangle ordinary words); they are
# still masked where the CLI shows the variable itself.
MIN_SCRUB_LEN = 4


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(str(name)))


def _collect(value: Any, secret: bool, out: set[str], name: str = "") -> None:
    secret = secret or is_secret_name(name)
    if isinstance(value, dict):
        for key, item in value.items():
            _collect(item, secret, out, str(key))
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, secret, out, name)
    elif secret and value is not None and not isinstance(value, bool):
        text = str(value)
        if text:
            out.add(text)


class Redactor:
    """Replace known secret values in text and data structures."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._secrets: set[str] = set()
        for item in secrets:
            self.add(item)

    @classmethod
    def from_extravars(cls, extravars: dict[str, Any]) -> "Redactor":
        found: set[str] = set()
        _collect(extravars, False, found)
        return cls(found)

    def add(self, value: str) -> None:
        if value:
            self._secrets.add(str(value))

    @property
    def values(self) -> list[str]:
        # Longest first so that a secret containing another is replaced whole.
        return sorted(self._secrets, key=len, reverse=True)

    def text(self, text: str) -> str:
        if not isinstance(text, str):
            return text
        for secret in self.forms:
            if len(secret) >= MIN_SCRUB_LEN or text == secret:
                text = text.replace(secret, MASK)
        return text

    @property
    def forms(self) -> list[str]:
        """Each secret as written raw and as it appears inside a JSON string (job_events are json.dump'ed with
        ensure_ascii=True: quotes, backslashes, control and non-ASCII characters are escaped), longest first."""
        out = set()
        for secret in self._secrets:
            out.add(secret)
            out.add(json.dumps(secret)[1:-1])
            out.add(json.dumps(secret, ensure_ascii=False)[1:-1])
        return sorted(out, key=len, reverse=True)

    def data(self, value: Any, name: str = "", secret: bool = False) -> Any:
        """Mask every scalar (not booleans, not None) under a secret name, at any depth; scrub other strings."""
        secret = secret or is_secret_name(name)
        if isinstance(value, dict):
            return {k: self.data(v, str(k), secret) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v, name, secret) for v in value]
        if secret and value is not None and not isinstance(value, bool) and value != "":
            return MASK
        if isinstance(value, str):
            return self.text(value)
        return value

    def scrub_file(self, path: Path) -> bool:
        """Rewrite one file without the secret values (mode 0600); returns whether it had any."""
        needles = [s.encode() for s in self.forms if len(s) >= MIN_SCRUB_LEN]
        if not needles or not path.is_file() or path.is_symlink():
            return False
        try:
            blob = path.read_bytes()
        except OSError:
            return False
        if not any(n in blob for n in needles):
            return False
        for needle in needles:
            blob = blob.replace(needle, MASK.encode())
        path.write_bytes(blob)
        os.chmod(path, 0o600)
        return True

    def scrub_tree(self, root: Path) -> int:
        """Rewrite every file under root that contains a secret value; returns how many were rewritten."""
        if not self._secrets:
            return 0
        return sum(1 for path in root.rglob("*") if self.scrub_file(path))
