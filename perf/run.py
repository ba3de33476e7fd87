#!/usr/bin/env python3
"""One command for stampede against the peers (issue 9): builds what it needs,
sets up namespaces, and measures, each peer on the same veth with the same
load and the same files:

  dhcp      leases/s within 2.5 % drops and p99: stampede vs Kea (memfile) vs
            dnsmasq, with perfdhcp (perf/dhcp_peers.py) and with stormgen
  tftp      MB/s and p99 completion at 1, 50, 500, 5,000 clients: stampede vs
            tftpd-hpa vs atftpd vs dnsmasq (perf/tftp_peers.py, tftp_load)
  http      GB/s with wrk: stampede vs nginx (perf/http_peers.py)
  storm     N emulated PXE clients (stormgen), DHCP + NBP + kernel + initrd:
            time until all finished, stampede vs dnsmasq (DHCP+TFTP) vs
            Kea + tftpd-hpa; and stampede over memif (no kernel at all)
  ceilings  the dataplane per core on a kernel-free port next to the port's
            own ceiling (perf/echo_bench, perf/dhcp_bench, perf/tftp_bench)
  memif     the net_memif port's ceiling per core next to net_null's
            (perf/memif_bench, two DPDK processes), and the dataplane's DHCP
            and TFTP packets/s on its one worker core over memif (stormgen)
  cache_miss  the cache-miss path: the dataplane's io_uring BlockReader vs
            pread, 64 KiB blocks of a disk file out of the page cache
            (perf/cache_miss_bench)

Writes summary.md (the goals' table and every section's table), results.json
and chart.png into --out. Never fails on a number, only when a benchmark
produced none. See docs/stormgen.md.

  sudo perf/run [--quick] [--build build] [--out DIR] [--only dhcp,tftp,...]
"""

import argparse
import contextlib
import json
import os
import re
import resource
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [HERE, os.path.join(ROOT, "tests", "integration"), os.path.join(ROOT, "tests", "pylib")]
import netlab  # noqa: E402
import dhcp_peers  # noqa: E402
import tftp_peers  # noqa: E402

SECTIONS = ["dhcp", "tftp", "http", "storm", "ceilings", "memif", "cache_miss"]
POOL = dhcp_peers.POOL  # 198.18.1.0 - 198.18.255.250, a /16 on the veth

# Sizes: default (under 20 minutes on 2 cores) and --quick (under 3).
SIZES = {
    "default": {
        "perfdhcp_rates": [1000, 2000, 5000, 10000, 20000, 40000], "perfdhcp_seconds": 3,
        "storm_dhcp_rates": [1000, 2000, 5000, 10000, 20000, 40000, 80000, 160000],
        "storm_dhcp_seconds": 2,
        "tftp_clients": [1, 50, 500, 5000], "tftp_file_mb": 1,
        "storm_clients": 5000, "storm_spread_s": 5,
        # A Debian netboot at 1/32 of its size, the NBP at its real size:
        # pxelinux.0/undionly.kpxe 42-70 KiB, linux 8 MiB, initrd.gz 32 MiB.
        "storm_files": [("nbp.0", 64 << 10), ("vmlinuz", 256 << 10), ("initrd.img", 1 << 20)],
        "echo_packets": 2000000, "dhcp_bench_clients": 100000,
        "tftp_bench": ["--transfers=64", "--file_mb=8", "--many=20000"],
        "http": ["--servers", "stampede,nginx", "--paths", "veth", "--seconds", "5"],
        "memif_bench": ["--packets=2000000", "--rounds=3"],
        # Over memif: DHCP clients powering on at `rate`/s; TFTP clients all at
        # once reading one file each.
        "memif_dhcp": {"clients": 40000, "rate": 40000},
        "memif_tftp": {"clients": 64, "file_mb": 8},
        "cache_miss": ["--file_mb=2048", "--read_mb=512", "--rounds=3"],
    },
    "quick": {
        "perfdhcp_rates": [500], "perfdhcp_seconds": 2,
        "storm_dhcp_rates": [500], "storm_dhcp_seconds": 1,
        "tftp_clients": [1, 20], "tftp_file_mb": 0.25,
        "storm_clients": 50, "storm_spread_s": 1,
        "storm_files": [("nbp.0", 16 << 10), ("vmlinuz", 64 << 10), ("initrd.img", 256 << 10)],
        "echo_packets": 200000, "dhcp_bench_clients": 2000,
        "tftp_bench": ["--transfers=16", "--file_mb=2", "--many=5000", "--small=2000",
                       "--rounds=1"],
        "http": ["--quick"],
        "memif_bench": ["--packets=200000", "--rounds=1"],
        "memif_dhcp": {"clients": 1000, "rate": 2000}, "memif_tftp": {"clients": 8, "file_mb": 1},
        "cache_miss": ["--file_mb=64", "--read_mb=16", "--rounds=1"],
    },
}
STORMGEN_LCORE = 0  # the dataplane's worker polls core 1 (netlab's default)
ATFTPD_MAXTHREAD = 10000  # atftpd's thread cap, raised over the 5,000-client row


def log(text):
    print(text, flush=True)


# ---------------------------------------------------------------- build


def build(args):
    """Fills in the binaries: from --build (configured and built with ninja
    unless --no-build), or as given one by one."""
    build_dir = os.path.abspath(args.build)
    targets = {"dataplane": "dataplane/stampede-dataplane",
               "control": "control/stampede-control",
               "stormgen": "perf/stormgen/stormgen", "tftp_load": "perf/tftp_load",
               "echo_bench": "perf/echo_bench", "dhcp_bench": "perf/dhcp_bench",
               "tftp_bench": "perf/tftp_bench", "memif_bench": "perf/memif_bench",
               "cache_miss_bench": "perf/cache_miss_bench"}
    if not args.no_build:
        if not os.path.exists(os.path.join(build_dir, "build.ninja")):
            subprocess.run(["meson", "setup", build_dir, ROOT], check=True)
        subprocess.run(["ninja", "-C", build_dir, *targets.values()], check=True)
    for name, target in targets.items():
        if getattr(args, name) is None:
            # A benchmark not given sits beside one that was (--no-build).
            beside = args.echo_bench if target.startswith("perf/") and args.no_build else None
            setattr(args, name, os.path.join(os.path.dirname(beside), os.path.basename(target))
                    if beside else os.path.join(build_dir, target))


# ---------------------------------------------------------------- labs


