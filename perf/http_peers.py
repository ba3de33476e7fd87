#!/usr/bin/env python3
"""HTTP file serving: stampede vs nginx, each alone on the same veth pair in
its own namespaces, serving the same file to wrk at 1, 8 and 64 connections
(keep-alive, the whole file per request). Two paths: "veth", wrk in the
client namespace across the veth (for stampede through its dataplane and
exception path, as a boot client), and "local", wrk in the server's own
namespace (the kernel delivering locally: the servers alone).

Rows:
  stampede         the dataplane's io_uring server, file bytes spliced
                   (--http_send=splice, the default)
  stampede-read    the same, file bytes read into a buffer and sent
  nginx            nginx (sendfile on, one worker) on the veth with a
                   kernel address: the kernel's own path
  nginx-exception  the same nginx on the appliance's address behind
                   stampede's exception path (stampede with --http=off):
                   what the path costs apart from the server

Per row: GB/s (wrk's bytes over its duration) and CPU seconds per GB of
the server process from /proc/<pid>/stat (utime + stime over the run): for
stampede the whole dataplane, whose worker busy-polls a core whatever the
load, and apart from it the HTTP thread with its io_uring workers (the
tasks named stampede-http and iou-wrk-*). Ratios are against nginx on the
same veth, per server process and per host CPU (every CPU's busy time:
softirq work no process's times hold). Every server's bytes are checked
once by sha256 before wrk runs.
--client_cpu N runs wrk on CPU N alone and the server on the others:
nginx's worker by worker_cpu_affinity, stampede's HTTP thread by its own
placement (off the dataplane worker's CPU, CPU 1 with the lab's lcores,
which then shares its CPU with wrk: give it
--stampede_args=--idle_sleep_us=1000 or it spins there). By default
(none) the scheduler places everything.
With --rounds N the servers take turns N times (the VM's speed and the
scheduler's placement move a row by tens of percent from run to run);
each figure in the table is then the median of its rounds, and the range
of GB/s and of host CPU s/GB is printed beside it.
Never fails on a number: only when a server cannot be started, answers
nothing or sends wrong bytes (and, in --quick, when wrk saw errors).

  sudo perf/http_peers.py --dataplane build/dataplane/stampede-dataplane \\
      --control build/control/stampede-control [--quick] [--json out.json] \\
      [--servers stampede,stampede-read,nginx,nginx-exception] [--paths veth,local] \\
      [--connections 1,8,64] [--seconds 10] [--file_mb 16] [--rounds 5] \\
      [--stampede_args=--http_chunk_kb=256]
"""

import argparse
import hashlib
import json
import os
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests", "integration"),
                os.path.join(HERE, "..", "tests", "pylib")]
import netlab  # noqa: E402
from cputime import CpuMeter, children  # noqa: E402

SERVERS = ["stampede", "stampede-read", "nginx", "nginx-exception"]
SERVERS_QUICK = ["stampede", "nginx"]
CONNECTIONS, CONNECTIONS_QUICK = [1, 8, 64], [1, 8]
FILE_MB, FILE_MB_QUICK = 16, 4
SECONDS, SECONDS_QUICK = 10, 2
PATHS = ["veth", "local"]
FILE = "bench.bin"
READY_TIMEOUT_S = 30

STAMPEDE_CONFIG = """dataplane: {{port: net_null0, ipv4: [{ip}/{prefix}]}}
tftp: {{root: {root}}}
http: {{port: 80}}
"""

NGINX_CONFIG = """worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
{affinity}events {{ worker_connections 4096; }}
http {{
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 30s;
  default_type application/octet-stream;
  client_body_temp_path {tmp}/nginx-body;
  proxy_temp_path {tmp}/nginx-proxy;
  fastcgi_temp_path {tmp}/nginx-fastcgi;
  uwsgi_temp_path {tmp}/nginx-uwsgi;
  scgi_temp_path {tmp}/nginx-scgi;
  server {{
    listen {ip}:80;
    root {root};
  }}
}}
"""

