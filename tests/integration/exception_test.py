#!/usr/bin/env python3
"""Big segments through the exception path (docs/dataplane.md): the kernel's
TAP has a 65000-byte MTU, peers' SYNs reach the kernel with that MSS and the
kernel's SYN-ACKs reach the wire clamped to the wire's; the kernel's big TCP
segments are cut to the wire's MTU (a file fetched over it is checked by
sha256), by the workers or (the default) by the kernel of the wire's
interface, to which the workers hand them whole (the kernel's receive work
for the TAP steered to the CPUs without a worker); a big datagram without DF is fragmented (the client reassembles
it) and one with DF is answered with ICMP "fragmentation needed" (the
kernel then knows the path's MTU). Both sides are checked: what the client
saw and what the dataplane counted."""

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile

import netlab

# The client's view of the handshake: connect, and read the SYN-ACK's MSS
# option from a packet socket opened before (bounded by its timeout).
SYN_ACK_MSS = r"""
import socket, struct, sys
server, port, ifname = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
sniff.bind((ifname, 0))
sniff.settimeout(5)
conn = socket.create_connection((server, port), timeout=5)
while True:
    frame = sniff.recv(65535)
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != 6 or socket.inet_ntoa(ip[12:16]) != server:
        continue
    tcp = ip[ihl:]
    if tcp[13] & 0x12 != 0x12:
        continue
    options, i = tcp[20:(tcp[12] >> 4) * 4], 0
    while i < len(options) and options[i] != 0:
        if options[i] == 1:
            i += 1
            continue
        if options[i] == 2:
            print("mss", struct.unpack("!H", options[i + 2:i + 4])[0])
            sys.exit(0)
        i += options[i + 1]
    print("mss none")
    sys.exit(0)
"""


def counters(telemetry):
    return telemetry.query("/stampede/stats")


def nstat(lab, ns, names):
    """The kernel's counters `names` in namespace `ns` (absolute values)."""
    out = lab.server(["nstat", "-az", *names]) if ns == lab.server_ns else lab.client(
        ["nstat", "-az", *names])
    values = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in names:
            values[parts[0]] = int(parts[1])
    return values


def start(lab, dataplane_binary, www, extra):
    """The dataplane (with `extra` flags) and an HTTP server behind it."""
    dataplane = lab.start_dataplane(dataplane_binary, extra=extra)
    telemetry = netlab.Telemetry(lab.file_prefix)
    link = lab.server(["ip", "-d", "link", "show", lab.tap_if]).stdout
    assert re.search(r"\bmtu 65000\b", link), link
    http = lab.spawn(lab.server_ns, [sys.executable, "-u", "-m", "http.server", "8080",
                                     "--bind", lab.server_ip, "--directory", www], "http")
    http.wait_for("Serving HTTP", timeout=30)
    return dataplane, http, telemetry


def check_rps(lab, steered):
    """The kernel's receive work for the TAP runs on the CPUs that run no
    worker (the lab's worker is on CPU 1), on every rx queue; or, not
    steered, wherever the kernel puts it (an empty mask)."""
    service = sorted(set(os.sched_getaffinity(0)) - {1})
    assert service, "the test needs a CPU besides the worker's"
    want = sum(1 << cpu for cpu in service) if steered else 0
    queues = lab.server(["ls", f"/sys/class/net/{lab.tap_if}/queues"]).stdout.split()
    rx = [q for q in queues if q.startswith("rx-")]
    assert rx, queues
    for queue in rx:
        mask = lab.server(["cat", f"/sys/class/net/{lab.tap_if}/queues/{queue}/rps_cpus"]).stdout
        assert int(mask.strip().replace(",", ""), 16) == want, (queue, mask, service)


def check_tap_signal(dataplane):
    """net_tap's rx signal is blocked in the worker (the main thread, which
    forwarded the fetch just done) and taken by another thread."""
    line = dataplane.wait_for("event=tap_signal ", timeout=5)
    signal_number = int(re.search(r"signal=(\d+)", line).group(1))
    pid = dataplane.proc.pid
    blocked = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            mask = next(l.split()[1] for l in f if l.startswith("SigBlk:"))
        blocked[int(tid)] = bool(int(mask, 16) >> (signal_number - 1) & 1)
    assert blocked[pid], ("the worker takes the TAP's signal", blocked)
    assert not all(blocked.values()), ("no thread takes the TAP's signal", blocked)


