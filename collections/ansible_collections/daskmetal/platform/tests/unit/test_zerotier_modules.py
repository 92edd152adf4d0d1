"""zerotier_network / zerotier_member / zerotier_facts: module main() in process against the HTTP double."""
import json
import os
import stat

import pytest

from zt_helpers import ZeroTierDouble, run_module

from ansible_collections.daskmetal.platform.plugins.modules import zerotier_facts, zerotier_member, zerotier_network

NODE = "abcdef0123"
PLAN_NET = {
    "name": "daskmetal", "private": True, "mtu": 2800, "multicast_limit": 32, "enable_broadcast": True,
    "routes": [{"target": "10.147.17.0/24", "via": None}],
    "ip_assignment_pools": [{"ipRangeStart": "10.147.17.100", "ipRangeEnd": "10.147.17.149"}],
    "v4_assign_mode": {"zt": True},
}


@pytest.fixture(params=["central", "controller"])
def double(request):
    d = ZeroTierDouble(request.param, token="tok").start()
    d.nwid = d.controller_id + "000001"
    d.add_network(d.nwid, name="old")
    yield d
    d.stop()


def common(d):
    return {"backend": d.mode, "api_url": d.url, "api_token": "tok"}


def net_args(d, **kw):
    a = dict(common(d), network_id=d.nwid, **PLAN_NET)
    a.update(kw)
    return a


def member_args(d, **kw):
    a = dict(common(d), network_id=d.nwid, node_id=NODE, authorized=True, name="h1", ip_assignments=["10.147.17.10"],
             active_bridge=True, no_auto_assign_ips=True)
    a.update(kw)
    return a


def test_network_check_mode_changes_nothing_then_apply_then_no_change(double):
    r = run_module(zerotier_network.main, net_args(double), check_mode=True, diff=True)
    assert r["changed"] is True and not r.get("failed")
    assert set(r["changes"]) == {"name", "routes", "ipAssignmentPools", "v4AssignMode"}
    assert r["diff"]["before"]["name"] == "old" and r["diff"]["after"]["name"] == "daskmetal"
    assert double.writes() == []
    r = run_module(zerotier_network.main, net_args(double))
    assert r["changed"] is True and r["network"]["name"] == "daskmetal" and len(double.writes()) == 1
    r = run_module(zerotier_network.main, net_args(double))
    assert r["changed"] is False and r["changes"] == {} and len(double.writes()) == 1
    r = run_module(zerotier_network.main, net_args(double), check_mode=True)
    assert r["changed"] is False


def test_network_only_given_fields_are_managed(double):
    run_module(zerotier_network.main, net_args(double))
    r = run_module(zerotier_network.main, dict(common(double), network_id=double.nwid, mtu=1400))
    assert r["changed"] is True and set(r["changes"]) == {"mtu"}
    body = json.loads(double.writes()[-1][3])
    assert (body["config"] if double.mode == "central" else body) == {"mtu": 1400}


def test_network_route_order_and_pool_order_do_not_matter(double):
    two = [{"target": "10.147.17.0/24", "via": None}, {"target": "192.168.0.0/16", "via": "10.147.17.1"}]
    run_module(zerotier_network.main, net_args(double, routes=two))
    r = run_module(zerotier_network.main, net_args(double, routes=list(reversed(two))))
    assert r["changed"] is False


def test_network_not_found_on_central_and_missing_id():
    d = ZeroTierDouble("central", token="tok").start()
    try:
        r = run_module(zerotier_network.main, {"backend": "central", "api_url": d.url, "api_token": "tok", "network_id": "0123456789abcdef", "name": "x"})
        assert r["failed"] and "not found" in r["msg"] and "network_id" in r["msg"]
        r = run_module(zerotier_network.main, {"backend": "central", "api_url": d.url, "api_token": "tok", "name": "x"})
        assert r["failed"] and "network_id is required" in r["msg"]
    finally:
        d.stop()