# wrk's summary as one JSON line (its text output rounds).
WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"bytes": %d, "duration_us": %d, "requests": %d, "connect_errors": %d, '
    .. '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, '
    .. '"p50_us": %d, "p99_us": %d}\\n',
    summary.bytes, summary.duration, summary.requests, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def make_root(tmp, file_bytes):
    os.chmod(tmp, 0o755)
    root = os.path.join(tmp, "root")
    os.mkdir(root, 0o755)
    data = os.urandom(file_bytes)
    with open(os.path.join(root, FILE), "wb") as f:
        f.write(data)
    os.chmod(os.path.join(root, FILE), 0o644)
    return root, hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------- runs

def check_bytes(run, url, digest, tmp, name):
    """One whole fetch with curl, sha256-checked; polls (bounded) until the
    server answers at all. Each try waits for its own connect timeout."""
    out = os.path.join(tmp, "check.bin")
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        result = run(["curl", "-sS", "--connect-timeout", "2", "--max-time", "60", "-o",
                             out, "-w", "%{http_code}", url], check=False, timeout=90)
        if result.returncode == 0 and result.stdout.strip() == "200":
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} answered no GET within {READY_TIMEOUT_S}s: "
                                 f"{result.stdout}")
        time.sleep(0.2)  # the server is still starting: a bounded poll, not a sync
    with open(out, "rb") as f:
        got = hashlib.sha256(f.read()).hexdigest()
    if got != digest:
        raise AssertionError(f"{name} sent wrong bytes")


def run_wrk(run, url, connections, seconds, script):
    threads = min(connections, 2)
    result = run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                         "--timeout", "30s", "-s", script, url], check=False,
                        timeout=seconds + 60)
    for line in result.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line[len("WRK_JSON "):])
    print(f"  wrk printed no summary (exit {result.returncode}):\n{result.stdout}", flush=True)
    return None


def measure(run, url, pids, parts, levels, seconds, script, name):
    rows = {}
    for connections in levels:
        with CpuMeter(pids, parts) as cpu:
            r = run_wrk(run, url, connections, seconds, script)
        if r:
            duration = r["duration_us"] / 1e6
            gb = r["bytes"] / 1e9
            r["gb_per_s"] = gb / duration if duration else 0
            r["cpu_s"] = cpu.total_s
            r["cpu_s_per_gb"] = cpu.total_s / gb if gb else None
            r["host_cpu_s_per_gb"] = cpu.host_s / gb if gb else None
            r["http_cpu_s"] = cpu.part_s if parts else None
            r["http_cpu_s_per_gb"] = cpu.part_s / gb if parts and gb else None
            r["errors"] = sum(r[k] for k in ("connect_errors", "read_errors", "write_errors",
                                             "status_errors", "timeouts"))
            http = (f", HTTP thread {r['http_cpu_s_per_gb']:.2f} CPU s/GB"
                    if r["http_cpu_s_per_gb"] is not None else "")
            print(f"  {name} x {connections}: {r['gb_per_s']:.3f} GB/s, {r['requests']} requests, "
                  f"{cpu.total_s:.2f} CPU s ({r['cpu_s_per_gb'] or 0:.2f} s/GB{http}, host "
                  f"{r['host_cpu_s_per_gb'] or 0:.2f} s/GB), "
                  f"p99 {r['p99_us'] / 1000:.1f} ms, errors {r['errors']}", flush=True)
        rows[connections] = r
    return rows


def start_stampede(lab, args, tmp, root, http):
    path = os.path.join(tmp, "stampede.yaml")
    with open(path, "w") as f:
        f.write(STAMPEDE_CONFIG.format(ip=lab.server_ip, prefix=lab.prefix, root=root))
    extra = ["--huge_pages=off", "--http_access_log=off", *args.stampede_args]
    extra += [f"--http_send={http}"] if http != "off" else ["--http=off"]
    dataplane = lab.start_dataplane(args.dataplane, extra=extra)
    lab.start_control(args.control, path, f"{tmp}/run")
    telemetry = netlab.Telemetry(lab.file_prefix)
    lab.wait_serving(telemetry)
    return dataplane, telemetry