def stampede_config(lab, root=None, boot_file=None):
    lines = [f"dataplane: {{port: net_null0, ipv4: [{lab.server_ip}/{lab.prefix}]}}",
             "dhcp:",
             "  lease_time: 1h",
             f"  subnets: [{{subnet: 198.18.0.0/16, pools: [{{first: {POOL[0]}, last: {POOL[1]}}}]"
             + (", profile: storm" if boot_file else "") + "}]",
             "limits: {dhcp_rate_per_mac: 0}"]
    if root:
        lines.append(f"tftp: {{root: {root}, bootloaders: [none]}}")
    if boot_file:
        lines.append(f"profiles: [{{name: storm, boot_files: {{bios: {boot_file}}}}}]")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def stampede_lab(args, tmp, root=None, boot_file=None):
    """stampede (dataplane on net_af_packet, control) on the server end of a
    fresh /16 veth lab, serving; removed on the way out."""
    with netlab.Lab(prefix=16) as lab:
        path = os.path.join(tmp, f"stampede-{lab.tag}.yaml")
        with open(path, "w") as f:
            f.write(stampede_config(lab, root, boot_file))
        # The port's ring as the dataplane sizes it (8,192 frames).
        lab.start_dataplane(args.dataplane, extra=["--huge_pages=off"])
        lab.start_control(args.control, path, f"{tmp}/run-{lab.tag}")
        telemetry = netlab.Telemetry(lab.file_prefix)
        try:
            lab.wait_serving(telemetry)
        finally:
            telemetry.close()
        yield lab


@contextlib.contextmanager
def kernel_lab():
    """A /16 veth lab whose server end has 198.18.0.1 for a kernel daemon, with
    tx checksum offload off on both ends: stormgen's packet socket then sees
    whole checksums, as from a real NIC."""
    with netlab.Lab(prefix=16) as lab:
        lab.server(["ip", "addr", "add", f"{lab.server_ip}/16", "dev", lab.server_if])
        lab.server(["ethtool", "-K", lab.server_if, "tx", "off"])
        yield lab


def spawn_daemon(lab, name, command, ready=None, ready_timeout=30):
    process = lab.spawn(lab.server_ns, command, name)
    if ready:
        process.wait_for(ready, timeout=ready_timeout)
    return process


def kea_config(lab, tmp, boot_file=None):
    config = json.loads(dhcp_peers.kea_config(lab.server_if, tmp))
    if boot_file:
        subnet = config["Dhcp4"]["subnet4"][0]
        subnet["next-server"] = lab.server_ip
        subnet["boot-file-name"] = boot_file
    # A lease file of its own: every start is a fresh server.
    tag = secrets.token_hex(3)
    config["Dhcp4"]["lease-database"]["name"] = f"{tmp}/kea-{tag}.leases"
    path = os.path.join(tmp, f"kea-{tag}.json")
    with open(path, "w") as f:
        json.dump(config, f)
    os.makedirs(f"{tmp}/kea-run", exist_ok=True)
    os.environ["KEA_PIDFILE_DIR"] = f"{tmp}/kea-run"
    os.environ["KEA_LOCKFILE_DIR"] = f"{tmp}/kea-run"
    return ["kea-dhcp4", "-c", path]


def dnsmasq_command(lab, tmp, dhcp=True, tftp_root=None, boot_file=None):
    command = [shutil.which("dnsmasq"), "--no-daemon", "--port=0", f"--interface={lab.server_if}",
               "--bind-interfaces", "--conf-file=/dev/null", f"--pid-file={tmp}/dnsmasq.pid",
               "--quiet-dhcp", "--quiet-tftp"]
    if dhcp:
        command += ["--no-ping", f"--dhcp-range={POOL[0]},{POOL[1]},1h",
                    f"--dhcp-leasefile={tmp}/dnsmasq-{secrets.token_hex(3)}.leases", "--dhcp-lease-max=100000"]
    if boot_file:
        command.append(f"--dhcp-boot={boot_file}")
    if tftp_root:
        command += ["--enable-tftp", f"--tftp-root={tftp_root}", "--tftp-max=10000"]
    return command


def run_stormgen(args, lab, ns, port, flags, tmp, timeout):
    """One stormgen run; its JSON report, or None (after saying why)."""
    tag = secrets.token_hex(3)
    out = os.path.join(tmp, f"stormgen-{tag}.json")
    prefix = f"stormgen-{tag}"
    command = ["ip", "netns", "exec", ns, args.stormgen, f"--port={port}",
               f"--lcore={STORMGEN_LCORE}", f"--file_prefix={prefix}", f"--json={out}", *flags]
    try:
        run = subprocess.run(command, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             timeout=timeout)
    except subprocess.TimeoutExpired as e:
        log(f"  stormgen did not finish within {timeout}s:\n{e.stdout}")
        return None
    finally:
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)
    if run.returncode not in (0, 1) or not os.path.exists(out):
        log(f"  stormgen exited {run.returncode}:\n{run.stdout}")
        return None
    for line in run.stdout.splitlines():
        log(f"    {line}")
    with open(out) as f:
        report = json.load(f)
    report["phase"] = {p["name"]: p for p in report["phases"]}
    return report


def af_packet(lab):
    # A deeper ring than the default 512 frames: a storm's replies come in bursts.
    return f"net_af_packet0,iface={lab.client_if},framecnt=4096"


# ---------------------------------------------------------------- DHCP


def dhcp_section(args, size, tmp):
    results = {"perfdhcp": {}, "stormgen": {}}
    rates, seconds = size["perfdhcp_rates"], size["perfdhcp_seconds"]
    # perfdhcp (dhcp_peers.py's search: the last rate within 2.5 % drops).
    try:
        with stampede_lab(args, tmp) as lab:
            results["perfdhcp"]["stampede"] = dhcp_peers.measure(lab, "stampede", rates, seconds, 0)
        results["stormgen"]["stampede"] = stormgen_dhcp(
            args, size, tmp, "stampede", lambda: stampede_lab(args, tmp))
    except (AssertionError, OSError, subprocess.SubprocessError) as e:
        log(f"  stampede: {e}")
    for name in ("kea", "dnsmasq"):
        try:
            with peer_lab(name, tmp) as lab:
                results["perfdhcp"][name] = dhcp_peers.measure(lab, name, rates, seconds, 0)
            results["stormgen"][name] = stormgen_dhcp(
                args, size, tmp, name, lambda name=name: peer_lab(name, tmp))
        except (AssertionError, OSError, subprocess.SubprocessError) as e:
            log(f"  {name}: {e}")
    return results


@contextlib.contextmanager
def peer_lab(name, tmp):
    """Kea or dnsmasq, serving DHCP on the server end of a fresh kernel lab."""
    with kernel_lab() as lab:
        command = kea_config(lab, tmp) if name == "kea" else dnsmasq_command(lab, tmp)
        ready = "DHCP4_STARTED" if name == "kea" else "DHCP, IP range"
        with daemon(lab, name, command, ready):
            yield lab


