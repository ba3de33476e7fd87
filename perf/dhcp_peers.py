#!/usr/bin/env python3
"""DHCP leases per second: stampede vs Kea (kea-dhcp4, memfile) vs dnsmasq,
each on the same veth pair in its own namespaces, driven by Kea's perfdhcp
with the same clients and the same pool.

For each server the rate steps up until more than 2.5 % of the exchanges
drop, then two halvings narrow it between the last step within and the
first beyond; the last rate within 2.5 % is reported with perfdhcp's delays
and the server's own CPU time over that run (utime + stime of its process:
leases per server CPU second, which a busy-polling dataplane spends whole).
Prints a markdown table and writes JSON (--json). Never fails on a number: only
when a server cannot be started or answers nothing.

  sudo perf/dhcp_peers.py --dataplane build/dataplane/stampede-dataplane \\
      --control build/control/stampede-control [--quick] [--json out.json] \\
      [--stampede_args=--idle_sleep_us=10]
"""

import argparse
import json
import os
import re
import resource
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests", "integration"), os.path.join(HERE, "..", "tests", "pylib")]
import netlab  # noqa: E402
from cputime import CpuMeter  # noqa: E402

POOL = ("198.18.1.0", "198.18.255.250")
RATES = [100, 200, 500, 1000, 2000, 5000, 10000, 20000, 40000, 80000]
MAX_DROP = 2.5
REFINE = 2  # halvings between the last rate within MAX_DROP and the first beyond
# Below this rate perfdhcp's fixed costs (its timers, its idle loop) dominate
# its CPU per exchange, which then says nothing of its ceiling.
CEILING_MIN_RATE = 5000

STAMPEDE_CONFIG = f"""dataplane: {{port: net_null0, ipv4: [198.18.0.1/16]}}
dhcp:
  lease_time: 1h
  subnets: [{{subnet: 198.18.0.0/16, pools: [{{first: {POOL[0]}, last: {POOL[1]}}}]}}]
limits: {{dhcp_rate_per_mac: 0}}
"""


def kea_config(iface, tmp):
    return json.dumps({"Dhcp4": {
        "interfaces-config": {"interfaces": [iface], "dhcp-socket-type": "raw"},
        "lease-database": {"type": "memfile", "persist": True, "name": f"{tmp}/kea.leases",
                           "lfc-interval": 0},
        "valid-lifetime": 3600,
        "subnet4": [{"id": 1, "subnet": "198.18.0.0/16",
                     "pools": [{"pool": f"{POOL[0]} - {POOL[1]}"}]}],
        # Warnings only, but the start-up line (DHCP4_STARTED, logger
        # kea-dhcp4.dhcp4) tells when to begin; per-lease logging stays off.
        "loggers": [{"name": "kea-dhcp4", "severity": "WARN",
                     "output_options": [{"output": "stdout"}]},
                    {"name": "kea-dhcp4.dhcp4", "severity": "INFO",
                     "output_options": [{"output": "stdout"}]}],
    }})


def perfdhcp(lab, rate, seconds, clients, timers=False, pids=()):
    """One perfdhcp run at `rate`; `pids`: the server's processes, whose CPU
    time over the run gives leases per server CPU second. perfdhcp runs in
    one thread: on this 2-CPU VM its `-g multi` (a receiving thread of its
    own) took 70-85 us of CPU per exchange against 54 and dropped 15-21 %
    at 15,000/s against 3.7-6.4 % (two runs each, stampede)."""
    # Every exchange a new client (as in a boot storm), within the pool.
    clients = min(rate * seconds, 60000)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with CpuMeter(pids) as cpu:
        out = lab.client(["perfdhcp", "-4", "-l", lab.client_if, "-r", str(rate), "-p",
                          str(seconds), "-R", str(clients), "-W", "500000", "-g", "single", "-B",
                          *(["-x", "t"] if timers else [])],
                         check=False, timeout=seconds + 60)
    server_cpu_s = cpu.total_s
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # perfdhcp's own CPU (the `ip netns exec` it runs under is the same
    # process): a lower bound of the client's cost per exchange, its kernel's
    # softirq work aside.
    client_cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = out.stdout
    sent = [int(x) for x in re.findall(r"sent packets: (\d+)", text)]
    received = [int(x) for x in re.findall(r"received packets: (\d+)", text)]
    avg = [float(x) for x in re.findall(r"avg delay: ([\d.]+) ms", text)]
    mx = [float(x) for x in re.findall(r"max delay: ([\d.]+) ms", text)]
    if len(sent) < 2 or sent[0] == 0:
        return None
    # A lease is a whole DORA: the ACKs received over the DISCOVERs sent.
    drops = 100.0 * (1 - received[1] / sent[0])
    p99 = exchange_p99(text)
    return {"rate": rate, "leases_per_s": received[1] / seconds, "drop_pct": drops,
            "server_cpu_s": server_cpu_s if pids else None,
            "leases_per_cpu_s": received[1] / server_cpu_s if pids and server_cpu_s else None,
            "client_cpu_s": client_cpu_s, "host_cpu_s": cpu.host_s,
            "client_us_per_exchange": 1e6 * client_cpu_s / sent[0],
            "avg_ms": sum(avg[:2]) if len(avg) >= 2 else None,
            "max_ms": max(mx[:2]) if len(mx) >= 2 else None,
            "p99_offer_ms": p99.get("DISCOVER-OFFER"), "p99_ack_ms": p99.get("REQUEST-ACK")}


