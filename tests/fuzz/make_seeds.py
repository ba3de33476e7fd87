#!/usr/bin/env python3
"""Writes seed corpora: for the packet fuzzer one valid frame of each kind
the dataplane parses plus a few malformed ones; for the region fuzzer policy
regions holding compiled policies (encoded with protoc); for the status
fuzzer patches of the status region's fields; for the DHCP fuzzer request
sequences. Run from anywhere; rewrites
tests/fuzz/corpus/{packet,region,status,dhcp}/seed_*.bin."""

import os
import struct
import subprocess
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


HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_ROOT = os.path.join(HERE, "..", "..", "proto")


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def boot_policy(text):
    return subprocess.run(
        ["protoc", f"--proto_path={PROTO_ROOT}", "--encode=stampede.v1.BootPolicy",
         "stampede/v1/policy.proto"], input=text.encode(), capture_output=True, check=True).stdout


def policy_region(payload, generation=1, capacity=1024):
    """dataplane/policy/region.h: a 64-byte header, then two 64-byte slot
    headers each followed by `capacity` bytes; the payload in slot 0."""
    header = struct.pack("<QIIQI", 0x314C4F5044504D53, 1, capacity, generation, 0).ljust(64, b"\0")
    slot0 = struct.pack("<QII", generation, len(payload), crc32c(payload)).ljust(64, b"\0")
    slot0 += payload.ljust(capacity, b"\0")
    slot1 = bytes(64 + capacity)
    return header + slot0 + slot1


GOOD_POLICY = """
source: "seed.yaml"
addresses { address: 0xc6120001 prefix_length: 24 }
dhcp { mode: AUTHORITATIVE
       subnets { network: 0xc6120000 prefix_length: 24 lease_seconds: 3600 profile: 1
                 pools { first: 0xc612000a last: 0xc6120014 }
                 pools { first: 0xc6120064 last: 0xc6120078 } } }
hosts { name: "n7" mac: "\\002\\000^\\020\\000\\007" ipv4: 0xc6120007 profile: 1 }
hosts { name: "r1" circuit_id: "rack1/port3" }
profiles { name: "install" bios: "pxelinux.0" efi_x64: "ipxe.efi" kernel: "linux"
           initrds: "initrd.gz" }
tftp { root: "/srv/tftp" max_blksize: 1468 max_windowsize: 16 }
http_port: 80
limits { max_tftp_sessions: 50000 dhcp_rate_per_mac: 20 max_http_connections: 4096 }
"""


def region_seeds():
    good = boot_policy(GOOD_POLICY)
    yield "policy_good", policy_region(good)
    yield "policy_overlap", policy_region(boot_policy(GOOD_POLICY.replace("0xc612000a", "0xc6120070")))
    yield "policy_bad_profile", policy_region(boot_policy(GOOD_POLICY.replace("profile: 1", "profile: 7")))
    yield "policy_climbs", policy_region(boot_policy(GOOD_POLICY.replace("linux", "../../linux")))
    yield "policy_bytes", good


def patch(offset, data):
    return struct.pack("<HB", offset, len(data)) + data


def status_seeds():
    # dataplane/policy/status_region.h: header 0..127 (lcore_count at 20,
    # counters_bytes at 24), ring head at 128, tail at 192, records from 256.
    yield "valid", b""
    yield "head_far_ahead", patch(128, struct.pack("<Q", 3 * 4096))
    yield "tail_past_head", patch(192, struct.pack("<Q", 10))
    yield "record_too_long", patch(256, struct.pack("<I", 4096))
    yield "record_garbage", patch(260, b"\x12\xff\xff\xff\xff\x0f")
    yield "too_many_lcores", patch(20, struct.pack("<I", 200))
    yield "bad_counter_size", patch(24, struct.pack("<I", 8))
    yield "bad_magic", patch(0, b"NOTSTAMP")