@contextlib.contextmanager
def daemon(lab, name, command, ready):
    process = spawn_daemon(lab, name, command, ready)
    try:
        with netlab.Drain(process, keep=False):
            yield process
    finally:
        process.stop()


def stormgen_dhcp(args, size, tmp, name, fresh):
    """stormgen's rate search (dhcp_peers.search): clients power on evenly
    at `rate` per second, DHCP only (PXE options, broadcast flag), first
    retransmission after 1 s. Drops: DORAs that needed a retransmission or
    failed. Every rate gets a fresh server from `fresh()` (a context manager
    yielding its lab): each client's lease is new, and the pool is whole."""
    seconds = size["storm_dhcp_seconds"]

    def run(rate):
        # At most 60,000 clients: the pool holds 65,018 addresses, so past
        # 30,000/s a row powers its clients on over less than `seconds`.
        clients = int(min(rate * seconds, 60000))
        with fresh() as lab:
            report = run_stormgen(args, lab, lab.client_ns, af_packet(lab), [
                f"--clients={clients}", f"--rate={rate}", "--files=", "--timers=1000,1000",
                "--deadline_s=30"], tmp, timeout=90)
        if report is None:
            return None
        d = report["phase"]["dhcp"]
        drop = 100.0 * (d["retransmitted"] + d["failures"]) / max(d["started"], 1)
        row = {"rate": rate, "clients": clients, "leases_per_s": d["per_second"], "drop_pct": drop,
               "p50_ms": d["p50_ms"], "p99_ms": d["p99_ms"], "max_ms": d["max_ms"],
               "completions": d["completions"]}
        log(f"  {name} stormgen @ {rate}/s: {row}")
        return row

    return dhcp_peers.search(run, size["storm_dhcp_rates"])


# ---------------------------------------------------------------- TFTP


def tftp_section(args, size, tmp):
    levels = size["tftp_clients"]
    file_bytes = int(size["tftp_file_mb"] * (1 << 20))
    original = tftp_peers.peer_command

    def raised(name, lab, root, tmp_):
        command = original(name, lab, root, tmp_)
        # atftpd's thread cap must not be what limits the 5,000-client row.
        return [str(ATFTPD_MAXTHREAD) if name == "atftpd" and c == "2000" else c for c in command]

    tftp_peers.peer_command = raised
    original_load = tftp_peers.tftp_load

    def patient(*a, **kw):
        # Thousands of RRQs at once overflow every kernel server's socket
        # buffer (and tftp_load's own): give those rows more tries, as PXE
        # firmware retries more than tftp_load's default 5.
        if a[5] >= 1000:
            kw.setdefault("retries", 10)
        return original_load(*a, **kw)
    tftp_peers.tftp_load = patient
    results = {"file_bytes": file_bytes, "servers": {}}
    ttmp = tempfile.mkdtemp(dir=tmp)
    root, digests = tftp_peers.make_root(ttmp, file_bytes)
    try:
        for name in tftp_peers.SERVERS:
            log(f"{name}: {file_bytes} bytes, clients {levels}")
            results["servers"][name] = tftp_peers.run_server(name, args, ttmp, root, digests, levels)
    finally:
        tftp_peers.peer_command = original
        tftp_peers.tftp_load = original_load
    return results


# ---------------------------------------------------------------- HTTP


def http_section(args, size, tmp):
    script = os.path.join(HERE, "http_peers.py")
    if not os.path.exists(script):
        log("  perf/http_peers.py is not there yet: HTTP skipped")
        return None
    out = os.path.join(tmp, "http.json")
    command = [sys.executable, script, "--dataplane", args.dataplane, "--control", args.control,
               "--json", out, *size["http"]]
    run = subprocess.run(command, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=900)
    for line in run.stdout.splitlines():
        if line.startswith("|") or "GB/s" in line:
            log(f"    {line}")
    if not os.path.exists(out):
        log(f"  http_peers.py exited {run.returncode} without JSON:\n{run.stdout[-3000:]}")
        return None
    with open(out) as f:
        return json.load(f)


# ---------------------------------------------------------------- storm


def make_storm_root(tmp, files):
    root = os.path.join(tmp, "storm-root")
    os.makedirs(root, exist_ok=True)
    os.chmod(tmp, 0o755)
    os.chmod(root, 0o755)
    for name, size in files:
        with open(os.path.join(root, name), "wb") as f:
            f.write(os.urandom(size))
        os.chmod(os.path.join(root, name), 0o644)
    return root


def storm_flags(size, files):
    names = ["@bootfile"] + [name for name, _ in files[1:]]
    return [f"--clients={size['storm_clients']}", f"--spread_s={size['storm_spread_s']}",
            f"--files={','.join(names)}", "--timers=pxe", "--blksize=1468", "--windowsize=16",
            "--tftp_timeout_ms=1000", "--tftp_retries=8", "--deadline_s=400"]


def storm_section(args, size, tmp):
    files = size["storm_files"]
    root = make_storm_root(tmp, files)
    nbp = files[0][0]
    flags = storm_flags(size, files)
    results = {"clients": size["storm_clients"], "spread_s": size["storm_spread_s"],
               "files": {name: bytes_ for name, bytes_ in files}, "setups": {}}
    setups = results["setups"]

    def record(name, report):
        setups[name] = report
        if report:
            boot = report["phase"]["boot"]
            log(f"  {name}: {boot['completions']}/{boot['started']} booted, last at "
                f"{boot['last_end_s']:.2f} s")

    try:
        with stampede_lab(args, tmp, root=root, boot_file=nbp) as lab:
            record("stampede", run_stormgen(args, lab, lab.client_ns, af_packet(lab), flags, tmp,
                                            timeout=480))
    except (AssertionError, OSError, subprocess.SubprocessError) as e:
        log(f"  stampede: {e}")
    try:
        with kernel_lab() as lab:
            with daemon(lab, "dnsmasq", dnsmasq_command(lab, tmp, True, root, nbp),
                        "DHCP, IP range"):
                record("dnsmasq", run_stormgen(args, lab, lab.client_ns, af_packet(lab), flags,
                                               tmp, timeout=480))
    except (AssertionError, OSError, subprocess.SubprocessError) as e:
        log(f"  dnsmasq: {e}")
    try:
        with kernel_lab() as lab:
            with daemon(lab, "kea", kea_config(lab, tmp, nbp), "DHCP4_STARTED"), \
                    daemon(lab, "tftpd-hpa", ["in.tftpd", "--foreground", "--ipv4", "--address",
                                              lab.server_ip, "--secure", root], None):
                record("kea+tftpd-hpa", run_stormgen(args, lab, lab.client_ns, af_packet(lab),
                                                     flags, tmp, timeout=480))
    except (AssertionError, OSError, subprocess.SubprocessError) as e:
        log(f"  kea+tftpd-hpa: {e}")
    try:
        record("stampede (memif)", storm_memif(args, tmp, root, nbp, flags))
    except (AssertionError, OSError, subprocess.SubprocessError) as e:
        log(f"  stampede (memif): {e}")
    return results