# /stampede/stats counters of the exception path's big segments (docs/dataplane.md).
EXCEPTION_COUNTERS = ("to_kernel", "from_kernel", "tso_frames", "tso_segments", "mss_raised",
                      "mss_clamped", "mss_malformed", "ipv4_fragmented", "frag_needed")


def exception_path_counters(telemetry):
    stats = telemetry.query("/stampede/stats")
    counters = {name: stats.get(name) for name in EXCEPTION_COUNTERS}
    counters.update({name: value for name, value in stats.items()
                     if name.startswith("drop_") and value})
    return counters


def start_nginx(lab, tmp, root, server_cpus):
    conf = os.path.join(tmp, "nginx.conf")
    # worker_cpu_affinity's mask: a string of 0/1, the last character CPU 0.
    affinity = ("" if not server_cpus else "worker_cpu_affinity " + "".join(
        "1" if cpu in server_cpus else "0" for cpu in reversed(range(max(server_cpus) + 1)))
        + ";\n")
    with open(conf, "w") as f:
        f.write(NGINX_CONFIG.format(tmp=tmp, ip=lab.server_ip, root=root, affinity=affinity))
    nginx = lab.spawn(lab.server_ns, [shutil.which("nginx"), "-c", conf], "nginx")
    return nginx


def kernel_lab():
    """A lab whose server end has a kernel address, for nginx on its own."""
    lab = netlab.Lab()
    lab.__enter__()
    try:
        lab.server(["ip", "addr", "add", f"{lab.server_ip}/{lab.prefix}", "dev", lab.server_if])
    except BaseException:
        lab.__exit__(None, None, None)
        raise
    return lab


def pinned(run, cpu):
    """`run` with the command on CPU `cpu` (None: where the scheduler puts it)."""
    if cpu is None:
        return run
    return lambda command, **kwargs: run(["taskset", "-c", str(cpu), *command], **kwargs)


def run_server(name, path, args, tmp, root, digest, levels, seconds, script):
    """`path` "veth": wrk in the client namespace, across the veth (and for
    stampede through its dataplane); "local": wrk in the server's own
    namespace, the kernel delivering locally: the server alone."""
    url_path = f"/{FILE}"
    server_cpus = ([cpu for cpu in sorted(os.sched_getaffinity(0)) if cpu != args.client_cpu]
                   if args.client_cpu is not None else None)
    if name == "nginx":
        lab = kernel_lab()
        try:
            run = pinned(lab.client if path == "veth" else lab.server, args.client_cpu)
            nginx = start_nginx(lab, tmp, root, server_cpus)
            url = f"http://{lab.server_ip}{url_path}"
            check_bytes(run, url, digest, tmp, name)
            workers = children(nginx.proc.pid)
            try:
                return measure(run, url, [nginx.proc.pid, *workers], (), levels, seconds, script,
                               name)
            finally:
                nginx.stop()
        finally:
            lab.__exit__(None, None, None)
    with netlab.Lab() as lab:
        run = pinned(lab.client if path == "veth" else lab.server, args.client_cpu)
        http = {"stampede": "splice", "stampede-read": "read", "nginx-exception": "off"}[name]
        dataplane, telemetry = start_stampede(lab, args, tmp, root, http)
        with netlab.Drain(dataplane):
            url = f"http://{lab.server_ip}{url_path}"
            if name == "nginx-exception":
                nginx = start_nginx(lab, tmp, root, server_cpus)
                check_bytes(run, url, digest, tmp, name)
                pids = [nginx.proc.pid, *children(nginx.proc.pid)]
                try:
                    # The forwarding worker's CPU is in the dataplane: the
                    # nginx numbers are nginx's alone.
                    return measure(run, url, pids, (), levels, seconds, script, name)
                finally:
                    nginx.stop()
            check_bytes(run, url, digest, tmp, name)
            rows = measure(run, url, [dataplane.proc.pid], ("stampede-http", "iou-wrk"), levels,
                           seconds, script, name)
            print(f"  stampede /stampede/http: {telemetry.query('/stampede/http')}", flush=True)
            print(f"  stampede exception path: {exception_path_counters(telemetry)}", flush=True)
            telemetry.close()
            return rows


