#!/usr/bin/env python3
"""TFTP reads: stampede vs tftpd-hpa vs atftpd vs dnsmasq, each alone on the
same veth pair in its own namespaces, serving the same file to the same
client (perf/tftp_load: N concurrent PXE-like clients from one process).

Every transfer asks blksize 1468 and tsize, and windowsize where the server
implements RFC 7440 (stampede, atftpd); tftp_load checks each transfer's size
against tsize and its bytes against the file's SHA-256. Per server and number
of concurrent clients: aggregate MB/s and completion time (RRQ to last ACK)
p50/p99. Prints a markdown table and writes JSON (--json). Never fails on a
number: only when a server cannot be started, answers nothing, or sends
wrong bytes (and, in --quick, when any transfer fails).

  sudo perf/tftp_peers.py --dataplane build/dataplane/stampede-dataplane \\
      --control build/control/stampede-control [--quick] [--json out.json] \\
      [--servers stampede,tftpd-hpa,atftpd,dnsmasq] [--stampede_args=--idle_sleep_us=1000]
"""

import argparse
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests", "integration"), os.path.join(HERE, "..", "tests", "pylib")]
import netlab  # noqa: E402

SERVERS = ["stampede", "tftpd-hpa", "atftpd", "dnsmasq"]
# RFC 7440 windowsize: stampede and atftpd 0.8 grant it; tftpd-hpa 5.2 and
# dnsmasq 2.90 ignore the option (their OACK leaves it out: lock-step).
WINDOWED = {"stampede", "atftpd"}
ATFTPD = "/var/lib/stampede/peers/atftpd/usr/sbin/atftpd"  # unpacked by scripts/setup
BLKSIZE = 1468  # a 1500-byte MTU: 1468 + 4 TFTP + 8 UDP + 20 IPv4
WINDOWSIZE = 16  # stampede's default max_windowsize
FILE = "bench.bin"
PROBE = "probe.bin"  # what the readiness poll reads
CLIENTS, CLIENTS_QUICK = [1, 50, 500], [1, 20]
FILE_MB, FILE_MB_QUICK = 8, 0.25  # a kernel; a bootloader
MIN_TRANSFERS = 5  # the one-client row reads the file this many times in a row
RUN_DEADLINE_S = 240  # tftp_load's --deadline_s per row
READY_TIMEOUT_S = 30

# TFTP only: its defaults grant blksize 1468 and windowsize 16.
STAMPEDE_CONFIG = """dataplane: {{port: net_null0, ipv4: [{ip}/{prefix}]}}
tftp: {{root: {root}}}
"""


def make_root(tmp, file_bytes):
    """The TFTP root every server serves: the benchmark file and the probe,
    readable by the unprivileged users the daemons switch to."""
    os.chmod(tmp, 0o755)
    root = os.path.join(tmp, "root")
    os.mkdir(root, 0o755)
    digests = {}
    for name, size in ((FILE, file_bytes), (PROBE, 1000)):
        data = os.urandom(size)
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(root, name), 0o644)
        digests[name] = hashlib.sha256(data).hexdigest()
    return root, digests


def tftp_load(lab, args, tmp, file, digest, clients, total, windowsize, deadline_s,
              timeout_ms=1000, retries=5):
    """One tftp_load run from the client namespace; its JSON summary, or None
    when it printed none."""
    out = os.path.join(tmp, "load.json")
    if os.path.exists(out):
        os.unlink(out)
    command = [args.tftp_load, f"--server={lab.server_ip}", f"--file={file}", f"--sha256={digest}",
               f"--clients={clients}", f"--total={total}", f"--blksize={BLKSIZE}", "--tsize",
               f"--windowsize={windowsize}", f"--timeout_ms={timeout_ms}", f"--retries={retries}",
               f"--deadline_s={deadline_s}", f"--json={out}"]
    run = lab.client(command, check=False, timeout=deadline_s + 30)
    if run.returncode not in (0, 1) or not os.path.exists(out):
        print(f"  tftp_load exited {run.returncode}:\n{run.stdout}", flush=True)
        return None
    with open(out) as f:
        return json.load(f)


