#!/usr/bin/env python3
"""Leases are never lost, and never promised without the disk.

1. Durability: a client namespace runs a DORA client of ours (it records
   every DHCPACK it gets) next to perfdhcp load from a relay, while the
   dataplane is killed with SIGKILL at random moments, 20 times, and
   restarted. Afterwards the journal holds every (client, address) seen in
   an ACK, and no address was ever acknowledged to two clients.
2. A full disk: the journal sits on a small tmpfs; once it is full the
   dataplane stops acknowledging (drop_journal_failed counts it) instead of
   handing out leases it cannot keep; every ACK the client saw is in the
   journal; when space comes back, ACKs resume.
"""

import argparse
import os
import random
import re
import signal
import struct
import subprocess
import tempfile
import time

import netlab

sys_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz")
import sys  # noqa: E402
sys.path.insert(0, sys_path)
from make_seeds import crc32c  # noqa: E402

KILLS = 20

CONFIG = """dataplane: {{port: net_null0, ipv4: [{server}/22]}}
dhcp:
  lease_time: 1h
  subnets:
    - subnet: 198.18.0.0/22
      pools: [{{first: 198.18.0.10, last: 198.18.3.250}}]
    - subnet: 198.19.7.0/24
      pools: [{{first: 198.19.7.10, last: 198.19.7.250}}]
limits: {{dhcp_rate_per_mac: 0}}
"""

# A DORA client: MACs 02:00:5e:01:<i>, one exchange each, broadcast replies;
# prints "ack <mac> <address>" for every ACK (flushed), gives up on a client
# after 0.3 s without an answer and goes on to the next.
CLIENT = r'''
import os, select, socket, struct, sys, time
iface, first, count, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, iface.encode())
s.bind(("0.0.0.0", 68))
def msg(mac, xid, typ, opts):
    m = struct.pack("!BBBBIHHIIII", 1, 1, 6, 0, xid, 0, 0x8000, 0, 0, 0, 0) + mac + bytes(202)
    m += struct.pack("!I", 0x63825363) + bytes([53, 1, typ])
    for c, v in opts: m += bytes([c, len(v)]) + v
    return m + b"\xff"
def wait(xid, want, until):
    while time.monotonic() < until:
        r, _, _ = select.select([s], [], [], max(0, until - time.monotonic()))
        if not r: return None
        d, _ = s.recvfrom(2048)
        if d[4:8] != struct.pack("!I", xid): continue
        i, t = 240, None
        while i < len(d) and d[i] != 255:
            if d[i] == 0: i += 1; continue
            if d[i] == 53: t = d[i + 2]
            i += 2 + d[i + 1]
        if t == want: return d
    return None
end = time.monotonic() + seconds
for i in range(first, first + count):
    if time.monotonic() > end: break
    mac = bytes([2, 0, 0x5e, 1, i >> 8 & 255, i & 255])
    xid = int.from_bytes(os.urandom(4), "big")
    s.sendto(msg(mac, xid, 1, []), ("255.255.255.255", 67))
    offer = wait(xid, 2, time.monotonic() + 0.3)
    if offer is None: continue
    yi = offer[16:20]
    s.sendto(msg(mac, xid, 3, [(54, bytes([198, 18, 0, 1])), (50, yi)]), ("255.255.255.255", 67))
    ack = wait(xid, 5, time.monotonic() + 0.3)
    if ack is not None:
        print("ack", mac.hex(), socket.inet_ntoa(ack[16:20]), flush=True)
    time.sleep(0.005)  # pace the clients over the run, so kills land among them
'''


def journal_leases(path, now_ms):
    """Replays the journal (format: dataplane/dhcp/journal.h) into
    {address: client id hex} of leases still valid at `now_ms`."""
    data = open(path, "rb").read()
    assert data[:8] == b"STPLEAS1", "not a journal"
    at, leases = 8, {}
    while at + 8 <= len(data):
        length, crc = struct.unpack_from("<II", data, at)
        body = data[at + 8:at + 8 + length]
        if len(body) != length or crc32c(body) != crc:
            break
        kind, address, expires, idlen = struct.unpack_from("<BIQB", body, 0)
        client = body[14:14 + idlen].hex()
        if kind == 1 and expires > now_ms:
            leases[address] = client
        elif kind == 2 and leases.get(address) == client:
            del leases[address]
        at += 8 + length
    return {socket_ntoa(a): c for a, c in leases.items()}


def socket_ntoa(address):
    return ".".join(str(address >> s & 255) for s in (24, 16, 8, 0))


def start(lab, dataplane, journal):
    return lab.start_dataplane(dataplane, extra=[f"--lease_journal={journal}"])


