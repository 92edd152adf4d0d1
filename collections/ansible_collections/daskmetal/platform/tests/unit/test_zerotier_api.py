"""The API client against the HTTP double of both back ends, over real HTTP (Ansible's open_url)."""
import time

import pytest

from zt_helpers import ZeroTierDouble

from ansible_collections.daskmetal.platform.plugins.module_utils.zerotier_api import (
    ZeroTierApiError, ZeroTierClient, differences, retry_after_seconds)

NWID_SUFFIX = "000001"


@pytest.fixture(params=["central", "controller"])
def double(request):
    d = ZeroTierDouble(request.param, token="secret-token").start()
    yield d
    d.stop()


def client(d, token="secret-token", **kw):
    sleeps = []
    kw.setdefault("sleep", sleeps.append)
    c = ZeroTierClient(d.mode, token, base_url=d.url, **kw)
    c.sleeps = sleeps
    return c


def nwid(d):
    return d.controller_id + NWID_SUFFIX


def test_auth_header_per_backend(double):
    double.add_network(nwid(double), name="n")
    client(double).get_network(nwid(double))
    headers = double.log[-1][2]
    if double.mode == "central":
        assert headers["Authorization"] == "token secret-token" and "X-ZT1-Auth" not in headers
    else:
        assert headers["X-Zt1-Auth"] == "secret-token" or headers.get("X-ZT1-Auth") == "secret-token"


def test_network_roundtrip_flat_view(double):
    double.add_network(nwid(double), name="old")
    c = client(double)
    net = c.get_network(nwid(double))
    assert net["name"] == "old" and net["mtu"] == 2800 and net["private"] is True and net["v4AssignMode"] == {"zt": False}
    want = {"name": "daskmetal", "routes": [{"target": "10.147.17.0/24", "via": None}], "mtu": 2800, "multicastLimit": 32,
            "ipAssignmentPools": [{"ipRangeStart": "10.147.17.100", "ipRangeEnd": "10.147.17.149"}], "v4AssignMode": {"zt": True}}
    assert set(differences(net, want)) == {"name", "routes", "ipAssignmentPools", "v4AssignMode"}
    after = c.update_network(nwid(double), want)
    assert differences(after, want) == {}
    body = double.log[-1][3]
    if double.mode == "central":
        assert b'"config"' in body
    else:
        assert b'"config"' not in body


def test_member_create_update_delete(double):
    double.add_network(nwid(double), name="n", routes=[{"target": "10.147.17.0/24", "via": None}])
    c = client(double)
    assert c.get_member(nwid(double), "abcdef0123") is None
    m = c.update_member(nwid(double), "abcdef0123", {"authorized": True, "ipAssignments": ["10.147.17.10"], "activeBridge": True,
                                                      "noAutoAssignIps": True, "name": "h1"})
    assert m == {"id": "abcdef0123", "networkId": nwid(double), "name": "h1", "description": "" if double.mode == "central" else None,
                 "authorized": True, "activeBridge": True, "ipAssignments": ["10.147.17.10"], "noAutoAssignIps": True}
    c.delete_member(nwid(double), "abcdef0123")
    assert c.get_member(nwid(double), "abcdef0123") is None


def test_controller_creates_network_with_its_prefix():
    d = ZeroTierDouble("controller", token="t").start()
    try:
        c = ZeroTierClient("controller", "t", base_url=d.url)
        net = c.create_network({"name": "made"})
        assert net["id"].startswith(d.controller_id) and len(net["id"]) == 16 and net["name"] == "made"
        assert d.log[-1][1] == "/controller/network/%s______" % d.controller_id
    finally:
        d.stop()


def test_429_is_retried_honouring_retry_after(double):
    double.add_network(nwid(double), name="n")
    double.inject(status=429, count=2, retry_after=7)
    c = client(double)
    assert c.get_network(nwid(double))["name"] == "n"
    assert c.sleeps == [7, 7] and c.requests == 3


def test_5xx_backoff_is_exponential_then_gives_up(double):
    double.add_network(nwid(double), name="n")
    double.inject(status=500, count=10)
    c = client(double, retries=3, backoff=1.0)
    with pytest.raises(ZeroTierApiError) as info:
        c.get_network(nwid(double))
    assert c.sleeps == [1.0, 2.0, 4.0] and info.value.status == 500 and "after 4 attempt(s)" in str(info.value)


def test_timeout_is_retried(double):
    double.add_network(nwid(double), name="n")
    double.inject(delay=1.5, count=1)
    c = client(double, timeout=0.5)
    assert c.get_network(nwid(double))["name"] == "n"
    assert len(c.sleeps) == 1 and c.requests == 2


def test_timeout_of_a_create_is_not_repeated():
    d = ZeroTierDouble("controller", token="t").start()
    try:
        d.inject(delay=1.5, count=1, path="/controller/network/")
        c = ZeroTierClient("controller", "t", base_url=d.url, timeout=0.5, sleep=lambda s: None)
        with pytest.raises(ZeroTierApiError, match="no answer"):
            c.create_network({"name": "x"})
        assert [e[0] for e in d.log] == ["GET", "POST"]  # GET /status for the controller id, one POST only
    finally:
        d.stop()


def test_401_explains_and_never_leaks_the_token(double):
    double.add_network(nwid(double), name="n")
    c = client(double, token="wrong-token-value")
    with pytest.raises(ZeroTierApiError) as info:
        c.get_network(nwid(double))
    assert info.value.status == 401 and c.requests == 1
    assert ("vault_zerotier_api_token" if double.mode == "central" else "authtoken.secret") in str(info.value)
    assert "wrong-token-value" not in str(info.value)


