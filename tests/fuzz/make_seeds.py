#!/usr/bin/env python3
"""Writes seed corpora: for the packet fuzzer one valid frame of each kind
the dataplane parses plus a few malformed ones; for the region fuzzer policy
regions holding compiled policies (encoded with protoc); for the status
fuzzer patches of the status region's fields; for the DHCP fuzzer request
sequences; for the ISO 9660 fuzzer small images (xorriso's and hand-made);
for the HTTP fuzzer requests to the file server; for the TCP segmentation
fuzzer SYNs, big segments and datagrams. Run from anywhere; rewrites
tests/fuzz/corpus/{packet,region,status,dhcp,journal,iso9660,http,tcp_segment}/seed_*.bin."""

import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from inet import checksum, icmpv6_frame, link_local, router_solicitation  # noqa: E402

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
    yield "router_solicitation", router_solicitation(PEER_MAC)
    yield "router_solicitation_vlan", router_solicitation(PEER_MAC, vlan=9)
    yield "router_solicitation_unspecified", router_solicitation(PEER_MAC, from_unspecified=True)
    yield "neighbour_solicitation", icmpv6_frame(b"\x87" + bytes(7) + link_local(PEER_MAC),
                                                 PEER_MAC, link_local(PEER_MAC))
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
                 pools { first: 0xc612000a last: 0xc6120014 deny_known: true }
                 pools { first: 0xc6120064 last: 0xc6120078 allow_classes: 1 } }
       classes { name: "racks" macs { value: 0x0cc47a000000 mask: 0xffffff000000 }
                 vendor_classes: "PXEClient" client_archs: 0 client_archs: 7 profile: 1
                 options { code: 42 value: "\\306\\022\\000\\011" } known: true
                 lease_seconds: 600 } }
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
    yield "policy_pool_class", policy_region(boot_policy(GOOD_POLICY.replace(
        "allow_classes: 1", "allow_classes: 1 deny_classes: 2")))
    yield "policy_pool_known", policy_region(boot_policy(GOOD_POLICY.replace(
        "deny_known: true", "deny_known: true allow_known: true")))
    options = GOOD_POLICY.replace(
        "profile: 1\n", "profile: 1\n                 options { code: 42 value: \"\\306\\022\\000\\002\" }\n"
        "                 options { code: 224 value: \"x\" always_send: true }\n", 1)
    yield "policy_options", policy_region(boot_policy(options))
    yield "policy_options_unsorted", policy_region(boot_policy(
        options.replace("code: 224", "code: 12")))
    yield "policy_option_owned", policy_region(boot_policy(options.replace("code: 224", "code: 54")))


def patch(offset, data):
    return struct.pack("<HB", offset, len(data)) + data


