"""End-to-end boot lab: stampede serving real firmware in QEMU guests.

Shared by the e2e tests (tests/e2e/boot_test.py), scripts/lab and
perf/boot_peers.py. The network it builds, all inside namespaces it creates:

    server ns  stampede-dataplane on one veth end (net_af_packet), its
               exception TAP, stampede-control (or `stampede serve`)
        | veth
    client ns  bridge br0: the other veth end, one TAP per QEMU guest,
               and a veth to a site namespace when a test adds a site
               DHCP server (proxyDHCP)

QEMU runs in the client namespace on its TAP (KVM when /dev/kvm can be
opened, TCG otherwise); each guest's serial console goes to a unix socket
whose every byte is also logged to a file, which is what the tests read.
Addresses only from 198.18.0.0/15. Everything a lab starts or creates is
removed when it exits, whether the test passed or not, unless it is told
to stay up (scripts/lab --keep), in which case `down()` removes it later
from the state file.
"""

import dataclasses
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import netlab  # noqa: E402  (tests/integration: Telemetry, skip_or_fail)

SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))

# ------------------------------------------------------------- Debian files

DI = "/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64"
DI_KERNEL = f"{DI}/linux"
DI_INITRD = f"{DI}/initrd.gz"
PXELINUX = "/usr/lib/PXELINUX/pxelinux.0"
SYSLINUX_BIOS = "/usr/lib/syslinux/modules/bios"
SYSLINUX_MODULES = ("ldlinux.c32", "menu.c32", "libutil.c32", "libcom32.c32")
SHIM = "/usr/lib/shim/shimx64.efi.signed"
GRUB_NET = "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed"
MEMTEST_BIN = "/boot/memtest86+x64.bin"
MEMTEST_EFI = "/boot/memtest86+x64.efi"
MEMTEST_ISO = "/usr/lib/memtest86+/memtest86+x64.iso"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"
IPXE_ROM = "/usr/lib/ipxe/qemu/pxe-e1000.rom"  # QEMU's e1000 option ROM (package ipxe-qemu)
IPXE_EFI = "/usr/lib/ipxe/ipxe.efi"  # iPXE as a UEFI program (package ipxe)
ISOLINUX = "/usr/lib/ISOLINUX/isolinux.bin"  # package isolinux
IPXE_ISO = "/usr/lib/ipxe/ipxe.iso"  # iPXE as a BIOS and UEFI bootable CD (package ipxe)
QEMU = "qemu-system-x86_64"

# Which Debian package holds each file, for the error that names what is missing.
PACKAGE_OF = {
    DI_KERNEL: "debian-installer-12-netboot-amd64", DI_INITRD: "debian-installer-12-netboot-amd64",
    PXELINUX: "pxelinux", SYSLINUX_BIOS: "syslinux-common", SHIM: "shim-signed",
    GRUB_NET: "grub-efi-amd64-signed", MEMTEST_BIN: "memtest86+", MEMTEST_EFI: "memtest86+",
    MEMTEST_ISO: "memtest86+", OVMF_CODE: "ovmf", OVMF_VARS: "ovmf", IPXE_ROM: "ipxe-qemu",
    IPXE_EFI: "ipxe", IPXE_ISO: "ipxe", ISOLINUX: "isolinux",
}
COMMANDS = {"ip": "iproute2", "nft": "nftables", "ethtool": "ethtool",
            QEMU: "qemu-system-x86"}

# What the serial console says when a guest got where it was going.
KERNEL_INIT = "Run /init as init process"  # Linux, init/main.c (needs no `quiet`)
KERNEL_STARTED = "Linux version"

SERVER_IP = "198.18.0.1"
PREFIX = 24
POOL = ("198.18.0.100", "198.18.0.199")


def exit_on_sigterm():
    """SIGTERM (meson's timeout, kill) becomes SystemExit, so every `with
    BootLab` and `finally` still removes what it made."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def kvm_usable():
    """KVM that can run firmware: /dev/kvm opens and the kernel's KVM is the
    hardware one (VT-x or AMD-V). Inside some cloud VMs /dev/kvm is backed
    by kvm_pvm, which runs only PVM-aware guest kernels: SeaBIOS starts but
    iPXE's real-mode calls stop with "KVM internal error ... emulation
    failure". STAMPEDE_E2E_ACCEL=kvm|tcg overrides the choice."""
    forced = os.environ.get("STAMPEDE_E2E_ACCEL")
    if forced in ("kvm", "tcg"):
        return forced == "kvm"
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError:
        return False
    return any(os.path.isdir(f"/sys/module/{m}") for m in ("kvm_intel", "kvm_amd"))