def storm_memif(args, tmp, root, nbp, flags):
    """The same storm with stormgen on a memif to the dataplane: no kernel
    anywhere on the path (both in one namespace, one core each)."""
    with memif_stampede(args, tmp, root, nbp) as (lab, port, _telemetry):
        return run_stormgen(args, lab, lab.server_ns, port, flags, tmp, timeout=480)


@contextlib.contextmanager
def memif_stampede(args, tmp, root=None, boot_file=None):
    """stampede serving on a memif server port (one worker on core 1, control
    beside it); yields the lab, the memif client port for stormgen and the
    dataplane's telemetry. Everything is removed on the way out."""
    with netlab.Lab(prefix=16) as lab:
        socket_path = f"{lab.state_dir}/memif.sock"
        os.makedirs(lab.state_dir, exist_ok=True)
        path = os.path.join(tmp, f"stampede-{lab.tag}.yaml")
        with open(path, "w") as f:
            f.write(stampede_config(lab, root, boot_file))
        lab.spawn(lab.server_ns, [
            args.dataplane, f"--port=net_memif0,role=server,socket={socket_path},socket-abstract=no",
            f"--ipv4={lab.server_ip}/16", "--lcores=1", "--memory_mb=256", "--huge_pages=off",
            f"--file_prefix={lab.file_prefix}", f"--instance={lab.instance}",
            f"--lease_journal={lab.journal}", f"--exception_iface={lab.tap_if}"],
            "dataplane").wait_for("event=ready", timeout=60)
        lab.start_control(args.control, path, f"{tmp}/run-{lab.tag}")
        telemetry = netlab.Telemetry(lab.file_prefix)
        try:
            lab.wait_serving(telemetry)
            yield lab, f"net_memif0,role=client,socket={socket_path},socket-abstract=no", telemetry
        finally:
            telemetry.close()


# ---------------------------------------------------------------- ceilings


def run_bench(command, timeout=600):
    run = subprocess.run(command, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=timeout)
    if run.returncode != 0:
        log(f"  {os.path.basename(command[0])} exited {run.returncode}:\n{run.stdout[-2000:]}")
    return run.stdout


def ceilings_section(args, size, tmp):
    results = {}
    out = os.path.join(tmp, "echo.json")
    text = run_bench([args.echo_bench, f"--packets={size['echo_packets']}", f"--json={out}"])
    results["echo_text"] = text
    if os.path.exists(out):
        with open(out) as f:
            results["echo"] = json.load(f)
    text = run_bench([args.dhcp_bench, f"--clients={size['dhcp_bench_clients']}",
                      f"--disk_dir={tmp}"])
    results["dhcp"] = {m.group(1).strip(): {"dora_per_s_cpu": float(m.group(2)),
                                            "dora_per_s_wall": float(m.group(3)),
                                            "cycles_per_dora": float(m.group(4))}
                       for m in re.finditer(r"^(leases in memory|journal on \w+)\s+([\d.]+)\s+"
                                            r"([\d.]+)\s+([\d.]+)$", text, re.M)}
    text = run_bench([args.tftp_bench, *size["tftp_bench"]])
    results["tftp"] = {m.group(1).strip(): {"gbit_per_s": float(m.group(2)),
                                            "mpps": float(m.group(3)),
                                            "cycles_per_frame": float(m.group(4))}
                       for m in re.finditer(r"^(zero-copy.*?|copy.*?|ceiling.*?)\s+([\d.]+)\s+"
                                            r"([\d.]+)\s+([\d.]+)\s+[\d.]+x$", text, re.M)}
    for line in text.splitlines():
        log(f"    {line}")
    return results


# ---------------------------------------------------------------- memif


def memif_section(args, size, tmp):
    """The memif port's ceiling (perf/memif_bench), then the dataplane's DHCP
    and TFTP over memif, stormgen on the other core."""
    results = {}
    out = os.path.join(tmp, "memif.json")
    text = run_bench([args.memif_bench, *size["memif_bench"], f"--frame_sizes={MEMIF_FRAMES}",
                      f"--json={out}"])
    for line in text.splitlines():
        if line.strip():
            log(f"    {line}")
    if os.path.exists(out):
        with open(out) as f:
            results["ceiling"] = json.load(f).get("results")
    try:
        results["dataplane"] = memif_dataplane(args, size, tmp)
    except (AssertionError, OSError, subprocess.SubprocessError, KeyError) as e:
        log(f"  stampede (memif): {e!r}")
    return results if results.get("ceiling") or results.get("dataplane") else None


# memif_bench's frame sizes: minimum, DHCP-sized (a BOOTP message is at least
# 300 bytes, 342 on the wire; PXE's options add some), TFTP DATA at blksize 1468.
MEMIF_FRAMES = "64,350,1514"


def memif_dataplane(args, size, tmp):
    """stampede on a memif server port, its one worker on core 1, stormgen
    on core 0: DHCP only (clients powering on at a rate), then TFTP (clients
    all at once, one file each). The worker's packets (rx + tx, from
    /stampede/stats) over the run's span are its packets/s on its one core;
    stormgen plays every client on one core and may be what limits them."""
    dhcp, tftp = size["memif_dhcp"], size["memif_tftp"]
    root = os.path.join(tmp, "memif-root")
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o755)
    file_bytes = int(tftp["file_mb"] * (1 << 20))
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(os.urandom(file_bytes))
    os.chmod(os.path.join(root, "big.bin"), 0o644)
    rows = {}
    with memif_stampede(args, tmp, root) as (lab, port, telemetry):
        runs = {
            "dhcp": [f"--clients={dhcp['clients']}", f"--rate={dhcp['rate']}", "--files=",
                     "--timers=1000,1000", "--deadline_s=60", "--mac_tag=97"],
            "tftp": [f"--clients={tftp['clients']}", "--files=big.bin", "--timers=1000,1000",
                     "--blksize=1468", "--windowsize=16", "--deadline_s=120", "--mac_tag=98"],
        }
        for name, flags in runs.items():
            before = telemetry.query("/stampede/stats")
            report = run_stormgen(args, lab, lab.server_ns, port, flags, tmp, timeout=240)
            after = telemetry.query("/stampede/stats")
            if report is None:
                continue
            boot = report["phase"]["boot"]
            span = boot["last_end_s"] - boot["first_start_s"]
            packets = sum(after[k] - before[k] for k in ("rx_packets", "tx_packets"))
            d = report["phase"]["dhcp"]
            retried = d["retransmitted"] + d["failures"]
            row = {"clients": d["started"], "span_s": span, "worker_packets": packets,
                   "worker_mpps": packets / span / 1e6 if span > 0 else None,
                   "leases_per_s": d["per_second"],
                   "dhcp_drop_pct": 100.0 * retried / max(d["started"], 1),
                   "dhcp_p99_ms": d["p99_ms"], "failed": boot["failures"]}
            t = report["phase"].get("tftp")
            if name == "tftp" and t:
                row.update({"file_bytes": file_bytes, "mb_per_s": t["mb_per_s"],
                            "tftp_p99_ms": t["p99_ms"], "transfers": t["completions"]})
            rows[name] = row
            log(f"  stampede over memif, {name}: {row}")
    return rows


