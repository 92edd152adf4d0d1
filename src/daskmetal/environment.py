"""The environment ansible-playbook runs with under the CLI: only what Ansible and the playbooks need.

ansible-runner seeds the child's environment with the CLI's whole ``os.environ`` and writes it, values and all, to
``artifacts/<ident>/command`` in the run folder (ansible-runner 2.4.3 ``config/_base.py`` ``self.env =
os.environ.copy()``; ``runner.py`` ``Runner.run`` ``json.dump({'command', 'cwd', 'env'})``). An operator's shell
holds tokens and keys that have nothing to do with the run. :func:`minimal` keeps an allow-list of names;
:func:`secret_values` lists the values of the kept ones that are secret (provider credentials the playbooks read,
proxy URLs with a password) so that the redactor masks them in the run folder and on the terminal.
"""
from __future__ import annotations

import re
from typing import Mapping
from urllib.parse import urlsplit

from .redact import is_secret_name

# Names ansible-playbook, SSH, Python and the playbooks read (exact names).
KEEP = frozenset((
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TERM", "TZ", "TMPDIR",
    "SSH_AUTH_SOCK", "SSH_AGENT_PID", "KUBECONFIG", "VIRTUAL_ENV", "PYTHONPATH", "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
    # TLS trust and proxies (a TLS-inspecting proxy needs its CA; the modules use requests/urllib).
    "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE",
    "http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
))
# Name prefixes: Ansible's own settings and ansible-runner's (ANSIBLE_, AWX_, RUNNER_), the project's, the
# locale, and the provider credentials playbooks read from the environment (Scaleway: provision_scaleway.yml
# SCW_SECRET_KEY and the scaleway inventory plugin's SCW_*; AWS_* for S3 backups; kubernetes.core's K8S_AUTH_*).
KEEP_PREFIXES = ("ANSIBLE_", "AWX_", "RUNNER_", "DASKMETAL_", "MOLECULE_", "LC_", "SCW_", "AWS_", "K8S_AUTH_")
_PROXY = re.compile(r"^(http|https|all)_proxy$", re.I)


def kept(name: str) -> bool:
    return name in KEEP or name.startswith(KEEP_PREFIXES)


def minimal(env: Mapping[str, str], operator_env: Mapping[str, str], ours: Mapping[str, str]) -> dict[str, str]:
    """``env`` (what ansible-runner prepared) without the operator's variables that are not on the allow-list.

    A name ansible-runner or the CLI set itself (its value differs from the operator's, or it is in ``ours``)
    stays whatever its name."""
    out = {}
    for name, value in env.items():
        from_operator = name in operator_env and operator_env[name] == value and name not in ours
        if not from_operator or kept(name):
            out[name] = value
    return out


def secret_values(env: Mapping[str, str]) -> list[str]:
    """Values in ``env`` that are secret: under a secret-looking name, or the password of a proxy URL."""
    found = []
    for name, value in env.items():
        if not value:
            continue
        if is_secret_name(name):
            found.append(value)
        elif _PROXY.match(name):
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password:
                found += [value, password]
    return found
