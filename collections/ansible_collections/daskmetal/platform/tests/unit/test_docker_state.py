"""module_utils/docker_state.py: one read of a Docker host, and the drift the docker role acts on.

observe() runs against a temporary directory with recorded dpkg-query, gpg and systemctl output (the formats of
dpkg-query(1) -f, gnupg doc/DETAILS colon listing and systemctl show KEY=VALUE); drift() compares."""
import os

import pytest

from ansible_collections.daskmetal.platform.plugins.module_utils import docker_state as ds

FPR = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"
OTHER = "0123456789ABCDEF0123456789ABCDEF01234567"
PIN = "Package: docker-ce docker-ce-cli\nPin: version 5:28.5.*\nPin-Priority: 1001\n"
PKGS = ["docker-ce", "docker-ce-cli", "containerd.io"]
ENGINE = "5:28.5.2-1~debian.12~bookworm"


def colons(*fprs):
    return "".join("pub:-:4096:1:%s:1487788586:::-:::scESA::::::23::0:\nfpr:::::::::%s:\n" % (f[-16:], f) for f in fprs)


def dpkg(rows):
    return "".join("%s\t%s\t%s\t%s\n" % row for row in rows)


CONVERGED = dpkg([("docker-ce", "hold", "installed", ENGINE), ("docker-ce-cli", "hold", "installed", ENGINE),
                  ("containerd.io", "hold", "installed", "1.7.28-1"), ("gnupg", "install", "installed", "2.2.40-1.1"),
                  ("ca-certificates", "install", "installed", "20230311")])
ACTIVE = "LoadState=loaded\nActiveState=active\nUnitFileState=enabled\n"


class Host(object):
    """Recorded command output by program name; the calls are kept."""

    def __init__(self, dpkg_out=CONVERGED, gpg_out=colons(FPR), gpg_rc=0, systemctl=ACTIVE, programs=("gpg", "systemctl", "dockerd")):
        self.out = {"dpkg-query": (1, dpkg_out, ""), "gpg": (gpg_rc, gpg_out, "gpg: no valid OpenPGP data found." if gpg_rc else ""),
                    "systemctl": (0, systemctl, ""), "dockerd": (0, "Docker version 28.5.2, build 1\n", "")}
        self.programs = programs
        self.calls = []

    def run(self, argv):
        self.calls.append(argv)
        return self.out[os.path.basename(argv[0])]

    def which(self, name):
        return "/usr/bin/" + name if name in self.programs else None


@pytest.fixture
def root(tmp_path):
    (tmp_path / "keyrings").mkdir(mode=0o755)
    (tmp_path / "keyrings" / "docker.asc").write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n")
    os.chmod(tmp_path / "keyrings" / "docker.asc", 0o644)
    (tmp_path / "pin").write_text(PIN)
    os.chmod(tmp_path / "pin", 0o644)
    (tmp_path / "booted").mkdir()
    return tmp_path


def params(root, **over):
    p = {"files": {"pin": {"path": str(root / "pin"), "state": "present", "content": PIN, "mode": "0644"},
                   "sources": {"path": str(root / "docker.sources"), "state": "absent", "content": None, "mode": None}},
         "dirs": {str(root / "keyrings"): "0755"}, "packages": list(PKGS),
         "versions": {"docker-ce": "5:28.5.*", "docker-ce-cli": "5:28.5.*"}, "hold": True,
         "prerequisites": ["ca-certificates", "gnupg"], "keyring": str(root / "keyrings" / "docker.asc"),
         "fingerprint": FPR, "service": "docker.service", "service_enabled": True, "users": ["root"], "group": "root",
         "systemd_booted_path": str(root / "booted")}
    p.update(over)
    return p


def run(root, host=None, **over):
    host = host or Host()
    p = params(root, **over)
    state = ds.observe(p, host.run, host.which)
    return state, ds.drift(state, p), host


def test_a_converged_host_has_no_drift_and_takes_one_call_per_program(root):
    state, drift, host = run(root)
    assert drift["any"] is False, drift
    assert state["dockerd_version"].startswith("Docker version 28.5.2")
    assert sorted(os.path.basename(c[0]) for c in host.calls) == ["dockerd", "dpkg-query", "gpg", "systemctl"]