def memif_ceilings(results):
    """memif_bench's memif rows as {frame bytes: row}."""
    rows = (results.get("memif") or {}).get("ceiling") or []
    return {r["frame_bytes"]: r for r in rows if r.get("port") == "net_memif" and r.get("mpps")}


def memif_ceiling_for(ceilings, frame_bytes):
    """The memif ceiling row nearest `frame_bytes` (DHCP ~350, TFTP 1514)."""
    if not ceilings:
        return None, None
    size = min(ceilings, key=lambda b: abs(b - frame_bytes))
    return size, ceilings[size]


# ---------------------------------------------------------------- cache miss


def cache_miss_section(args, size, tmp):
    """perf/cache_miss_bench: io_uring BlockReader vs pread on a file in
    --disk_dir (unlinked as soon as it exists, so never left behind)."""
    out = os.path.join(tmp, "cache_miss.json")
    run = subprocess.run([args.cache_miss_bench, *size["cache_miss"], f"--dir={args.disk_dir}",
                          f"--json={out}"], text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, timeout=1800)
    for line in run.stdout.splitlines():
        if line.strip():
            log(f"    {line}")
    if run.returncode == netlab.SKIP:
        # --disk_dir is tmpfs: no cache miss to measure there, and not a failure.
        return {"skipped": run.stdout.strip()}
    if not os.path.exists(out):
        log(f"  cache_miss_bench exited {run.returncode} without numbers")
        return None
    with open(out) as f:
        return json.load(f)


def cache_miss_rows(results, pattern):
    """(first io_uring row, pread rows) of one pattern."""
    rows = [r for r in (results.get("cache_miss") or {}).get("rows", []) if r["pattern"] == pattern]
    uring = next((r for r in rows if r["reader"].startswith("io_uring")), None)
    return uring, [r for r in rows if r["reader"].startswith("pread")]


def echo_rows(echo):
    """echo_bench's rows as {name: Mpps}; its JSON is a list or a dict of rows."""
    rows = echo.get("results", echo) if isinstance(echo, dict) else echo
    out = {}
    for row in rows if isinstance(rows, list) else []:
        name = row.get("name") or row.get("row")
        mpps = row.get("mpps") or row.get("mpps_per_core")
        if name and mpps:
            out[name] = float(mpps)
    return out


# ---------------------------------------------------------------- summary


def ratio(value, reference):
    return value / reference if value and reference else None


def fmt(value, digits=1, unit=""):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{unit}"


def goals(results):
    """The issue's goals: (goal, stampede, best peer (name), ratio, target)."""
    rows = []
    dhcp = results.get("dhcp") or {}
    for tool in ("perfdhcp", "stormgen"):
        r = dhcp.get(tool) or {}
        s, k = r.get("stampede"), r.get("kea")
        ok = lambda x: x and not x.get("over_limit")  # noqa: E731
        rows.append((f"DHCP leases/s within 2.5 % drops ({tool}) vs Kea",
                     s["leases_per_s"] if ok(s) else None, "kea",
                     k["leases_per_s"] if ok(k) else None, 10.0))
    tftp = (results.get("tftp") or {}).get("servers") or {}
    for clients in (500, 5000, 50, 20):
        srow = (tftp.get("stampede") or {}).get(clients)
        peers = {n: (rows_ or {}).get(clients) for n, rows_ in tftp.items() if n != "stampede"}
        peers = {n: r for n, r in peers.items() if r and r.get("ok")}
        if srow or peers:
            best = max(peers, key=lambda n: peers[n]["mb_per_s"], default=None)
            rows.append((f"TFTP MB/s at {clients} clients vs best peer",
                         srow["mb_per_s"] if srow else None, best,
                         peers[best]["mb_per_s"] if best else None, 5.0))
            break
    http = results.get("http")
    if http:
        by = {(r["path"], r["server"]): r["rows"] for r in http.get("runs", [])}
        s, n = by.get(("veth", "stampede")) or {}, by.get(("veth", "nginx")) or {}
        common = sorted(set(s) & set(n), key=lambda c: int(c))
        if common:
            c = common[-1]
            rows.append((f"HTTP GB/s at {c} connections vs nginx",
                         (s[c] or {}).get("gb_per_s"), "nginx", (n[c] or {}).get("gb_per_s"), 1.0))
    storm = (results.get("storm") or {}).get("setups") or {}

    def storm_time(report):
        if not report:
            return None
        boot = report["phase"]["boot"]
        return boot["last_end_s"] if boot["completions"] == boot["started"] else None
    peers = {n: storm_time(r) for n, r in storm.items() if not n.startswith("stampede")}
    peers = {n: t for n, t in peers.items() if t}
    best = min(peers, key=peers.get, default=None)
    st = storm_time(storm.get("stampede"))
    def booted(report):
        return report["phase"]["boot"]["completions"] if report else None
    counts = {n: booted(r) for n, r in storm.items() if not n.startswith("stampede")}
    counts = {n: c for n, c in counts.items() if c is not None}
    best_count = max(counts, key=counts.get, default=None)
    rows.append(("storm: clients booted (of "
                 f"{(results.get('storm') or {}).get('clients', '?')})",
                 booted(storm.get("stampede")), best_count,
                 counts[best_count] if best_count else None, 1.0))
    # Inverted so that above 1 is better, like the others.
    rows.append((f"storm of {(results.get('storm') or {}).get('clients', '?')} clients: "
                 "1 / time until all booted", 1 / st if st else None, best,
                 1 / peers[best] if best else None, 1.0))
    ceilings = results.get("ceilings") or {}
    tftp_rows = ceilings.get("tftp") or {}
    zero = next((v for k, v in tftp_rows.items() if k.startswith("zero-copy")), None)
    echo = echo_rows(ceilings.get("echo") or {})
    null = next((v for k, v in echo.items() if "null" in k), None)
    if zero:
        # net_ring's own ceiling only passes pointers; net_null allocates and
        # frees each mbuf, the least a real port costs.
        rows.append(("dataplane TFTP Mpps/core vs net_null ceiling", zero["mpps"],
                     "net_null rx+tx", null, 0.5))
    dhcp_rows = ceilings.get("dhcp") or {}
    mem = dhcp_rows.get("leases in memory")
    if mem:
        # A DORA is four DHCP packets through the worker (two in, two out).
        rows.append(("dataplane DHCP Mpps/core vs net_null ceiling",
                     mem["dora_per_s_cpu"] * 4 / 1e6, "net_null rx+tx", null, 0.5))
    # The same per-core work next to the memif port's own cost for frames of
    # that size: which of the two would limit a worker on memif.
    memif = memif_ceilings(results)
    work = {"TFTP": (zero or {}).get("mpps"),
            "DHCP": mem["dora_per_s_cpu"] * 4 / 1e6 if mem else None}
    for name, frame in (("DHCP", 350), ("TFTP", 1514)):
        bytes_, ceiling = memif_ceiling_for(memif, frame)
        if ceiling:
            rows.append((f"dataplane {name} Mpps/core vs memif ceiling", work[name],
                         f"memif rx+tx {bytes_} B", ceiling["mpps"], 0.5))
    for pattern in ("random", "sequential"):
        uring, preads = cache_miss_rows(results, pattern)
        best = max(preads, key=lambda r: r["mb_per_s"], default=None)
        if uring or best:
            rows.append((f"cache miss, {pattern}: io_uring MB/s vs pread",
                         (uring or {}).get("mb_per_s"), (best or {}).get("reader"),
                         (best or {}).get("mb_per_s"), 1.0))
    uring, preads = cache_miss_rows(results, "random")
    cheapest = min((r for r in preads if r["cpu_s_per_gb"]), key=lambda r: r["cpu_s_per_gb"],
                   default=None)
    if uring or cheapest:
        # Inverted (GB per CPU second) so that above 1 is better, like the others.
        rows.append(("cache miss, random: io_uring GB per CPU s vs pread",
                     1 / uring["cpu_s_per_gb"] if uring and uring["cpu_s_per_gb"] else None,
                     (cheapest or {}).get("reader"),
                     1 / cheapest["cpu_s_per_gb"] if cheapest else None, 1.0))
    return rows


