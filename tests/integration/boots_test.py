#!/usr/bin/env python3
"""Each machine's boot as the appliance saw it: `stampede boots`.

stampede-dataplane (net_af_packet, two workers: each reports its TFTP
transfers in its own ring) and stampede-control serve a client namespace
over a veth. A client takes a lease with busybox udhcpc, then fetches what
a PXE boot fetches: its boot file over TFTP (tftp-hpa), a config file that
is not there (as pxelinux probes), a kernel over HTTP (curl) and a path
that is not there. Checked:

- `stampede boots` lists the client by its MAC, with its leased address,
  its host entry's name, its architecture (option 93) and the profile its
  lease gave, one lease, two files, two not found, the failures below and
  the bytes;
- `stampede boots MAC` (and by its address) prints the steps in order:
  lease granted, TFTP completed, TFTP refused with error 1, HTTP 200, 404;
- a client that answers the first packet with an ERROR, and one that never
  answers (timeout 1, RFC 2349), end as `aborted` (with the client's
  message) and `timeout` (after 8 retransmissions): two failures;
- a TFTP fetch from an address no lease of ours names (curl --interface)
  is listed by that address, with no client;
- the events carry the TFTP transfers (`tftp_transfer`, `tftp_refused`)
  and /metrics counts no TFTP event dropped;
- after a restart control still names the leased address's machine by its
  MAC (from the lease journal).
"""

import argparse
import json
import os
import re
import tempfile

import netlab

HTTP_PORT = 8080

# A TFTP client that asks with "timeout 1", then answers the server's first
# packet with an ERROR (abort) or not at all (silent); prints what it got.
RAW_CLIENT = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.settimeout(5)
s.sendto(b"\0\1pxelinux.0\0octet\0timeout\0" + b"1\0", (sys.argv[2], 69))
data, server = s.recvfrom(2048)
print(data[:2].hex())
if sys.argv[3] == "abort":
    s.sendto(b"\0\5\0\0user cancelled\0", server)
