"""tests/e2e/first_command.py: what it reads from the README and from the run's output (no lab needed)."""
from __future__ import annotations

import os
import tarfile

import pytest

from tests.e2e import first_command

# The stack's last task and the PLAY RECAP as ansible-core 2.19's default callback prints them with this project's
# ansible.cfg (captured from `ansible-playbook` with the same debug msg the role renders from access.txt.j2).
RUN_TAIL = (
    'TASK [ansible.builtin.debug] ***************************************************\n'
    'ok: [localhost] => {\n'
    '    "msg": [\n'
    '        {\n'
    '            "Dask stack \\"daskmetal\\" is up (/opt/daskmetal/compose.yml)": null\n'
    '        },\n'
    '        "  2 workers x 1 threads x 1843 MiB",\n'
    '        "  Dask scheduler   tcp://172.18.0.7:8786  (Client(\\"tcp://172.18.0.7:8786\\"); same Python and Dask versions as the image)",\n'
    '        "  Dask dashboard   http://172.18.0.7:8787/status",\n'
    '        "  Prometheus       http://172.18.0.7:9090",\n'
    '        "  JupyterLab       http://172.18.0.7:8888  password: sudo cat /opt/daskmetal/secrets/jupyter-password on localhost",\n'
    '        "    examples in ~/examples (read-only; copy to ~/work, which is kept in a volume); Client() finds the scheduler",\n'
    '        "  Grafana          disabled (dask_compose_grafana_enabled: false)"\n'
    '    ]\n'
    '}\n'
    '\n'
    'PLAY RECAP *********************************************************************\n'
    'localhost                  : ok=1    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   \n'
)


def test_readme_command_is_the_first_sh_block():
    assert first_command.readme_command() == "python3 scripts/setup && .venv/bin/ansible-playbook site.yml"


def test_readme_command_refuses_a_multi_line_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n```sh\npython3 scripts/setup\n.venv/bin/ansible-playbook site.yml\n```\n")
    with pytest.raises(SystemExit, match="exactly one command"):
        first_command.readme_command(str(readme))


def test_parse_run_reads_the_printed_urls_workers_password_hint_and_recap():
    seen = first_command.parse_run(RUN_TAIL)
    assert seen["urls"] == {
        "Dask scheduler": "tcp://172.18.0.7:8786",
        "Dask dashboard": "http://172.18.0.7:8787/status",
        "Prometheus": "http://172.18.0.7:9090",
        "JupyterLab": "http://172.18.0.7:8888",
    }
    assert seen["workers"] == 2
    assert seen["password_file"] == "/opt/daskmetal/secrets/jupyter-password"
    assert seen["recap"] == {"localhost": {"ok": 1, "changed": 0, "unreachable": 0, "failed": 0}}


def test_check_refuses_a_failed_run_and_a_changing_rerun(tmp_path, capsys):
    failed = tmp_path / "failed.log"
    failed.write_text("localhost                  : ok=9    changed=3    unreachable=0    failed=1    skipped=0\n")
    assert first_command.check(str(failed), "unused", rerun=False) == 1
    assert "clean PLAY RECAP" in capsys.readouterr().out
    changed = tmp_path / "changed.log"
    changed.write_text("localhost                  : ok=9    changed=1    unreachable=0    failed=0    skipped=0\n")
    assert first_command.check(str(changed), "unused", rerun=True) == 1
    assert "changed something" in capsys.readouterr().out


def test_check_refuses_a_run_that_printed_no_urls(tmp_path, capsys):
    log = tmp_path / "quiet.log"
    log.write_text("localhost                  : ok=9    changed=3    unreachable=0    failed=0    skipped=0\n")
    assert first_command.check(str(log), "unused", rerun=False) == 1
    assert "did not print" in capsys.readouterr().out


def test_source_tar_is_a_clone_without_venv_or_caches(tmp_path):
    out = tmp_path / "checkout.tar"
    assert first_command.source_tar(str(out)) > 0
    with tarfile.open(out) as tar:
        names = tar.getnames()
    assert "scripts/setup" in names and "README.md" in names
    assert not [n for n in names if n.split("/", 1)[0] in (".venv", ".cache", ".git")]
    assert os.path.exists(os.path.join(first_command.ROOT, "README.md"))


def test_dashboard_title_as_distributed_renders_it():
    # distributed/http/templates/base.html, as the lab's /status served it
    assert first_command.DASHBOARD_TITLE.search("<head>\n    <title>Dask Diagnostic UI</title>")
    assert not first_command.DASHBOARD_TITLE.search("<title>404: Not Found</title>")