def status_seeds():
    # dataplane/policy/status_region.h: header 0..127 (lcore_count at 20,
    # counters_bytes at 24, http_counters_bytes at 88, event_rings at 92,
    # dhcp_counters_bytes at 120), ring head at 128, tail at 192, records
    # from 256. status_fuzz.cc maps offsets 0x4000.. to the HTTP ring's start
    # (head, tail, records at 128), 0x6000.. to the counters (the HTTP
    # block, the DHCP block, then the lcores') and 0x8000.. to worker 0's
    # TFTP ring.
    yield "valid", b""
    yield "head_far_ahead", patch(128, struct.pack("<Q", 3 * 4096))
    yield "tail_past_head", patch(192, struct.pack("<Q", 10))
    yield "record_too_long", patch(256, struct.pack("<I", 4096))
    yield "record_garbage", patch(260, b"\x12\xff\xff\xff\xff\x0f")
    yield "too_many_lcores", patch(20, struct.pack("<I", 200))
    yield "bad_counter_size", patch(24, struct.pack("<I", 8))
    yield "bad_magic", patch(0, b"NOTSTAMP")
    yield "bad_http_counter_size", patch(88, struct.pack("<I", 64))
    yield "two_rings", patch(92, struct.pack("<I", 2))
    yield "no_tftp_rings", patch(92, struct.pack("<I", 3))
    yield "bad_dhcp_counter_size", patch(120, struct.pack("<I", 8))
    # Ring 1 (DHCP) at 0x2000: its first record's event field made a
    # ProxyBoot whose length runs past the record.
    yield "proxy_past_record", patch(0x2000 + 132 + 2, b"\x42\xf0\x03")
    yield "http_head_far_ahead", patch(0x4000, struct.pack("<Q", 3 * 4096))
    yield "http_tail_past_head", patch(0x4000 + 64, struct.pack("<Q", 10))
    yield "http_record_too_long", patch(0x4000 + 128, struct.pack("<I", 4096))
    yield "http_record_garbage", patch(0x4000 + 132, b"\x32\xff\xff\xff\xff\x0f")
    yield "http_path_past_record", patch(0x4000 + 132 + 2, b"\x22\xf0\x03")
    yield "http_counters_garbage", patch(0x6000, b"\xff" * 200)
    yield "tftp_head_far_ahead", patch(0x8000, struct.pack("<Q", 3 * 4096))
    yield "tftp_tail_past_head", patch(0x8000 + 64, struct.pack("<Q", 10))
    yield "tftp_record_too_long", patch(0x8000 + 128, struct.pack("<I", 4096))
    yield "tftp_record_garbage", patch(0x8000 + 132, b"\x3a\xff\xff\xff\xff\x0f")
    # A TftpTransfer whose file's length runs past the record.
    yield "tftp_file_past_record", patch(0x8000 + 132 + 2, b"\x3a\xf0\x03")


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
    # proxyDHCP (the fuzzer's second server): the offer, the REQUEST to the
    # site server (option 54 not ours, 50 the address), the 4011 request
    # (odd messages come in on 4011).
    site = dhcp(3, options=[(54, ip("198.18.0.250")), (50, ip("198.18.0.150"))] + pxe)
    boot = dhcp(3, options=pxe, ciaddr=0xC6120096)
    yield "proxy_steps", discover + b"MSG|" + boot + b"MSG|" + site
    # The host reserved by client identifier (option 61).
    by_id = [(61, bytes.fromhex("ff000000010002"))]
    yield "client_id", (dhcp(1, options=by_id) + b"MSG|" +
                        dhcp(3, options=by_id + [(54, ip("198.18.0.1")), (50, ip("198.18.0.8"))]))
    yield "ipxe", dhcp(1, options=[(77, b"iPXE"), (175, b"\x13\x01\x01")] + pxe)
    # Client classes: by MAC, vendor class and arch; by an RFC 3004 user
    # class item; by option 82 ids.
    yield "classes", b"MSG|".join([
        dhcp(1, mac_last=0x0a, options=pxe),
        dhcp(1, mac_last=0x0b, options=[(93, b"\xfd\xe8"), (60, b"PXEClient:Arch:65000"),
                                        (55, bytes([42, 225]))]),
        dhcp(1, mac_last=0x0c, options=[(77, b"\x03abc\x08stampede"), (55, bytes([225]))]),
        dhcp(1, mac_last=0x0d, giaddr=0xC6120001, options=[(82, b"\x01\x02c2\x02\x01r")] + pxe)])
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


# ISO 9660 seeds (tests/fuzz/iso9660_fuzz.cc): images from sector 16 on, the
# 32 KiB system area left out. Hand-made ones for what xorriso does not write
# (multi-extent files, continuation areas, relocated folders, catalog
# extension entries), and xorriso's own for every naming scheme and El Torito.

def both16(value):
    return struct.pack("<H", value) + struct.pack(">H", value)


def both32(value):
    return struct.pack("<I", value) + struct.pack(">I", value)


def dir_record(ident, lba, size, flags=0, system_use=b""):
    """ECMA-119 9.1, dated 2020-01-02 03:04:05 GMT."""
    pad = b"\0" if len(ident) % 2 == 0 else b""
    record = (b"\0\0" + both32(lba) + both32(size) + bytes([120, 1, 2, 3, 4, 5, 0, flags, 0, 0])
              + both16(1) + bytes([len(ident)]) + ident + pad + system_use)
    record += b"\0" * (len(record) % 2)
    return bytes([len(record)]) + record[1:]


def susp(signature, data):
    return signature + bytes([4 + len(data), 1]) + data


def rr_name(name, flags=0):
    return susp(b"NM", bytes([flags]) + name)


def rr_symlink(parts):
    data = b"\0"
    for part in parts:
        flags = {"/": 8, ".": 2, "..": 4}.get(part, 0)
        content = b"" if flags else part.encode()
        data += bytes([flags, len(content)]) + content
    return susp(b"SL", data)


def rr_mode(mode):
    return susp(b"PX", both32(mode) + both32(1) + both32(0) + both32(0))


def rr_continuation(block, offset, length):
    return susp(b"CE", both32(block) + both32(offset) + both32(length))


