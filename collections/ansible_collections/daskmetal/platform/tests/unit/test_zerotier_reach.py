"""module_utils/zerotier_reach: the ICMP packets, the retry loop and the failure message (no sockets)."""

from ansible_collections.daskmetal.platform.plugins.module_utils.zerotier_reach import (
    checksum, echo_request, failure_message, is_echo_reply, reach)


def test_checksum_rfc1071_example():
    # RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2, checksum 220d
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220d


def test_echo_request_checks_out_and_a_reply_is_recognised():
    req = echo_request(0x1234, 7)
    assert req[0] == 8 and checksum(req) == 0  # a correct checksum makes the whole message sum to 0
    reply = bytearray(req)
    reply[0] = 0
    ip_header = bytes([0x45]) + bytes(19)
    assert is_echo_reply(ip_header + bytes(reply), 0x1234, 7)
    assert not is_echo_reply(ip_header + bytes(reply), 0x1234, 8)
    assert not is_echo_reply(ip_header + req, 0x1234, 7)  # our own request (seen on loopback) is no reply
    assert not is_echo_reply(b"\x45", 0x1234, 7)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_reach_retries_until_every_peer_answered_once():
    clock = Clock()
    answers = {"10.0.0.2": [False, False, True], "10.0.0.3": [True]}
    asked = []

    def ping(address, seconds, seq):
        asked.append((address, seq))
        clock.now += 0.1
        return answers[address].pop(0)

    assert reach({"b": "10.0.0.2", "c": "10.0.0.3"}, 30, ping, clock=clock, sleep=clock.sleep) == {}
    assert asked == [("10.0.0.2", 1), ("10.0.0.3", 1), ("10.0.0.2", 2), ("10.0.0.2", 3)]


def test_reach_gives_up_at_the_timeout_with_the_silent_peers():
    clock = Clock()

    def ping(address, seconds, seq):
        clock.now += seconds
        return address == "10.0.0.3"

    assert reach({"b": "10.0.0.2", "c": "10.0.0.3"}, 5, ping, clock=clock, sleep=clock.sleep) == {"b": "10.0.0.2"}
    assert clock.now < 8


def test_failure_message_names_both_hosts_and_the_multicast_limit():
    msg = failure_message("node1", "10.147.17.10", {"node2": "10.147.17.11"}, 60, 1, ["node3"])
    assert "node1 (10.147.17.10) -> node2 (10.147.17.11)" in msg
    assert "multicast_limit (1) is not above the number of active bridges (1: node3)" in msg
    assert "daskmetal_plan.zerotier.multicast_limit" in msg