def test_controller_creates_network_by_name_once():
    d = ZeroTierDouble("controller", token="tok").start()
    try:
        args = {"backend": "controller", "api_url": d.url, "api_token": "tok", "network_id": "", "name": "lab", "routes": [{"target": "10.1.0.0/24"}]}
        r = run_module(zerotier_network.main, args, check_mode=True)
        assert r["changed"] and r["created"] and d.writes() == []
        r = run_module(zerotier_network.main, args)
        assert r["changed"] and r["created"] and r["network_id"].startswith(d.controller_id)
        again = run_module(zerotier_network.main, args)
        assert again["changed"] is False and again["network_id"] == r["network_id"] and len(d.store.networks) == 1
    finally:
        d.stop()


def test_token_file_for_controller(tmp_path):
    d = ZeroTierDouble("controller", token="from-file").start()
    try:
        f = tmp_path / "authtoken.secret"
        f.write_text("from-file\n")
        os.chmod(f, stat.S_IRUSR | stat.S_IWUSR)
        r = run_module(zerotier_network.main, {"backend": "controller", "api_url": d.url, "api_token_file": str(f), "name": "lab"})
        assert r["changed"] and not r.get("failed")
    finally:
        d.stop()


def test_bad_mtu_and_multicast_limit_rejected_before_requests(double):
    r = run_module(zerotier_network.main, net_args(double, mtu=100))
    assert r["failed"] and "mtu" in r["msg"]
    r = run_module(zerotier_network.main, net_args(double, multicast_limit=0))
    assert r["failed"] and "ARP" in r["msg"]
    assert double.log == []


def test_member_check_mode_then_apply_then_idempotent(double):
    r = run_module(zerotier_member.main, member_args(double), check_mode=True, diff=True)
    assert r["changed"] and r["existed"] is False and double.writes() == []
    assert r["diff"]["after"]["ipAssignments"] == ["10.147.17.10"]
    r = run_module(zerotier_member.main, member_args(double))
    assert r["changed"] and r["member"]["authorized"] is True and r["member"]["activeBridge"] is True
    r = run_module(zerotier_member.main, member_args(double))
    assert r["changed"] is False and r["existed"] is True
    # de-authorized behind our back: the next run authorizes again
    double.store.update_member(double.nwid, NODE, {"authorized": False})
    r = run_module(zerotier_member.main, member_args(double))
    assert r["changed"] and r["changes"] == {"authorized": [False, True]}


def test_member_absent(double):
    run_module(zerotier_member.main, member_args(double))
    r = run_module(zerotier_member.main, member_args(double, state="absent"), check_mode=True)
    assert r["changed"] and (double.nwid, NODE) in double.store.members
    r = run_module(zerotier_member.main, member_args(double, state="absent"))
    assert r["changed"] and (double.nwid, NODE) not in double.store.members
    assert run_module(zerotier_member.main, member_args(double, state="absent"))["changed"] is False


def test_member_wait_times_out_with_a_hint(double):
    r = run_module(zerotier_member.main, member_args(double, wait_timeout=1))
    assert r["failed"] and "did not appear" in r["msg"] and "zerotier-cli join" in r["msg"]


def test_member_wait_succeeds_once_node_contacted_controller(double):
    double.store.netconf(double.nwid, NODE)  # the node asked for its config: member exists, unauthorized
    r = run_module(zerotier_member.main, member_args(double, wait_timeout=5))
    assert r["changed"] and r["existed"] and r["member"]["authorized"]


def test_member_retries_through_429_and_500(double):
    double.inject(status=429, count=1, retry_after=0)
    double.inject(status=503, count=1)
    r = run_module(zerotier_member.main, member_args(double, retries=3))
    assert r["changed"] and not r.get("failed")


def test_member_401_fails_cleanly_and_hides_token(double):
    r = run_module(zerotier_member.main, member_args(double, api_token="bad-secret-xyz"))
    assert r["failed"] and r["status"] == 401 and "bad-secret-xyz" not in json.dumps(r)