def download(lab, www, body, telemetry):
    """Fetches the file (every byte checked); the counters' deltas and the
    counters after."""
    out_path = os.path.join(www, "fetched.bin")
    before = counters(telemetry)
    lab.client(["curl", "-sS", "--fail", "--max-time", "60", "-o", out_path,
                f"http://{lab.server_ip}:8080/blob.bin"], timeout=90)
    with open(out_path, "rb") as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(body).digest(), \
            "HTTP body differs"
    os.unlink(out_path)
    after = counters(telemetry)
    return {name: after[name] - before[name] for name in after if isinstance(after[name], int)}, \
        after


def check_idle_sleeps(telemetry):
    """The idle worker sleeps: its counter grows (bounded wait)."""
    first = counters(telemetry)["idle_sleeps"]
    netlab.poll(lambda: counters(telemetry)["idle_sleeps"], lambda now: now >= first + 100,
                f"the idle worker does not sleep (idle_sleeps was {first})")


def redirected_bytes(lab, dev, hook):
    """What the redirect rule on `dev`'s `hook` has sent (tc's counters), in
    bytes."""
    out = lab.server(["tc", "-s", "-j", "filter", "show", "dev", dev, hook]).stdout
    total = 0
    for rule in json.loads(out):
        for action in rule.get("options", {}).get("actions", []):
            total += action.get("stats", {}).get("bytes", 0)
    return total


