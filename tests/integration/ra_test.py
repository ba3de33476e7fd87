#!/usr/bin/env python3
"""IPv6 router solicitations on the wire (dataplane.ipv6_ra): ndisc6's rdisc6
in the client namespace solicits, stampede-dataplane answers with a router
advertisement that offers nothing (router lifetime 0, no prefix, M = O = 0)
from its link-local address. Checks both sides: what rdisc6 printed, the
dataplane's counters; a solicitation RFC 4861 §6.1.1 discards (hop limit 64)
is dropped and counted; with the setting off again (a config reload) nothing
answers and the kernel behind the exception path gets the solicitations.
"""

import argparse
import ipaddress
import os
import re
import tempfile

import netlab
from inet import link_local, router_solicitation

def config(lab, ipv6_ra):
    return (f"dataplane: {{port: net_null0, ipv4: [{lab.server_ip}/{lab.prefix}], "
            f"ipv6_ra: {'true' if ipv6_ra else 'false'}}}\n"
            "dhcp:\n  subnets:\n    - subnet: 198.18.0.0/24\n"
            "      pools: [{first: 198.18.0.100, last: 198.18.0.199}]\n")


def rdisc6(lab, tries=3):
    """One solicitation per try, a second's wait each (bounded)."""
    return lab.client(["rdisc6", "-1", "-r", str(tries), "-w", "1000", lab.client_if],
                      check=False, timeout=30)


def wait_link_local(lab):
    """Polls (bounded) until the client's link-local address has passed DAD,
    so its solicitations come from it rather than from ::."""
    netlab.poll(lambda: lab.client(["ip", "-6", "addr", "show", "dev", lab.client_if,
                                    "scope", "link"]).stdout,
                lambda out: "fe80::" in out and "tentative" not in out,
                "no link-local address on the client", timeout=10)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataplane", required=True)
    parser.add_argument("--control", required=True)
    args = parser.parse_args()
    netlab.require(["ip", "rdisc6"])

    with netlab.Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "stampede.yaml")
        with open(path, "w") as f:
            f.write(config(lab, ipv6_ra=True))
        lab.start_dataplane(args.dataplane, extra=["--huge_pages=off"])
        lab.start_control(args.control, path, os.path.join(tmp, "run"))
        telemetry = netlab.Telemetry(lab.file_prefix)
        served = lab.wait_serving(telemetry)
        our_mac = telemetry.query("/stampede/info")["mac"]
        client_mac = lab.client(["cat", f"/sys/class/net/{lab.client_if}/address"]).stdout.strip()
        wait_link_local(lab)

        before = telemetry.query("/stampede/stats")
        out = rdisc6(lab)
        print(out.stdout, out.stderr)
        assert out.returncode == 0, "rdisc6 got no advertisement"
        ours = str(ipaddress.IPv6Address(link_local(bytes.fromhex(our_mac.replace(":", "")))))
        assert re.search(rf"^ from {re.escape(ours)}\s*$", out.stdout, re.M), out.stdout
        for field, value in (("Router lifetime", r"0 \(0x00000000\) seconds"),
                             ("Stateful address conf.", "No"), ("Stateful other conf.", "No"),
                             ("Hop limit", r"undefined \(\s*0x00\)"),
                             ("Source link-layer address", re.escape(our_mac.upper()))):
            assert re.search(rf"^\s*{re.escape(field)}\s*:\s*{value}\s*$", out.stdout,
                             re.M | re.I), (field, out.stdout)
        assert "Prefix" not in out.stdout, out.stdout
        after = telemetry.query("/stampede/stats")
        assert after["router_advertisements"] >= before["router_advertisements"] + 1, after

        # RFC 4861 §6.1.1: a solicitation with hop limit 64 may come from off
        # the link: dropped, counted, unanswered.
        lab.send_raw([router_solicitation(bytes.fromhex(client_mac.replace(":", "")),
                                          hop_limit=64)])
        stats = netlab.poll(lambda: telemetry.query("/stampede/stats"),
                            lambda s: s["drop_ndp_malformed"] >= after["drop_ndp_malformed"] + 1,
                            "the off-link solicitation was not counted", timeout=10)
        assert stats["router_advertisements"] == after["router_advertisements"], stats

        # Off again: the policy no longer answers; the kernel gets them.
        with open(path, "w") as f:
            f.write(config(lab, ipv6_ra=False))
        lab.wait_serving(telemetry, after_generation=served["applied_generation"])
        before = telemetry.query("/stampede/stats")
        out = rdisc6(lab, tries=2)
        print(out.stdout, out.stderr)
        assert out.returncode != 0, out.stdout
        after = telemetry.query("/stampede/stats")
        assert after["router_advertisements"] == before["router_advertisements"], after
        assert after["to_kernel"] >= before["to_kernel"] + 2, (before, after)
    print("ra test: ok")


if __name__ == "__main__":
    main()