def test_injected_403_and_404(double):
    double.add_network(nwid(double), name="n")
    double.inject(status=403)
    with pytest.raises(ZeroTierApiError, match="403"):
        client(double).get_member(nwid(double), "abcdef0123")
    with pytest.raises(ZeroTierApiError, match="404.*network_id"):
        client(double).update_member("0000000000" + NWID_SUFFIX, "abcdef0123", {"authorized": True})


def test_double_rejects_wrong_json_types(double):
    double.add_network(nwid(double), name="n")
    c = client(double)
    with pytest.raises(ZeroTierApiError, match="400"):
        c.update_network(nwid(double), {"mtu": "2800"})
    with pytest.raises(ZeroTierApiError, match="400"):
        c.update_member(nwid(double), "abcdef0123", {"authorized": "true"})


def test_wait_for_member_polls_until_the_node_asks_for_config(double):
    double.add_network(nwid(double), name="n")
    c = ZeroTierClient(double.mode, "secret-token", base_url=double.url, sleep=lambda s: double.store.netconf(nwid(double), "abcdef0123"))
    member = c.wait_for_member(nwid(double), "abcdef0123", timeout=5, interval=0.01)
    assert member["id"] == "abcdef0123" and member["authorized"] is False
    fake = iter([0, 1, 2, 3])
    c2 = ZeroTierClient(double.mode, "secret-token", base_url=double.url, sleep=lambda s: None)
    assert c2.wait_for_member(nwid(double), "0000000bad", timeout=2, clock=lambda: next(fake)) is None


def test_retry_after_http_date():
    now = time.time()
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 30))
    assert 28 <= retry_after_seconds(stamp, now=now) <= 30
    assert retry_after_seconds("12") == 12 and retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_bad_ids_rejected_before_any_request(double):
    c = client(double)
    with pytest.raises(ZeroTierApiError, match="16 lower-case"):
        c.get_network("XYZ")
    with pytest.raises(ZeroTierApiError, match="10 lower-case"):
        c.get_member(nwid(double), "123")
    assert c.requests == 0


def test_legacy_string_v4_assign_mode_is_compared_like_upstream():
    # review m14: EmbeddedNetworkController.cpp:636-645 (1.14.1) still takes the string form on POST
    from ansible_collections.daskmetal.platform.plugins.module_utils.zerotier_api import canonical
    assert canonical("v4AssignMode", "zt") == {"zt": True}
    assert canonical("v4AssignMode", "none") == {"zt": False}
    assert canonical("v4AssignMode", ["zt"]) == {"zt": False}
    assert differences({"v4AssignMode": "zt"}, {"v4AssignMode": {"zt": True}}) == {}


class _ScriptedTransport(object):
    """Raises the given TransportErrors in turn, then answers 200."""

    def __init__(self, errors):
        self.errors, self.calls = list(errors), []

    def request(self, method, url, headers, body, timeout):
        self.calls.append(method)
        if self.errors:
            raise self.errors.pop(0)
        return 200, {}, b'{"id": "0123456789abcdef"}'


def test_a_post_that_may_have_been_sent_is_not_repeated():
    # review m16: a reset after sending may have created the network; a second POST could create another
    from ansible_collections.daskmetal.platform.plugins.module_utils.zerotier_api import TransportError
    t = _ScriptedTransport([TransportError("connection reset by peer")])
    client = ZeroTierClient("controller", "tok", transport=t, sleep=lambda s: None)
    with pytest.raises(ZeroTierApiError, match="no answer"):
        client.call("POST", "/controller/network/0123456789______", {}, idempotent=False)
    assert t.calls == ["POST"]
    # refused: the request never left, so it is repeated; an idempotent GET is repeated after a reset too
    t = _ScriptedTransport([TransportError("connection refused", sent=False)])
    ZeroTierClient("controller", "tok", transport=t, sleep=lambda s: None).call("POST", "/x", {}, idempotent=False)
    assert t.calls == ["POST", "POST"]
    t = _ScriptedTransport([TransportError("connection reset by peer")])
    ZeroTierClient("controller", "tok", transport=t, sleep=lambda s: None).call("GET", "/x")
    assert t.calls == ["GET", "GET"]


def test_refused_connections_are_marked_not_sent():
    from ansible_collections.daskmetal.platform.plugins.module_utils.zerotier_api import AnsibleTransport, TransportError
    with pytest.raises(TransportError) as exc:
        AnsibleTransport().request("GET", "http://127.0.0.1:9/", {}, None, 2)  # discard port: nothing listens
    assert exc.value.sent is False and exc.value.timeout is False


def test_controller_url_follows_zerotier_one_port(tmp_path):
    # review m15: settings.primaryPort moves the service; zerotier-one writes the port it uses here
    from ansible_collections.daskmetal.platform.plugins.module_utils.zerotier_api import controller_url
    assert controller_url(str(tmp_path)) == "http://127.0.0.1:9993"  # no file: the default port
    (tmp_path / "zerotier-one.port").write_text("29993")
    assert controller_url(str(tmp_path)) == "http://127.0.0.1:29993"
    (tmp_path / "zerotier-one.port").write_text("junk")
    assert controller_url(str(tmp_path)) == "http://127.0.0.1:9993"
