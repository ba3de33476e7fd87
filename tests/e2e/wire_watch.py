#!/usr/bin/env python3
"""Watches the boot network's DHCP, TFTP and IPv6 router discovery and
prints one JSON line per event.

Run inside the namespace of the interface it watches (the client segment's
bridge, promiscuous, so frames forwarded between the guests and the
appliance are seen too). It reads only UDP over IPv4 and ICMPv6 router
solicitations and advertisements (a socket filter drops the rest in the
kernel), and reports:

  {"kind": "dhcp", "type": "DISCOVER", "mac", "xid", "yiaddr", "server", "file", "src", "dst"}
  {"kind": "rrq", "client": "ip:port", "server": "ip", "file", "options": {...}}
  {"kind": "oack", "client", "server_port", "options"}
  {"kind": "error", "client", "from": "client"/"server", "code", "message"}
  {"kind": "done", "client", "file", "bytes", "blocks", "blksize", "seconds"}
  {"kind": "ndp", "type": "RS" or "RA", "mac" (the guest's: the RS's source,
   the RA's destination), "src", "lifetime", "managed", "other", "prefixes"}

Every event carries "t", time.monotonic() when it was read (the clock is
system-wide, so the parent can compare it with its own). DATA frames are
only counted, never printed one by one; a transfer is "done" at its first
DATA shorter than the block size (RFC 1350 section 6).
"""

import ctypes
import json
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
SO_ATTACH_FILTER = 26
SNAPLEN = 1514

DHCP_TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK",
              7: "RELEASE", 8: "INFORM"}
DHCP_PORTS = (67, 68, 4011)
TFTP_PORT = 69
RRQ, WRQ, DATA, ACK, ERROR, OACK = range(1, 7)
DEFAULT_BLKSIZE = 512  # RFC 1350


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(SockFilter))]


ETH_P_IPV6 = 0x86DD
ICMPV6 = 58
ROUTER_SOLICITATION, ROUTER_ADVERTISEMENT = 133, 134  # RFC 4861 section 4
PREFIX_INFORMATION = 3

# Classic BPF (jumps count the instructions skipped): IPv4 (ethertype 0x0800
# at 12) carrying UDP (protocol 17 at 14 + 9), or IPv6 whose next header (at
# 14 + 6) is ICMPv6 of type 133 or 134 (at 14 + 40), accepted whole up to
# SNAPLEN; everything else dropped.
WATCHED = [
    (0x28, 0, 0, 12),          # 0: ldh [12]
    (0x15, 0, 2, 0x0800),      # 1: jeq #0x800 -> 2, else -> 4
    (0x30, 0, 0, 23),          # 2: ldb [23]
    (0x15, 6, 7, 17),          # 3: jeq #17 -> accept, else -> drop
    (0x15, 0, 6, ETH_P_IPV6),  # 4: jeq #0x86dd -> 5, else -> drop
    (0x30, 0, 0, 20),          # 5: ldb [20]
    (0x15, 0, 4, ICMPV6),      # 6: jeq #58 -> 7, else -> drop
    (0x30, 0, 0, 54),          # 7: ldb [54]
    (0x15, 1, 0, ROUTER_SOLICITATION),   # 8: -> accept, else -> 9
    (0x15, 0, 1, ROUTER_ADVERTISEMENT),  # 9: -> accept, else -> drop
    (0x06, 0, 0, SNAPLEN),     # 10: ret #SNAPLEN
    (0x06, 0, 0, 0),           # 11: ret #0
]


def attach_filter(sock):
    program = (SockFilter * len(WATCHED))(*[SockFilter(*insn) for insn in WATCHED])
    fprog = SockFprog(len(WATCHED), program)
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(ctypes.string_at(
        ctypes.addressof(fprog), ctypes.sizeof(fprog))))
    return program  # kept alive by the caller


def ip(b):
    return socket.inet_ntoa(b)


def dhcp_event(payload):
    if len(payload) < 240 or payload[236:240] != b"\x63\x82\x53\x63":
        return None
    options, i = {}, 240
    while i < len(payload) and payload[i] != 255:
        if payload[i] == 0:
            i += 1
            continue
        if i + 1 >= len(payload):
            break
        code, length = payload[i], payload[i + 1]
        options[code] = options.get(code, b"") + payload[i + 2:i + 2 + length]
        i += 2 + length
    kind = options.get(53, b"\0")[0]
    file = payload[108:236].split(b"\0")[0].decode(errors="replace")
    if 67 in options:
        file = options[67].split(b"\0")[0].decode(errors="replace")
    return {"kind": "dhcp", "type": DHCP_TYPES.get(kind, str(kind)),
            "op": "request" if payload[0] == 1 else "reply",
            "mac": mac_text(payload[28:34]),
            "xid": payload[4:8].hex(), "yiaddr": ip(payload[16:20]), "siaddr": ip(payload[20:24]),
            "server": ip(options[54]) if len(options.get(54, b"")) == 4 else "",
            "file": file, "ipxe": 175 in options or b"iPXE" in options.get(77, b""),
            "arch": int.from_bytes(options[93][:2], "big") if 93 in options else None}


def mac_text(b):
    return ":".join(f"{x:02x}" for x in b)


