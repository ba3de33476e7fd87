"""Test lab for integration tests: private network namespaces joined by veth,
the dataplane started inside them, and its telemetry socket.

Everything a Lab creates is removed when it exits, whether the test passed or
not: processes are killed, namespaces (and so their veths and TAPs) deleted.
Addresses come from 198.18.0.0/15 only; nothing leaves the namespaces.
"""

import hashlib
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

SKIP = 77  # meson's exit code for a skipped test


def in_ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason):
    """A missing prerequisite: a skip on a developer machine, a failure in CI."""
    if in_ci():
        print(f"FAIL (CI=true, prerequisites are mandatory): {reason}")
        sys.exit(1)
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def add_stampede_args(parser, example):
    """The peer benchmarks' --stampede_args: extra dataplane flags, comma-separated,
    parsed into a list."""
    parser.add_argument("--stampede_args", default=[],
                        type=lambda text: [a for a in text.split(",") if a],
                        help=f"extra dataplane flags, comma-separated ({example})")


def require(commands, root=True):
    if root and os.geteuid() != 0:
        skip_or_fail("needs root for network namespaces")
    missing = [c for c in commands if shutil.which(c) is None]
    if missing:
        skip_or_fail(f"missing commands: {', '.join(missing)} (run scripts/setup)")


def sha256_file(path):
    """The SHA-256 of a file's bytes, read in 4 MiB pieces (images are GiBs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def poll(read, done, what, timeout=10):
    """Calls `read` until `done` holds for what it returns, and returns that.
    Bounded: after `timeout` seconds, an AssertionError names `what` and the
    last reading."""
    deadline = time.monotonic() + timeout
    while not done(value := read()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s: {value}")
        time.sleep(0.05)  # polling a bounded condition, not synchronising on time
    return value


def run(args, check=True, timeout=30, **kwargs):
    return subprocess.run(args, check=check, timeout=timeout, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)


class Process:
    """A child process whose merged output is collected and can be waited on."""

    def __init__(self, args, name):
        self.name = name
        self.output = []
        self._partial = b""
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        os.set_blocking(self.proc.stdout.fileno(), False)

    def _drain(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return
        chunk = self.proc.stdout.read()
        if not chunk:
            return
        self._partial += chunk
        *lines, self._partial = self._partial.split(b"\n")
        for line in lines:
            text = line.decode(errors="replace")
            self.output.append(text)
            print(f"[{self.name}] {text}")

    def wait_for(self, needle, timeout):
        """Waits (bounded) until a line containing `needle` appears."""
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            for line in self.output[seen:]:
                if needle in line:
                    return line
            seen = len(self.output)
            if self.proc.poll() is not None:
                self._drain(0)
                if any(needle in line for line in self.output[seen:]):
                    return next(l for l in self.output[seen:] if needle in l)
                raise AssertionError(
                    f"{self.name} exited with {self.proc.returncode} before printing {needle!r}")
            self._drain(min(0.2, max(0.0, deadline - time.monotonic())))
        raise AssertionError(f"{self.name} did not print {needle!r} within {timeout}s")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signals the process and waits for it; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._drain(0.1)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(f"{self.name} ignored {sig!r} for {timeout}s and was killed")
        self._drain(0)
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Drain:
    """Reads a Process's output in the background while the block runs, so a
    chatty server never stops on a full pipe (dnsmasq logs lines per lease
    and per transfer even when told to be quiet). The lines are kept, as
    wait_for would take them, or with keep=False dropped."""

    def __init__(self, process, keep=True):
        self.process = process
        self.keep = keep
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        stream = self.process.proc.stdout
        while not self.stop.is_set() and self.process.proc.poll() is None:
            if self.keep:
                self.process._drain(0.2)
                continue
            ready, _, _ = select.select([stream], [], [], 0.2)
            if ready and not stream.read():
                return  # end of file: the process exited

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)
        return False


class Telemetry:
    """Client of DPDK's telemetry v2 socket (AF_UNIX, SOCK_SEQPACKET, JSON)."""

    def __init__(self, file_prefix, timeout=10):
        path = f"/var/run/dpdk/{file_prefix}/dpdk_telemetry.v2"
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                # Generous: under ASan, with every CPU busy-polled by a
                # worker, a new connection's thread once took over 5 s to
                # greet (one CI run of tftp_2_worker).
                self.sock.settimeout(20)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # polling for the socket to appear, bounded by deadline
        self.greeting = json.loads(self.sock.recv(65536))

    def query(self, command):
        self.sock.send(command.encode())
        reply = json.loads(self.sock.recv(1 << 20))
        return reply[command.split(",")[0]]

    def close(self):
        self.sock.close()