def test_member_bad_node_id(double):
    r = run_module(zerotier_member.main, member_args(double, node_id="xyz"))
    assert r["failed"] and "10 lower-case" in r["msg"] and double.log == []


def test_facts_parses_cli_json(tmp_path):
    cli = tmp_path / "zerotier-cli"
    nets = [{"id": "8bd5124fd6000001", "nwid": "8bd5124fd6000001", "status": "OK", "portDeviceName": "ztabcdef12",
             "assignedAddresses": ["10.147.17.10/24", "fd00::1/88"], "bridge": True}]
    cli.write_text("#!/bin/sh\ncase \"$2\" in info) echo '%s';; listnetworks) echo '%s';; *) exit 1;; esac\n"
                   % (json.dumps({"address": NODE, "online": True, "version": "1.14.2"}), json.dumps(nets)))
    cli.chmod(0o755)
    r = run_module(zerotier_facts.main, {"cli": str(cli), "network_id": "8bd5124fd6000001"}, check_mode=True)
    assert r["node_id"] == NODE and r["network"]["portDeviceName"] == "ztabcdef12" and r["addresses"] == ["10.147.17.10"]
    r = run_module(zerotier_facts.main, {"cli": str(cli), "network_id": "0000000000000001"})
    assert r["network"] is None and r["addresses"] == [] and len(r["networks"]) == 1


def test_facts_fails_when_service_down(tmp_path):
    cli = tmp_path / "zerotier-cli"
    cli.write_text("#!/bin/sh\necho 'Error connecting to the ZeroTier service' >&2\nexit 1\n")
    cli.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    (home / "identity.public").write_text(NODE + ":0:abcd")
    r = run_module(zerotier_facts.main, {"cli": str(cli), "home": str(home)})
    assert r["failed"] and "is zerotier-one running" in r["msg"] and r["node_id"] == NODE


def test_create_path_is_verified_like_the_update_path(monkeypatch):
    # review m17: a controller that drops a setting on create must not pass silently
    d = ZeroTierDouble("controller", token="tok").start()
    try:
        create = d.store.create_network

        def lossy(body, nwid=None):
            body = dict(body)
            body.pop("multicastLimit", None)
            return create(body, nwid)

        monkeypatch.setattr(d.store, "create_network", lossy)
        args = {"backend": "controller", "api_url": d.url, "api_token": "tok", "network_id": "", "name": "lab",
                "multicast_limit": 8}
        r = run_module(zerotier_network.main, args)
        assert r["failed"] and "reports different values for multicastLimit" in r["msg"]
    finally:
        d.stop()


def test_member_deauthorize_without_create_leaves_a_gone_member_gone(double):
    # review m10: remove_node's de-authorization ran with state=present and created the deleted member again
    deauth = dict(authorized=False, ip_assignments=[], active_bridge=False, create=False)
    r = run_module(zerotier_member.main, dict(common(double), network_id=double.nwid, node_id=NODE, **deauth))
    assert r["changed"] is False and r["existed"] is False and (double.nwid, NODE) not in double.store.members
    assert double.writes() == []
    run_module(zerotier_member.main, member_args(double))
    r = run_module(zerotier_member.main, dict(common(double), network_id=double.nwid, node_id=NODE, **deauth))
    assert r["changed"] and double.store.members[(double.nwid, NODE)]["authorized"] is False


def test_controller_refuses_a_network_id_it_does_not_own():
    # review m3: the controller would store it but never serve it to members
    d = ZeroTierDouble("controller", token="tok").start()
    try:
        args = {"backend": "controller", "api_url": d.url, "api_token": "tok", "network_id": "0123456789000001", "name": "lab"}
        r = run_module(zerotier_network.main, args)
        assert r["failed"] and "does not start with this controller's node id" in r["msg"] and d.writes() == []
        ok = run_module(zerotier_network.main, dict(args, network_id=d.controller_id + "000001"))
        assert ok["changed"] and ok["created"]
    finally:
        d.stop()