@pytest.mark.parametrize("change, key, expect", [
    ({"versions": {"docker-ce": "5:28.6.*"}}, "install", True),                          # another minor pinned
    ({"versions": {"docker-ce": "5:28.5.3-1~debian.12~bookworm"}}, "install", True),     # an exact pin that differs
    ({"packages": PKGS + ["docker-compose-plugin"]}, "packages_missing", ["docker-compose-plugin"]),
    ({"hold": False}, "selections", PKGS),
    ({"prerequisites": ["ca-certificates", "gnupg", "python3-debian"]}, "prerequisites", ["python3-debian"]),
    ({"fingerprint": OTHER}, "keyring_problems", True),
    ({"service_enabled": False}, "service", True),
    ({"users": ["root", "nobody-such-user"]}, "users_missing", ["nobody-such-user"]),
    ({"group": "no-such-group"}, "users_to_add", ["root"]),
])
def test_each_difference_is_drift(root, change, key, expect):
    _, drift, _ = run(root, **change)
    assert (bool(drift[key]) if expect is True else drift[key]) == expect, drift
    assert drift["any"] is True or key == "users_missing"


def test_minor_glob_matches_patch_releases_only():
    assert ds.version_matches("5:28.5.3-1~debian.12~bookworm", "5:28.5.*")
    assert not ds.version_matches("5:28.50.1-1~debian.12~bookworm", "5:28.5.*")
    assert not ds.version_matches("5:29.0.0-1~debian.12~bookworm", "5:28.5.*")
    assert ds.version_matches(ENGINE, ENGINE) and not ds.version_matches("", "")


def test_files_compare_content_and_mode_and_absence(root):
    (root / "pin").write_text(PIN.replace("28.5", "28.4"))
    assert run(root)[1]["files"]["pin"] is True
    (root / "pin").write_text(PIN)
    os.chmod(root / "pin", 0o600)
    assert run(root)[1]["files"]["pin"] is True
    (root / "docker.sources").write_text("Types: deb\n")
    assert run(root)[1]["files"]["sources"] is True          # wanted absent, present
    os.chmod(root / "keyrings", 0o700)
    assert run(root)[1]["dirs"] == [str(root / "keyrings")]


def test_a_keyring_with_an_extra_key_or_that_gpg_cannot_read_is_drift(root):
    _, drift, _ = run(root, Host(gpg_out=colons(FPR, OTHER)))
    assert drift["keyring_problems"] and drift["any"]
    _, drift, _ = run(root, Host(gpg_out="", gpg_rc=2))
    assert drift["keyring_problems"] == ["gpg cannot read it: gpg: no valid OpenPGP data found."]
    _, drift, _ = run(root, Host(programs=("systemctl", "dockerd")))     # gpg not installed yet
    assert drift["keyring_unverified"] and not drift["keyring_problems"] and drift["any"]
    (root / "keyrings" / "docker.asc").unlink()
    _, drift, host = run(root)
    assert drift["keyring_missing"] and not drift["keyring_problems"]
    assert "gpg" not in [os.path.basename(c[0]) for c in host.calls]


def test_packages_not_installed_or_only_configured_are_drift(root):
    rows = dpkg([("docker-ce", "hold", "config-files", ENGINE), ("docker-ce-cli", "hold", "installed", ENGINE),
                 ("gnupg", "install", "installed", "2"), ("ca-certificates", "install", "installed", "1")])
    _, drift, _ = run(root, Host(dpkg_out=rows))
    assert drift["packages_missing"] == ["docker-ce", "containerd.io"] and drift["install"]
    assert drift["selections"] == ["containerd.io"]


def test_unknown_service_state_counts_as_drift(root):
    assert run(root, Host(systemctl=""))[1]["service"] is True
    assert run(root, Host(programs=("gpg",)))[1]["service"] is True            # no systemctl
    state, drift, _ = run(root, systemd_booted_path=str(root / "absent"))
    assert state["systemd_booted"] is False and drift["service"] is True


def test_parsers_ignore_noise():
    assert ds.parse_dpkg("garbage\n\ndocker-ce\thold\tinstalled\t1\n") == {
        "docker-ce": {"want": "hold", "status": "installed", "version": "1"}}
    assert ds.parse_systemctl_show("ActiveState=active\nnoise\n") == {"ActiveState": "active"}


def test_apt_names_keep_an_engine_inside_its_pinned_minor():
    installed = {"docker-ce": {"version": ENGINE}, "docker-ce-cli": {"version": "5:28.4.0-1~debian.12~bookworm"}}
    assert ds.apt_names(PKGS, {"docker-ce": "5:28.5.*", "docker-ce-cli": "5:28.5.*"}, installed) == [
        "docker-ce=" + ENGINE, "docker-ce-cli=5:28.5.*", "containerd.io"]
    assert ds.apt_names(["docker-ce"], {"docker-ce": ENGINE}, {}) == ["docker-ce=" + ENGINE]