def summary_markdown(results, machine, command, elapsed_s):
    lines = [f"perf/run, {time.strftime('%Y-%m-%d')}, {machine}; `{command}`, "
             f"{elapsed_s / 60:.1f} min", "",
             "| goal | stampede | best peer | peer | stampede / peer | goal | met |",
             "| --- | ---: | --- | ---: | ---: | ---: | --- |"]
    ceiling = dhcp_peers.generator_ceiling((results.get("dhcp") or {}).get("perfdhcp") or {})
    for name, s, peer, p, target in goals(results):
        r = ratio(s, p)
        met = "-" if r is None else ("yes" if r >= target else "no")
        if "(perfdhcp)" in name and met == "no" and ceiling and ceiling["vs_best_peer"] \
                and ceiling["vs_best_peer"] < target:
            # The generator, not the server: see dhcp_peers.generator_ceiling.
            met = f"no: this host can measure at most {ceiling['vs_best_peer']:.1f}x"
        lines.append(f"| {name} | {fmt(s, 3 if s and s < 10 else 1)} | {peer or '-'} | "
                     f"{fmt(p, 3 if p and p < 10 else 1)} | {fmt(r, 2, 'x')} | {target:g}x | {met} |")
    lines += section_tables(results, ceiling)
    return "\n".join(lines) + "\n"


