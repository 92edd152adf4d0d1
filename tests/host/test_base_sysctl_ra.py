"""IPv6 forwarding set through the base role keeps Router Advertisements working (review host-security M10).

Linux 6.1 Documentation/networking/ip-sysctl.rst (the bookworm kernel's; the text is the same in later trees):
conf/all/forwarding "also sets all interfaces' Host/Router setting 'forwarding'"; with forwarding TRUE
"Router Advertisements are ignored unless accept_ra is 2" (accept_ra 2: "Overrule forwarding behaviour");
conf/default/* is "used during creating new interfaces" (all.accept_ra is not passed on: checked below).
Enabling forwarding also drops the RA-learned default routes of interfaces whose accept_ra is not 2, so the
role writes accept_ra before forwarding (its file and its live `sysctl -w` argv).

The consumers are real: the role's template and vars, rendered by ansible-playbook in a lab container
(daskmetal-lab/debian:bookworm, facts gathered there: the default route's interface is eth0), then
- boot: systemd-sysctl (bookworm's systemd 252, as systemd-sysctl.service and the udev rule
  99-systemd.rules run it) loads /etc/sysctl.d/90-daskmetal.conf, limited to --prefix=/net/ipv4 and /net/ipv6
  (the other keys are not per network namespace and would change the CI machine's kernel);
- live: `sysctl -w` with the keys in the order the role's "Apply the kernel parameters that differ" task passes
  them (__base_sysctl_all's order);
each inside a network namespace whose eth0 is a veth to a second namespace that sends RAs (files/send_ra.py).
The host first learns its default route from an RA with forwarding off (a SLAAC host), then the settings are
loaded: the route must survive the load, forwarding must be on, and a fresh RA must be honoured."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
IMAGE = "daskmetal-lab/debian:bookworm"
FORWARDING = {"base_sysctl_extra": {"net.ipv6.conf.all.forwarding": 1}}


def _docker_ok() -> bool:
    return bool(shutil.which("docker")) and subprocess.run(
        ["docker", "image", "inspect", IMAGE], capture_output=True).returncode == 0


pytestmark = [pytest.mark.lab,
              pytest.mark.skipif(not _docker_ok(), reason=f"needs a Docker daemon with the lab image {IMAGE}")]

RENDER = """
- hosts: all
  gather_facts: true
  gather_subset: ["!all", "network"]
  vars_files:
    - {root}/roles/base/defaults/main.yml
    - {root}/roles/base/vars/main.yml
  tasks:
    - ansible.builtin.template:
        src: {root}/roles/base/templates/sysctl.conf.j2
        dest: /etc/sysctl.d/90-daskmetal.conf
        mode: "0644"
    - ansible.builtin.copy:
        content: "{{{{ __base_sysctl_all | dict2items | map(attribute='key') | zip(__base_sysctl_all.values() | map('string')) | map('join', '=') | select('match', '^net[.]ipv[46][.]') | list | to_json }}}}"
        dest: /root/live-argv.json
        mode: "0600"
