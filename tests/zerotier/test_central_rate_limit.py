"""ZeroTier Central's free limit (20 requests/s) against the Central double with its rate limiter.

docs.zerotier.com/central/v1, "Rate Limiting": "Free users are limited to 20 requests per second." The double
(tests/doubles/zerotier_api.py, "Rate limit") answers 429 with Retry-After to any request over 20 in a sliding
second. The client side is module_utils/zerotier_api.py: a token bucket whose state is a flock'ed file shared by
every module process of the controller (one process per host and task, up to `forks` at once).

Everything runs on one fake clock: the double's limiter reads it and the client's sleeps advance it, so nothing
depends on how fast this machine is (no timing assertions). The zerotier_member module itself is run, once per
node as Ansible would (each run builds its own client through client_from_module), with the module's `time`
replaced by the fake clock.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import types
from contextlib import redirect_stdout

import pytest

from tests.doubles.zerotier_api import ZeroTierDouble

COLLECTIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "collections")
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

from ansible_collections.daskmetal.platform.plugins.module_utils import zerotier_api  # noqa: E402
from ansible_collections.daskmetal.platform.plugins.module_utils.zerotier_api import (  # noqa: E402
    ZeroTierApiError, ZeroTierClient, client_from_module)
from ansible_collections.daskmetal.platform.plugins.modules import zerotier_member  # noqa: E402

NWID = "8bd5124fd6000001"
TOKEN = "rate-limit-test-token-0123"
NODES = ["%010x" % (0xA000000000 + i) for i in range(100)]
FREE_LIMIT = 20


class FakeClock:
    def __init__(self, start=1000.0):
        self.now = start
        self.slept = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.slept += seconds
        self.now += seconds


@pytest.fixture()
def clock():
    return FakeClock()


@pytest.fixture()
def central(clock):
    double = ZeroTierDouble("central", token=TOKEN, rate_limit=FREE_LIMIT, clock=clock).start()
    double.add_network(NWID, name="daskmetal")
    for node in NODES:  # the nodes have joined: Central lists them, unauthorized
        double.add_member(NWID, node, authorized=False)
    yield double
    double.stop()


@pytest.fixture()
def fake_time(monkeypatch, clock, tmp_path):
    """zerotier_api sees the fake clock; its shared bucket lives in this test's temp dir."""
    monkeypatch.setattr(zerotier_api, "time", types.SimpleNamespace(
        monotonic=clock, sleep=clock.sleep, time=lambda: 1.7e9 + clock.now))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return clock


def run_member_module(url, node, address):
    """One zerotier_member run, as roles/zerotier/tasks/join.yml makes it for one host."""
    from ansible.module_utils.testing import patch_module_args

    args = {"backend": "central", "api_url": url, "api_token": TOKEN, "network_id": NWID, "node_id": node,
            "name": "host-%s" % node, "authorized": True, "ip_assignments": [address], "active_bridge": False,
            "no_auto_assign_ips": True, "wait_timeout": 120, "_ansible_check_mode": False}
    buf = io.StringIO()
    with patch_module_args(args), redirect_stdout(buf):
        try:
            zerotier_member.main()
        except SystemExit:
            pass
    out = buf.getvalue()
    return json.loads(out[out.index("{"):])


def test_double_answers_429_with_retry_after_above_20_per_second(central):
    """The limiter itself: 20 requests in one (fake) instant pass, the 21st is refused with Retry-After."""
    client = ZeroTierClient("central", TOKEN, base_url=central.url, retries=0)
    for _ in range(FREE_LIMIT):
        client.get_network(NWID)
    with pytest.raises(ZeroTierApiError) as err:
        client.get_network(NWID)
    assert err.value.status == 429
    assert central.rate_rejected == 1
    status, headers, _ = client.transport.request("GET", central.url + "/status", client._headers(), None, 5)
    assert status == 429 and headers.get("Retry-After") == "1"


def test_100_nodes_stay_within_the_free_limit_and_none_fails(central, fake_time):
    """100 module runs (one per node, each its own client, sharing the controller's bucket file): every member
    is authorized with its address, Central never answers 429, and no second holds more than 20 requests."""
    for i, node in enumerate(NODES):
        result = run_member_module(central.url, node, "10.147.17.%d" % (10 + i))
        assert not result.get("failed"), "node %d of 100: %s" % (i + 1, result.get("msg"))
        assert central.rate_rejected == 0, "node %d of 100: Central answered 429" % (i + 1)
    assert central.max_in_window(1.0) <= FREE_LIMIT
    members = central.store.members
    assert all(members[(NWID, n)]["authorized"] for n in NODES)
    assert members[(NWID, NODES[42])]["ipAssignments"] == ["10.147.17.52"]
    assert len(central.rate_log) == 2 * len(NODES)  # one GET and one POST per node, nothing retried
    assert fake_time.slept > 0  # throttled on the client side, not by failing