def wait_answering(lab, args, tmp, digests, server, name):
    """Polls with real one-block reads until the server answers one (bounded);
    each poll waits for its own timeouts, so this never spins."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if server is not None and server.proc.poll() is not None:
            raise AssertionError(f"{name} exited with {server.proc.returncode} before answering")
        r = tftp_load(lab, args, tmp, PROBE, digests[PROBE], 1, 1, 0, 5, timeout_ms=250, retries=3)
        if r and r["ok"] == 1:
            return
        refused = [why for why in (r or {}).get("failures", {}) if why.startswith("ERROR")]
        if refused:
            raise AssertionError(f"{name} refused the probe: {refused}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} answered no read of {PROBE} within {READY_TIMEOUT_S}s: {r}")


def measure(lab, args, tmp, digests, name, levels):
    windowsize = WINDOWSIZE if name in WINDOWED else 0
    rows = {}
    for clients in levels:
        total = max(clients, MIN_TRANSFERS)
        r = tftp_load(lab, args, tmp, FILE, digests[FILE], clients, total, windowsize,
                      RUN_DEADLINE_S)
        if r:
            print(f"  {name} x {clients}: {r['ok']}/{total} ok, {r['mb_per_s']:.1f} MB/s, "
                  f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
                  f"{r['retransmissions']} retransmissions ({r['rrq_retransmissions']} RRQs), "
                  f"failures {r['failures']}", flush=True)
        rows[clients] = r
    return rows


def kernel_lab():
    """A lab whose server end has a kernel address, for the kernel daemons."""
    lab = netlab.Lab()
    lab.__enter__()
    try:
        lab.server(["ip", "addr", "add", f"{lab.server_ip}/{lab.prefix}", "dev", lab.server_if])
    except BaseException:
        lab.__exit__(None, None, None)
        raise
    return lab


def peer_command(name, lab, root, tmp):
    if name == "tftpd-hpa":
        # A process per transfer, no connection limit to raise.
        return ["in.tftpd", "--foreground", "--ipv4", "--address", lab.server_ip,
                "--secure", root]
    if name == "atftpd":
        # A thread per transfer, 100 by default.
        return [ATFTPD, "--daemon", "--no-fork", "--port", "69", "--bind-address", lab.server_ip,
                "--maxthread", "2000", "--logfile", f"{tmp}/atftpd.log", root]
    if name == "dnsmasq":
        # 50 transfers by default; its descriptor limit is raised in main().
        return [shutil.which("dnsmasq"), "--keep-in-foreground", "--port=0", "--enable-tftp",
                f"--tftp-root={root}", "--tftp-max=10000", f"--interface={lab.server_if}",
                "--bind-interfaces", "--conf-file=/dev/null", f"--pid-file={tmp}/dnsmasq.pid",
                f"--log-facility={tmp}/dnsmasq.log", "--quiet-tftp"]
    raise ValueError(name)


def run_peer(name, args, tmp, root, digests, levels):
    lab = kernel_lab()
    try:
        # The daemons' own logs go to files (they can log per transfer, and
        # nothing reads their stdout while tftp_load runs).
        for log in ("atftpd.log", "dnsmasq.log"):
            path = os.path.join(tmp, log)
            open(path, "a").close()
            os.chmod(path, 0o666)
        server = lab.spawn(lab.server_ns, peer_command(name, lab, root, tmp), name)
        wait_answering(lab, args, tmp, digests, server, name)
        try:
            return measure(lab, args, tmp, digests, name, levels)
        finally:
            server.stop()
    finally:
        lab.__exit__(None, None, None)


def run_stampede(args, tmp, root, digests, levels):
    with netlab.Lab() as lab:
        path = os.path.join(tmp, "stampede.yaml")
        with open(path, "w") as f:
            f.write(STAMPEDE_CONFIG.format(ip=lab.server_ip, prefix=lab.prefix, root=root))
        dataplane = lab.start_dataplane(args.dataplane,
                                        extra=["--huge_pages=off", *args.stampede_args],
                             port_options="framecnt=4096")
        lab.start_control(args.control, path, f"{tmp}/run")
        telemetry = netlab.Telemetry(lab.file_prefix)
        lab.wait_serving(telemetry)
        telemetry.close()
        wait_answering(lab, args, tmp, digests, dataplane, "stampede")
        rows = measure(lab, args, tmp, digests, "stampede", levels)
        print_counters(lab)
        return rows


def print_counters(lab):
    """The appliance's side of the same run: its TFTP counters, if it has them."""
    telemetry = netlab.Telemetry(lab.file_prefix)
    try:
        print(f"  stampede /stampede/tftp: {telemetry.query('/stampede/tftp')}", flush=True)
    except (KeyError, TypeError, ValueError, OSError) as e:
        print(f"  stampede /stampede/tftp: unavailable ({e!r})", flush=True)
    finally:
        telemetry.close()