"""

# Two namespaces joined by a veth: "host" (its end renamed eth0, the uplink) and "router" (sends RAs).
NETNS = r"""
trap 'ip netns del host; ip netns del router' EXIT
ip netns add host; ip netns add router
ip link add h0 type veth peer name r0
ip link set h0 netns host; ip link set r0 netns router
ip netns exec host ip link set h0 name eth0
ip netns exec router sysctl -qw net.ipv6.conf.r0.accept_dad=0
ip netns exec host sysctl -qw net.ipv6.conf.eth0.accept_dad=0
ip netns exec router ip link set r0 up; ip netns exec host ip link set eth0 up; ip netns exec host ip link set lo up
sleep 0.3
ip netns exec router python3 /root/send_ra.py r0
ip netns exec host ip -6 route show default proto ra | grep -q . || { echo "precondition: no RA route"; exit 3; }
"""

CHECK = r"""
echo "after-load: $(ip netns exec host ip -6 route show default proto ra)"
echo "forwarding=$(ip netns exec host sysctl -n net.ipv6.conf.eth0.forwarding)"
echo "accept_ra=$(ip netns exec host sysctl -n net.ipv6.conf.eth0.accept_ra)"
ip netns exec host ip -6 route flush proto ra
ip netns exec router python3 /root/send_ra.py r0
echo "after-ra: $(ip netns exec host ip -6 route show default proto ra)"
"""


def _exec(container: str, script: str) -> subprocess.CompletedProcess:
    # /proc/sys is mounted read-only in a container: a private mount namespace unmounts that overlay (the
    # net.* files then belong to whichever network namespace reads them).
    return subprocess.run(["docker", "exec", container, "unshare", "--mount", "--propagation", "private",
                           "sh", "-ec", "umount /proc/sys\n" + script], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def host():
    name = f"daskmetal-ra-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "run", "-d", "--name", name, "--cap-add", "NET_ADMIN", "--cap-add", "SYS_ADMIN",
                    "--security-opt", "apparmor=unconfined", "--security-opt", "seccomp=unconfined",
                    IMAGE, "sleep", "infinity"], check=True, capture_output=True)
    try:
        subprocess.run(["docker", "cp", str(ROOT / "tests/host/files/send_ra.py"), f"{name}:/root/send_ra.py"],
                       check=True, capture_output=True)
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def render(container: str, tmp_path: Path, variables: dict) -> tuple[str, list[str]]:
    playbook = tmp_path / "render.yml"
    playbook.write_text(RENDER.format(root=ROOT))
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {container: {
        "ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"}}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CACHE_PLUGIN="ansible.builtin.memory", ANSIBLE_STDOUT_CALLBACK="default")
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook),
                           "-e", json.dumps(variables)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    conf = subprocess.run(["docker", "exec", container, "cat", "/etc/sysctl.d/90-daskmetal.conf"],
                          check=True, capture_output=True, text=True).stdout
    argv = json.loads(subprocess.run(["docker", "exec", container, "cat", "/root/live-argv.json"],
                                     check=True, capture_output=True, text=True).stdout)
    return conf, argv


def outcome(stdout: str) -> dict[str, str]:
    return dict(line.split(": ", 1) if ": " in line else line.split("=", 1)
                for line in stdout.splitlines() if line.startswith(("after-", "forwarding=", "accept_ra=")))


def load_and_check(container: str, load: str) -> dict[str, str]:
    proc = _exec(container, NETNS + load + CHECK)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return outcome(proc.stdout)


@pytest.fixture(scope="module")
def rendered(host, tmp_path_factory):
    return render(host, tmp_path_factory.mktemp("ra"), FORWARDING)


def test_boot_path_keeps_router_advertisements(host, rendered):
    conf, _ = rendered
    assert "net.ipv6.conf.all.forwarding = 1" in conf.splitlines(), conf
    got = load_and_check(host, "ip netns exec host /lib/systemd/systemd-sysctl --prefix=/net/ipv4 "
                               "--prefix=/net/ipv6 /etc/sysctl.d/90-daskmetal.conf\n")
    assert got["forwarding"] == "1"
    assert got["accept_ra"] == "2", conf
    assert "via fe80::" in got["after-load"], got
    assert "via fe80::" in got["after-ra"], got


def test_live_path_keeps_router_advertisements(host, rendered):
    _, argv = rendered
    assert "net.ipv6.conf.all.forwarding=1" in argv
    got = load_and_check(host, "ip netns exec host sysctl -q -w " + " ".join(argv) + "\n")
    assert got["forwarding"] == "1"
    assert "via fe80::" in got["after-load"], got   # accept_ra=2 went in before forwarding purged the RA route
    assert "via fe80::" in got["after-ra"], got


def test_all_accept_ra_alone_is_not_enough(host):
    """Why the role names the uplink: conf/all/accept_ra is not passed on to an existing interface."""
    got = load_and_check(host, "ip netns exec host sysctl -q -w net.ipv6.conf.all.accept_ra=2 "
                               "net.ipv6.conf.all.forwarding=1\n")
    assert got["forwarding"] == "1" and got["accept_ra"] == "1"
    assert got["after-ra"] == "", got