RR_ROOT = susp(b"SP", b"\xbe\xef\0") + susp(b"ER", bytes([10, 0, 0, 1]) + b"RRIP_1991A")


def volume_descriptor(kind, root_lba=0, root_size=0, escapes=b""):
    vd = bytearray(2048)
    vd[0:7] = bytes([kind]) + b"CD001\x01"
    if kind in (1, 2):
        vd[40:72] = b"SEED".ljust(32)
        vd[88:88 + len(escapes)] = escapes
        vd[120:132] = both16(1) + both16(1) + both16(2048)
        vd[156:190] = dir_record(b"\0", root_lba, root_size, 2)
    return bytes(vd)


def folder(lba, parent, records, dot_system_use=b"", size=2048):
    out = bytearray()
    for record in [dir_record(b"\0", lba, size, 2, dot_system_use),
                   dir_record(b"\1", parent, 2048, 2)] + records:
        if len(out) % 2048 + len(record) > 2048:  # records never cross a sector
            out += bytes(2048 - len(out) % 2048)
        out += record
    return bytes(out)


def image_from_sector_16(sectors):
    end = max(number + (len(data) + 2047) // 2048 for number, data in sectors.items())
    image = bytearray((end - 16) * 2048)
    for number, data in sectors.items():
        image[(number - 16) * 2048:(number - 16) * 2048 + len(data)] = data
    return bytes(image)


def el_torito_catalog(entries):
    validation = bytearray(32)
    validation[0], validation[30], validation[31] = 1, 0x55, 0xAA
    checksum = -sum(struct.unpack("<16H", validation)) & 0xFFFF
    validation[28:30] = struct.pack("<H", checksum)
    return bytes(validation) + b"".join(entries)


def boot_entry(sectors, rba, media=0):
    return struct.pack("<BBHBBHI20x", 0x88, media, 0, 0, 0, sectors, rba)


def hand_made_iso_seeds():
    terminator = volume_descriptor(255)
    yield "multi_extent", image_from_sector_16({
        16: volume_descriptor(1, 19, 2048), 17: terminator,
        19: folder(19, 19, [dir_record(b"BIG.BIN;1", 22, 4096, 0x80),
                            dir_record(b"BIG.BIN;1", 20, 2048, 0x80),
                            dir_record(b"BIG.BIN;1", 24, 100),
                            dir_record(b"HELLO.TXT;1", 25, 5)]),
        20: b"B" * 2048, 22: b"A" * 4096, 24: b"C" * 100, 25: b"hello"})
    more = rr_name(b"-more.txt") + rr_mode(0o100644)
    hello = rr_name(b"hello", 1) + rr_continuation(26, 0, len(more))
    link = rr_mode(0o120777) + rr_name(b"link") + rr_symlink(["sub", "a.txt"])
    yield "rock_ridge_entries", image_from_sector_16({
        16: volume_descriptor(1, 19, 2048), 17: terminator,
        19: folder(19, 19, [
            dir_record(b"HELLO.TXT;1", 25, 5, 0, hello),
            dir_record(b"LINK;1", 0, 0, 0, link),
            dir_record(b"UP;1", 0, 0, 0, rr_name(b"up") + rr_symlink(["..", "x"])),
            dir_record(b"SUB", 20, 2048, 2, rr_name(b"sub")),
            dir_record(b"MOVED;1", 0, 0, 0, rr_name(b"moved") + susp(b"CL", both32(21))),
            dir_record(b"RR_MOVED", 22, 2048, 2, rr_name(b"rr_moved"))], RR_ROOT),
        20: folder(20, 19, [dir_record(b"A.TXT;1", 25, 5, 0, rr_name(b"a.txt"))]),
        21: folder(21, 19, [dir_record(b"DEEP.TXT;1", 25, 5, 0, rr_name(b"deep.txt"))]),
        22: folder(22, 19, [dir_record(b"MOVED", 21, 2048, 2,
                                       rr_name(b"moved") + susp(b"RE", b""))]),
        25: b"hello", 26: more})
    catalog = el_torito_catalog([
        boot_entry(4, 21),
        struct.pack("<BBH28x", 0x91, 0xEF, 2),
        boot_entry(1, 22, media=0x20), b"\x44" + bytes(31),
        boot_entry(0, 23, media=2)])
    boot_record = bytearray(volume_descriptor(0))
    boot_record[7:30] = b"EL TORITO SPECIFICATION"
    boot_record[0x47:0x4B] = struct.pack("<I", 20)
    yield "el_torito", image_from_sector_16({
        16: volume_descriptor(1, 19, 2048), 17: bytes(boot_record), 18: terminator,
        19: folder(19, 19, [dir_record(b"BOOT.CAT;1", 20, 2048),
                            dir_record(b"BIOS.BIN;1", 21, 2048),
                            dir_record(b"EFI.IMG;1", 22, 3000)]),
        20: catalog, 21: b"\xeb" * 2048, 22: b"\xef" * 3000})
    joliet_name = "hé.txt😀;1".encode("utf-16-be")
    yield "joliet", image_from_sector_16({
        16: volume_descriptor(1, 19, 2048), 17: volume_descriptor(2, 20, 2048, b"%/E"),
        18: terminator,
        19: folder(19, 19, [dir_record(b"HE.TXT;1", 21, 5)]),
        20: folder(20, 20, [dir_record(joliet_name, 21, 5)]),
        21: b"hello"})


XORRISO_ISOS = {
    "xorriso_plain": ["-as", "mkisofs", "--norock", "-iso-level", "1"],
    "xorriso_joliet": ["-as", "mkisofs", "--norock", "-J"],
    "xorriso_rock_ridge": ["-as", "mkisofs", "-R", "-J"],
    "xorriso_el_torito": ["-as", "mkisofs", "-R", "-b", "boot/isolinux.bin", "-no-emul-boot",
                          "-boot-load-size", "4", "-eltorito-alt-boot", "-e", "boot/efi.img",
                          "-no-emul-boot"],
    "xorriso_relocated": ["-compliance", "deep_paths_off", "-rr_reloc_dir", "rr_moved",
                          "-as", "mkisofs", "-R"],
}


def xorriso_iso_seeds():
    for name, options in XORRISO_ISOS.items():
        with tempfile.TemporaryDirectory() as tmp:
            yield name, xorriso_iso(tmp, options, name == "xorriso_relocated")


def xorriso_iso(tmp, options, deep):
    """A few files, symlinks in and out; folders 9 deep (past ECMA-119's 8, so
    relocated) when `deep`, else 2: each folder costs a sector per tree, and
    seeds stay under 64 KiB."""
    src = os.path.join(tmp, "src")
    deep_file = "a/b/c/d/e/f/g/h/i/deep.txt" if deep else "a/b/deep.txt"
    files = {"readme.txt": b"hello\n", "empty": b"", "boot/isolinux.bin": b"\xeb" * 100,
             "boot/efi.img": b"\xef" * 3000, deep_file: b"deep\n"}
    for path, data in files.items():
        os.makedirs(os.path.dirname(os.path.join(src, path)), exist_ok=True)
        with open(os.path.join(src, path), "wb") as f:
            f.write(data)
    for target, link in [("../readme.txt", "a/up"), ("/etc/passwd", "escape"),
                         ("boot", "grub"), ("loop", "loop")]:
        os.symlink(target, os.path.join(src, link))
    for root, dirs, names in os.walk(src):
        for name in dirs + names + [""]:
            os.utime(os.path.join(root, name), (1600000000, 1600000000), follow_symlinks=False)
    env = dict(os.environ, SOURCE_DATE_EPOCH="1600000000")
    out = os.path.join(tmp, "seed.iso")
    subprocess.run(["xorriso"] + options + ["-no-pad", "-o", out, src], env=env, check=True,
                   capture_output=True)
    with open(out, "rb") as f:
        return f.read()[16 * 2048:]


def iso9660_seeds():
    yield from hand_made_iso_seeds()
    yield from xorriso_iso_seeds()


def http_request(target, fields=(), method="GET", version="HTTP/1.1"):
    lines = [f"{method} {target} {version}"] + (["Host: 198.18.0.1"] if version == "HTTP/1.1" else [])
    return ("\r\n".join(lines + list(fields)) + "\r\n\r\n").encode()


def http_seeds():
    """Requests to the dataplane's file server (tests/fuzz/http_fuzz.cc's
    catalog: empty, a.bin, images/x.iso, images/x/k), and a bare Range value
    and HTTP-date for the readers the fuzzer also feeds the raw input."""
    yield "get", http_request("/a.bin")
    yield "head", http_request("/images/x.iso", method="HEAD")
    yield "range_start", http_request("/a.bin", ["Range: bytes=0-99"])
    yield "range_suffix", http_request("/images/x.iso", ["Range: bytes=-4096"])
    yield "range_open", http_request("/images/x.iso", ["Range: bytes=4294967296-"])
    yield "range_multi", http_request("/a.bin", ["Range: bytes=0-1, 5-6,"])
    yield "range_bad", http_request("/a.bin", ["Range: bytes=9-1"])
    yield "range_past", http_request("/empty", ["Range: bytes=0-"])
    yield "if_none_match", http_request("/a.bin", ['If-None-Match: W/"x", "a"'])
    yield "if_modified_since", http_request("/a.bin", ["If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT"])
    yield "if_range", http_request("/images/x/k", ['If-Range: "k"', "Range: bytes=10-20"])
    yield "absolute_form", http_request("http://198.18.0.1/images//x/./k")
    yield "http10_keep_alive", http_request("/a.bin", ["Connection: keep-alive"], version="HTTP/1.0")
    yield "post_body", http_request("/a.bin", ["Content-Length: 4"], method="POST") + b"data"
    yield "traversal", http_request("/images/%2e%2e/%2e%2e/etc/passwd")
    yield "no_host", b"GET /a.bin HTTP/1.1\r\n\r\n"
    yield "bare_lf", b"GET /a.bin HTTP/1.1\nHost: x\nRange: bytes=1-2\n\n"
    yield "pipelined", http_request("/a.bin", ["Range: bytes=-1"]) + http_request("/empty")
    yield "range_value", b"bytes=0-18446744073709551615"
    yield "date_value", b"Sun, 06 Nov 1994 08:49:37 GMT"
    yield "date_before_1970", b"Sun, 05 Nov 0997 08:49:37 GMT"


def tcp(flags, payload=b"", options=b"", seq=1000, src=PEER_IP, dst=OUR_IP):
    options += b"\0" * (-len(options) % 4)
    header = struct.pack("!HHIIBBHHH", 40000, 80, seq, 0x55667788, (20 + len(options)) // 4 << 4,
                         flags, 501, 0, 0) + options
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(header) + len(payload))
    csum = checksum(pseudo + header + payload)
    return header[:16] + struct.pack("!H", csum) + header[18:] + payload