def ndp_event(data):
    """A router solicitation or advertisement (the filter passed nothing
    else over IPv6); None when too short to read."""
    if len(data) < 14 + 40 + 8:
        return None
    icmp = data[54:]
    src = socket.inet_ntop(socket.AF_INET6, data[22:38])
    if icmp[0] == ROUTER_SOLICITATION:
        return {"kind": "ndp", "type": "RS", "mac": mac_text(data[6:12]), "src": src}
    if len(icmp) < 16:
        return None
    prefixes, i = 0, 16
    while i + 2 <= len(icmp) and icmp[i + 1] > 0:  # RFC 4861 4.6: length in 8-byte units
        prefixes += icmp[i] == PREFIX_INFORMATION
        i += icmp[i + 1] * 8
    return {"kind": "ndp", "type": "RA", "mac": mac_text(data[0:6]), "src": src,
            "lifetime": struct.unpack("!H", icmp[6:8])[0], "managed": bool(icmp[5] & 0x80),
            "other": bool(icmp[5] & 0x40), "prefixes": prefixes}


def tftp_strings(data):
    parts = data.split(b"\0")
    return [p.decode(errors="replace") for p in parts[:-1]] if len(parts) > 1 else []


class Watcher:
    def __init__(self):
        self.sessions = {}  # (client ip, client port) -> transfer state
        self.pending = {}   # (client ip, client port) -> RRQ waiting for its server port

    def emit(self, event):
        event["t"] = time.monotonic()
        print(json.dumps(event), flush=True)

    def udp(self, src, dst, sport, dport, payload):
        if sport in DHCP_PORTS or dport in DHCP_PORTS:
            event = dhcp_event(payload)
            if event:
                event.update(src=src, dst=dst)
                self.emit(event)
            return
        if len(payload) < 2:
            return
        opcode = struct.unpack("!H", payload[:2])[0]
        if dport == TFTP_PORT and opcode == RRQ:
            fields = tftp_strings(payload[2:])
            if not fields:
                return
            options = dict(zip(fields[2::2], fields[3::2]))
            key = (src, sport)
            running = self.sessions.get(key)
            if running is not None and running["file"] == fields[0]:
                return  # a retransmitted RRQ (iPXE sends a few): the session goes on
            self.sessions[key] = {"file": fields[0], "server": dst, "blksize": DEFAULT_BLKSIZE,
                                  "bytes": 0, "blocks": 0, "start": time.monotonic(),
                                  "server_port": None, "last_block": 0}
            self.emit({"kind": "rrq", "client": f"{src}:{sport}", "server": dst,
                       "file": fields[0], "options": options})
            return
        # Server -> client (DATA, OACK, ERROR) or client -> server (ACK, ERROR).
        to_client = self.sessions.get((dst, dport))
        from_client = self.sessions.get((src, sport))
        if to_client is not None and (to_client["server_port"] in (None, sport)):
            s = to_client
            s["server_port"] = sport
            client = f"{dst}:{dport}"
            if opcode == DATA:
                block = struct.unpack("!H", payload[2:4])[0] if len(payload) >= 4 else 0
                size = len(payload) - 4
                # Only the next block is new bytes: a retransmission (a window
                # sent again from its first unacknowledged block) is not.
                # After 65535 comes 0, or 1 with rollover to 1.
                expected = (s["last_block"] + 1) & 0xFFFF
                if block == expected or (expected == 0 and block == 1):
                    s["bytes"] += size
                    s["blocks"] += 1
                    s["last_block"] = block
                if size < s["blksize"]:
                    self.emit({"kind": "done", "client": client, "file": s["file"],
                               "bytes": s["bytes"], "blocks": s["blocks"],
                               "blksize": s["blksize"],
                               "seconds": round(time.monotonic() - s["start"], 3)})
                    del self.sessions[(dst, dport)]
            elif opcode == OACK:
                fields = tftp_strings(payload[2:])
                options = dict(zip(fields[0::2], fields[1::2]))
                if "blksize" in options and options["blksize"].isdigit():
                    s["blksize"] = int(options["blksize"])
                self.emit({"kind": "oack", "client": client, "file": s["file"],
                           "server_port": sport, "options": options})
            elif opcode == ERROR:
                self.error(client, "server", s, payload)
                del self.sessions[(dst, dport)]
        elif from_client is not None and opcode == ERROR:
            self.error(f"{src}:{sport}", "client", from_client, payload)
            del self.sessions[(src, sport)]

    def error(self, client, side, session, payload):
        code = struct.unpack("!H", payload[2:4])[0] if len(payload) >= 4 else -1
        message = payload[4:].split(b"\0")[0].decode(errors="replace")
        self.emit({"kind": "error", "client": client, "from": side, "file": session["file"],
                   "code": code, "message": message, "bytes": session["bytes"]})

    def frame(self, data):
        if len(data) < 14 + 20 + 8:
            return
        if struct.unpack("!H", data[12:14])[0] == ETH_P_IPV6:
            event = ndp_event(data)
            if event:
                self.emit(event)
            return
        ihl = (data[14] & 15) * 4
        if data[23] != 17 or struct.unpack("!H", data[20:22])[0] & 0x1fff:
            return  # not UDP, or a fragment past the first
        udp = 14 + ihl
        sport, dport, length = struct.unpack("!HHH", data[udp:udp + 6])
        payload = data[udp + 8:udp + max(8, length)]
        self.udp(ip(data[26:30]), ip(data[30:34]), sport, dport, payload)


def main():
    ifname = sys.argv[1]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    program = attach_filter(sock)
    sock.bind((ifname, 0))
    index = socket.if_nametoindex(ifname)
    mreq = struct.pack("iHH8s", index, PACKET_MR_PROMISC, 0, b"")
    sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    watcher = Watcher()
    print(json.dumps({"kind": "watching", "interface": ifname, "t": time.monotonic()}),
          flush=True)
    del program
    while True:
        data, address = sock.recvfrom(SNAPLEN)
        if address[2] == socket.PACKET_OUTGOING:
            continue  # a bridge's own transmissions: each frame once, as received
        watcher.frame(data)


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        pass
