# -*- coding: utf-8 -*-
# Copyright: daskmetal maintainers
# Apache-2.0
"""Do the members of a ZeroTier network reach each other? ICMP echo (RFC 792) to each peer's planned address.

Plain Python (no Ansible): the ping is injectable so the logic is tested without sockets. The real ping uses a raw
ICMP socket, so it needs root (the zerotier role runs with become).

Why a ping and not just the listnetworks status: zerotier-one 1.14.1 reports status OK with the address on the
interface while ARP between members can be dropped: ARP requests are multicast to at most ``multicastLimit``
recipients, active bridges first (node/Multicaster.cpp:233-272), so with a limit at or below the number of bridges
two ordinary members never learn each other's MAC (recorded: tests/zerotier/recorded/arp-matrix-multicast-limit-1.txt).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import select
import socket
import struct
import time

ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0


def checksum(data):
    """The Internet checksum (RFC 1071) of bytes."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return (~total) & 0xffff


def echo_request(ident, seq, payload=b"daskmetal-zerotier"):
    header = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, ident & 0xffff, seq & 0xffff)
    return struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, checksum(header + payload), ident & 0xffff, seq & 0xffff) + payload


def is_echo_reply(packet, ident, seq):
    """Whether a raw IPv4 packet (as a raw ICMP socket returns it, IP header included) answers our request."""
    if len(packet) < 20:
        return False
    ihl = (packet[0] & 0x0f) * 4
    icmp = packet[ihl:ihl + 8]
    if len(icmp) < 8:
        return False
    kind, _code, _sum, rid, rseq = struct.unpack("!BBHHH", icmp)
    return kind == ICMP_ECHO_REPLY and rid == ident & 0xffff and rseq == seq & 0xffff


def ping_once(address, timeout, source=None, seq=1):
    """One ICMP echo to ``address``; True when the reply came within ``timeout`` seconds."""
    ident = (os.getpid() ^ int(time.time() * 1000)) & 0xffff
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        if source:
            sock.bind((source, 0))
        sock.sendto(echo_request(ident, seq), (address, 0))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _w, _x = select.select([sock], [], [], left)
            if not ready:
                return False
            packet, peer = sock.recvfrom(2048)
            if peer[0] == address and is_echo_reply(packet, ident, seq):
                return True
    finally:
        sock.close()


def reach(peers, timeout, ping, clock=time.monotonic, sleep=time.sleep, interval=1.0):
    """Ping every peer ({name: address}) until each answered once or ``timeout`` seconds passed.
    ``ping(address, seconds, seq)`` -> bool. Returns {name: address} of the peers that never answered."""
    left = dict(peers)
    deadline = clock() + timeout
    seq = 0
    while left:
        seq += 1
        for name, address in sorted(left.items()):
            if ping(address, min(interval, max(0.1, deadline - clock())), seq):
                del left[name]
        if not left or clock() >= deadline:
            break
        sleep(interval)
    return left


def failure_message(name, source, unreached, timeout, multicast_limit=None, active_bridges=()):
    """Names both ends of every pair that failed, and the likely causes."""
    pairs = "; ".join("%s (%s) -> %s (%s)" % (name, source, peer, addr) for peer, addr in sorted(unreached.items()))
    hint = ("both sides report status OK with their address, so the ZeroTier path or ARP is broken. "
            "If multicast_limit")
    if multicast_limit is not None:
        hint += " (%s)" % multicast_limit
    hint += (" is not above the number of active bridges (%d: %s), ARP between ordinary members is dropped "
             "(zerotier-one sends ARP to active bridges first, up to multicastLimit recipients): raise "
             "daskmetal_plan.zerotier.multicast_limit. Otherwise check a firewall on the zt interfaces lets ICMP "
             "through, and that the peer's zerotier-one is online (zerotier-cli info)"
             % (len(active_bridges), ", ".join(sorted(active_bridges)) or "none"))
    return "no answer over ZeroTier within %s s: %s. %s." % (timeout, pairs, hint)