class Lab:
    """A server and a client namespace joined by one veth pair.

    The server end has no kernel address: the appliance owns it. The client end
    gets `client_ip` and has tx checksum offload off, since a veth would hand
    partially checksummed TCP/UDP to the dataplane's packet socket.
    """

    def __init__(self, subnet="198.18.0", prefix=24):
        tag = secrets.token_hex(3)
        self.tag = tag
        self.server_ns = f"stp-{tag}-s"
        self.client_ns = f"stp-{tag}-c"
        self.server_if = f"vs{tag}"
        self.client_if = f"vc{tag}"
        self.tap_if = f"tp{tag}"
        self.server_ip = f"{subnet}.1"
        self.client_ip = f"{subnet}.2"
        self.prefix = prefix
        self.file_prefix = f"stampede-test-{tag}"
        self.instance = f"test-{tag}"
        self.state_dir = f"/tmp/stampede-test-{tag}"
        self.journal = f"{self.state_dir}/leases.journal"
        self.processes = []
        self.extra_namespaces = []  # made by a test; removed with the lab

    def __enter__(self):
        try:
            run(["ip", "netns", "add", self.server_ns])
            run(["ip", "netns", "add", self.client_ns])
            run(["ip", "link", "add", self.server_if, "netns", self.server_ns, "type", "veth",
                 "peer", "name", self.client_if, "netns", self.client_ns])
            for ns, ifname in ((self.server_ns, self.server_if), (self.client_ns, self.client_if)):
                run(["ip", "-n", ns, "link", "set", "lo", "up"])
                run(["ip", "-n", ns, "link", "set", ifname, "up"])
            run(["ip", "-n", self.client_ns, "addr", "add",
                 f"{self.client_ip}/{self.prefix}", "dev", self.client_if])
            self.client(["ethtool", "-K", self.client_if, "tx", "off"])
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.kill()
        for ns in (self.server_ns, self.client_ns, *self.extra_namespaces):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL, timeout=30)
        shutil.rmtree(f"/var/run/dpdk/{self.file_prefix}", ignore_errors=True)
        shutil.rmtree(self.state_dir, ignore_errors=True)
        for kind in ("policy", "status"):
            try:
                os.unlink(f"/dev/shm/stampede-{self.instance}-{kind}")
            except FileNotFoundError:
                pass
        return False

    def server(self, args, **kwargs):
        return run(["ip", "netns", "exec", self.server_ns, *args], **kwargs)

    def client(self, args, **kwargs):
        return run(["ip", "netns", "exec", self.client_ns, *args], **kwargs)

    def send_raw(self, frames):
        """Sends raw Ethernet frames out of the client's veth (from its namespace)."""
        script = ("import socket,sys\n"
                  "s=socket.socket(socket.AF_PACKET,socket.SOCK_RAW)\n"
                  f"s.bind(({self.client_if!r},0))\n"
                  "for h in sys.argv[1:]: s.send(bytes.fromhex(h))\n")
        self.client([sys.executable, "-c", script, *[f.hex() for f in frames]])

    def spawn(self, ns, args, name):
        process = Process(["ip", "netns", "exec", ns, *args], name)
        self.processes.append(process)
        return process

    def start_dataplane(self, dataplane, driver="af_packet", workers=1, extra=(),
                        port_options=""):
        """Starts stampede-dataplane on the server end; `workers` > 1 gives the
        port that many queue pairs and runs one worker per core; `port_options`
        are more of the port's devargs (e.g. "framecnt=4096")."""
        queues = {"af_packet": "qpairs", "af_xdp": "queue_count"}[driver]
        port = f"net_{driver}0,iface={self.server_if}"
        if port_options:
            port += f",{port_options}"
        if workers > 1:
            port += f",{queues}={workers}"
        lcores = ",".join(str(core) for core in range(workers)) if workers > 1 else "1"
        process = self.spawn(self.server_ns, [
            dataplane,
            f"--port={port}",
            f"--ipv4={self.server_ip}/{self.prefix}",
            f"--lcores={lcores}",
            "--memory_mb=256",
            f"--file_prefix={self.file_prefix}",
            f"--instance={self.instance}",
            f"--lease_journal={self.journal}",
            f"--exception_iface={self.tap_if}",
            *extra,
        ], "dataplane")
        process.wait_for("event=ready", timeout=60)
        return process

    def start_control(self, control, config, run_dir, extra=()):
        """Starts stampede-control in the server namespace for this lab's
        instance and journal, API on the unix socket only; waits until ready."""
        process = self.spawn(self.server_ns, [
            control, f"--config={config}", f"--instance={self.instance}", f"--run_dir={run_dir}",
            f"--lease_journal={self.journal}", "--api_listen=", *extra], "control")
        process.wait_for("event=ready", timeout=30)
        return process

    def wait_serving(self, telemetry, timeout=10, after_generation=None):
        """Polls (bounded) until the dataplane serves a policy (newer than
        `after_generation` when given); returns its /stampede/policy."""
        return poll(lambda: telemetry.query("/stampede/policy"),
                    lambda state: state["state"] == "serving" and
                    (after_generation is None or state["applied_generation"] > after_generation),
                    "no policy served", timeout)