'''


def config(lab, root, mac):
    return f"""dataplane: {{port: net_null0, ipv4: [{lab.server_ip}/{lab.prefix}]}}
tftp: {{root: {root}}}
http: {{port: {HTTP_PORT}}}
dhcp:
  subnets:
    - subnet: 198.18.0.0/24
      router: 198.18.0.1
      profile: install
      pools: [{{first: 198.18.0.100, last: 198.18.0.199}}]
hosts:
  - {{name: node-one, mac: "{mac}"}}
profiles:
  - name: install
    boot_files: {{bios: pxelinux.0}}
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataplane", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--cli", required=True)
    args = parser.parse_args()
    netlab.require(["ip", "ethtool", "busybox", "tftp", "curl"])

    with netlab.Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "boot"))
        nbp, kernel = os.urandom(70_000), os.urandom(1_500_000)
        with open(os.path.join(root, "pxelinux.0"), "wb") as f:
            f.write(nbp)
        with open(os.path.join(root, "boot", "vmlinuz"), "wb") as f:
            f.write(kernel)
        mac = lab.client(["cat", f"/sys/class/net/{lab.client_if}/address"]).stdout.strip()
        path = os.path.join(tmp, "stampede.yaml")
        with open(path, "w") as f:
            f.write(config(lab, root, mac))
        run_dir = os.path.join(tmp, "run")
        lab.start_dataplane(args.dataplane, workers=2, extra=["--huge_pages=off"])
        control = lab.start_control(args.control, path, run_dir)
        telemetry = netlab.Telemetry(lab.file_prefix)
        lab.wait_serving(telemetry)
        sock = os.path.join(run_dir, f"{lab.instance}.sock")

        def cli(*words):
            return netlab.run([args.cli, *words, f"--api={sock}"]).stdout

        # The lease; the leased address becomes the interface's primary one
        # (the lab's own stays as a secondary), so tftp-hpa sends from it.
        script = os.path.join(tmp, "udhcpc.sh")
        with open(script, "w") as f:
            f.write(f"#!/bin/sh\n[ \"$1\" = bound ] && echo $ip > {tmp}/ip\nexit 0\n")
        os.chmod(script, 0o755)
        # As a BIOS PXE client (option 93 = 0): the lease gets the profile.
        out = lab.client(["busybox", "udhcpc", "-i", lab.client_if, "-n", "-q", "-f", "-t", "5",
                          "-T", "2", "-s", script, "-x", "0x5d:0000"], check=False, timeout=60)
        assert out.returncode == 0, out.stdout
        leased = open(f"{tmp}/ip").read().strip()
        print("leased", leased)
        lab.client(["ip", "addr", "flush", "dev", lab.client_if])
        for address in (leased, lab.client_ip):
            lab.client(["ip", "addr", "add", f"{address}/24", "dev", lab.client_if])

        got = os.path.join(tmp, "got")
        lab.client(["tftp", "-m", "binary", lab.server_ip, "-c", "get", "pxelinux.0", got])
        assert open(got, "rb").read() == nbp, "tftp-hpa: pxelinux.0 differs"
        lab.client(["tftp", "-m", "binary", lab.server_ip, "-c", "get",
                    "pxelinux.cfg/01-missing", os.path.join(tmp, "missing")], check=False)
        url = f"http://{lab.server_ip}:{HTTP_PORT}"
        out = lab.client(["curl", "-sS", "--max-time", "20", "-o", got, "-w", "%{http_code}",
                          f"{url}/boot/vmlinuz"])
        assert out.stdout == "200" and open(got, "rb").read() == kernel, out.stdout
        out = lab.client(["curl", "-sS", "--max-time", "20", "-o", "/dev/null", "-w",
                          "%{http_code}", f"{url}/boot/nothing"], check=False)
        assert out.stdout == "404", out.stdout
        for how in ("abort", "silent"):
            out = lab.client(["python3", "-c", RAW_CLIENT, leased, lab.server_ip, how])
            assert out.stdout.strip() == "0006", out.stdout  # an OACK
        # From the lab's own address: no lease of ours names it.
        out = lab.client(["curl", "-sS", "--max-time", "20", "--interface", lab.client_ip,
                          "-o", got, f"tftp://{lab.server_ip}/pxelinux.0"])
        assert open(got, "rb").read() == nbp, "curl tftp: pxelinux.0 differs"

        # Control reads the events every 100 ms; the silent client's transfer
        # ends after 8 retransmissions a second apart: wait (bounded) for all.
        def machines():
            return {m["client"] or m["address"]: m
                    for m in json.loads(cli("boots", "--json"))["machines"]}
        listed = netlab.poll(machines, lambda m: mac in m and lab.client_ip in m and
                             m[mac]["not_found"] == 2 and m[mac]["files"] == 2 and
                             m[mac]["failed"] == 2,
                             "the boot steps in stampede boots", timeout=30)
        print(json.dumps(listed, indent=1))
        m = listed[mac]
        assert m["address"] == leased and m["host"] == "node-one", m
        assert m["arch"] == "bios" and m["profile"] == "install", m
        assert (m["leases"], m["files"], m["not_found"], m["failed"]) == (1, 2, 2, 2), m
        assert m["last"]["outcome"] == "timeout", m
        # The 404's body counts too: bytes sent.
        story = json.loads(cli("boots", mac, "--json"))["machine"]
        total = len(nbp) + len(kernel) + story["steps"][4]["bytes"]
        assert story["steps"][4]["status"] == 404 and m["bytes"] == total, story
        other = listed[lab.client_ip]
        assert other["client"] == "" and other["files"] == 1 and other["leases"] == 0, other
        assert other["last"]["kind"] == "tftp" and other["last"]["bytes"] == len(nbp), other

        table = cli("boots")
        print(table)
        assert re.search(rf"^{mac} +{re.escape(leased)} +node-one +bios +install +1 +2 +2 +2 +"
                         rf"{total} ", table, re.M), table
        assert re.search(rf"^- +{re.escape(lab.client_ip)} +- +- +- +0 +1 +0 +0 ", table, re.M), \
            table
        # --failed: the machine whose last transfer timed out, not the other.
        assert "2 machines, 1 failing (no file yet, or the last transfer failed)" in table, table
        failing = cli("boots", "--failed")
        assert re.search(rf"^{mac} ", failing, re.M), failing
        assert not re.search(rf"^- +{re.escape(lab.client_ip)} ", failing, re.M), failing
        page = json.loads(cli("boots", "--failed", "--json"))
        assert [m["client"] for m in page["machines"]] == [mac], page
        assert (page["total"], page["failing"]) == (2, 1), page

        story = cli("boots", mac.upper())
        print(story)
        assert "  arch bios  profile install" in story.splitlines()[0], story
        steps = re.findall(r"^  \+ *[\d.]+ s  (\w+) +(\w+) +(\S+)(.*)$", story, re.M)
        assert [s[:3] for s in steps] == [
            ("lease", "granted", leased),
            ("tftp", "completed", "pxelinux.0"),
            ("tftp", "refused", "pxelinux.cfg/01-missing"),
            ("http", "completed", "/boot/vmlinuz"),
            ("http", "completed", "/boot/nothing"),
            ("tftp", "aborted", "pxelinux.0"),
            ("tftp", "timeout", "pxelinux.0"),
        ], steps
        assert steps[0][3] == "  (bios, profile install)", steps[0]
        assert f"{len(nbp)} of {len(nbp)} bytes" in steps[1][3], steps[1]
        assert "(error 1: file not found)" in steps[2][3], steps[2]
        assert steps[3][3].startswith("  200 ") and steps[4][3].startswith("  404 "), steps
        assert "(error 0: user cancelled)" in steps[5][3], steps[5]
        assert "(error 0: timed out)" in steps[6][3], steps[6]
        assert cli("boots", leased) == story, "by address"
        assert "no boot seen" in netlab.run([args.cli, "boots", "02:00:5e:00:00:99",
                                             f"--api={sock}"], check=False).stdout

        events = cli("events")
        assert re.search(r"dataplane tftp_transfer client=\S+ file=pxelinux.0 outcome=completed "
                         rf"bytes={len(nbp)} size={len(nbp)} ", events), events[-3000:]
        assert "dataplane tftp_refused" in events and "message=\"file not found\"" in events
        page = json.loads(netlab.run(["curl", "-sS", "--max-time", "5", "--unix-socket", sock,
                                      "http://stampede/events?since=0"]).stdout)
        tftp = [e["tftp"] for e in page["events"] if e["kind"] == "tftp_transfer_failed"]
        assert [(t["outcome"], t["detail"]) for t in tftp] == [
            ("aborted", "user cancelled"), ("timeout", "timed out")], tftp
        assert tftp[1]["retransmits"] == 8 and tftp[1]["size"] == len(nbp), tftp
        metrics = netlab.run(["curl", "-sS", "--max-time", "5", "--unix-socket", sock,
                              "http://stampede/metrics"]).stdout
        assert 'stampede_events_dropped_total{ring="tftp"} 0' in metrics, metrics

        # A restarted control plane starts with no steps, but knows whose
        # address is whose from the lease journal.
        control.stop()
        lab.start_control(args.control, path, run_dir)
        lab.client(["tftp", "-m", "binary", lab.server_ip, "-c", "get", "pxelinux.0", got])
        listed = netlab.poll(machines, lambda m: mac in m, "the MAC after a restart", timeout=10)
        m = listed[mac]
        assert (m["leases"], m["files"], m["address"]) == (0, 1, leased), m
        assert lab.client_ip not in listed, listed
        telemetry.close()
    print("PASS")


if __name__ == "__main__":
    main()