def ratio(value, reference, lower_is_better=False):
    if not value or not reference:
        return "-"
    return f"{(reference / value if lower_is_better else value / reference):.2f}x"


# The figures a row's rounds are summarised by (each its own median).
MEDIAN_KEYS = ("gb_per_s", "cpu_s_per_gb", "http_cpu_s_per_gb", "host_cpu_s_per_gb", "p99_us")
RANGE_KEYS = ("gb_per_s", "host_cpu_s_per_gb")  # printed with their ranges too


def combine(rounds):
    """One server's rounds ({connections: row} each, None when it did not
    answer) as one {connections: row} of medians, with the ranges of GB/s
    and host CPU s/GB; None when any round failed."""
    if not rounds or any(rows is None for rows in rounds):
        return None
    combined = {}
    for connections in rounds[0]:
        runs = [rows.get(connections) for rows in rounds]
        if any(r is None for r in runs):
            combined[connections] = None
            continue
        row = {"rounds": len(runs), "bytes": sum(r["bytes"] for r in runs),
               "errors": sum(r["errors"] for r in runs)}
        for key in MEDIAN_KEYS:
            values = [r[key] for r in runs if r.get(key) is not None]
            row[key] = statistics.median(values) if values else None
            if key in RANGE_KEYS:
                row[f"{key}_range"] = (min(values), max(values)) if values else None
        combined[connections] = row
    return combined


