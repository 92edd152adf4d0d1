"""module_utils/host_state.py against a temporary tree laid out like / (procfs, sysfs and /etc files)."""
import os

from ansible_collections.daskmetal.platform.plugins.module_utils import host_state as hs


def write(root, path, text, mode=0o644):
    full = root / path.lstrip("/")
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text(text)
    os.chmod(full, mode)


def test_sysctl_reads_procfs_like_sysctl_e(tmp_path):
    write(tmp_path, "/proc/sys/net/ipv4/ip_forward", "1\n")
    write(tmp_path, "/proc/sys/net/ipv4/ip_local_port_range", "32768\t60999\n")
    assert hs.read_sysctl(["net.ipv4.ip_forward", "net.ipv4.ip_local_port_range", "net.bridge.absent"], str(tmp_path)) == [
        "net.ipv4.ip_forward=1", "net.ipv4.ip_local_port_range=32768 60999"]


def test_modules_and_numa(tmp_path):
    assert hs.read_proc_modules(str(tmp_path)) is None
    write(tmp_path, "/proc/modules", "overlay 151552 0 - Live 0x0\nbr_netfilter 32768 0 - Live 0x0\n")
    assert hs.read_proc_modules(str(tmp_path)) == ["overlay", "br_netfilter"]
    for n, cpus, kb in ((1, "2-3", 2048), (0, "0-1", 4096)):
        write(tmp_path, "/sys/devices/system/node/node%d/cpulist" % n, cpus + "\n")
        write(tmp_path, "/sys/devices/system/node/node%d/meminfo" % n,
              "Node %d MemTotal:       %d kB\nNode %d MemFree: 1 kB\n" % (n, kb, n))
    (tmp_path / "sys/devices/system/node/possible").write_text("0-1\n")
    assert hs.read_numa(str(tmp_path)) == [{"node": 0, "cpus": "0-1", "memory_kb": 4096},
                                           {"node": 1, "cpus": "2-3", "memory_kb": 2048}]


def test_files_drift_on_content_mode_and_presence(tmp_path):
    write(tmp_path, "/etc/timezone", "Europe/Berlin\n")
    want = {"path": "/etc/timezone", "state": "present", "content": "Europe/Berlin\n", "mode": "0644"}
    params = {"files": {"tz": want, "gone": {"path": "/etc/absent", "state": "absent"}}, "paths": ["/etc/localtime"]}
    state = hs.observe(params, str(tmp_path))
    assert state["drift"] == {"tz": False, "gone": False}
    assert state["paths"]["/etc/localtime"] == {"exists": False, "isdir": False, "mode": None, "link": None}
    os.chmod(tmp_path / "etc/timezone", 0o600)
    assert hs.observe(params, str(tmp_path))["drift"]["tz"] is True
    os.chmod(tmp_path / "etc/timezone", 0o644)
    write(tmp_path, "/etc/timezone", "UTC\n")
    assert hs.observe(params, str(tmp_path))["drift"]["tz"] is True
    write(tmp_path, "/etc/absent", "x")
    assert hs.observe(params, str(tmp_path))["drift"]["gone"] is True


def test_symlink_target_is_reported(tmp_path):
    write(tmp_path, "/usr/share/zoneinfo/Europe/Berlin", "TZif")
    os.symlink("/usr/share/zoneinfo/Europe/Berlin", tmp_path / "localtime")
    assert hs.observe({"paths": ["/localtime"]}, str(tmp_path))["paths"]["/localtime"]["link"] == "/usr/share/zoneinfo/Europe/Berlin"


def test_missing_packages_in_one_dpkg_call():
    calls = []

    def run(argv):
        calls.append(argv)
        return 1, "chrony\tinstall\tinstalled\t4.3\nnftables\tinstall\tconfig-files\t1.0\n", "dpkg-query: no packages found matching jq\n"

    assert hs.missing_packages(["chrony", "nftables", "jq"], run) == ["nftables", "jq"]
    assert len(calls) == 1 and calls[0][:3] == ["dpkg-query", "-W", "-f"]


def test_units_from_one_systemctl_show():
    calls = []
    # systemctl show -p Id,LoadState,ActiveState,UnitFileState chrony.service nftables.service nope.service:
    # one KEY=VALUE block per unit, in the order asked, separated by an empty line (systemctl(1), "show").
    out = ("Id=chrony.service\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n\n"
           "Id=nftables.service\nLoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\n\n"
           "Id=nope.service\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\n")

    def run(argv):
        calls.append(argv)
        return 0, out, ""

    params = {"units": {"chrony": {"unit": "chrony.service", "enabled": True, "state": "started"},
                        "nft_boot": {"unit": "nftables.service", "enabled": True},
                        "nft_running": {"unit": "nftables.service", "state": "started"},
                        "gone": {"unit": "nope.service", "state": "started"}}}
    state = hs.observe(params, run_command=run)
    assert len(calls) == 1 and calls[0][:3] == ["systemctl", "show", "-p"]
    assert state["drift"] == {"chrony": False, "nft_boot": True, "nft_running": True, "gone": True}
    assert state["units"]["chrony"]["UnitFileState"] == "enabled"
    # the systemd module counts enabled-runtime, indirect and alias as not enabled; activating as running
    for unit_file, active, drift in (("enabled-runtime", "active", True), ("static", "activating", False),
                                     ("indirect", "active", True), ("enabled", "failed", True)):
        props = {"LoadState": "loaded", "ActiveState": active, "UnitFileState": unit_file}
        assert hs.unit_drift(props, {"enabled": True, "state": "started"}) is drift, unit_file


def test_nft_tables_are_listed_per_table():
    def run(argv):
        return (0, "table inet daskmetal {\n}\n", "") if argv[-1] == "daskmetal" else (1, "", "No such file")

    state = hs.observe({"nft_tables": ["inet daskmetal", "inet other"]}, run_command=run)
    assert state["nft"] == {"inet daskmetal": {"rc": 0, "stdout": "table inet daskmetal {\n}\n"},
                            "inet other": {"rc": 1, "stdout": ""}}


def test_files_drift_on_owner_and_optional_mode(tmp_path):
    write(tmp_path, "/etc/nftables.conf", "flush\n", 0o755)
    import pwd
    me = pwd.getpwuid(os.getuid())[0]
    want = {"path": "/etc/nftables.conf", "state": "present", "content": "flush\n"}
    assert hs.observe({"files": {"boot": want}}, str(tmp_path))["drift"]["boot"] is False
    assert hs.observe({"files": {"boot": dict(want, owner=me)}}, str(tmp_path))["drift"]["boot"] is False
    assert hs.observe({"files": {"boot": dict(want, owner="nobody-here")}}, str(tmp_path))["drift"]["boot"] is True
    assert hs.observe({"files": {"boot": dict(want, mode="0644")}}, str(tmp_path))["drift"]["boot"] is True
