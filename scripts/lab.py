#!/usr/bin/env python3
"""scripts/lab: the appliance booting a VM over a virtual network, end to end.

On a Debian 12 machine, as root: installs what is missing (scripts/setup),
builds stampede (meson + ninja into build/), creates a private namespace
lab (a veth, a bridge and a TAP; 198.18.0.0/15 only), starts stampede
(`stampede serve`) with a config serving Debian's netboot installer, boots
a QEMU VM from it and shows a live timeline of that boot: DHCP, the lease
stampede made durable, each file over TFTP with its size and time, the
kernel, init. Exits 0 when the VM reached init and stampede's side agrees
(its lease, the files its counters say it sent).

  scripts/lab            BIOS: SeaBIOS + iPXE -> pxelinux.0 -> menu -> installer
  scripts/lab --uefi     UEFI: OVMF -> shim -> GRUB -> grub.cfg -> installer
  scripts/lab --http-boot  UEFI HTTP boot: OVMF -> iPXE by URL -> installer, all over HTTP
  scripts/lab --keep     leave the lab up afterwards, and say how to look at it
  scripts/lab --down     tear down a lab left up with --keep

The lab is the code the end-to-end tests run (tests/e2e/boot.py); see
docs/e2e.md.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "e2e"))

import boot  # noqa: E402
import bootlab  # noqa: E402
import scenarios  # noqa: E402

BUILD_TOOLS = ("meson", "ninja", "pkg-config", "g++")
EXIT_BOOT_FAILED = 1
EXIT_PREREQUISITE = 2


def say(text):
    print(f"scripts/lab: {text}", flush=True)


def fail(code, text):
    print(f"scripts/lab: error: {text}", file=sys.stderr, flush=True)
    sys.exit(code)


def work_dir(name):
    return f"/var/tmp/stampede-{name}"


def state_path(name):
    return os.path.join(work_dir(name), "state.json")


def take_down(name, quiet=False):
    """Removes a lab left up (its state file says what it holds)."""
    path = state_path(name)
    if not os.path.exists(path):
        # No state: remove whatever carries the lab's names anyway.
        state = {"namespaces": [f"stampede-{name}-{x}" for x in "scd"],
                 "instance": name, "file_prefix": f"stampede-{name}", "work_dir": work_dir(name)}
        present = subprocess.run(["ip", "netns", "list"], text=True,
                                 stdout=subprocess.PIPE).stdout
        if not any(ns in present for ns in state["namespaces"]) and not os.path.isdir(
                state["work_dir"]):
            if not quiet:
                say(f"no lab '{name}' is up")
            return
    else:
        with open(path) as f:
            state = json.load(f)
    bootlab.down(state)
    if not quiet:
        say(f"lab '{name}' is down (namespaces, VM, stampede and {state['work_dir']} removed)")


def missing_for(scenario, build):
    missing = boot.prerequisites(scenario)
    if build:
        missing += [f"command {tool}" for tool in BUILD_TOOLS if shutil.which(tool) is None]
    return missing


def ensure_prerequisites(scenario, args):
    missing = missing_for(scenario, not args.no_build)
    if not missing:
        return
    if os.geteuid() != 0:
        fail(EXIT_PREREQUISITE, "run as root: the lab creates network namespaces and TAP "
                                "devices, and scripts/setup installs packages")
    if args.no_setup:
        fail(EXIT_PREREQUISITE, "missing: " + "; ".join(missing) + " (run scripts/setup)")
    say("missing: " + "; ".join(missing) + ": running scripts/setup")
    if subprocess.run([os.path.join(SOURCE_ROOT, "scripts", "setup")]).returncode != 0:
        fail(EXIT_PREREQUISITE, "scripts/setup failed")
    missing = missing_for(scenario, not args.no_build)
    if missing:
        fail(EXIT_PREREQUISITE, "still missing after scripts/setup: " + "; ".join(missing))


def build(build_dir):
    log = os.path.join(build_dir, "lab-build.log")
    if not os.path.isdir(os.path.join(build_dir, "meson-private")):
        say(f"configuring {build_dir} (meson setup)")
        os.makedirs(build_dir, exist_ok=True)
        with open(log, "w") as f:
            if subprocess.run(["meson", "setup", build_dir, SOURCE_ROOT,
                               "--buildtype=debugoptimized"], stdout=f,
                              stderr=subprocess.STDOUT).returncode != 0:
                fail(EXIT_PREREQUISITE, f"meson setup failed; see {log}")
    say(f"building (ninja -C {build_dir}; log {log})")
    with open(log, "a") as f:
        if subprocess.run(["ninja", "-C", build_dir], stdout=f,
                          stderr=subprocess.STDOUT).returncode != 0:
            with open(log, errors="replace") as g:
                print("".join(g.readlines()[-25:]), file=sys.stderr)
            fail(EXIT_PREREQUISITE, f"the build failed; see {log}")


def print_how_to_look(lab, vm, name):
    cli = os.path.relpath(lab.cli_exe)
    api = f"--api={lab.api_socket}"
    print(f"""
