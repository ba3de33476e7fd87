#!/usr/bin/env python3
"""Power-on to init: the same VM network-booted through stampede and through
dnsmasq, BIOS and UEFI (end-to-end scenarios 1 and 2). Prints a table; never
asserts on time.

    sudo perf/boot_peers.py --build-dir build [--scenarios bios,uefi] [--runs 1]

Each run is one guest in its own lab (tests/e2e/bootlab.py), the same QEMU
command line pinned to the same CPUs (all but the one stampede's dataplane
polls, in both runs), the same boot files and hand-written menus in the
same TFTP root layout:
  stampede  the dataplane (net_af_packet, one worker) and control, DHCP and
            TFTP (`boot_files.ipxe: nbp`: the iPXE ROM gets pxelinux.0);
  dnsmasq   2.90 on the same veth end with the kernel's stack: DHCP
            (--dhcp-boot per client architecture) and --enable-tftp from
            the same root; its answer to the iPXE ROM is pxelinux.0 too.
Reported per run: seconds from power-on to the DHCP ACK, the kernel and
initrd transfers (seconds and the block size granted, from the wire),
power-on to the kernel's "Run /init as init process" (the ratio: dnsmasq's
time over this one's, above 1 is faster than dnsmasq), and from a capture
on the bridge (tcpdump, 64-byte snaps) each side's turnaround in the
lock-step TFTP exchanges: the server's, a client ACK to the next DATA, and
the guest's, a DATA to its ACK (medians and p90, microseconds).
"""

import argparse
import os
import shutil
import statistics
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))

import boot  # noqa: E402
import bootlab  # noqa: E402
import scenarios  # noqa: E402
import timeline  # noqa: E402


def start_dnsmasq(lab, root, firmware):
    """dnsmasq serving DHCP and TFTP on the server end, as the peer."""
    server = ["ip", "-n", lab.server_ns]
    bootlab.run(server + ["addr", "add", f"{bootlab.SERVER_IP}/{bootlab.PREFIX}", "dev",
                          lab.server_if])
    bootlab.run(["ip", "netns", "exec", lab.server_ns, "ethtool", "-K", lab.server_if, "tx",
                 "off"])
    first, last = bootlab.POOL
    proc = lab.spawn(lab.server_ns, [
        shutil.which("dnsmasq"), "--no-daemon", "--port=0", f"--interface={lab.server_if}",
        "--bind-interfaces", "--no-ping", f"--dhcp-range={first},{last},1h",
        f"--dhcp-leasefile={lab.work_dir}/dnsmasq.leases", "--conf-file=/dev/null",
        f"--pid-file={lab.work_dir}/dnsmasq.pid", "--enable-tftp", f"--tftp-root={root}",
        "--tftp-max=1000", "--dhcp-match=set:efi64,option:client-arch,7",
        "--dhcp-match=set:efi64,option:client-arch,9",
        f"--dhcp-boot=tag:efi64,{scenarios.EFI_NBP}",
        f"--dhcp-boot=tag:!efi64,{scenarios.BIOS_NBP}", "--log-dhcp"], "dnsmasq")
    proc.wait_for("TFTP root is", timeout=30)
    return proc


def turnarounds(pcap):
    """(server ACK->DATA, client DATA->ACK) delays in seconds, from a
    classic pcap of UDP frames: TFTP opcodes 3 (DATA) and 4 (ACK)."""
    with open(pcap, "rb") as f:
        data = f.read()
    offset, last, server, client = 24, None, [], []
    while offset + 16 <= len(data):
        seconds, micros, length, _ = struct.unpack("<IIII", data[offset:offset + 16])
        frame = data[offset + 16:offset + 16 + length]
        offset += 16 + length
        if len(frame) < 44 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue
        udp = 14 + (frame[14] & 15) * 4
        if len(frame) < udp + 10:
            continue
        opcode, t = struct.unpack("!H", frame[udp + 8:udp + 10])[0], seconds + micros / 1e6
        if opcode == 3:
            if last and last[0] == 4:
                server.append(t - last[1])
            last = (3, t)
        elif opcode == 4:
            if last and last[0] == 3:
                client.append(t - last[1])
            last = (4, t)
    return server, client