def exchange_p99(text):
    """p99 of each exchange's delay from perfdhcp's `-x t` timers (one
    "sent / received" line per successful exchange, under a header naming
    the exchange); perfdhcp itself reports only min/avg/max."""
    delays, current = {}, None
    for line in text.splitlines():
        header = re.match(r"\*\*\*Timestamps for packets: (\S+)\*\*\*", line)
        if header:
            current = header.group(1)
            delays[current] = []
            continue
        pair = re.match(r"sent / received: ([\d.]+) / ([\d.]+)", line)
        if pair and current:
            delays[current].append((float(pair.group(2)) - float(pair.group(1))) * 1000)
    result = {}
    for name, values in delays.items():
        if values:
            values.sort()
            result[name] = values[min(len(values) - 1, int(len(values) * 0.99))]
    return result


def search(run, rates):
    """The rate search of the DHCP benchmarks. `run(rate)` measures one rate:
    a row with "rate" and "drop_pct", or None (stop). The rates step up to
    the first beyond MAX_DROP; between the last within and that one, REFINE
    halvings narrow the limit. Returns the last row within MAX_DROP, or
    (when even the lowest drops more) the lowest rate's row marked
    `over_limit`."""
    best, beyond = None, None
    for rate in rates:
        r = run(rate)
        if r is None:
            break
        if r["drop_pct"] > MAX_DROP:
            if best is None:
                best = dict(r, over_limit=True)
            else:
                beyond = rate
            break
        best = r
    for _ in range(REFINE if beyond else 0):
        rate = (best["rate"] + beyond) // 2
        r = run(rate)
        if r is None:
            break
        if r["drop_pct"] > MAX_DROP:
            beyond = rate
        else:
            best = r
    return best


def measure(lab, name, rates, seconds, clients, pids=()):
    """perfdhcp's rate search (see search), then one run with per-exchange
    timers at the rate found for the p99s."""
    def run(rate):
        r = perfdhcp(lab, rate, seconds, clients, pids=pids)
        print(f"  {name} @ {rate}/s: {r}", flush=True)
        return r

    best = search(run, rates)
    if best is not None:
        # The per-exchange timers (-x t) cost perfdhcp itself enough to lower
        # the rates it reaches: the rate search runs without them, then one
        # more run at the rate found gives the p99s.
        timed = perfdhcp(lab, best["rate"], seconds, clients, timers=True)
        print(f"  {name} @ {best['rate']}/s with timers: {timed}", flush=True)
        if timed:
            best = dict(best, p99_offer_ms=timed["p99_offer_ms"], p99_ack_ms=timed["p99_ack_ms"],
                        p99_drop_pct=timed["drop_pct"])
    return best


def run_stampede(args, rates, seconds, clients, tmp):
    with netlab.Lab(prefix=16) as lab:
        path = os.path.join(tmp, "stampede.yaml")
        with open(path, "w") as f:
            f.write(STAMPEDE_CONFIG)
        dataplane = lab.start_dataplane(args.dataplane,
                                        extra=["--huge_pages=off", *args.stampede_args],
                                        port_options="framecnt=4096")
        control = lab.start_control(args.control, path, f"{tmp}/run")
        telemetry = netlab.Telemetry(lab.file_prefix)
        lab.wait_serving(telemetry)
        telemetry.close()
        with netlab.Drain(dataplane, keep=False), netlab.Drain(control, keep=False):
            return measure(lab, "stampede", rates, seconds, clients, pids=[dataplane.proc.pid])


def run_kernel_server(name, command, ready, lab, rates, seconds, clients):
    server = lab.spawn(lab.server_ns, command, name)
    server.wait_for(ready, timeout=30)
    try:
        # dnsmasq logs a warning per lease even with --quiet-dhcp: a full
        # pipe had stopped it after about 140 leases.
        with netlab.Drain(server, keep=False):
            return measure(lab, name, rates, seconds, clients, pids=[server.proc.pid])
    finally:
        server.stop()


def generator_ceiling(results):
    """What the load generator itself allows on this host: perfdhcp's own CPU
    per exchange (a lower bound: its kernel's softirq work aside) at each
    server's rate found, and the most exchanges per second perfdhcp could
    start with every CPU of the host to itself, against the best peer's rate.
    A server's lead over a peer can only be measured up to that ratio. None
    without perfdhcp rows at CEILING_MIN_RATE or more."""
    per_exchange = {n: r["client_us_per_exchange"] for n, r in results.items()
                    if r and r.get("client_us_per_exchange") and r["rate"] >= CEILING_MIN_RATE}
    if not per_exchange:
        return None
    cpus = os.cpu_count()
    ceiling = cpus * 1e6 / min(per_exchange.values())
    peers = [r["leases_per_s"] for n, r in results.items()
             if n != "stampede" and r and not r.get("over_limit")]
    return {"cpus": cpus, "client_us_per_exchange": per_exchange, "max_exchanges_per_s": ceiling,
            "vs_best_peer": ceiling / max(peers) if peers else None}