def test_unthrottled_clients_are_refused_and_recover_by_honouring_retry_after(central, clock):
    """Without the bucket the same 200 requests get 429s; each waits Retry-After (on the fake clock), retries and
    still succeeds: 429 is throttling, not failure."""
    for i, node in enumerate(NODES):
        client = ZeroTierClient("central", TOKEN, base_url=central.url, sleep=clock.sleep)
        client.get_member(NWID, node)
        client.update_member(NWID, node, {"authorized": True, "ipAssignments": ["10.147.17.%d" % (10 + i)]})
    assert central.rate_rejected > 0
    assert central.max_in_window(1.0) <= FREE_LIMIT
    assert all(central.store.members[(NWID, n)]["authorized"] for n in NODES)


def test_a_429_pauses_every_client_sharing_the_bucket(central, clock, tmp_path):
    """Client A is told Retry-After: 7; client B (another process, same bucket file) sends nothing before then."""
    state = zerotier_api.FileState(str(tmp_path / "bucket.json"))
    a = ZeroTierClient("central", TOKEN, base_url=central.url,
                       rate_limiter=zerotier_api.TokenBucket(15, 5, clock=clock, sleep=clock.sleep, state=state))
    b = ZeroTierClient("central", TOKEN, base_url=central.url,
                       rate_limiter=zerotier_api.TokenBucket(15, 5, clock=clock, sleep=clock.sleep, state=state))
    central.inject(status=429, retry_after=7, count=1, path="/api/v1/network")
    start = clock.now
    a.get_network(NWID)  # 429, pauses the bucket, then succeeds 7 s later
    assert a.throttled == 1 and clock.now >= start + 7
    paused_until = start + 7
    b.get_network(NWID)
    assert central.rate_log[-1] >= paused_until


def test_bucket_admits_burst_then_rate_and_at_most_20_in_any_second(clock):
    bucket = zerotier_api.TokenBucket(15, 5, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(200):
        bucket.acquire()
        times.append(clock.now)
    assert times[:5] == [1000.0] * 5  # the burst goes at once
    assert times[5] > 1000.0
    lo = best = 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 1.0:  # any window [t, t + 1 s)
            lo += 1
        best = max(best, hi - lo + 1)
    assert best <= FREE_LIMIT
    assert times[-1] - times[0] == pytest.approx((200 - 5) / 15.0)


def test_bucket_state_is_shared_between_processes(tmp_path):
    """Two separate Python processes, same bucket file, same (frozen) instant: the second finds the burst spent."""
    path = str(tmp_path / "bucket.json")
    code = (
        "import sys, json\n"
        "from ansible_collections.daskmetal.platform.plugins.module_utils.zerotier_api import TokenBucket, FileState\n"
        "b = TokenBucket(15, 5, clock=lambda: 500.0, state=FileState(sys.argv[1]))\n"
        "print(json.dumps([b._take() for _ in range(int(sys.argv[2]))]))\n"
    )
    run = [sys.executable, "-c", "import sys; sys.path.insert(0, %r)\n" % COLLECTIONS + code, path]
    first = json.loads(subprocess.run(run + ["5"], capture_output=True, text=True, check=True).stdout)
    second = json.loads(subprocess.run(run + ["1"], capture_output=True, text=True, check=True).stdout)
    assert first == [0.0] * 5
    assert second[0] == pytest.approx(1 / 15.0)


def test_bucket_file_from_before_a_reboot_does_not_block(tmp_path, clock):
    """time.monotonic restarts at boot: a state file stamped later than now (or paused far ahead) starts afresh."""
    path = tmp_path / "bucket.json"
    path.write_text(json.dumps({"tokens": 0.0, "stamp": clock.now + 86400.0, "blocked_until": clock.now + 86400.0}))
    bucket = zerotier_api.TokenBucket(15, 5, clock=clock, sleep=clock.sleep, state=zerotier_api.FileState(str(path)))
    for _ in range(5):
        bucket.acquire()
    assert clock.slept == 0.0


def test_client_from_module_throttles_central_only(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    class Module:
        def __init__(self, backend):
            self.params = {"backend": backend, "api_token": "t" * 20, "api_token_file": None, "api_url": None,
                           "validate_certs": True, "timeout": 30, "retries": 5}

        def fail_json(self, **kw):
            raise AssertionError(kw)

    central = client_from_module(Module("central"))
    assert isinstance(central.rate_limiter, zerotier_api.TokenBucket)
    assert central.rate_limiter.rate + central.rate_limiter.burst <= FREE_LIMIT
    assert isinstance(central.rate_limiter.state, zerotier_api.FileState)
    assert "t" * 20 not in central.rate_limiter.state.path
    assert client_from_module(Module("controller")).rate_limiter is None
