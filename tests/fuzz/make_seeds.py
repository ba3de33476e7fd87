#!/usr/bin/env python3
"""Writes the packet fuzzer's seed corpus: one valid frame of each kind the
dataplane parses, plus a few malformed ones. Run from anywhere; rewrites
tests/fuzz/corpus/packet/seed_*.bin."""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from inet import checksum  # noqa: E402

OUR_MAC = bytes.fromhex("02005e100001")
PEER_MAC = bytes.fromhex("02005e100002")
BROADCAST = b"\xff" * 6
OUR_IP = bytes([198, 18, 0, 1])
PEER_IP = bytes([198, 18, 0, 2])


def ether(ether_type, dst=OUR_MAC, vlan=None):
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    return dst + PEER_MAC + tag + struct.pack("!H", ether_type)


def arp(op, target=OUR_IP, vlan=None):
    body = struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + PEER_MAC + PEER_IP + b"\0" * 6 + target
    return ether(0x0806, BROADCAST if op == 1 else OUR_MAC, vlan) + body


def ipv4(proto, l4, dst=OUR_IP, options=b"", fragment=0, vlan=None):
    ihl = (20 + len(options)) // 4
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(options) + len(l4), 1,
                         fragment, 64, proto, 0, PEER_IP, dst) + options
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return ether(0x0800, vlan=vlan) + header + l4


def udp(sport, dport, payload, dst=OUR_IP):
    length = 8 + len(payload)
    pseudo = PEER_IP + dst + struct.pack("!BBH", 0, 17, length)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    csum = checksum(pseudo + header + payload) or 0xFFFF
    return struct.pack("!HHHH", sport, dport, length, csum) + payload


def icmp_echo(payload=bytes(range(56))):
    msg = struct.pack("!BBHHH", 8, 0, 0, 0x4242, 1) + payload
    return msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]


def seeds():
    dhcp_discover = b"\x01\x01\x06\x00" + b"\0" * 232 + b"\x63\x82\x53\x63\x35\x01\x01\xff"
    yield "arp_request", arp(1)
    yield "arp_reply", arp(2)
    yield "arp_other_target", arp(1, bytes([198, 18, 0, 9]))
    yield "arp_vlan", arp(1, vlan=100)
    yield "icmp_echo", ipv4(1, icmp_echo())
    yield "icmp_echo_vlan", ipv4(1, icmp_echo(), vlan=7)
    yield "icmp_echo_options", ipv4(1, icmp_echo(), options=b"\x01" * 8)
    yield "udp_tftp", ipv4(17, udp(40000, 69, b"\x00\x01pxelinux.0\x00octet\x00"))
    yield "udp_dhcp_broadcast", ipv4(17, udp(68, 67, dhcp_discover, b"\xff" * 4), b"\xff" * 4)
    yield "tcp_syn", ipv4(6, struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 0x50, 2, 65535, 0, 0))
    yield "ipv6", ether(0x86DD) + b"\x60" + b"\0" * 39
    yield "fragment", ipv4(17, udp(1, 2, b"x" * 16), fragment=0x2000)
    yield "truncated_ipv4", ether(0x0800) + b"\x45\x00"
    yield "stacked_vlan", ether(0x8100, vlan=5) + b"\x00\x05\x08\x00"


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "packet")
    os.makedirs(out, exist_ok=True)
    for name, frame in seeds():
        with open(os.path.join(out, f"seed_{name}.bin"), "wb") as f:
            f.write(frame)


if __name__ == "__main__":
    main()