def tcp_segment_seeds():
    """A 16-bit wire MTU selector (tcp_segment_fuzz.cc: 68 + value % 9933),
    then a frame: SYNs whose MSS option is rewritten, big segments to cut,
    big datagrams answered with ICMP "fragmentation needed"."""
    mtu_1500, mtu_576 = struct.pack("!H", 1500 - 68), struct.pack("!H", 576 - 68)
    mss = lambda value: struct.pack("!BBH", 2, 4, value)  # noqa: E731
    linux = b"\x04\x02\x08\x0a\0\0\0\x01\0\0\0\0\x01\x03\x03\x07"
    timestamps = b"\x01\x01\x08\x0a\0\0\0\x01\0\0\0\x02"
    data = bytes(i * 31 % 251 for i in range(20000))
    df = 0x4000
    yield "syn_mss", mtu_1500 + ipv4(6, tcp(0x02, options=mss(1460) + linux), fragment=df)
    yield "syn_ack_big_mss", mtu_1500 + ipv4(6, tcp(0x12, options=mss(64960) + linux), fragment=df)
    yield "syn_odd_mss", mtu_1500 + ipv4(6, tcp(0x02, options=b"\x01" + mss(1460)), fragment=df)
    yield "syn_bad_options", mtu_1500 + ipv4(6, tcp(0x02, options=mss(1460) + b"\x1e\x09"))
    yield "data_fin_cwr", mtu_1500 + ipv4(6, tcp(0x99, data, timestamps), fragment=df)
    yield "data_vlan", mtu_1500 + ipv4(6, tcp(0x10, data[:5000], timestamps), fragment=df, vlan=100)
    yield "data_small_mtu", mtu_576 + ipv4(6, tcp(0x18, data[:3000], seq=0xFFFFF000), fragment=df)
    yield "rst_big", mtu_1500 + ipv4(6, tcp(0x04, data[:3000]))
    yield "udp_df_big", mtu_1500 + ipv4(17, udp(5353, 9, data[:3000]), fragment=df)
    yield "udp_big", mtu_1500 + ipv4(17, udp(5353, 9, data[:3000]), options=b"\x01" * 4)
    yield "ipv6_big", mtu_1500 + ether(0x86DD) + b"\x60" + bytes(3039)


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
    write("iso9660", iso9660_seeds())
    write("http", http_seeds())
    write("tcp_segment", tcp_segment_seeds())


if __name__ == "__main__":
    main()