def ceiling_text(c):
    """generator_ceiling's result in a sentence."""
    return ("perfdhcp's own CPU per exchange at the rate found: " +
            ", ".join(f"{n} {us:.1f} us" for n, us in c["client_us_per_exchange"].items()) +
            f". With all {c['cpus']} CPUs to itself, perfdhcp could start at most "
            f"{c['max_exchanges_per_s']:,.0f} exchanges/s" +
            (f", {c['vs_best_peer']:.1f}x the best peer's rate" if c["vs_best_peer"] else ""))


def kernel_lab():
    lab = netlab.Lab(prefix=16)
    lab.__enter__()
    lab.server(["ip", "addr", "add", "198.18.0.1/16", "dev", lab.server_if])
    lab.server(["ethtool", "-K", lab.server_if, "tx", "off"])
    return lab


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataplane", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--quick", action="store_true", help="one low rate each: proves it runs")
    parser.add_argument("--json")
    netlab.add_stampede_args(parser, "--idle_sleep_us=10")
    args = parser.parse_args()
    netlab.require(["perfdhcp", "kea-dhcp4", "dnsmasq", "ethtool"])
    rates, seconds, clients = ([500], 2, 200) if args.quick else (RATES, 5, 900)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["stampede"] = run_stampede(args, rates, seconds, clients, tmp)
        lab = kernel_lab()
        try:
            conf = os.path.join(tmp, "kea.json")
            with open(conf, "w") as f:
                f.write(kea_config(lab.server_if, tmp))
            os.makedirs(f"{tmp}/kea-run", exist_ok=True)
            os.environ["KEA_PIDFILE_DIR"] = f"{tmp}/kea-run"
            os.environ["KEA_LOCKFILE_DIR"] = f"{tmp}/kea-run"
            results["kea"] = run_kernel_server("kea", ["kea-dhcp4", "-c", conf], "DHCP4_STARTED",
                                               lab, rates, seconds, clients)
        finally:
            lab.__exit__(None, None, None)
        lab = kernel_lab()
        try:
            results["dnsmasq"] = run_kernel_server("dnsmasq", [
                shutil.which("dnsmasq"), "--no-daemon", "--port=0", f"--interface={lab.server_if}",
                "--bind-interfaces", "--no-ping", f"--dhcp-range={POOL[0]},{POOL[1]},1h",
                f"--dhcp-leasefile={tmp}/dnsmasq.leases", "--conf-file=/dev/null",
                f"--pid-file={tmp}/dnsmasq.pid", "--dhcp-lease-max=100000", "--quiet-dhcp"],
                "DHCP, IP range", lab, rates, seconds, clients)
        finally:
            lab.__exit__(None, None, None)

    def best_peer(key):
        values = [r[key] for n, r in results.items()
                  if n != "stampede" and r and not r.get("over_limit") and r.get(key)]
        return max(values) if values else None

    def ratio(r, key):
        peer = best_peer(key)
        return f"{r[key] / peer:.2f}x" if peer and r.get(key) else "-"

    print("\n| server | leases/s within 2.5 % drops | drops | avg DORA delay ms | p99 DISCOVER-OFFER ms "
          "| p99 REQUEST-ACK ms | max ms | leases per server CPU s | vs best peer: leases/s "
          "| per CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

    def p99(r):
        return " | ".join(f"{r[k]:.3f}" if r.get(k) is not None else "-"
                          for k in ("p99_offer_ms", "p99_ack_ms"))

    def per_cpu(r):
        return f"{r['leases_per_cpu_s']:.0f}" if r.get("leases_per_cpu_s") else "-"
    for name, r in results.items():
        if r is None:
            print(f"| {name} | (no answer) | | | | | | | | |")
            continue
        if r.get("over_limit"):
            print(f"| {name} | none within 2.5 % (at {r['rate']}/s: {r['leases_per_s']:.0f}) | "
                  f"{r['drop_pct']:.1f} % | {r['avg_ms']:.3f} | {p99(r)} | {r['max_ms']:.1f} | "
                  f"{per_cpu(r)} | - | - |")
            continue
        print(f"| {name} | {r['leases_per_s']:.0f} | {r['drop_pct']:.1f} % | {r['avg_ms']:.3f} | "
              f"{p99(r)} | {r['max_ms']:.1f} | {per_cpu(r)} | {ratio(r, 'leases_per_s')} | "
              f"{ratio(r, 'leases_per_cpu_s')} |")
    ceiling = generator_ceiling(results)
    if ceiling:
        print("\n" + ceiling_text(ceiling))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(results, generator_ceiling=ceiling), f, indent=1)
    # Numbers are never asserted; a server that answered nothing at all
    # means the benchmark itself is broken.
    if any(r is None or r["leases_per_s"] == 0 for r in results.values()):
        print("a server answered nothing at the lowest rate")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
