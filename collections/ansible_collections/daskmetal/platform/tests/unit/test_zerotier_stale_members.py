"""Stale members holding a planned address (review zerotier m21): list_members and zerotier_member_info against
the HTTP double of both back ends.

Neither back end refuses two members with one static address (ZeroTierOne 1.14.1
controller/EmbeddedNetworkController.cpp:1187-1201 stores ipAssignments as given; DB.cpp allocatedIps only steers
auto-assignment): a re-imaged host joins with a new node id while its old record, still authorized, keeps the
address. The double does the same, so the stale record below is a real one on its side.
"""
import pytest

from zt_helpers import ZeroTierDouble, run_module

from ansible_collections.daskmetal.platform.plugins.module_utils.zerotier_api import ZeroTierClient, stale_holders
from ansible_collections.daskmetal.platform.plugins.modules import zerotier_member, zerotier_member_info

TOKEN = "zt-test-7f3c9a"  # not "tok": Ansible masks a no_log value wherever it appears, also in "authtoken"
OLD, NEW, OTHER = "0a0a0a0a01", "0b0b0b0b02", "0c0c0c0c03"


@pytest.fixture(params=["central", "controller"])
def double(request):
    d = ZeroTierDouble(request.param, token=TOKEN).start()
    d.nwid = d.controller_id + "000001"
    d.add_network(d.nwid, name="daskmetal", routes=[{"target": "10.147.17.0/24", "via": None}])
    yield d
    d.stop()


def info(args):
    """zerotier_member_info in process. Its warnings: in `messages` (what Ansible prints of them is checked by
    tests/zerotier/test_stale_member_warning.py; in process ansible-core 2.19 keeps them in a process-wide table
    that other tests of this session also touch)."""
    return run_module(zerotier_member_info.main, args)


def common(d):
    return {"backend": d.mode, "api_url": d.url, "api_token": TOKEN}


def reimaged(d):
    """node1 ran with OLD and got 10.147.17.10 through the member module; then it was re-imaged (NEW)."""
    r = run_module(zerotier_member.main, dict(common(d), network_id=d.nwid, node_id=OLD, name="node1", authorized=True,
                                              ip_assignments=["10.147.17.10"], no_auto_assign_ips=True))
    assert r["changed"] and not r.get("failed"), r
    run_module(zerotier_member.main, dict(common(d), network_id=d.nwid, node_id=OTHER, name="node2", authorized=True,
                                          ip_assignments=["10.147.17.11"], no_auto_assign_ips=True))


def test_list_members_is_one_request_with_full_members(double):
    reimaged(double)
    c = ZeroTierClient(double.mode, TOKEN, base_url=double.url)
    before = len(double.log)
    members = c.list_members(double.nwid)
    assert len(double.log) - before == 1
    path = double.log[-1][1]
    assert path == ("/api/v1/network/%s/member" % double.nwid if double.mode == "central"
                    else "/unstable/controller/network/%s/member" % double.nwid)
    assert [(m["id"], m["authorized"], m["ipAssignments"], m["name"]) for m in members] == [
        (OLD, True, ["10.147.17.10"], "node1"), (OTHER, True, ["10.147.17.11"], "node2")]


def test_list_members_of_a_missing_network_is_none(double):
    c = ZeroTierClient(double.mode, TOKEN, base_url=double.url)
    assert c.list_members(double.controller_id + "00000f") is None


def test_controller_older_than_1_14_falls_back_to_the_id_list():
    d = ZeroTierDouble("controller", token=TOKEN).start()
    try:
        d.nwid = d.controller_id + "000001"
        d.add_network(d.nwid, name="n")
        d.add_member(d.nwid, OLD, authorized=True, ipAssignments=["10.147.17.10"])
        d.inject(status=404, count=1, path="/unstable/")  # a controller before 1.14.0 has no such route
        members = ZeroTierClient("controller", TOKEN, base_url=d.url).list_members(d.nwid)
        assert [m["id"] for m in members] == [OLD] and members[0]["ipAssignments"] == ["10.147.17.10"]
    finally:
        d.stop()


def test_stale_holders_rules():
    members = [
        {"id": OLD, "name": "node1", "authorized": True, "ipAssignments": ["10.147.17.10"]},
        {"id": OTHER, "name": "node2", "authorized": True, "ipAssignments": ["10.147.17.11"]},
        {"id": "0d0d0d0d04", "name": "gone", "authorized": False, "ipAssignments": ["10.147.17.11"]},
    ]
    planned = [{"host": "node1", "node_id": NEW, "address": "10.147.17.10"},
               {"host": "node2", "node_id": OTHER, "address": "10.147.17.11"}]
    assert stale_holders(members, planned) == [
        {"host": "node1", "address": "10.147.17.10", "node_id": NEW, "member_id": OLD, "member_name": "node1"}]
    # the old id planned in this run (not re-imaged): it gets its address back, no warning
    assert stale_holders(members, [{"host": "node1", "node_id": OLD, "address": "10.147.17.10"}]) == []
    # a member of this run that holds another host's address now gets its own: not stale
    moved = [{"host": "node1", "node_id": OTHER, "address": "10.147.17.10"}, {"host": "node3", "node_id": OLD,
                                                                             "address": "10.147.17.12"}]
    assert stale_holders(members, moved) == []


def test_member_info_warns_naming_the_stale_member_the_address_and_the_fix(double):
    reimaged(double)
    planned = [{"host": "node1", "node_id": NEW, "address": "10.147.17.10"},
               {"host": "node2", "node_id": OTHER, "address": "10.147.17.11"}]
    before = len(double.log)
    r = info(dict(common(double), network_id=double.nwid, planned=planned))
    assert not r.get("failed") and r["changed"] is False, r
    assert len(double.log) - before == 1 and double.writes()[-1][1].endswith("/member/" + OTHER)  # read only
    (warning,) = r["messages"]
    assert r["stale"] == [{"host": "node1", "address": "10.147.17.10", "node_id": NEW, "member_id": OLD,
                           "member_name": "node1", "message": warning}]
    assert r["messages"] == [warning]
    for part in (OLD, "10.147.17.10", "node1", NEW, double.nwid, "re-imaged"):
        assert part in warning, (part, warning)
    fix = "my.zerotier.com" if double.mode == "central" else "/controller/network/%s/member/%s" % (double.nwid, OLD)
    assert fix in warning


def test_member_info_fix_hint_and_no_warning_once_the_stale_member_is_gone(double):
    reimaged(double)
    planned = [{"host": "node1", "node_id": NEW, "address": "10.147.17.10"}]
    r = info(dict(common(double), network_id=double.nwid, planned=planned,
                                                   fix_hint="run X node_id={member_id}"))
    assert r["messages"] and r["messages"][0].endswith("run X node_id=%s." % OLD), r["messages"]
    run_module(zerotier_member.main, dict(common(double), network_id=double.nwid, node_id=OLD, state="absent"))
    r = info(dict(common(double), network_id=double.nwid, planned=planned))
    assert r["stale"] == [] and r["messages"] == [] and [m["id"] for m in r["members"]] == [OTHER]


def test_member_info_fails_on_a_missing_network_and_a_bad_node_id(double):
    r = info(dict(common(double), network_id=double.controller_id + "00000f"))
    assert r["failed"] and "does not exist" in r["msg"]
    r = info(dict(common(double), network_id=double.nwid,
                                                   planned=[{"host": "h", "node_id": "xyz", "address": "10.0.0.1"}]))
    assert r["failed"] and "node id" in r["msg"]
