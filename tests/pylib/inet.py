"""Internet-protocol helpers shared by the Python test tools (seed corpora,
integration tests): the RFC 1071 checksum, IPv6 router solicitations."""

import struct


def checksum(data):
    """The Internet checksum (RFC 1071) of `data`, odd lengths zero-padded."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


ALL_ROUTERS = bytes.fromhex("ff020000000000000000000000000002")  # RFC 4291 2.7.1


def link_local(mac):
    """fe80:: with the modified EUI-64 of the 6-byte `mac` (RFC 4291 appendix A)."""
    return bytes.fromhex("fe80000000000000") + bytes([mac[0] ^ 2]) + mac[1:3] + b"\xff\xfe" \
        + mac[3:]


def icmpv6_frame(message, src_mac, src, dst=ALL_ROUTERS, hop_limit=255, vlan=None):
    """An Ethernet frame (to dst's IPv6 multicast group) carrying the ICMPv6
    `message`, its checksum filled in (RFC 4443 2.3)."""
    pseudo = src + dst + struct.pack("!IxxxB", len(message), 58)
    message = message[:2] + struct.pack("!H", checksum(pseudo + message)) + message[4:]
    header = struct.pack("!IHBB", 0x60000000, len(message), 58, hop_limit) + src + dst
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    return b"\x33\x33" + dst[12:] + src_mac + tag + b"\x86\xdd" + header + message


def router_solicitation(src_mac, from_unspecified=False, hop_limit=255, vlan=None):
    """RFC 4861 4.1 to all routers: from src_mac's link-local address with its
    source link-layer address option, or from :: without it."""
    option = b"" if from_unspecified else b"\x01\x01" + src_mac
    src = bytes(16) if from_unspecified else link_local(src_mac)
    return icmpv6_frame(b"\x85" + bytes(7) + option, src_mac, src, hop_limit=hop_limit, vlan=vlan)