def print_table(results, levels):
    print("\n| path | server | connections | GB/s | CPU s/GB (process) | CPU s/GB (HTTP thread) "
          "| CPU s/GB (host) | p99 ms | errors | GB/s vs nginx | GB per CPU s vs nginx "
          "| GB per host CPU s vs nginx |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for path in dict.fromkeys(p for p, _ in results):
        for connections in levels:
            print_rows(results, path, connections)


def with_range(value, span, digits):
    if not span or span[0] == span[1]:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ({span[0]:.{digits}f}-{span[1]:.{digits}f})"


def print_rows(results, path, connections):
    nginx = (results.get((path, "nginx")) or {}).get(connections)
    for (row_path, name), rows in results.items():
        if row_path != path:
            continue
        r = rows.get(connections) if rows else None
        if not r:
            print(f"| {path} | {name} | {connections} | (no answer) | | | | | | | | |")
            continue
        http = r.get("http_cpu_s_per_gb")
        # Per core: stampede's HTTP thread against nginx's worker.
        own = http if http is not None else r["cpu_s_per_gb"]
        print(f"| {path} | {name} | {connections} | "
              f"{with_range(r['gb_per_s'], r.get('gb_per_s_range'), 3)} | "
              f"{r['cpu_s_per_gb'] or 0:.2f} | "
              f"{f'{http:.2f}' if http is not None else '-'} | "
              f"{with_range(r['host_cpu_s_per_gb'] or 0, r.get('host_cpu_s_per_gb_range'), 2)} | "
              f"{r['p99_us'] / 1000:.1f} | "
              f"{r['errors']} | {ratio(r['gb_per_s'], nginx and nginx['gb_per_s'])} | "
              f"{ratio(own, nginx and nginx['cpu_s_per_gb'], lower_is_better=True)} | "
              f"{ratio(r['host_cpu_s_per_gb'], nginx and nginx['host_cpu_s_per_gb'], True)} |")


def stop_on_signal(signum, _frame):
    # An exception, not the default exit: the labs' cleanup runs on the way out.
    raise SystemExit(128 + signum)


def main():
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataplane", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--servers", help=f"comma-separated, of {','.join(SERVERS)}")
    parser.add_argument("--connections", help="comma-separated wrk connection counts")
    parser.add_argument("--paths", help="comma-separated, of veth (through the wire: the "
                        "default with --quick) and local (wrk beside the server)")
    parser.add_argument("--seconds", type=int, help="wrk's duration per row")
    parser.add_argument("--file_mb", type=float, help="size of the file served")
    parser.add_argument("--rounds", type=int, default=1,
                        help="the servers in turn this many times; the table gives medians")
    parser.add_argument("--quick", action="store_true",
                        help="stampede and nginx, 1 and 8 connections, 2 s, 4 MiB: proves it runs")
    parser.add_argument("--client_cpu", default="none",
                        help="the CPU wrk runs on (the servers get the others): a number, "
                        "last, or none (the scheduler's choice for all)")
    netlab.add_stampede_args(parser, "--http_chunk_kb=256")
    parser.add_argument("--json")
    args = parser.parse_args()
    servers = (args.servers.split(",") if args.servers
               else SERVERS_QUICK if args.quick else SERVERS)
    unknown = set(servers) - set(SERVERS)
    if unknown or not servers:
        parser.error(f"--servers: unknown {sorted(unknown)}; choose from {SERVERS}")
    levels = ([int(c) for c in args.connections.split(",")] if args.connections
              else CONNECTIONS_QUICK if args.quick else CONNECTIONS)
    seconds = args.seconds or (SECONDS_QUICK if args.quick else SECONDS)
    paths = args.paths.split(",") if args.paths else ["veth"] if args.quick else PATHS
    if set(paths) - set(PATHS):
        parser.error(f"--paths: choose from {PATHS}")
    cpus = sorted(os.sched_getaffinity(0))
    if args.client_cpu == "none" or len(cpus) < 2:
        args.client_cpu = None
    else:
        args.client_cpu = cpus[-1] if args.client_cpu == "last" else int(args.client_cpu)
        if args.client_cpu not in cpus:
            parser.error(f"--client_cpu: not one of this process's CPUs {cpus}")
    if not 1 <= args.rounds <= 50:
        parser.error("--rounds: 1..50")
    file_bytes = int((args.file_mb or (FILE_MB_QUICK if args.quick else FILE_MB)) * (1 << 20))
    netlab.require(["ethtool", "wrk", "curl", "nginx", "taskset"])
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    print(f"wrk on CPU {args.client_cpu}, the servers on the others" if args.client_cpu is not None
          else "wrk and the servers where the scheduler puts them", flush=True)
    rounds = {}  # (path, server): [{connections: row} or None per round]
    with tempfile.TemporaryDirectory() as tmp:
        root, digest = make_root(tmp, file_bytes)
        script = os.path.join(tmp, "summary.lua")
        with open(script, "w") as f:
            f.write(WRK_SCRIPT)
        for turn in range(1, args.rounds + 1):
            for path in paths:
                for name in servers:
                    if path == "local" and name == "nginx-exception":
                        continue  # the same as nginx when nothing crosses the wire
                    print(f"{name} ({path}): {file_bytes} bytes, connections {levels}, "
                          f"{seconds} s each, round {turn} of {args.rounds}", flush=True)
                    try:
                        rows = run_server(name, path, args, tmp, root, digest, levels, seconds,
                                          script)
                    except (AssertionError, OSError) as e:
                        print(f"  {name}: {e}", flush=True)
                        rows = None
                    rounds.setdefault((path, name), []).append(rows)
    results = {key: combine(runs) for key, runs in rounds.items()}

    print_table(results, levels)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"file_bytes": file_bytes, "seconds": seconds, "rounds": args.rounds,
                       "runs": [{"path": p, "server": n, "rows": results[(p, n)],
                                 "each_round": runs}
                                for (p, n), runs in rounds.items()]}, f, indent=1)
    broken = [key for key, runs in rounds.items()
              if any(rows is None or any(r is None or r["bytes"] == 0 for r in rows.values())
                     for rows in runs)]
    errors = [key for key, rows in results.items()
              if rows and any(r and r["errors"] for r in rows.values())]
    if broken:
        print(f"no answer: {broken}")
        return 1
    if args.quick and errors:
        print(f"wrk saw errors in the quick run: {errors}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