def median_p90_us(values):
    if not values:
        return "-"
    values = sorted(values)
    return f"{statistics.median(values) * 1e6:.0f}/{values[int(len(values) * 0.9)] * 1e6:.0f}"


def one_boot(build_dir, scenario, server):
    work = tempfile.mkdtemp(prefix=f"stampede-boot-peers-{scenario.name}-{server}-")
    try:
        with bootlab.BootLab(build_dir, work) as lab:
            # The guest off the core stampede's dataplane polls, for both
            # servers: the same CPUs for QEMU whoever serves it.
            cpus = [c for c in range(os.cpu_count() or 1) if c != lab.lcore]
            lab.guest_cpus = ",".join(map(str, cpus)) if cpus else None
            root = os.path.join(work, "tftp")
            if server == "stampede":
                root = boot.prepare(lab, scenario)
            else:
                scenarios.make_tftp_root(root)
                scenario.menus(root)
                start_dnsmasq(lab, root, scenario.firmware)
            lab.start_watch()
            pcap = os.path.join(work, "tftp.pcap")
            capture = lab.spawn(lab.client_ns, ["tcpdump", "-i", lab.bridge, "-s", "64", "-w",
                                                pcap, "udp"], "tcpdump")
            capture.wait_for("listening on", timeout=10)
            vm = lab.new_vm("vm1", scenario.firmware)
            line = timeline.Timeline(lab, [vm], quiet=True)
            vm.start()
            timeout = scenario.timeout_kvm if lab.kvm else scenario.timeout_tcg
            _, seconds = vm.wait_serial(scenario.marker, timeout, on_poll=line.poll)
            line.poll(final=True)
            capture.stop()
            server_turn, client_turn = turnarounds(pcap)
            guest = next(iter(line.guests.values()))
            transfers = {t["file"].lstrip("/"): t for t in guest.transfers}
            files = [transfers.get(p) for p in (scenarios.KERNEL, scenarios.INITRD)]
            return {"ack": guest.dhcp.get("ACK"), "init": seconds,
                    "tftp": sum(t["seconds"] for t in files if t),
                    "blksize": "/".join(sorted({str(t["blksize"]) for t in files if t})),
                    "accel": "KVM" if lab.kvm else "TCG",
                    "server_turn": median_p90_us(server_turn),
                    "client_turn": median_p90_us(client_turn)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--scenarios", default="bios,uefi")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    bootlab.exit_on_sigterm()
    missing = []
    for name in args.scenarios.split(","):
        missing += boot.prerequisites(scenarios.SCENARIOS[name])
    missing += bootlab.missing_prerequisites(commands=["dnsmasq", "tcpdump"])
    if missing:
        print("boot_peers: missing: " + "; ".join(sorted(set(missing))))
        return 77
    rows = []
    for name in args.scenarios.split(","):
        scenario = scenarios.SCENARIOS[name]
        for run in range(args.runs):
            results = {}
            for server in ("stampede", "dnsmasq"):
                start = time.monotonic()
                results[server] = one_boot(args.build_dir, scenario, server)
                print(f"{name} run {run + 1} {server}: init at {results[server]['init']:.1f} s "
                      f"(wall {time.monotonic() - start:.0f} s)", flush=True)
            for server, r in results.items():
                rows.append((name, server, r, results["dnsmasq"]["init"] / r["init"]))
    print()
    print("| boot | server | accel | DHCP ACK s | kernel+initrd TFTP s (blksize) | "
          "power-on to init s | dnsmasq / this | server ACK->DATA us p50/p90 | "
          "guest DATA->ACK us p50/p90 |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, server, r, ratio in rows:
        ack = f"{r['ack']:.1f}" if r["ack"] is not None else "-"
        print(f"| {name} | {server} | {r['accel']} | {ack} | {r['tftp']:.1f} ({r['blksize']}) | "
              f"{r['init']:.1f} | {ratio:.2f}x | {r['server_turn']} | {r['client_turn']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