def section_tables(results, ceiling):
    lines = []
    dhcp = results.get("dhcp")
    if dhcp:
        lines += ["", "DHCP (each server alone on the same veth; a new lease per client):", "",
                  "| load | server | leases/s within 2.5 % | drops | p99 ms | max ms |",
                  "| --- | --- | ---: | ---: | ---: | ---: |"]
        for tool, rows in dhcp.items():
            for name, r in rows.items():
                if not r:
                    lines.append(f"| {tool} | {name} | (no answer) | | | |")
                    continue
                rate = (f"none (at {r['rate']}/s: {r['leases_per_s']:.0f})"
                        if r.get("over_limit") else f"{r['leases_per_s']:,.0f}")
                p99 = r.get("p99_ms") if tool == "stormgen" else max(
                    [v for v in (r.get("p99_offer_ms"), r.get("p99_ack_ms")) if v is not None],
                    default=None)
                lines.append(f"| {tool} | {name} | {rate} | {r['drop_pct']:.1f} % | "
                             f"{fmt(p99, 2)} | {fmt(r.get('max_ms'), 1)} |")
        if ceiling:  # dhcp_peers.generator_ceiling of the perfdhcp rows
            lines += ["", dhcp_peers.ceiling_text(ceiling) + "."]
    tftp = results.get("tftp")
    if tftp:
        lines += ["", f"TFTP ({tftp['file_bytes']:,} bytes per transfer, tftp_load, blksize 1468,"
                  " windowsize 16 where granted):", "",
                  "| server | clients | MB/s | p50 ms | p99 ms | retransmits | failed |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for name, rows in tftp["servers"].items():
            for clients, r in (rows or {}).items():
                if r:
                    lines.append(f"| {name} | {clients} | {r['mb_per_s']:.1f} | {r['p50_ms']:.1f}"
                                 f" | {r['p99_ms']:.1f} | {r['retransmissions']} | {r['failed']} |")
                else:
                    lines.append(f"| {name} | {clients} | (no answer) | | | | |")
    http = results.get("http")
    if http:
        lines += ["", "HTTP (perf/http_peers.py, wrk over the veth):", "",
                  "| server | connections | GB/s | p99 ms | errors |", "| --- | ---: | ---: | ---: | ---: |"]
        for run in http.get("runs", []):
            for c, r in (run.get("rows") or {}).items():
                if r:
                    lines.append(f"| {run['server']} ({run['path']}) | {c} | {r['gb_per_s']:.3f} | "
                                 f"{r['p99_us'] / 1000:.1f} | {r['errors']} |")
    storm = results.get("storm")
    if storm:
        files = ", ".join(f"{n} {b:,} B" for n, b in storm["files"].items())
        lines += ["", f"Storm: {storm['clients']} PXE clients (stormgen) powering on over "
                  f"{storm['spread_s']} s, DHCP then TFTP of {files}:", "",
                  "| setup | booted | time until all booted s | DHCP p99 ms | TFTP MB/s | "
                  "boot p50 s | boot p99 s | DHCP / TFTP retransmits |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for name, r in storm["setups"].items():
            if not r:
                lines.append(f"| {name} | (failed) | | | | | | |")
                continue
            b, d, t = r["phase"]["boot"], r["phase"]["dhcp"], r["phase"].get("tftp", {})
            lines.append(f"| {name} | {b['completions']}/{b['started']} | {b['last_end_s']:.2f} | "
                         f"{d['p99_ms']:.1f} | {t.get('mb_per_s', 0):.1f} | "
                         f"{b['p50_ms'] / 1000:.2f} | {b['p99_ms'] / 1000:.2f} | "
                         f"{d['retransmissions']} / {t.get('retransmissions', 0)} |")
    ceilings = results.get("ceilings")
    memif = memif_ceilings(results)

    def vs_memif(mpps, frame):
        bytes_, row = memif_ceiling_for(memif, frame)
        text = fmt(ratio(mpps, (row or {}).get("mpps")), 2, "x")
        return text + (f" ({bytes_} B)" if row else "")
    if ceilings:
        lines += ["", "Dataplane on one core, kernel-free port (net_ring); ratios against the "
                  "net_null rx+tx ceiling and the memif rx+tx ceiling (section memif, the "
                  "frame size nearest the row's):", "",
                  "| row | per core | vs net_null ceiling | vs memif ceiling |",
                  "| --- | ---: | ---: | ---: |"]
        echo = echo_rows(ceilings.get("echo") or {})
        null = next((v for k, v in echo.items() if "null" in k), None)
        for name, mpps in echo.items():
            lines.append(f"| echo_bench: {name} | {mpps:.2f} Mpps | "
                         f"{fmt(ratio(mpps, null), 2, 'x')} | {vs_memif(mpps, 64)} |")
        for name, r in (ceilings.get("dhcp") or {}).items():
            mpps = r["dora_per_s_cpu"] * 4 / 1e6
            lines.append(f"| dhcp_bench: {name} | {r['dora_per_s_cpu']:,.0f} DORA/s ({mpps:.2f} "
                         f"Mpps) | {fmt(ratio(mpps, null), 2, 'x')} | {vs_memif(mpps, 350)} |")
        for name, r in (ceilings.get("tftp") or {}).items():
            lines.append(f"| tftp_bench: {name} | {r['gbit_per_s']:.2f} Gbit/s ({r['mpps']:.2f} "
                         f"Mpps) | {fmt(ratio(r['mpps'], null), 2, 'x')} | "
                         f"{vs_memif(r['mpps'], 1514)} |")
    lines += memif_tables(results)
    lines += cache_miss_table(results)
    return lines


def memif_tables(results):
    memif = results.get("memif")
    if not memif:
        return []
    lines = []
    if memif.get("ceiling"):
        lines += ["", "Port ceilings per core (perf/memif_bench): rx burst into tx burst on the "
                  "reflector's core; memif between two DPDK processes (the generator on the other "
                  "core), net_null on the same core; medians:", "",
                  "| row | Mpps/core | cycles/packet | vs net_null | mean burst | "
                  "pair Mpps (wall) | share of its core |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in memif["ceiling"]:
            pair = fmt(r.get("pair_mpps"), 2) if r.get("port") == "net_memif" else "-"
            share = fmt(r["cpu_share"] * 100, 0, " %") if r.get("cpu_share") else "-"
            lines.append(f"| {r['name']} | {r['mpps']:.2f} | {r['cycles_per_packet']:.1f} | "
                         f"{fmt(r.get('ratio_to_null'), 2, 'x')} | {r['burst']:.1f} | {pair} | "
                         f"{share} |")
    over = memif.get("dataplane") or {}
    if over:
        ceilings = memif_ceilings(results)
        lines += ["", "The dataplane over memif (one worker on core 1, stormgen on core 0; the "
                  "worker's rx + tx packets over the run's span, so a lower bound when stormgen "
                  "is the slower side):", "",
                  "| run | clients | result | worker Mpps (rx+tx) | vs memif ceiling | failed |",
                  "| --- | ---: | --- | ---: | ---: | ---: |"]
        for name, r in over.items():
            if name == "dhcp":
                what = (f"{r['leases_per_s']:,.0f} leases/s, {r['dhcp_drop_pct']:.1f} % retried, "
                        f"p99 {r['dhcp_p99_ms']:.1f} ms")
                frame = 350
            else:
                what = (f"{r.get('mb_per_s', 0):.1f} MB/s ({r.get('file_bytes', 0):,} B each), "
                        f"p99 {r.get('tftp_p99_ms', 0):.1f} ms")
                frame = 1514
            bytes_, c = memif_ceiling_for(ceilings, frame)
            versus = fmt(ratio(r["worker_mpps"], (c or {}).get("mpps")), 2, "x")
            lines.append(f"| {name.upper()} | {r['clients']} | {what} | "
                         f"{fmt(r['worker_mpps'], 3)} | {versus}{f' ({bytes_} B)' if c else ''} | "
                         f"{r['failed']} |")
    return lines


def cache_miss_table(results):
    cache = results.get("cache_miss")
    if not cache:
        return []
    if "skipped" in cache:
        return ["", f"Cache miss: skipped ({cache['skipped']})"]
    lines = ["", f"Cache miss (perf/cache_miss_bench): {cache['blocks_per_row']} blocks of 64 KiB "
             f"per row from a {cache['file_mb']} MiB file in {cache['dir']}, page cache dropped "
             f"before each row (at most {cache['resident_before_max'] * 100:.2f} % left), median "
             f"of {cache['rounds']}; ratios against pread x1:", "",
             "| pattern | reader | MB/s (min-max) | IOPS | CPU s/GB | user s/GB | system s/GB | "
             "MB/s vs pread | CPU vs pread | checked (wrong) |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in cache["rows"]:
        spread = (f" ({r['mb_per_s_min']:.0f}-{r['mb_per_s_max']:.0f})"
                  if "mb_per_s_min" in r else "")
        lines.append(f"| {r['pattern']} | {r['reader']} | {r['mb_per_s']:.1f}{spread} | "
                     f"{r['iops']:,.0f} | "
                     f"{r['cpu_s_per_gb']:.3f} | {r['user_s_per_gb']:.3f} | "
                     f"{r['system_s_per_gb']:.3f} | {r['mb_per_s_vs_pread']:.2f}x | "
                     f"{r['cpu_vs_pread']:.2f}x | {r['checked']} ({r['wrong']}) |")
    return lines


# ---------------------------------------------------------------- chart


# A 3x5 pixel font, enough for the chart's labels.
FONT = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
    "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001010010010", "8": "111101111101111",
    "9": "111101111001111", ".": "000000000000010", "x": "000101010101000",
    " ": "000000000000000", "/": "001001010100100", "-": "000000111000000",
    "A": "010101111101101", "B": "110101110101110", "C": "111100100100111",
    "D": "110101101101110", "E": "111100110100111", "F": "111100110100100",
    "G": "111100101101111", "H": "101101111101101", "I": "111010010010111",
    "K": "101110100110101", "L": "100100100100111", "M": "101111111101101",
    "N": "110101101101101", "O": "111101101101111", "P": "111101111100100",
    "R": "110101110101101", "S": "111100111001111", "T": "111010010010010",
    "U": "101101101101111", "W": "101101111111101", "Y": "101101010010010",
    "Z": "111001010100111", "V": "101101101101010", "Q": "111101101111001",
    "J": "001001001101111", "X": "101101010101101", "|": "010010010010010",
    ":": "000010000010000", "(": "001010010010001", ")": "100010010010100",
    ",": "000000000010100", "%": "101001010100101", ";": "000010000010100",
    "_": "000000000000111",
}


def write_png(path, width, height, pixels):
    """pixels: rows of (r, g, b) tuples. A plain RGB PNG with zlib."""
    raw = b"".join(b"\0" + bytes(c for px in row for c in px) for row in pixels)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                                   0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def chart(path, rows):
    """Horizontal bars: stampede / best peer per goal (log scale, 0.1x..100x),
    with the goal marked; labels in a 3x5 font scaled 2x."""
    scale, bar_h, gap, label_w, plot_w = 2, 18, 10, 420, 420
    height = 40 + len(rows) * (bar_h + gap)
    width = label_w + plot_w + 90
    img = [[(255, 255, 255)] * width for _ in range(height)]

    def text(x, y, s, color=(0, 0, 0)):
        for ch in s.upper():
            glyph = FONT.get(ch, FONT[" "])
            for i, bit in enumerate(glyph):
                if bit == "1":
                    for dy in range(scale):
                        for dx in range(scale):
                            px, py = x + (i % 3) * scale + dx, y + (i // 3) * scale + dy
                            if 0 <= px < width and 0 <= py < height:
                                img[py][px] = color
            x += 4 * scale

    def xpos(r):
        import math
        r = min(max(r, 0.1), 100)
        return label_w + int((math.log10(r) + 1) / 3 * plot_w)

    text(10, 8, "STAMPEDE / BEST PEER (LOG, 0.1X-100X); | = GOAL, : = 1X")
    for i, (name, s, _peer, p, target) in enumerate(rows):
        y = 30 + i * (bar_h + gap)
        short = re.sub(r"[^A-Za-z0-9 ./x%()_-]", "", name)[:50]
        text(5, y + 4, short)
        r = ratio(s, p)
        if r:
            met = r >= target
            color = (40, 150, 60) if met else (210, 80, 60)
            for yy in range(y, y + bar_h):
                for xx in range(label_w, xpos(r)):
                    img[yy][xx] = color
            text(xpos(r) + 4, y + 4, f"{r:.2f}x")
        else:
            text(label_w + 4, y + 4, "-")
        gx = xpos(target)
        for yy in range(y - 2, y + bar_h + 2):
            img[yy][gx] = (0, 0, 0)
            img[yy][min(gx + 1, width - 1)] = (0, 0, 0)
        ox = xpos(1)
        for yy in range(y - 2, y + bar_h + 2, 2):
            img[yy][ox] = (90, 90, 90)
    write_png(path, width, height, img)


# ---------------------------------------------------------------- main


def machine_description():
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f
                        if line.startswith("model name")), cpu)
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    kernel = os.uname().release
    return f"{cpu}, {os.cpu_count()} cores, {mem_gb:.0f} GiB, Linux {kernel}"


def stop_on_signal(signum, _frame):
    # An exception, so every lab's cleanup runs on the way out.
    raise SystemExit(128 + signum)


def main():
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="every benchmark at a small size (under 3 minutes): proves it runs")
    parser.add_argument("--only", help=f"comma-separated sections, of {','.join(SECTIONS)}")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"),
                        help="meson build folder (configured and built when needed)")
    parser.add_argument("--no-build", action="store_true", help="use the binaries as they are")
    parser.add_argument("--out", help="folder for summary.md, results.json, chart.png "
                        "(default: a new folder under /tmp)")
    parser.add_argument("--disk_dir", default="/var/tmp",
                        help="disk folder (not tmpfs) for cache_miss's file (removed after)")
    for name in ("dataplane", "control", "stormgen", "tftp_load", "echo_bench", "dhcp_bench",
                 "tftp_bench", "memif_bench", "cache_miss_bench"):
        parser.add_argument(f"--{name}", help=f"the {name} binary (default: from --build)")
    args = parser.parse_args()
    args.stampede_args = []  # the peer scripts' extra dataplane flags: none, the defaults run
    sections = args.only.split(",") if args.only else SECTIONS
    if set(sections) - set(SECTIONS):
        parser.error(f"--only: choose from {SECTIONS}")
    size = SIZES["quick" if args.quick else "default"]
    netlab.require(["ethtool", "perfdhcp", "kea-dhcp4", "dnsmasq", "in.tftpd", "wrk", "nginx"])
    build(args)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    out = args.out or tempfile.mkdtemp(prefix="stampede-perf-")
    os.makedirs(out, exist_ok=True)
    began = time.monotonic()
    results = {"quick": args.quick, "machine": machine_description()}
    functions = {"dhcp": dhcp_section, "tftp": tftp_section, "http": http_section,
                 "storm": storm_section, "ceilings": ceilings_section, "memif": memif_section,
                 "cache_miss": cache_miss_section}
    with tempfile.TemporaryDirectory(prefix="stampede-run-") as tmp:
        os.chmod(tmp, 0o755)
        for section in sections:
            log(f"== {section}")
            started = time.monotonic()
            try:
                results[section] = functions[section](args, size, tmp)
            except (AssertionError, OSError, subprocess.SubprocessError, KeyError,
                    ValueError) as e:
                log(f"  {section} failed: {e!r}")
                results[section] = None
            log(f"== {section}: {time.monotonic() - started:.0f} s")
    elapsed = time.monotonic() - began
    command = "sudo perf/run" + (" --quick" if args.quick else "") + \
        (f" --only {args.only}" if args.only else "")
    text = summary_markdown(results, results["machine"], command, elapsed)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    chart(os.path.join(out, "chart.png"), goals(results))
    print("\n" + text)
    log(f"perf/run: {out}/summary.md, results.json, chart.png ({elapsed / 60:.1f} min)")
    broken = [s for s in sections if not results.get(s) and not (s == "http" and not os.path.exists(
        os.path.join(HERE, "http_peers.py")))]
    if broken:
        log(f"perf/run: no numbers from {broken}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
