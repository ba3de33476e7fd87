#!/usr/bin/env python3
"""One end-to-end boot scenario: real firmware in QEMU, served by stampede.

    boot_test.py --build-dir BUILD --scenario bios|uefi|iso|ipxe|memtest|memtest-bios|proxy|storm

Builds the lab (tests/e2e/bootlab.py), fills a TFTP root with Debian's boot
files and the scenario's menus, starts stampede, powers the guests on and
passes when every guest's serial console shows the scenario's marker (the
kernel's "Run /init as init process", memtest86+'s banner, or our own
init's line) within the deadline, and the appliance's side agrees: each
guest's lease is in stampede's journal (`stampede leases`; in proxyDHCP, in
dnsmasq's lease file and none in stampede's), every file the scenario
needs went over the wire whole, and /stampede/tftp counted the sessions
and bytes with no failed session and no DATA answering a duplicate ACK.
"""

import argparse
import os
import shutil
import sys
import tempfile

import boot
import bootlab
import netlab
import scenarios


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--scenario", required=True,
                        choices=sorted(scenarios.SCENARIOS))
    parser.add_argument("--keep-work", action="store_true",
                        help="keep the work folder (logs, serial consoles) even on success")
    args = parser.parse_args()
    bootlab.exit_on_sigterm()
    scenario = scenarios.SCENARIOS[args.scenario]
    missing = boot.prerequisites(scenario)
    if missing:
        netlab.skip_or_fail("missing: " + "; ".join(missing) + " (run scripts/setup)")
    work = tempfile.mkdtemp(prefix=f"stampede-e2e-{scenario.name}-")
    ok = False
    try:
        with bootlab.BootLab(args.build_dir, work) as lab:
            print(f"scenario {scenario.name}: {scenario.summary}")
            boot.run(lab, scenario)
        ok = True
    finally:
        if not ok:
            for name in sorted(os.listdir(work)):
                if name.endswith(".log"):
                    with open(os.path.join(work, name), errors="replace") as f:
                        tail = f.read().splitlines()[-15:]
                    print(f"--- {name} (last lines)\n" + "\n".join(tail))
        if ok and not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
        else:  # the logs and consoles stay for a look; the served files go
            for folder in ("tftp", "images"):
                shutil.rmtree(os.path.join(work, folder), ignore_errors=True)
            print(f"work folder kept: {work}")
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