def run_client(lab, first, count, seconds):
    return subprocess.Popen(["ip", "netns", "exec", lab.client_ns, "python3", "-c", CLIENT,
                             lab.client_if, str(first), str(count), str(seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def collect(proc, timeout=60):
    out, _ = proc.communicate(timeout=timeout)
    return [tuple(line.split()[1:3]) for line in out.splitlines() if line.startswith("ack ")]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataplane", required=True)
    parser.add_argument("--control", required=True)
    args = parser.parse_args()
    netlab.require(["ip", "nft", "ethtool", "perfdhcp", "mount"])
    rng = random.Random(int(os.environ.get("STAMPEDE_TEST_SEED", "0")) or None)

    with netlab.Lab(prefix=22) as lab, tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "stampede.yaml")
        with open(path, "w") as f:
            f.write(CONFIG.format(server=lab.server_ip))
        control = lab.start_control(args.control, path, f"{tmp}/run")
        lab.client(["ip", "addr", "add", "198.19.7.1/24", "dev", lab.client_if])
        journal = lab.journal

        # 1. SIGKILL under load, 20 times.
        acks = []
        restored = []
        next_client = 1
        for i in range(KILLS):
            dataplane = start(lab, args.dataplane, journal)
            dataplane.wait_for("event=policy_applied", timeout=30)
            line = next(l for l in dataplane.output if "event=leases_restored" in l)
            restored.append(int(re.search(r" leases=(\d+)", line).group(1)))
            load = subprocess.Popen(["ip", "netns", "exec", lab.client_ns, "perfdhcp", "-4",
                                     "-l", "198.19.7.1", "-r", "300", "-R", "240", "-p", "3",
                                     lab.server_ip], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            client = run_client(lab, next_client, 45, 3)
            next_client += 45
            time.sleep(rng.uniform(0.05, 0.3))  # the random kill point, not a synchronisation
            dataplane.proc.send_signal(signal.SIGKILL)
            dataplane.proc.wait(timeout=10)
            acks += collect(client)
            load.kill()
            load.wait(timeout=10)
        print(f"{len(acks)} ACKs seen across {KILLS} kills; leases restored at each start: {restored}")
        assert len(acks) >= KILLS, "the client saw too few ACKs for the test to mean anything"
        assert any(n > 0 for n in restored[1:]), restored

        by_address = {}
        for mac, address in acks:
            by_address.setdefault(address, set()).add(mac)
        shared = {a: m for a, m in by_address.items() if len(m) > 1}
        assert not shared, f"addresses acknowledged to two clients: {shared}"
        # One more start replays and compacts; then compare with the journal.
        dataplane = start(lab, args.dataplane, journal)
        dataplane.wait_for("event=policy_applied", timeout=30)
        assert dataplane.stop() == 0
        held = journal_leases(journal, int(time.time() * 1000))
        missing = [(mac, a) for mac, a in acks if held.get(a) != "01" + mac]
        assert not missing, f"ACKed but not in the journal: {missing[:10]}"
        print(f"all {len(acks)} ACKed leases are in the journal ({len(held)} leases in all)")

        # 2. A full disk: the journal on a tiny tmpfs with a filler file.
        disk = os.path.join(tmp, "disk")
        os.mkdir(disk)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", disk], check=True)
        try:
            small = os.path.join(disk, "leases.journal")
            dataplane = start(lab, args.dataplane, small)
            dataplane.wait_for("event=policy_applied", timeout=30)
            telemetry = netlab.Telemetry(lab.file_prefix)
            with open(os.path.join(disk, "filler"), "wb") as f:
                try:
                    f.write(b"\0" * (1 << 20))
                except OSError:
                    pass  # ENOSPC: the disk is full, as intended
            # The journal's first tmpfs page still takes ~100 records: ask for more.
            full_acks = collect(run_client(lab, 5000, 160, 50))
            stats = telemetry.query("/stampede/stats")
            print(f"full disk: {len(full_acks)} ACKs, journal_failed={stats['drop_journal_failed']}")
            assert stats["drop_journal_failed"] > 0, stats
            os.unlink(os.path.join(disk, "filler"))
            later = collect(run_client(lab, 6000, 5, 20))
            assert later, "ACKs did not resume once the disk had space again"
            assert dataplane.stop() == 0
            telemetry.close()
            held = journal_leases(small, int(time.time() * 1000))
            lied = [(mac, a) for mac, a in full_acks + later if held.get(a) != "01" + mac]
            assert not lied, f"ACKs the journal does not hold: {lied}"
        finally:
            subprocess.run(["umount", "-l", disk], check=False)
        control.stop()
    print("PASS")


if __name__ == "__main__":
    main()
