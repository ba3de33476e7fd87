"""Internet-protocol helpers shared by the Python test tools (seed corpora,
integration tests): the RFC 1071 checksum."""

import struct


def checksum(data):
    """The Internet checksum (RFC 1071) of `data`, odd lengths zero-padded."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