The lab is up and stays up until `scripts/lab --down{'' if name == 'lab' else f' --name={name}'}`:
  status      {cli} status {api}
  leases      {cli} leases {api}
  boots       {cli} boots {api}
              {cli} boots {vm.spec.mac} {api}   (the VM's boot, step by step)
  events      {cli} events --follow {api}
  counters    DPDK telemetry /var/run/dpdk/{lab.file_prefix}/dpdk_telemetry.v2
              (/stampede/dhcp, /stampede/tftp, /stampede/stats)
  VM console  {vm.serial_log} (everything it printed)
              socat - UNIX-CONNECT:{vm.console}   (type into it: the installer runs there)
  appliance   ip netns exec {lab.server_ns} bash    (stampede's side: {lab.server_if}, {lab.exception_if})
  VM network  ip netns exec {lab.client_ns} bash    (bridge br0: {lab.client_if}, {vm.tap})
  config      {lab.config}
  logs        {lab.work_dir}/*.log""")


def main():
    parser = argparse.ArgumentParser(
        prog="scripts/lab", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    firmware = parser.add_mutually_exclusive_group()
    firmware.add_argument("--uefi", action="store_true", help="boot the VM with OVMF (UEFI)")
    firmware.add_argument("--http-boot", action="store_true",
                          help="boot the VM by UEFI HTTP boot (OVMF with its PXE off)")
    parser.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    parser.add_argument("--down", action="store_true", help="tear down a lab left up")
    parser.add_argument("--build-dir", default=os.path.join(SOURCE_ROOT, "build"),
                        help="build directory (default: build/ in the source tree)")
    parser.add_argument("--no-build", action="store_true",
                        help="use the binaries in --build-dir as they are")
    parser.add_argument("--no-setup", action="store_true",
                        help="never run scripts/setup; a missing prerequisite is an error")
    parser.add_argument("--name", default="lab",
                        help="lab name: namespaces stampede-NAME-{s,c}, state in "
                             "/var/tmp/stampede-NAME (default: lab)")
    parser.add_argument("--timeout", type=int, default=0,
                        help="seconds the VM has to reach init (default: 120 with KVM, "
                             "600 without)")
    args = parser.parse_args()
    bootlab.exit_on_sigterm()
    if not args.name.isalnum() or len(args.name) > 10:
        fail(EXIT_PREREQUISITE, "--name: letters and digits, at most 10")
    if os.geteuid() != 0:
        fail(EXIT_PREREQUISITE, "run as root (network namespaces, TAP devices, packages)")
    if args.down:
        take_down(args.name)
        return 0

    scenario = scenarios.SCENARIOS[
        "uefi" if args.uefi else "http-boot" if args.http_boot else "bios"]
    ensure_prerequisites(scenario, args)
    if not args.no_build:
        build(args.build_dir)
    for exe in ("dataplane/stampede-dataplane", "control/stampede-control", "control/stampede"):
        if not os.access(os.path.join(args.build_dir, exe), os.X_OK):
            fail(EXIT_PREREQUISITE, f"{args.build_dir}/{exe} is not built (drop --no-build)")
    if os.path.exists(state_path(args.name)):
        say(f"an earlier lab '{args.name}' is still up: taking it down first")
    take_down(args.name, quiet=True)

    os.makedirs(work_dir(args.name))
    say(f"{scenario.summary}; lab in namespaces stampede-{args.name}-s (stampede) and "
        f"stampede-{args.name}-c (the VM's network), files in {work_dir(args.name)}")
    ok = False
    lab = bootlab.BootLab(args.build_dir, work_dir(args.name), name=args.name, keep=args.keep)
    try:
        with lab:
            with open(state_path(args.name), "w") as f:
                json.dump(lab.state(), f)  # early: --down works even if this run dies
            try:
                line = boot.run(lab, scenario, serve=True, timeout=args.timeout or None)
                ok = True
            except AssertionError as error:
                print(f"\nscripts/lab: the boot did not get there: {error}", file=sys.stderr)
            finally:
                if lab.watch:
                    lab.watch.stop()
                with open(state_path(args.name), "w") as f:
                    json.dump(lab.state(), f)
            if ok:
                guest = next(iter(line.guests.values()))
                label = bootlab.KERNEL_INIT
                say(f"the VM reached init {guest.milestones['init reached']:.1f} s after "
                    f"power-on ({label!r} on its console)")
            if args.keep and lab.vms:
                print_how_to_look(lab, lab.vms[0], args.name)
    except KeyboardInterrupt:
        say("interrupted: taking the lab down")
        lab.close()
        shutil.rmtree(work_dir(args.name), ignore_errors=True)
        return 130
    if not args.keep:
        if ok:
            shutil.rmtree(work_dir(args.name), ignore_errors=True)
        else:  # the lab is down; its logs and console stay for a look
            os.unlink(state_path(args.name))
            for folder in ("tftp", "images"):
                shutil.rmtree(os.path.join(work_dir(args.name), folder), ignore_errors=True)
            say(f"logs and the VM's console: {work_dir(args.name)}")
    return 0 if ok else EXIT_BOOT_FAILED


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # before the lab exists (setup, build)
        sys.exit(130)