def dhcp(msg_type, mac_last=1, options=(), ciaddr=0, giaddr=0, flags=0, xid=0x1234,
         file=b"", sname=b""):
    """A DHCP request payload (RFC 2131 §2) with option 53 and `options`."""
    fixed = struct.pack("!BBBBIHHIIII", 1, 1, 6, 0, xid, 0, flags, ciaddr, 0, 0, giaddr)
    fixed += bytes([2, 0, 0x5E, 0, 0, mac_last]) + bytes(10)
    fixed += sname.ljust(64, b"\0") + file.ljust(128, b"\0")
    body = struct.pack("!I", 0x63825363) + bytes([53, 1, msg_type])
    for code, value in options:
        body += bytes([code, len(value)]) + value
    return fixed + body + b"\xff"


def dhcp_seeds():
    ip = lambda text: bytes(int(part) for part in text.split("."))  # noqa: E731
    pxe = [(93, b"\0\0"), (60, b"PXEClient:Arch:00000:UNDI:002001"), (97, bytes(17)),
           (55, bytes([1, 3, 6, 15, 43, 60, 66, 67]))]
    discover = dhcp(1, options=pxe)
    request = dhcp(3, options=[(54, ip("198.18.0.1")), (50, ip("198.18.0.100"))] + pxe)
    yield "dora", discover + b"MSG|" + request
    yield "efi_http", dhcp(1, options=[(93, b"\0\x10"), (60, b"HTTPClient:Arch:00016")])
    yield "ipxe", dhcp(1, options=[(77, b"iPXE"), (175, b"\x13\x01\x01")] + pxe)
    yield "renew", dhcp(3, ciaddr=0xC6120064)
    yield "init_reboot", dhcp(3, options=[(50, ip("198.18.0.101"))])
    yield "decline_release", (request + b"MSG|" + dhcp(4, options=[(54, ip("198.18.0.1")),
                                                                   (50, ip("198.18.0.100"))])
                              + b"MSG|" + dhcp(7, ciaddr=0xC6120064, options=[(54, ip("198.18.0.1"))]))
    yield "inform", dhcp(8, ciaddr=0xC6120032)
    yield "relay", dhcp(1, giaddr=0xC6130001, options=[(82, b"\x01\x02c1\x02\x01r")] + pxe)
    yield "link_selection", dhcp(1, giaddr=0xC6120001, options=[(82, b"\x05\x04" + ip("198.19.0.0"))])
    yield "subnet_selection", dhcp(1, options=[(118, ip("198.19.0.0"))])
    yield "overload", dhcp(1, options=[(52, b"\x03")], file=b"\x0c\x02ab\xff", sname=b"\x0c\x01c\xff")
    yield "split_option", dhcp(1, options=[(43, b"abc"), (12, b"h"), (43, b"def"), (57, b"\x02\x40")])
    yield "exhaust", b"MSG|".join(dhcp(1, mac_last=m, xid=m) for m in range(1, 7))
    yield "bad_cookie", discover[:236] + b"\x63\x82\x53\x64" + discover[240:]


def journal_record(kind, address, expires, client):
    body = struct.pack("<BIQB", kind, address, expires, len(client)) + client + struct.pack("<Q", 0)
    return struct.pack("<II", len(body), crc32c(body)) + body


def journal_seeds():
    header = b"STPLEAS1"
    mac = bytes([1, 2, 0, 0x5E, 0, 0, 1])
    good = header + journal_record(1, 0xC6120064, 5000, mac) + journal_record(3, 0xC6120065, 9000, mac)
    yield "good", good
    yield "released", good + journal_record(2, 0xC6120064, 0, mac)
    yield "torn", good[:-5]
    yield "header_only", header
    yield "foreign", b"not a journal at all"


def write(kind, items):
    out = os.path.join(HERE, "corpus", kind)
    os.makedirs(out, exist_ok=True)
    for name, data in items:
        with open(os.path.join(out, f"seed_{name}.bin"), "wb") as f:
            f.write(data)


def main():
    write("packet", seeds())
    write("region", region_seeds())
    write("status", status_seeds())
    write("dhcp", dhcp_seeds())
    write("journal", journal_seeds())


if __name__ == "__main__":
    main()
