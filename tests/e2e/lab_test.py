#!/usr/bin/env python3
"""scripts/lab end to end, as an operator runs it (scenario 1, BIOS).

1. `scripts/lab --keep` (no setup, no build: the test's build directory)
   exits 0: the VM reached init, stampede leased it an address and sent
   its files (scripts/lab checks both, tests/e2e/boot.py);
2. the lab it left up answers: `stampede status` says the dataplane serves
   a policy, `stampede leases` lists the VM's lease, the VM still runs;
3. `scripts/lab --down` removes it all: no namespace, no process it
   started, no work folder, no shared memory or DPDK runtime files.

A lab of its own name (e2elab), so an operator's lab is left alone.
"""

import argparse
import json
import os
import subprocess
import sys

import boot
import bootlab
import netlab
import scenarios

NAME = "e2elab"
LAB = os.path.join(bootlab.SOURCE_ROOT, "scripts", "lab")


def alive(pid_and_start):
    pid, started = pid_and_start
    return started is not None and bootlab.start_time(pid) == started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True)
    args = parser.parse_args()
    bootlab.exit_on_sigterm()
    missing = boot.prerequisites(scenarios.SCENARIOS["bios"])
    if missing:
        netlab.skip_or_fail("missing: " + "; ".join(missing) + " (run scripts/setup)")
    common = [f"--name={NAME}", f"--build-dir={args.build_dir}"]
    work = f"/var/tmp/stampede-{NAME}"
    state = None
    try:
        result = subprocess.run([LAB, "--keep", "--no-build", "--no-setup", *common],
                                timeout=800)
        assert result.returncode == 0, f"scripts/lab --keep exited {result.returncode}"
        with open(os.path.join(work, "state.json")) as f:
            state = json.load(f)
        api = f"--api={work}/run/{NAME}.sock"
        cli = os.path.join(args.build_dir, "control", "stampede")
        status = bootlab.run([cli, "status", "--json", api], check=False)
        assert status.returncode == 0, status.stdout
        dataplane = json.loads(status.stdout)["dataplane"]
        assert dataplane["alive"] and dataplane["policy_state"] == "serving", dataplane
        leases = bootlab.run([cli, "leases", api], check=False).stdout
        assert "52:54:00:18:" in leases and "bound" in leases, leases
        assert all(alive(pid) for pid in state["pids"]), f"a lab process died: {state}"
        print("the lab left up answers: stampede status and leases")
    finally:
        down = subprocess.run([LAB, "--down", *common], timeout=120)
    assert down.returncode == 0, f"scripts/lab --down exited {down.returncode}"
    namespaces = bootlab.run(["ip", "netns", "list"]).stdout
    assert f"stampede-{NAME}-" not in namespaces, namespaces
    assert not os.path.exists(work), f"{work} left behind"
    assert not os.path.exists(f"/dev/shm/stampede-{NAME}-policy")
    assert not os.path.exists(f"/var/run/dpdk/stampede-{NAME}")
    if state:
        left = [pid for pid in state["pids"] if alive(pid)]
        assert not left, f"processes left running: {left}"
    print("scripts/lab --down left nothing behind")
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