def run_server(name, args, tmp, root, digests, levels):
    """A server's rows, or None when it could not be started or never answered."""
    try:
        if name == "stampede":
            return run_stampede(args, tmp, root, digests, levels)
        return run_peer(name, args, tmp, root, digests, levels)
    except (AssertionError, OSError, subprocess.SubprocessError) as e:
        print(f"  {name}: {e}", flush=True)
        return None


def ratio(value, best, lower_is_better=False):
    if not value or not best:
        return "-"
    return f"{(best / value if lower_is_better else value / best):.2f}x"


def print_table(results, levels):
    print("\n| server | clients | windowsize | MB/s | p50 ms | p99 ms | retransmits (RRQs) | failed "
          "| MB/s vs best peer | p99 vs best peer |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for clients in levels:
        peers = [rows[clients] for name, rows in results.items()
                 if name != "stampede" and rows and rows.get(clients) and rows[clients]["ok"]]
        best_rate = max((r["mb_per_s"] for r in peers), default=None)
        best_p99 = min((r["p99_ms"] for r in peers), default=None)
        for name, rows in results.items():
            r = rows.get(clients) if rows else None
            if not r:
                print(f"| {name} | {clients} | (no answer) | | | | | | | |")
                continue
            window = ",".join(r["windowsize"]) or "-"
            # p99 ratio > 1: this row's tail is shorter than the best peer's.
            print(f"| {name} | {clients} | {window} | {r['mb_per_s']:.1f} | {r['p50_ms']:.1f} | "
                  f"{r['p99_ms']:.1f} | {r['retransmissions']} ({r['rrq_retransmissions']}) | "
                  f"{r['failed']} | {ratio(r['mb_per_s'], best_rate)} | "
                  f"{ratio(r['p99_ms'], best_p99, lower_is_better=True)} |")


def stop_on_signal(signum, _frame):
    # An exception, not the default exit: the labs' cleanup (kill the
    # servers and tftp_load, delete the namespaces) runs on the way out.
    raise SystemExit(128 + signum)


def main():
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataplane", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--tftp_load",
                        help="the tftp_load binary (default: perf/tftp_load of the same build)")
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help=f"comma-separated, of {','.join(SERVERS)}")
    parser.add_argument("--quick", action="store_true",
                        help="1 and 20 clients, a small file: proves it runs")
    parser.add_argument("--json")
    netlab.add_stampede_args(parser, "--idle_sleep_us=1000")
    args = parser.parse_args()
    servers = [s for s in args.servers.split(",") if s]
    unknown = set(servers) - set(SERVERS)
    if unknown or not servers:
        parser.error(f"--servers: unknown {sorted(unknown)}; choose from {SERVERS}")
    if args.tftp_load is None:
        build = os.path.dirname(os.path.dirname(os.path.abspath(args.dataplane)))
        args.tftp_load = os.path.join(build, "perf", "tftp_load")
    needed = {"tftpd-hpa": ["in.tftpd"], "dnsmasq": ["dnsmasq"]}
    netlab.require(["ethtool", args.tftp_load] + [c for s in servers for c in needed.get(s, [])])
    if "atftpd" in servers and not os.access(ATFTPD, os.X_OK):
        netlab.skip_or_fail(f"missing {ATFTPD} (run scripts/setup)")
    # dnsmasq needs a descriptor per transfer, tftp_load one per client.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    levels = CLIENTS_QUICK if args.quick else CLIENTS
    file_bytes = int((FILE_MB_QUICK if args.quick else FILE_MB) * 1024 * 1024)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root, digests = make_root(tmp, file_bytes)
        for name in servers:
            print(f"{name}: {file_bytes} bytes, clients {levels}", flush=True)
            results[name] = run_server(name, args, tmp, root, digests, levels)

    print_table(results, levels)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"file_bytes": file_bytes, "blksize": BLKSIZE, "windowsize": WINDOWSIZE,
                       "servers": results}, f, indent=1)
    # Numbers are never asserted. A server that could not be started or
    # answered nothing, or wrong bytes, mean the benchmark itself is broken.
    broken = [name for name, rows in results.items()
              if rows is None or any(r is None or r["ok"] == 0 for r in rows.values())]
    wrong = [name for name, rows in results.items()
             if rows and any(r and r["digest_mismatches"] for r in rows.values())]
    failed = [name for name, rows in results.items()
              if rows and any(r and r["failed"] for r in rows.values())]
    if broken or wrong:
        print(f"no answer: {broken}; wrong bytes: {wrong}")
        return 1
    if args.quick and failed:
        print(f"failed transfers in the quick run: {failed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
