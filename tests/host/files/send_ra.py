"""Send a Router Advertisement (RFC 4861 section 4.2) out of one interface to ff02::1: the lab's IPv6 router.

ICMPv6 type 134, code 0, checksum filled in by the kernel for raw ICMPv6 sockets (RFC 3542 section 3.1),
current hop limit 64, no M/O flags, router lifetime 1800 s, reachable time and retransmit timer unspecified;
sent with hop limit 255 (RFC 4861 6.1.2: a receiver drops an RA with any other hop limit)."""
import socket
import struct
import sys
import time

iface = sys.argv[1]
index = socket.if_nametoindex(iface)
sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
advert = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0)
for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 2):
    sock.sendto(advert, ("ff02::1", 0, 0, index))
    time.sleep(0.2)