def fetch(lab, www, body, telemetry, kernel_gso):
    """A file through big segments, every byte checked, and how the frames
    left: cut by the worker, or whole to the wire's kernel interface."""
    delta, after = download(lab, www, body, telemetry)
    frames, segments = delta["tso_frames"], delta["tso_segments"]
    print(f"kernel_gso {kernel_gso}: tso_frames {frames} tso_segments {segments} "
          f"kernel_gso_frames {delta['kernel_gso_frames']} tx_packets {delta['tx_packets']} "
          f"drop_own_frame {delta['drop_own_frame']}")
    assert frames > 0 and segments > frames, after
    if kernel_gso:
        # Every big frame went whole; the port's packet socket's filter
        # kept them out of its ring (no worker saw them as our own).
        assert delta["kernel_gso_frames"] == frames, delta
        assert delta["drop_own_frame"] == 0, delta
        assert delta["tx_packets"] < segments, delta
    else:
        # Every segment left through the port (1514-byte frames at most).
        assert delta["kernel_gso_frames"] == 0, delta
        assert delta["tx_packets"] >= segments, delta
    for reason in ("segment_unsupported", "segment_no_mbufs", "exception_too_big",
                   "tx_queue_full", "kernel_gso_refused", "ipv4_bad_total_length"):
        assert after[f"drop_{reason}"] == 0, (reason, after)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataplane", required=True)
    args = parser.parse_args()
    netlab.require(["ip", "nft", "tc", "ping", "curl", "ethtool", "nstat", "ss"])

    with netlab.Lab() as lab, tempfile.TemporaryDirectory() as www:
        body = os.urandom(8 << 20)
        with open(os.path.join(www, "blob.bin"), "wb") as f:
            f.write(body)
        # The workers cut the kernel's big segments themselves...
        dataplane, http, telemetry = start(
            lab, args.dataplane, www,
            ["--kernel_redirect=off", "--kernel_gso=off", "--exception_rps=off"])
        check_rps(lab, steered=False)
        fetch(lab, www, body, telemetry, kernel_gso=False)
        telemetry.close()
        http.stop()
        dataplane.stop()
        # ... or hand them whole to the wire's kernel interface.
        dataplane, http, telemetry = start(lab, args.dataplane, www, ["--kernel_redirect=off"])
        dataplane.wait_for("event=kernel_gso ", timeout=5)
        check_rps(lab, steered=True)
        fetch(lab, www, body, telemetry, kernel_gso=True)
        check_tap_signal(dataplane)

        # The handshake: the client sees the wire's MSS, the kernel the TAP's.
        before = counters(telemetry)
        seen = lab.client([sys.executable, "-c", SYN_ACK_MSS, lab.server_ip, "8080",
                           lab.client_if], timeout=30)
        assert seen.stdout.split() == ["mss", "1460"], seen.stdout
        after = counters(telemetry)
        assert after["mss_raised"] - before["mss_raised"] == 1, after
        assert after["mss_clamped"] - before["mss_clamped"] == 1, after

        # A datagram over the wire's MTU without DF: fragmented, reassembled
        # by the client, which answers it (the answer's fragments reach the
        # kernel through af_packet's own reassembly or not: only the client's
        # side is checked).
        names = ["IpReasmOKs", "IcmpInEchos"]
        client_before = nstat(lab, lab.client_ns, names)
        before = counters(telemetry)
        lab.server(["ping", "-c", "1", "-W", "2", "-M", "dont", "-s", "3000", lab.client_ip],
                   check=False)
        after = counters(telemetry)
        client_after = nstat(lab, lab.client_ns, names)
        assert after["ipv4_fragmented"] - before["ipv4_fragmented"] == 1, after
        assert after["ipv4_fragments"] - before["ipv4_fragments"] == 3, after
        for name in names:
            assert client_after.get(name, 0) - client_before.get(name, 0) == 1, \
                (name, client_before, client_after)

        # The same with DF: dropped, and the kernel told the wire's MTU.
        before = counters(telemetry)
        ping = lab.server(["ping", "-c", "1", "-W", "2", "-M", "do", "-s", "3000",
                           lab.client_ip], check=False)
        print(ping.stdout)
        after = counters(telemetry)
        assert after["frag_needed"] - before["frag_needed"] == 1, after
        assert after["drop_exception_dont_fragment"] - before["drop_exception_dont_fragment"] \
            == 1, after
        route = lab.server(["ip", "route", "get", lab.client_ip]).stdout
        assert re.search(r"\bmtu 1500\b", route), route
        assert counters(telemetry)["idle_sleeps"] == 0, "busy polling slept"
        telemetry.close()
        http.stop()
        dataplane.stop()

        # The default: the kernel's TCP goes from the TAP straight to the
        # wire's interface; the workers see only its SYNs. The worker sleeps
        # when idle, here.
        dataplane, http, telemetry = start(lab, args.dataplane, www, ["--idle_sleep_us=50"])
        dataplane.wait_for("event=kernel_redirect ", timeout=5)
        check_idle_sleeps(telemetry)
        # A sleeping worker keeps the TAP's receive work (exception_rps auto).
        check_rps(lab, steered=False)
        out_before = redirected_bytes(lab, lab.tap_if, "egress")
        in_before = redirected_bytes(lab, lab.server_if, "ingress")
        delta, after = download(lab, www, body, telemetry)
        out_bytes = redirected_bytes(lab, lab.tap_if, "egress") - out_before
        in_bytes = redirected_bytes(lab, lab.server_if, "ingress") - in_before
        print(f"kernel_redirect: {out_bytes} bytes out, {in_bytes} in; from_kernel "
              f"{delta['from_kernel']} to_kernel {delta['to_kernel']} tso_frames "
              f"{delta['tso_frames']} mss_raised {delta['mss_raised']} mss_clamped "
              f"{delta['mss_clamped']}")
        assert out_bytes >= len(body), out_bytes
        # The client's request and its ACKs (80-odd for 8 MiB here) went in
        # by the rule, never through a worker.
        assert in_bytes > 2000, in_bytes
        # The SYN-ACK and SYN, ARP and the like: a handful each way, where the
        # file alone is at least 128 frames through the workers.
        assert delta["from_kernel"] < 32 and delta["tso_frames"] == 0, delta
        assert delta["to_kernel"] < 32, delta
        assert delta["mss_raised"] == 0 and delta["mss_clamped"] == 1, delta
        assert delta["drop_own_frame"] == 0, delta
        for reason in ("exception_too_big", "tx_queue_full", "ipv4_bad_total_length"):
            assert after[f"drop_{reason}"] == 0, (reason, after)
        # A peer offering a bigger MSS than the wire takes is clamped on the
        # way in (the kernel's GSO frames are cut to what the wire carries),
        # and its download still arrives whole.
        lab.client(["ip", "link", "set", lab.client_if, "mtu", "9000"])
        lab.server(["ip", "link", "set", lab.server_if, "mtu", "1500"])
        delta, after = download(lab, www, body, telemetry)
        assert delta["mss_clamped"] == 2 and delta["mss_raised"] == 0, delta
        seen = lab.client([sys.executable, "-c", SYN_ACK_MSS, lab.server_ip, "8080",
                           lab.client_if], timeout=30)
        assert seen.stdout.split() == ["mss", "1460"], seen.stdout
        telemetry.close()
        http.stop()
        dataplane.stop()
        # The wire's half of the redirect goes with the dataplane.
        qdiscs = lab.server(["tc", "qdisc", "show", "dev", lab.server_if]).stdout
        assert "clsact" not in qdiscs, qdiscs
    print("PASS")


if __name__ == "__main__":
    main()