def missing_prerequisites(files=(), commands=(), root=True):
    """What is missing, each with the package that has it; empty when all is there."""
    missing = []
    if root and os.geteuid() != 0:
        missing.append("root (network namespaces, TAP devices)")
    for command in (*COMMANDS, *commands):
        if shutil.which(command) is None:
            missing.append(f"command {command} (package {COMMANDS.get(command, command)})")
    for path in files:
        if not os.path.exists(path):
            missing.append(f"{path} (package {PACKAGE_OF.get(path, '?')})")
    return missing


def run(args, check=True, timeout=30, **kwargs):
    return subprocess.run(args, check=check, timeout=timeout, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)


def place(source, target):
    """Puts `source` at `target` (a hard link when the file system allows,
    else a copy): the TFTP root serves only files inside it, so symlinks to
    /usr/lib would be skipped (control/catalog/tftp_root: 'leads out of the
    root')."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


# ------------------------------------------------------------- processes

class Proc:
    """A process whose output goes to a log file; waited on by reading it.

    Started in its own session, so a lab left up (--keep) outlives the
    command that started it, and a terminal's ^C reaches only the lab.
    """

    def __init__(self, args, name, log_path, env=None):
        self.name = name
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, env=env)
        self.pid = self.proc.pid

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def tail(self, lines=30):
        return "\n".join(self.text().splitlines()[-lines:])

    def alive(self):
        return self.proc.poll() is None

    def wait_for(self, needle, timeout):
        """Polls the log (bounded) until a line containing `needle` appears."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if needle in text:
                return next(line for line in text.splitlines() if needle in line)
            if not self.alive():
                raise AssertionError(f"{self.name} exited with {self.proc.returncode} before "
                                     f"printing {needle!r}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not print {needle!r} within {timeout}s:\n"
                                     f"{self.tail()}")
            time.sleep(0.05)  # polling the log, bounded by the deadline

    def stop(self, timeout=20):
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        return self.proc.returncode

    def kill(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()


def start_time(pid):
    """When `pid` started (clock ticks since boot, /proc/PID/stat field 22),
    or None when it is gone or a zombie: with the pid, it names one process
    even after pids are reused (a lab left up across a reboot)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else int(fields[19])


def kill_pid(pid, started, timeout=15):
    """Ends a process this lab started, if `pid` is still that process
    (`started`, from start_time()): SIGTERM, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if start_time(pid) != started:
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while start_time(pid) == started and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for it to exit, bounded by the deadline


# ------------------------------------------------------------- the guests

@dataclasses.dataclass
class VmSpec:
    name: str
    # "bios" (SeaBIOS + iPXE NIC ROM), "uefi" (OVMF) or "uefi-http" (OVMF with
    # its PXE off, so it boots by UEFI HTTP boot)
    firmware: str = "bios"
    mac: str = ""
    memory_mb: int = 1024
    # BIOS: an e1000 with QEMU's iPXE option ROM (SeaBIOS has no network
    # boot of its own). UEFI: virtio-net without an option ROM, so OVMF's
    # own driver and PXE boot it; with QEMU's ROM, iPXE's EFI driver tries
    # first (it fetched shim and grubx64.efi, then the boot fell back to
    # OVMF's PXE 25 s later).
    nic: str = ""

    def __post_init__(self):
        self.nic = self.nic or ("e1000" if self.firmware == "bios" else "virtio-net-pci")


class Vm:
    """A QEMU guest on its own TAP in the client namespace.

    The serial console is a unix socket (connect with `socat -
    UNIX-CONNECT:<console>`) that also logs every byte to `serial_log`.
    """

    def __init__(self, lab, spec, tap):
        self.lab = lab
        self.spec = spec
        self.tap = tap
        base = os.path.join(lab.work_dir, spec.name)
        self.serial_log = f"{base}.serial"
        self.console = f"{base}.console"
        self.qemu_log = f"{base}.qemu.log"
        self.vars = f"{base}.OVMF_VARS.fd"
        self.started = None
        self.proc = None
        self._offset = 0
        self._seen = ""

    def args(self):
        spec = self.spec
        accel = ["-accel", "kvm", "-cpu", "host"] if self.lab.kvm else ["-accel", "tcg"]
        args = [QEMU, "-name", spec.name, *accel, "-m", str(spec.memory_mb), "-smp", "1",
                "-nodefaults", "-display", "none", "-no-reboot", "-boot", "strict=on",
                "-chardev", f"socket,id=console,path={self.console},server=on,wait=off,"
                f"logfile={self.serial_log},logappend=on",
                "-serial", "chardev:console",
                "-netdev", f"tap,id=net0,ifname={self.tap},script=no,downscript=no",
                "-device", f"{spec.nic},netdev=net0,mac={spec.mac},bootindex=1"
                f"{',romfile=' if spec.firmware != 'bios' else ''}"]
        if spec.firmware != "bios":
            shutil.copyfile(OVMF_VARS, self.vars)
            args += ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
                     "-drive", f"if=pflash,format=raw,unit=1,file={self.vars}"]
        if spec.firmware == "uefi-http":
            # OVMF makes PXE and HTTP boot options for the NIC; with PXE
            # (and IPv6) off only "UEFI HTTPv4" is left (OvmfPkg's fw_cfg
            # knobs, RUNTIME_CONFIG.md).
            args += ["-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n",
                     "-fw_cfg", "name=opt/org.tianocore/IPv6Support,string=n"]
        return args

    def start(self):
        open(self.serial_log, "wb").close()
        self.started = time.monotonic()
        pin = ["taskset", "-c", self.lab.guest_cpus] if self.lab.guest_cpus else []
        self.proc = Proc(["ip", "netns", "exec", self.lab.client_ns, *pin, *self.args()],
                         f"qemu {self.spec.name}", self.qemu_log)
        return self

    def serial(self):
        """Everything the console printed so far (read incrementally)."""
        with open(self.serial_log, "rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        self._offset += len(chunk)
        self._seen += chunk.decode(errors="replace")
        return self._seen

    def wait_serial(self, needles, timeout, on_poll=None):
        """Polls the serial log (bounded) until one of `needles` appears;
        returns (needle, seconds since power-on). `on_poll` runs each round
        (the live timeline)."""
        if isinstance(needles, str):
            needles = [needles]
        deadline = time.monotonic() + timeout
        while True:
            text = self.serial()
            for needle in needles:
                if needle in text:
                    return needle, time.monotonic() - self.started
            if on_poll:
                on_poll()
            if "KVM internal error" in self.proc.text():
                raise AssertionError(
                    f"{self.spec.name}: KVM cannot run this firmware here (set "
                    f"STAMPEDE_E2E_ACCEL=tcg): {self.proc.tail(3)}")
            if not self.proc.alive():
                raise AssertionError(
                    f"{self.spec.name}: QEMU exited ({self.proc.proc.returncode}) before "
                    f"{needles}: {self.proc.tail(5)}\nserial tail:\n{clean(text)[-1500:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.spec.name}: no {needles} on the serial console "
                                     f"within {timeout}s; serial tail:\n{clean(text)[-1500:]}")
            time.sleep(0.1)  # polling the serial log, bounded by the deadline

    def stop(self):
        if self.proc:
            self.proc.kill()


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


def clean(text):
    """Serial text without terminal escapes (GRUB, menus and the installer draw)."""
    return ANSI.sub("", text)


# ------------------------------------------------------------- the lab

class BootLab:
    """Namespaces, the appliance and the guests; see the module docstring.

    `name` fixes the names (scripts/lab: "lab", so `--down` finds them);
    without one, a random tag keeps concurrent labs apart.
    """

    def __init__(self, build_dir, work_dir, name=None, keep=False):
        self.tag = name or secrets.token_hex(3)
        prefix = f"stampede-{self.tag}" if name else f"stp-{self.tag}"
        self.ns_prefix = prefix
        self.mac_byte = secrets.randbelow(256)  # guests' MACs: 52:54:00:18:<this>:<n>
        self.server_ns = f"{prefix}-s"
        self.client_ns = f"{prefix}-c"
        self.server_if = f"vs{self.tag}"[:15]
        self.client_if = f"vc{self.tag}"[:15]
        self.exception_if = f"tp{self.tag}"[:15]
        self.bridge = "br0"
        self.build_dir = build_dir
        self.dataplane_exe = os.path.join(build_dir, "dataplane", "stampede-dataplane")
        self.control_exe = os.path.join(build_dir, "control", "stampede-control")
        self.cli_exe = os.path.join(build_dir, "control", "stampede")
        self.work_dir = work_dir
        self.instance = self.tag if name else f"e2e-{self.tag}"
        self.file_prefix = f"stampede-{self.instance}"  # what `stampede serve` passes too
        self.run_dir = os.path.join(work_dir, "run")
        self.journal = os.path.join(work_dir, "leases.journal")
        self.api_socket = os.path.join(self.run_dir, f"{self.instance}.sock")
        self.kvm = kvm_usable()
        # The dataplane's one worker polls a core flat out: the last one, so
        # core 0 stays for QEMU and the rest.
        self.lcore = max(0, (os.cpu_count() or 1) - 1)
        self.keep = keep
        # CPUs the guests may use (taskset list), None: any. The benchmark
        # keeps them off the dataplane's core whatever the server is.
        self.guest_cpus = None
        self.procs = []
        self.vms = []
        self.namespaces = [self.server_ns, self.client_ns]
        self.telemetry = None
        self.watch = None
        self.dataplane_log = None
        self._taps = 0

    # -- namespaces

    def __enter__(self):
        os.makedirs(self.run_dir, exist_ok=True)
        try:
            self._create_network()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        if not self.keep:
            self.close()
        return False

    def _create_network(self):
        for ns in (self.server_ns, self.client_ns):
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            # Quiet segment: no IPv6 router solicitations or DAD on the bridge.
            run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"])
            run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                 "net.ipv6.conf.default.disable_ipv6=1"])
        run(["ip", "link", "add", self.server_if, "netns", self.server_ns, "type", "veth",
             "peer", "name", self.client_if, "netns", self.client_ns])
        c = ["ip", "-n", self.client_ns]
        run(c + ["link", "add", self.bridge, "type", "bridge", "stp_state", "0",
                 "forward_delay", "0"])
        run(c + ["link", "set", self.bridge, "up"])
        run(c + ["link", "set", self.client_if, "master", self.bridge, "up"])
        # Partial checksums must not reach the dataplane's packet socket.
        run(["ip", "netns", "exec", self.client_ns, "ethtool", "-K", self.client_if, "tx", "off"])
        run(["ip", "-n", self.server_ns, "link", "set", self.server_if, "up"])

    def add_tap(self):
        name = f"tap{self._taps}"
        self._taps += 1
        c = ["ip", "-n", self.client_ns]
        run(c + ["tuntap", "add", "dev", name, "mode", "tap"])
        run(c + ["link", "set", name, "master", self.bridge, "up"])
        return name

    def add_site_namespace(self, address):
        """A namespace on the bridge with `address`/24 on its interface `site0`
        (a site DHCP server, a peer server); returns the namespace."""
        ns = f"{self.ns_prefix}-d"
        run(["ip", "netns", "add", ns])
        self.namespaces.append(ns)
        outer = f"vd{self.tag}"[:15]
        run(["ip", "link", "add", "site0", "netns", ns, "type", "veth", "peer", "name", outer,
             "netns", self.client_ns])
        run(["ip", "-n", self.client_ns, "link", "set", outer, "master", self.bridge, "up"])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", ns, "addr", "add", f"{address}/{PREFIX}", "dev", "site0"])
        run(["ip", "-n", ns, "link", "set", "site0", "up"])
        run(["ip", "netns", "exec", ns, "ethtool", "-K", "site0", "tx", "off"])
        return ns

    def spawn(self, ns, args, name):
        proc = Proc(["ip", "netns", "exec", ns, *args], name,
                    os.path.join(self.work_dir, f"{name}.log"))
        self.procs.append(proc)
        return proc

    # -- the appliance

    def dataplane_section(self):
        """The config's dataplane section for this lab's port (used when
        control starts the dataplane: `stampede serve`)."""
        return (f"dataplane:\n  port: net_af_packet0,iface={self.server_if}\n"
                f"  lcores: \"{self.lcore}\"\n  memory_mb: 256\n  ipv4: [{SERVER_IP}/{PREFIX}]\n"
                f"  exception_iface: {self.exception_if}\n  ipv6_ra: true\n")

    def start_stampede(self, config_text, serve=False):
        """Writes the config and starts the appliance in the server namespace:
        the dataplane and control as two processes (as the integration tests
        do), or `stampede serve` (control supervising the dataplane, as an
        operator runs it). Waits until the dataplane serves the policy."""
        self.config = os.path.join(self.work_dir, "stampede.yaml")
        with open(self.config, "w") as f:
            f.write(config_text)
        common = [f"--config={self.config}", f"--instance={self.instance}",
                  f"--run_dir={self.run_dir}", f"--lease_journal={self.journal}", "--api_listen="]
        if serve:
            control = self.spawn(self.server_ns, [self.cli_exe, "serve", *common], "stampede")
            self.dataplane_log = control.log_path  # the supervised dataplane's output too
        else:
            dataplane = self.spawn(self.server_ns, [
                self.dataplane_exe, f"--port=net_af_packet0,iface={self.server_if}",
                f"--ipv4={SERVER_IP}/{PREFIX}", f"--lcores={self.lcore}", "--memory_mb=256",
                f"--file_prefix={self.file_prefix}", f"--instance={self.instance}",
                f"--lease_journal={self.journal}", f"--exception_iface={self.exception_if}"],
                "dataplane")
            dataplane.wait_for("event=ready", timeout=60)
            self.dataplane_log = dataplane.log_path
            control = self.spawn(self.server_ns, [self.control_exe, *common], "control")
        self.control = control
        control.wait_for("event=ready", timeout=60)
        self.telemetry = netlab.Telemetry(self.file_prefix, timeout=60)
        self.wait_serving()
        return control

    def wait_serving(self, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            # None until the dataplane has registered its telemetry commands.
            state = self.telemetry.query("/stampede/policy")
            if state and state.get("state") == "serving":
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"the dataplane serves no policy after {timeout}s: {state}")
            time.sleep(0.05)  # polling telemetry, bounded by the deadline

    def counters(self, group):
        """/stampede/<group>: tftp, dhcp, stats (the workers' counters) ..."""
        return self.telemetry.query(f"/stampede/{group}")

    def cli(self, *args, timeout=15):
        return run([self.cli_exe, *args, f"--api={self.api_socket}"], check=False,
                   timeout=timeout)

    def api(self, target, timeout=5):
        """GET `target` from control's API on its unix socket; the JSON answer."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.api_socket)
            sock.sendall(f"GET {target} HTTP/1.0\r\nHost: stampede\r\n\r\n".encode())
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        finally:
            sock.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n")[0]:
            raise AssertionError(f"GET {target}: {head[:200]!r}")
        return json.loads(body)

    def leases(self):
        """The leases `stampede leases --json` lists (from the lease journal)."""
        out = self.cli("leases", "--json")
        assert out.returncode == 0, f"stampede leases: {out.stdout}"
        return json.loads(out.stdout)["leases"]

    def wait_leases(self, macs, timeout=15):
        """Polls `stampede leases` (bounded) until every MAC in `macs` holds a
        bound lease; returns {mac: address}."""
        deadline = time.monotonic() + timeout
        while True:
            leases = self.leases()
            bound = {l["client"].lower(): l["address"] for l in leases if l["state"] == "bound"}
            if all(mac.lower() in bound for mac in macs):
                return {mac: bound[mac.lower()] for mac in macs}
            if time.monotonic() > deadline:
                raise AssertionError(f"leases for {macs} not all bound within {timeout}s: "
                                     f"{leases}")
            time.sleep(0.1)  # polling the API, bounded by the deadline

    # -- guests and the wire

    def start_watch(self):
        """The wire observer on the client bridge (tests/e2e/wire_watch.py)."""
        self.watch = WireWatch(self)
        return self.watch

    def new_vm(self, name, firmware="bios", memory_mb=1024, mac=None):
        index = len(self.vms)
        mac = mac or f"52:54:00:18:{self.mac_byte:02x}:{index + 1:02x}"
        vm = Vm(self, VmSpec(name, firmware, mac, memory_mb), self.add_tap())
        self.vms.append(vm)
        return vm

    # -- teardown

    def state(self):
        """What `down()` needs to remove a lab left up (scripts/lab --keep)."""
        return {"namespaces": self.namespaces, "work_dir": self.work_dir,
                "instance": self.instance, "file_prefix": self.file_prefix,
                "pids": [[pid, start_time(pid)] for pid in
                         [p.pid for p in self.procs] + [vm.proc.pid for vm in self.vms if vm.proc]],
                "dataplane_pid_file": os.path.join(self.run_dir,
                                                   f"{self.instance}-dataplane.pid")}

    def close(self):
        if self.telemetry:
            self.telemetry.close()
            self.telemetry = None
        if self.watch:
            self.watch.stop()
        for vm in self.vms:
            vm.stop()
        for proc in reversed(self.procs):  # control before the dataplane it may supervise
            proc.stop(timeout=20)
        down(self.state(), remove_work_dir=False)


def dataplane_pid(pid_file, instance):
    """The dataplane `stampede serve` started for `instance` (control keeps
    its pid in a file), if that pid is still it."""
    try:
        with open(pid_file) as f:
            pid = int(f.read().split()[0])
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except (OSError, TypeError, ValueError, IndexError):
        return None
    return pid if f"--instance={instance}".encode() in args else None


def down(state, remove_work_dir=True):
    """Removes a lab: its processes (by recorded pid), namespaces (and so
    their veths, TAPs and bridge), DPDK runtime files, shared memory and
    hugepage files. Safe to run twice."""
    pids = [tuple(p) for p in state.get("pids", [])]
    pid = dataplane_pid(state.get("dataplane_pid_file"), state.get("instance"))
    if pid:  # last: control, stopped before it, stops it first (or would restart it)
        pids.insert(0, (pid, start_time(pid)))
    for pid, started in reversed(pids):
        kill_pid(pid, started)
    for ns in state.get("namespaces", []):
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, timeout=30)
    prefix = state.get("file_prefix")
    if prefix:
        shutil.rmtree(f"/var/run/dpdk/{prefix}", ignore_errors=True)
        if os.path.isdir("/dev/hugepages"):
            for entry in os.listdir("/dev/hugepages"):
                if entry.startswith(prefix):
                    try:
                        os.unlink(os.path.join("/dev/hugepages", entry))
                    except OSError:
                        pass
    instance = state.get("instance")
    if instance:
        for kind in ("policy", "status"):
            try:
                os.unlink(f"/dev/shm/stampede-{instance}-{kind}")
            except FileNotFoundError:
                pass
    if remove_work_dir and state.get("work_dir"):
        shutil.rmtree(state["work_dir"], ignore_errors=True)


class WireWatch:
    """Reads wire_watch.py's JSON events from the client bridge."""

    def __init__(self, lab):
        self.events = []
        self.lab = lab
        self.proc = lab.spawn(lab.client_ns, [sys.executable, "-u",
                                              os.path.join(HERE, "wire_watch.py"), lab.bridge],
                              "wire")
        self._offset = 0
        self._partial = b""
        deadline = time.monotonic() + 10
        while not any(e["kind"] == "watching" for e in self.poll()):
            if not self.proc.alive() or time.monotonic() > deadline:
                raise AssertionError(f"wire_watch did not start: {self.proc.tail()}")
            time.sleep(0.05)  # polling its log, bounded by the deadline

    def poll(self):
        """The events read since the last call (all are kept in `events`)."""
        with open(self.proc.log_path, "rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        self._offset += len(chunk)
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        new = []
        for line in lines:
            try:
                new.append(json.loads(line))
            except ValueError:
                print(f"[wire] {line.decode(errors='replace')}")
        self.events += new
        return new

    def stop(self):
        self.proc.kill()
        if self.proc in self.lab.procs:
            self.lab.procs.remove(self.proc)
