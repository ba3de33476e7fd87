#!/usr/bin/env python3
"""TFTP from the dataplane, with real clients.

stampede-dataplane (net_af_packet) and stampede-control serve a TFTP root to
a client namespace over a veth. Every byte a client gets is checked by
sha256, and the appliance's side by its counters (/stampede/tftp):

1. tftp-hpa, atftp and curl, in their usual settings, fetch files of 0, 1,
   512 and 2 * 1468 bytes, and one of 65537 blocks of 512 (block numbers
   roll over to 0);
2. tsize of a sparse 5 GiB file comes back in the OACK (64 bits); the client
   aborts with an ERROR, the session ends at once and is counted;
3. 200 clients of all three kinds fetch one file, at most CONCURRENCY at a
   time;
4. the same with the client's packets lost, delayed and reordered: every
   transfer completes (atftp started again after its own known failures on
   loss, ATFTP_LOSS_FAILURES), the appliance retransmits, and never sends a
   DATA in answer to a duplicate ACK;
5. errors from a hand-made client: a missing file, paths escaping the root,
   WRQ, a refused option, packets to session ports nobody owns, malformed
   requests (dropped, counted); a normal transfer after each; then, after a
   config change, case-insensitive names and rollover to block 1;
6. windowsize: the OACK grants at most max_windowsize, a window is that many
   blocks, and 100 MiB with atftp's windowsize 16 costs no retransmissions
   on a clean link.

With --in_flight N (the dataplane's --tftp_in_flight) only these run:
7. TURNS_CLIENTS clients at once, at most N of them answered at a time: the
   others wait their turn unanswered (counted, seen in the queue gauge), and
   every transfer completes;
8. N hand-made clients hold every turn without acknowledging; a request
   behind them gets no answer, is let go after 30 s and counted; once the
   holders end, the client's next request is answered.
"""

import argparse
import collections
import concurrent.futures
import ctypes
import dataclasses
import errno
import hashlib
import heapq
import itertools
import os
import random
import select
import socket
import struct
import subprocess
import tempfile
import threading
import time

import netlab

# The config's limits: blksize is an Ethernet MTU less the IPv4, UDP and TFTP
# headers (RFC 2348); windowsize RFC 7440.
BLKSIZE = 1468
WINDOWSIZE = 16
DEFAULT_BLKSIZE = 512  # RFC 1350
TFTP_PORT = 69
SESSION_PORTS = range(61000, 65536)
CLIENTS_UNDER_LOAD = 200
CONCURRENCY = 100
TURNS_CLIENTS = 16
REPLY_TIMEOUT = 5.0  # seconds a hand-made client waits for an answer it is owed
SILENCE = 0.5  # seconds a hand-made client listens to be sure nothing comes

# /stampede/tftp: counters summed over the workers (sessions_active is a
# gauge). Every check reads these names from here.
COUNTERS = (
    "requests",
    "sessions_started",
    "sessions_completed",
    "sessions_failed",  # retries used up, or a read error
    "sessions_aborted",  # the client sent an ERROR
    "sessions_active",
    "data_sent",
    "data_retransmitted",
    "duplicate_acks",
    "data_on_duplicate_ack",  # a DATA sent in answer to a duplicate ACK: always 0
    "bytes_sent",
    "errors_sent",
    "error_file_not_found",
    "error_access_violation",
    "error_option_refused",
    "error_unknown_tid",
    "malformed",
    "cache_hits",
    "cache_misses",
    "cache_read_errors",
    "sessions_refused",  # the session table was full
    "sessions_queued",  # requests that waited their turn (--tftp_in_flight)
    "queue_expired",  # waited too long: let go unanswered
    "sessions_in_queue",  # a gauge
)

# RFC 1350 opcodes (OACK: RFC 2347) and the error codes the appliance sends.
RRQ, WRQ, DATA, ACK, ERROR, OACK = range(1, 7)
ERR_NOT_DEFINED = 0
ERR_FILE_NOT_FOUND = 1
ERR_ACCESS_VIOLATION = 2
ERR_UNKNOWN_TID = 5
ERR_OPTION_REFUSED = 8

# The files, all made before control starts (it catalogues the root when it
# compiles the policy): random bytes, and a sparse file never read whole.
SMALL_FILES = {"empty": 0, "one": 1, "block": DEFAULT_BLKSIZE, "two-blocks": 2 * BLKSIZE}
FILES = {
    **SMALL_FILES,
    "rollover": 65536 * DEFAULT_BLKSIZE + 1,  # 65537 blocks of 512: numbers wrap once
    "big": 100 << 20,
    "medium": (1 << 20) + 1234,
    "tiny-rollover": 65536 * 8 + 3,  # 65537 blocks of 8 (RFC 2348's smallest)
    "boot/bcd": 4096 + 7,
}
SPARSE_FILES = {"sparse": 5 << 30}
# netascii (RFC 1350): LF goes out as CR LF, a bare CR as CR NUL.
NETASCII_TEXT = b"menu title Boot\nlabel one\r  kernel vmlinuz\n\n" * 40


@dataclasses.dataclass(frozen=True)
class File:
    name: str
    size: int
    sha256: str


def make_files(root):
    """Writes FILES (random bytes) and SPARSE_FILES under `root`."""
    files = {}
    for name, size in FILES.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        digest = hashlib.sha256()
        with open(path, "wb") as f:
            for offset in range(0, size, 1 << 20):
                chunk = os.urandom(min(1 << 20, size - offset))
                digest.update(chunk)
                f.write(chunk)
        files[name] = File(name, size, digest.hexdigest())
    for name, size in SPARSE_FILES.items():
        with open(os.path.join(root, name), "wb") as f:
            f.truncate(size)
    with open(os.path.join(root, "menu.txt"), "wb") as f:
        f.write(NETASCII_TEXT)
    return files


def check_netascii(lab, counters, out_dir):
    """netascii: the bytes on the wire are converted (a raw client sees
    CR LF and CR NUL, and no tsize), and tftp-hpa in ascii mode, which
    converts back, gets the file as it is on disk."""
    before = counters.settled()
    wire = NETASCII_TEXT.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n")
    with RawClient(lab) as raw:
        got = raw.fetch("menu.txt", mode="netascii", blksize=512, tsize=0)
    assert got.size == len(wire) and got.sha256 == hashlib.sha256(wire).hexdigest(), (
        f"netascii on the wire: {got.size} bytes, {len(wire)} expected")
    assert "tsize" not in got.oack, got.oack
    local = os.path.join(out_dir, "menu.txt")
    result = lab.client(["tftp", "-m", "ascii", lab.server_ip, "-c", "get", "menu.txt", local],
                        check=False, timeout=60)
    with open(local, "rb") as f:
        assert f.read() == NETASCII_TEXT, f"tftp-hpa ascii: {result.stdout[-300:]}"
    delta = counters.wait(before, "netascii sessions ended",
                          lambda d: d["sessions_completed"] >= 2)
    expect(delta, "netascii", sessions_started=2, sessions_completed=2, errors_sent=0)


def config_text(lab, root, **tftp):
    fields = {"root": root, "max_blksize": BLKSIZE, "max_windowsize": WINDOWSIZE, **tftp}
    return (f"dataplane: {{port: net_null0, ipv4: [{lab.server_ip}/{lab.prefix}]}}\n"
            f"tftp: {{{', '.join(f'{key}: {value}' for key, value in fields.items())}}}\n")


def blocks(size, blksize):
    """DATA packets for a file of `size` bytes: the last one is short, maybe empty."""
    return size // blksize + 1



# ---------------------------------------------------------------- counters

@dataclasses.dataclass(frozen=True)
class Between:
    low: int
    high: float = float("inf")

    def __contains__(self, value):
        return self.low <= value <= self.high


def at_least(low):
    return Between(low)


class Counters:
    """/stampede/tftp, read as a dict of COUNTERS."""

    def __init__(self, telemetry):
        self.telemetry = telemetry

    def read(self):
        reply = self.telemetry.query("/stampede/tftp")
        missing = [name for name in COUNTERS if name not in reply]
        assert not missing, f"/stampede/tftp lacks {missing}: {reply}"
        return {name: reply[name] for name in COUNTERS}

    def settled(self, timeout=10):
        """A reading once no session is active (polled, bounded): the start
        of a measured interval, so a session of the previous step that ends
        late is not counted in it."""
        return netlab.poll(self.read, lambda now: now["sessions_active"] == 0,
                           "sessions still active", timeout)

    def since(self, before):
        now = self.read()
        return {name: now[name] - before[name] for name in COUNTERS}

    def wait(self, before, what, predicate, timeout=10):
        """Polls (bounded) until `predicate` holds for the change since
        `before`; returns that change."""
        return netlab.poll(lambda: self.since(before), predicate, what, timeout)


def expect(delta, what, **wanted):
    """Checks counter changes: name=value, or name=Between(...)."""
    print(what, {name: value for name, value in delta.items() if value})
    wrong = {name: (delta[name], want) for name, want in wanted.items()
             if not (delta[name] in want if isinstance(want, Between) else delta[name] == want)}
    assert not wrong, f"{what}: counters (got, wanted): {wrong}; all: {delta}"


class PeakSessions:
    """Samples sessions_active (`peak`), the running ones among them
    (`peak_running`: not in the queue) and the queue (`peak_queued`) on its
    own telemetry connection while a load runs."""

    def __init__(self, lab):
        self.telemetry = netlab.Telemetry(lab.file_prefix)
        self.peak = self.peak_running = self.peak_queued = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.05):
            now = Counters(self.telemetry).read()
            self.peak = max(self.peak, now["sessions_active"])
            self.peak_running = max(self.peak_running,
                                    now["sessions_active"] - now["sessions_in_queue"])
            self.peak_queued = max(self.peak_queued, now["sessions_in_queue"])

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)
        self.telemetry.close()
        return False


# ----------------------------------------------------------------- clients

@dataclasses.dataclass(frozen=True)
class Client:
    """A real TFTP client as a command line, and how to tell it failed."""
    name: str
    blksize: int
    argv: tuple  # with {ip}, {remote}, {local}, {url} to fill in

    def command(self, ip, remote, local):
        fill = {"ip": ip, "remote": remote, "local": local, "url": f"tftp://{ip}/{remote}"}
        return [part.format(**fill) for part in self.argv]

    def failure(self, result, file):
        """What went wrong by the client's own account, or None."""
        if result.returncode != 0:
            return f"exit status {result.returncode}"
        # tftp-hpa exits 0 after an ERROR or a timeout, leaving an empty file.
        if self.name.startswith("tftp-hpa"):
            if "Error code" in result.stdout or "timed out" in result.stdout:
                return "error reported"
            # -v: its count of bytes (none printed for an empty file).
            wanted = f"Received {file.size} bytes"
            if "-v" in self.argv and file.size and wanted not in result.stdout:
                return f"no {wanted!r}"
        return None


ATFTP_GET = ("-g", "-r", "{remote}", "-l", "{local}", "{ip}")
# curl 7.88 always sends tsize 0, blksize (512 unless told) and timeout, its
# own retry interval before the first answer: a third of --connect-timeout,
# at least 1 s (6 s by default). The appliance takes a client's timeout as
# its fixed RTO (RFC 2349): with --connect-timeout 5 curl asks for 1 s, so
# a lost ACK costs 1 s, not 6.
CURL = ("curl", "-sS", "--connect-timeout", "5", "--max-time", "120")
CLIENTS = {c.name: c for c in (
    # tftp-hpa 5.2 has no TFTP options at all: a bare RFC 1350 RRQ,
    # lock-step with 512-byte blocks.
    Client("tftp-hpa", 512, ("tftp", "-m", "binary", "{ip}", "-c", "get", "{remote}", "{local}")),
    Client("tftp-hpa -v", 512,
           ("tftp", "-v", "-m", "binary", "{ip}", "-c", "get", "{remote}", "{local}")),
    # atftp 0.8.0 has RFC 2348/2349/7440 options. Its documented "tsize
    # enable" sends the word as the value (not a number): "tsize 0" asks.
    Client("atftp", BLKSIZE,
           ("atftp", "--option", f"blksize {BLKSIZE}", "--option", "tsize 0", "--option",
            "timeout 1", "--option", "windowsize 8", *ATFTP_GET)),
    Client("atftp rfc1350", 512, ("atftp", *ATFTP_GET)),
    Client("atftp windowsize 16", 512,
           ("atftp", "--option", "tsize 0", "--option", f"windowsize {WINDOWSIZE}", *ATFTP_GET)),
    Client("atftp fast", BLKSIZE,
           ("atftp", "--option", f"blksize {BLKSIZE}", "--option", f"windowsize {WINDOWSIZE}",
            *ATFTP_GET)),
    Client("curl", BLKSIZE, (*CURL, "--tftp-blksize", str(BLKSIZE), "{url}", "-o", "{local}")),
    Client("curl 512", 512, (*CURL, "{url}", "-o", "{local}")),
    Client("curl no options", 512, (*CURL, "--tftp-no-options", "{url}", "-o", "{local}")),
)}
UNDER_LOAD = ("tftp-hpa", "atftp", "atftp fast", "curl", "curl 512")
# On the impaired link atftp runs without options: with them, atftp 0.8.0
# aborts on a repeated OACK and sticks on a repeated window (its own bugs,
# see ATFTP_LOSS_FAILURES), which loss makes common, not rare.
UNDER_LOSS = ("tftp-hpa", "atftp rfc1350", "curl", "curl 512")


def fetch(lab, client, file, out_dir, timeout=60):
    """Runs one client for `file` in the client namespace; returns what went
    wrong, or None when it got every byte."""
    slug = f"{client.name}-{file.name}".replace(" ", "_").replace("/", "_")
    local = os.path.join(out_dir, f"{slug}-{os.urandom(4).hex()}")
    try:
        try:
            result = lab.client(client.command(lab.server_ip, file.name, local), check=False,
                                timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"{client.name} {file.name}: no end within {timeout}s"
        problem = client.failure(result, file)
        if problem is None and not os.path.exists(local):
            problem = "no output file"
        if problem is None and netlab.sha256_file(local) != file.sha256:
            problem = f"sha256 differs ({os.path.getsize(local)} of {file.size} bytes)"
        if problem is not None:
            return f"{client.name} {file.name}: {problem}:\n{result.stdout[-500:]}"
        return None
    finally:
        if os.path.exists(local):
            os.unlink(local)


# atftp 0.8.0 fails on its own on a lossy link, whatever the server does:
# - an OACK that comes twice (its ACK of the first was lost, so the server
#   sent it again) makes it abort;
# - a repeated window (its ACK of the window was lost) gets one extra ACK,
#   then it ignores every further copy until the server gives up: stuck if
#   that extra ACK is lost too.
# On a lossy link such a run is started again, at most MAX_RERUNS in all
# (about 1.3 are expected with 1% loss); more would point at the server.
ATFTP_LOSS_FAILURES = ("tftp: unexpected OACK", "ignoring\ntftp: error received from server")
MAX_RERUNS = 8


def fetch_all(lab, jobs, out_dir, concurrency=1, timeout=60, lossy=False):
    """Runs (client name, file) jobs, `concurrency` at a time; all must
    succeed (the first failure cancels the jobs not yet started), but for
    ATFTP_LOSS_FAILURES on a `lossy` link."""
    started = time.monotonic()
    reruns = []

    def run(job):
        while True:
            problem = fetch(lab, CLIENTS[job[0]], job[1], out_dir, timeout)
            if not (lossy and problem and job[0].startswith("atftp") and
                    any(failure in problem for failure in ATFTP_LOSS_FAILURES) and
                    len(reruns) < MAX_RERUNS):
                return problem
            reruns.append(problem)

    problems = []
    pool = concurrent.futures.ThreadPoolExecutor(concurrency)
    try:
        for done in concurrent.futures.as_completed([pool.submit(run, job) for job in jobs]):
            if done.result() is not None:
                problems.append(done.result())
                break  # the running ones end on their own, bounded by `timeout`
    finally:
        pool.shutdown(cancel_futures=True)
    print(f"{len(jobs)} transfers, {concurrency} at a time: {time.monotonic() - started:.1f}s"
          + (f", {len(reruns)} atftp runs again after its own failure on loss" if reruns else ""))
    for rerun in reruns:
        why = next(f for f in ATFTP_LOSS_FAILURES if f in rerun).splitlines()[-1]
        print(f"  {rerun.splitlines()[0]} {why}")
    assert not problems, f"of {len(jobs)} transfers, {problems[0]}"


# ------------------------------------------------------ hand-made packets

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def _setns(f):
    if _libc.setns(f.fileno(), CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"setns: {os.strerror(code)}")


def socket_in(ns, family=socket.AF_INET, kind=socket.SOCK_DGRAM, proto=0):
    """A socket in network namespace `ns`, used from this process: a socket
    stays in the namespace it was made in, so this thread enters `ns` only
    for the socket() call."""
    with open("/proc/thread-self/ns/net", "rb") as home, open(f"/run/netns/{ns}", "rb") as there:
        _setns(there)
        try:
            return socket.socket(family, kind, proto)
        finally:
            _setns(home)


def request(opcode, name, mode="octet", **options):
    fields = [name, mode, *itertools.chain.from_iterable((k, str(v)) for k, v in options.items())]
    return struct.pack("!H", opcode) + b"".join(f.encode() + b"\0" for f in fields)


def ack(block):
    return struct.pack("!HH", ACK, block)


def data(block, payload):
    return struct.pack("!HH", DATA, block) + payload


def error(code, message):
    return struct.pack("!HH", ERROR, code) + message.encode() + b"\0"


def opcode(packet):
    return struct.unpack("!H", packet[:2])[0] if len(packet) >= 2 else None


def oack_options(packet):
    assert opcode(packet) == OACK, f"not an OACK: {packet[:60]!r}"
    fields = packet[2:].split(b"\0")[:-1]
    return {k.decode().lower(): v.decode() for k, v in zip(fields[::2], fields[1::2])}


def describe(packet):
    kind = opcode(packet)
    number = struct.unpack("!H", packet[2:4])[0] if len(packet) >= 4 else None
    if kind == ERROR:
        message = packet[4:].rstrip(b"\0").decode(errors="replace")
        return f"ERROR {number} {message!r}"
    if kind == DATA:
        return f"DATA {number} ({len(packet) - 4} bytes)"
    if kind == ACK:
        return f"ACK {number}"
    return f"opcode {kind}: {packet[:40]!r}"


@dataclasses.dataclass
class Fetched:
    sha256: str
    size: int
    oack: dict
    port: int  # the session's port on the appliance


class RawClient:
    """Hand-made TFTP packets from a UDP socket in the client namespace."""

    def __init__(self, lab):
        self.server = lab.server_ip
        self.sock = socket_in(lab.client_ns)
        self.sock.bind((lab.client_ip, 0))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()
        return False

    def send(self, packet, port=TFTP_PORT):
        self.sock.sendto(packet, (self.server, port))

    def receive(self, timeout=REPLY_TIMEOUT):
        """The next datagram and the appliance port it came from, or None."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return None
        packet, (host, port) = self.sock.recvfrom(65536)
        assert host == self.server, f"a datagram from {host}"
        return packet, port

    def reply(self, what, timeout=REPLY_TIMEOUT):
        got = self.receive(timeout)
        assert got is not None, f"{what}: no answer within {timeout}s"
        return got

    def expect_error(self, code, what, port=None):
        packet, source = self.reply(what)
        assert opcode(packet) == ERROR and struct.unpack("!H", packet[2:4])[0] == code, (
            f"{what}: wanted ERROR {code}, got {describe(packet)}")
        if port is not None:
            assert source == port, f"{what}: ERROR from port {source}, not {port}"
        return describe(packet)

    def expect_silence(self, what, timeout=SILENCE):
        got = self.receive(timeout)
        assert got is None, f"{what}: unexpected {describe(got[0])} from port {got[1]}"

    def fetch(self, name, rollover_to=0, **options):
        """Reads `name` to its end (RFC 1350 lock-step, or RFC 7440 windows
        when the OACK grants one), checking every block number on the wire,
        block 65536 included (`rollover_to`). For a clean link: a block out
        of order fails, a repeated one (a retransmission) is ignored."""
        self.send(request(RRQ, name, **options))
        packet, port = self.reply(f"RRQ {name}")
        if opcode(packet) == ERROR:
            raise AssertionError(f"RRQ {name}: {describe(packet)}")
        assert port in SESSION_PORTS, f"RRQ {name}: answered from port {port}"
        granted = {}
        if opcode(packet) == OACK:
            granted = oack_options(packet)
            self.send(ack(0), port)
            packet, source = self.reply(f"{name}: DATA 1")
            assert source == port, f"{name}: DATA from port {source}, not {port}"
        blksize = int(granted.get("blksize", DEFAULT_BLKSIZE))
        window = int(granted.get("windowsize", 1))
        digest, size, wire, in_window = hashlib.sha256(), 0, 1, 0
        recent = collections.deque(maxlen=2 * window)  # block numbers just received
        while True:
            assert opcode(packet) == DATA, f"{name}: {describe(packet)} after {size} bytes"
            block = struct.unpack("!H", packet[2:4])[0]
            if block != wire:
                assert block in recent, (
                    f"{name}: DATA {block} where {wire} was due, after {size} bytes")
            else:
                payload = packet[4:]
                assert len(payload) <= blksize, f"{name}: DATA {block} of {len(payload)} bytes"
                digest.update(payload)
                size += len(payload)
                recent.append(block)
                in_window += 1
                last = len(payload) < blksize
                if last or in_window == window:
                    self.send(ack(block), port)
                    in_window = 0
                if last:
                    return Fetched(digest.hexdigest(), size, granted, port)
                wire = block + 1 if block < 65535 else rollover_to
            packet, source = self.reply(f"{name}: DATA {wire}")
            assert source == port, f"{name}: DATA from port {source}, not {port}"


def fetch_raw(lab, file, name=None, **options):
    """A hand-made transfer of `file` (asked for as `name`) that must succeed."""
    with RawClient(lab) as raw:
        got = raw.fetch(name or file.name, **options)
    assert (got.size, got.sha256) == (file.size, file.sha256), (
        f"{name or file.name}: got {got.size} bytes, sha256 {got.sha256}")
    return got


# --------------------------------------------------------------- impairment

class Impairment:
    """netem's `loss 1% reorder 25% 50% delay 1ms` on the client's packets to
    the appliance (its ACKs and requests).

    With sch_netem, that is the qdisc on the client veth. Kernels without it
    (this project's VMs have none) get the same from user space: an iptables
    NFQUEUE rule in the client namespace hands each UDP packet for the
    appliance to a thread that drops it (1%), or lets it go at once (25%)
    or 1 ms later, so the ones let go at once overtake the delayed ones. The
    choice is correlated 50% with the last: half the time the last choice
    again, else a new draw (so 25% stays 25%, unlike netem's weighting of
    its random numbers).
    """

    LOSS, REORDER, CORRELATION, DELAY = 0.01, 0.25, 0.5, 0.001
    QUEUE = 7

    def __init__(self, lab, netem):
        self.lab = lab
        self.netem = netem
        self.stats = {"packets": 0, "dropped": 0, "at_once": 0, "delayed": 0, "lost_notices": 0}
        self.error = None
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if self.netem:
            self.lab.client(["tc", "qdisc", "add", "dev", self.lab.client_if, "root", "netem",
                             "loss", "1%", "reorder", "25%", "50%", "delay", "1ms"])
            return self
        self._queue = NfQueue(self.lab.client_ns, self.QUEUE)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self.lab.client(["iptables", "-w", "-A", "OUTPUT", "-p", "udp", "-d", self.lab.server_ip,
                         "-j", "NFQUEUE", "--queue-num", str(self.QUEUE)])
        return self

    def __exit__(self, *exc):
        if self.netem:
            self.lab.client(["tc", "qdisc", "del", "dev", self.lab.client_if, "root"])
            return False
        self.lab.client(["iptables", "-w", "-D", "OUTPUT", "-p", "udp", "-d", self.lab.server_ip,
                         "-j", "NFQUEUE", "--queue-num", str(self.QUEUE)])
        self._stop.set()
        self._thread.join(timeout=10)
        self._queue.close()
        print("impairment:", self.stats)
        if self.error is not None and exc[0] is None:
            raise AssertionError(f"impairment thread failed: {self.error!r}")
        return False

    def _run(self):
        rng = random.Random(1350)
        at_once, held = False, []  # held: (release time, packet id)
        try:
            while not self._stop.is_set():
                wait = held[0][0] - time.monotonic() if held else 0.05
                for packet_id in self._queue.receive(max(0.0, wait), self.stats):
                    self.stats["packets"] += 1
                    if rng.random() >= self.CORRELATION:
                        at_once = rng.random() < self.REORDER
                    if rng.random() < self.LOSS:
                        self.stats["dropped"] += 1
                        self._queue.verdict(packet_id, accept=False)
                    elif at_once:
                        self.stats["at_once"] += 1
                        self._queue.verdict(packet_id, accept=True)
                    else:
                        self.stats["delayed"] += 1
                        heapq.heappush(held, (time.monotonic() + self.DELAY, packet_id))
                now = time.monotonic()
                while held and held[0][0] <= now:
                    self._queue.verdict(heapq.heappop(held)[1], accept=True)
        except Exception as e:  # reported by __exit__
            self.error = e
        finally:
            for _, packet_id in held:
                self._queue.verdict(packet_id, accept=True)


class NfQueue:
    """A netfilter queue (nfnetlink_queue) bound in namespace `ns`, packets
    delivered as ids only (no payload): enough to give verdicts."""

    NETLINK_NETFILTER = 12
    NFNL_SUBSYS_QUEUE = 3
    MSG_PACKET, MSG_VERDICT, MSG_CONFIG = 0, 1, 2
    NFQA_PACKET_HDR, NFQA_VERDICT_HDR = 1, 2
    NFQA_CFG_CMD, NFQA_CFG_PARAMS, NFQA_CFG_QUEUE_MAXLEN = 1, 2, 3
    CMD_BIND, COPY_META = 1, 1
    NLM_F_REQUEST, NLM_F_ACK, NLMSG_ERROR = 1, 4, 2

    def __init__(self, ns, queue):
        self.queue = queue
        self.sock = socket_in(ns, socket.AF_NETLINK, socket.SOCK_RAW, self.NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE
        self.sock.bind((0, 0))
        self._seq = itertools.count(1)
        self._configure(self._attr(self.NFQA_CFG_CMD, struct.pack("!BBH", self.CMD_BIND, 0, 0)))
        self._configure(self._attr(self.NFQA_CFG_PARAMS, struct.pack("!IB", 0, self.COPY_META)),
                        self._attr(self.NFQA_CFG_QUEUE_MAXLEN, struct.pack("!I", 16384)))

    @staticmethod
    def _attr(kind, payload):
        length = 4 + len(payload)
        return struct.pack("=HH", length, kind) + payload + bytes(-length % 4)

    def _message(self, kind, attrs, flags):
        body = struct.pack("!BBH", socket.AF_UNSPEC, 0, self.queue) + b"".join(attrs)
        return struct.pack("=IHHII", 16 + len(body), (self.NFNL_SUBSYS_QUEUE << 8) | kind,
                           self.NLM_F_REQUEST | flags, next(self._seq), 0) + body

    def _configure(self, *attrs):
        self.sock.send(self._message(self.MSG_CONFIG, attrs, self.NLM_F_ACK))
        reply = self.sock.recv(65536)
        kind = struct.unpack("=H", reply[4:6])[0]
        code = struct.unpack("=i", reply[16:20])[0] if kind == self.NLMSG_ERROR else 0
        if code != 0:
            raise OSError(-code, f"nfnetlink_queue config: {os.strerror(-code)}")

    def receive(self, timeout, stats):
        """Ids of the packets queued within `timeout` seconds."""
        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return []
        try:
            buffer = self.sock.recv(1 << 20)
        except OSError as e:
            if e.errno != errno.ENOBUFS:  # notices lost: their packets are dropped on close
                raise
            stats["lost_notices"] += 1
            return []
        ids, offset = [], 0
        while offset + 16 <= len(buffer):
            length, kind = struct.unpack("=IH", buffer[offset:offset + 6])
            if kind == (self.NFNL_SUBSYS_QUEUE << 8) | self.MSG_PACKET:
                at = offset + 20
                while at + 4 <= offset + length:
                    attr_length, attr_kind = struct.unpack("=HH", buffer[at:at + 4])
                    if attr_kind & 0x7FFF == self.NFQA_PACKET_HDR:
                        ids.append(struct.unpack("!I", buffer[at + 4:at + 8])[0])
                    at += max(4, (attr_length + 3) & ~3)
            offset += max(16, (length + 3) & ~3)
        return ids

    def verdict(self, packet_id, accept):
        header = struct.pack("!II", 1 if accept else 0, packet_id)
        self.sock.send(self._message(self.MSG_VERDICT, [self._attr(self.NFQA_VERDICT_HDR, header)],
                                     0))

    def close(self):
        self.sock.close()


def netem_available(lab):
    """Whether the kernel has sch_netem (tried on the client veth, then removed)."""
    probe = lab.client(["tc", "qdisc", "add", "dev", lab.client_if, "root", "netem", "delay",
                        "1ms"], check=False)
    if probe.returncode != 0:
        return False
    lab.client(["tc", "qdisc", "del", "dev", lab.client_if, "root"])
    return True


# -------------------------------------------------------------------- cases

def check_clients(lab, counters, files, out_dir):
    """Case 1: each real client in its usual settings, each file size."""
    usual = ("tftp-hpa", "tftp-hpa -v", "atftp", "atftp rfc1350", "curl", "curl 512")
    jobs = []
    # curl refuses an OACK saying "tsize 0" (error 71, "invalid tsize"), so
    # stampede leaves tsize out for an empty file: curl asks for it here.
    for name in SMALL_FILES:
        jobs += [(client, files[name]) for client in (*usual, "curl no options")]
    # Block numbers past 65535 with the default blksize, lock-step and windowed.
    jobs += [(client, files["rollover"])
             for client in ("tftp-hpa", "curl 512", "atftp windowsize 16")]
    before = counters.settled()
    fetch_all(lab, jobs, out_dir, timeout=120)
    total_blocks = sum(blocks(file.size, CLIENTS[client].blksize) for client, file in jobs)
    delta = counters.wait(before, "sessions of case 1 ended",
                          lambda d: d["sessions_completed"] >= len(jobs))
    expect(delta, "case 1: real clients", requests=len(jobs), sessions_started=len(jobs),
           sessions_completed=len(jobs), sessions_failed=0, sessions_aborted=0, sessions_active=0,
           errors_sent=0, malformed=0, data_on_duplicate_ack=0, data_sent=at_least(total_blocks),
           bytes_sent=at_least(sum(file.size for _, file in jobs)))


def check_tsize_and_abort(lab, counters, files):
    """Case 2: a 5 GiB file's size in the OACK; the client aborts."""
    before = counters.settled()
    with RawClient(lab) as raw:
        raw.send(request(RRQ, "sparse", tsize=0, blksize=BLKSIZE))
        packet, port = raw.reply("RRQ sparse")
        granted = oack_options(packet)
        print("OACK for sparse:", granted)
        assert granted.get("tsize") == str(SPARSE_FILES["sparse"]), granted
        assert granted.get("blksize") == str(BLKSIZE), granted
        raw.send(error(ERR_NOT_DEFINED, "client aborts"), port)
        # The session ends on the ERROR, not on its timer (8 tries, 1 s first).
        delta = counters.wait(before, "the aborted session ended",
                              lambda d: d["sessions_aborted"] >= 1 and d["sessions_active"] <= 0,
                              timeout=2)
        raw.expect_silence("after the client's ERROR", timeout=1.5)  # no OACK again
    expect(delta, "case 2: tsize 5 GiB, aborted", sessions_started=1, sessions_aborted=1,
           sessions_failed=0, sessions_completed=0, sessions_active=0, data_sent=0)
    fetch_raw(lab, files["two-blocks"], blksize=BLKSIZE)


def check_load(lab, counters, files, out_dir, impaired):
    """Cases 3 and 4: CLIENTS_UNDER_LOAD transfers of one file by a mix of
    clients, on a clean link or an impaired one."""
    what = "case 4: under loss, delay, reordering" if impaired else "case 3: clean link"
    mix = UNDER_LOSS if impaired else UNDER_LOAD
    jobs = [(mix[i % len(mix)], files["medium"]) for i in range(CLIENTS_UNDER_LOAD)]
    before = counters.settled()
    with PeakSessions(lab) as peak:
        fetch_all(lab, jobs, out_dir, concurrency=CONCURRENCY, timeout=120, lossy=impaired)
    # Sessions whose last ACK was lost end when their retries run out.
    delta = counters.wait(before, f"{what}: sessions drained",
                          lambda d: d["sessions_active"] <= 0 and d["sessions_started"] ==
                          d["sessions_completed"] + d["sessions_failed"] + d["sessions_aborted"],
                          timeout=60)
    print(f"{what}: at most {peak.peak} sessions at once")
    assert peak.peak > 1, f"{what}: the transfers never overlapped"
    if impaired:
        expect(delta, what, sessions_started=at_least(len(jobs)), data_on_duplicate_ack=0,
               data_retransmitted=at_least(1), sessions_refused=0, cache_read_errors=0)
    else:
        expect(delta, what, sessions_started=len(jobs), sessions_completed=len(jobs),
               sessions_failed=0, sessions_aborted=0, errors_sent=0, data_on_duplicate_ack=0,
               sessions_refused=0, cache_read_errors=0)


def check_turns(lab, counters, files, out_dir, in_flight):
    """Case 7: TURNS_CLIENTS clients at once against a dataplane answering
    `in_flight` transfers at a time."""
    what = f"case 7: {TURNS_CLIENTS} clients, {in_flight} answered at a time"
    jobs = [(UNDER_LOAD[i % len(UNDER_LOAD)], files["medium"]) for i in range(TURNS_CLIENTS)]
    before = counters.settled()
    with PeakSessions(lab) as peak:
        fetch_all(lab, jobs, out_dir, concurrency=len(jobs), timeout=120)
    delta = counters.wait(before, f"{what}: sessions ended",
                          lambda d: d["sessions_completed"] >= len(jobs))
    print(f"{what}: at most {peak.peak_running} running and {peak.peak_queued} waiting at once")
    assert peak.peak_running <= in_flight, f"{what}: {peak.peak_running} ran at once"
    assert peak.peak_queued >= 1, f"{what}: no request was seen waiting its turn"
    expect(delta, what, sessions_started=len(jobs), sessions_completed=len(jobs),
           sessions_failed=0, sessions_aborted=0, errors_sent=0, queue_expired=0,
           sessions_queued=Between(1, len(jobs)), sessions_refused=0)


QUEUE_LIMIT_S = 30  # a request waits its turn this long at most (kMaxQueueMs)


def check_queue_expiry(lab, counters, files, in_flight):
    """Case 8: `in_flight` hand-made clients take every turn and never ACK;
    a request behind them waits unanswered (a stray ERROR to its session
    port ends nothing), is let go after QUEUE_LIMIT_S and counted; once the
    holders end their transfers the same client's next request is answered
    at once."""
    what = "case 8: a request that waits too long"
    before = counters.settled()
    holders = [RawClient(lab) for _ in range(in_flight)]
    try:
        ports = []
        for holder in holders:
            holder.send(request(RRQ, "medium"))
            packet, port = holder.reply(f"{what}: a holder's RRQ")
            assert opcode(packet) == DATA, f"{what}: {describe(packet)}"
            ports.append(port)
        with RawClient(lab) as late:
            late.send(request(RRQ, "one"))
            counters.wait(before, f"{what}: the request waits its turn",
                          lambda d: d["sessions_queued"] == 1 and d["sessions_in_queue"] == 1)
            # An ERROR to every session port: the one its request will be
            # answered from ends nothing (counted, unanswered), the others
            # are for no transfer of this client (ignored).
            for port in SESSION_PORTS:
                late.send(error(ERR_NOT_DEFINED, "stray"), port)
            counters.wait(before, f"{what}: a stray ERROR to its port counted",
                          lambda d: d["error_unknown_tid"] == 1)
            late.expect_silence(f"{what}: while every turn is taken", timeout=2)
            assert counters.since(before)["sessions_in_queue"] == 1, "the stray ended the wait"
            counters.wait(before, f"{what}: let go", lambda d: d["queue_expired"] == 1,
                          timeout=QUEUE_LIMIT_S + 10)
            late.expect_silence(f"{what}: once let go")
            for holder, port in zip(holders, ports):
                holder.send(error(ERR_NOT_DEFINED, "done"), port)
            counters.wait(before, f"{what}: holders ended",
                          lambda d: d["sessions_aborted"] == in_flight)
            got = late.fetch("one")
            assert (got.size, got.sha256) == (files["one"].size, files["one"].sha256), got
    finally:
        for holder in holders:
            holder.sock.close()
    delta = counters.wait(before, f"{what}: sessions ended",
                          lambda d: d["sessions_completed"] == 1)
    expect(delta, what, sessions_queued=1, queue_expired=1, sessions_in_queue=0,
           sessions_started=in_flight + 1, sessions_aborted=in_flight, sessions_completed=1,
           sessions_failed=0, error_unknown_tid=1, errors_sent=0)


# (what, the request, the ERROR code wanted, the counter it adds to)
REQUEST_ERRORS = (
    ("missing file", request(RRQ, "no-such-file"), ERR_FILE_NOT_FOUND, "error_file_not_found"),
    ("../etc/passwd", request(RRQ, "../etc/passwd"), ERR_ACCESS_VIOLATION,
     "error_access_violation"),
    ("/../x", request(RRQ, "/../x"), ERR_ACCESS_VIOLATION, "error_access_violation"),
    ("a/../../b", request(RRQ, "a/../../b"), ERR_ACCESS_VIOLATION, "error_access_violation"),
    ("WRQ of a new file", request(WRQ, "upload.bin"), ERR_ACCESS_VIOLATION,
     "error_access_violation"),
    ("WRQ of a served file", request(WRQ, "one"), ERR_ACCESS_VIOLATION, "error_access_violation"),
    ("blksize 2", request(RRQ, "one", blksize=2), ERR_OPTION_REFUSED, "error_option_refused"),
)
# (what, the packet, the session port it goes to: nobody's)
STRAY_PACKETS = (
    ("ACK to the first session port", ack(1), SESSION_PORTS[0]),
    ("DATA to the last session port", data(1, b"stray"), SESSION_PORTS[-1]),
)
MALFORMED = (
    ("RRQ without a NUL", b"\x00\x01two-blocks"),
    ("RRQ whose mode lacks its NUL", b"\x00\x01two-blocks\x00octet"),
    ("garbage", bytes.fromhex("deadbeef") + bytes(range(40))),
)


def check_errors(lab, counters, files):
    """Case 5: each error, then a normal transfer."""
    for what, packet, code, counter in REQUEST_ERRORS:
        before = counters.settled()
        with RawClient(lab) as raw:
            raw.send(packet)
            print(what, "->", raw.expect_error(code, what))
        delta = counters.wait(before, what, lambda d: d["errors_sent"] >= 1)
        expect(delta, what, errors_sent=1, **{counter: 1})
        fetch_raw(lab, files["two-blocks"], blksize=BLKSIZE)

    counters.settled()  # every session port is nobody's
    for what, packet, port in STRAY_PACKETS:
        before = counters.settled()
        with RawClient(lab) as raw:
            raw.send(packet, port)
            print(what, "->", raw.expect_error(ERR_UNKNOWN_TID, what, port=port))
        delta = counters.wait(before, what, lambda d: d["errors_sent"] >= 1)
        expect(delta, what, errors_sent=1, error_unknown_tid=1)
        fetch_raw(lab, files["two-blocks"], blksize=BLKSIZE)

    # A live session's port, from a stranger's port: ERROR 5 to the stranger
    # (RFC 1350 §4), and the transfer goes on.
    before = counters.settled()
    with RawClient(lab) as owner, RawClient(lab) as stranger:
        owner.send(request(RRQ, "block"))
        first, port = owner.reply("RRQ block")
        assert describe(first) == f"DATA 1 ({DEFAULT_BLKSIZE} bytes)", describe(first)
        stranger.send(ack(1), port)
        print("stranger's ACK ->", stranger.expect_error(ERR_UNKNOWN_TID, "stranger's ACK", port))
        owner.send(ack(1), port)
        last = first
        while describe(last) == describe(first):  # DATA 1 again if its timer ran out
            last, _ = owner.reply("DATA 2 of block")
        assert describe(last) == "DATA 2 (0 bytes)", describe(last)
        owner.send(ack(2), port)
        assert hashlib.sha256(first[4:]).hexdigest() == files["block"].sha256
    delta = counters.wait(before, "stranger", lambda d: d["sessions_completed"] >= 1)
    expect(delta, "a stranger on a live session", errors_sent=1, error_unknown_tid=1,
           sessions_completed=1, sessions_failed=0)

    # A new request from the port of a transfer whose blocks all went out, before
    # its last ACK (as when that ACK is still on its way through another
    # worker): the old transfer counts as completed; its late ACK then gets no
    # ERROR, which the port's new transfer could take for its answer.
    before = counters.settled()
    with RawClient(lab) as raw:
        raw.send(request(RRQ, "block"))
        first, old_port = raw.reply("RRQ block")
        raw.send(ack(1), old_port)
        last = first
        while describe(last) == describe(first):  # DATA 1 again if its timer ran out
            last, _ = raw.reply("DATA 2 of block")
        assert describe(last) == "DATA 2 (0 bytes)", describe(last)
        raw.send(request(RRQ, "one"))
        packet, new_port = raw.reply("RRQ one from the same port")
        while new_port == old_port:  # DATA 2 again before the request was seen
            packet, new_port = raw.reply("RRQ one from the same port")
        assert describe(packet) == "DATA 1 (1 bytes)", describe(packet)
        raw.send(ack(2), old_port)  # the old transfer's late last ACK
        # Only DATA 1 again may come while the new transfer is alive; it is
        # acknowledged after that (an ACK sent at once could overtake the late
        # one through another worker and end the transfer before it).
        deadline = time.monotonic() + SILENCE
        while (got := raw.receive(max(0.0, deadline - time.monotonic()))) is not None:
            assert got[1] == new_port and describe(got[0]) == "DATA 1 (1 bytes)", (
                f"after the late ACK: {describe(got[0])} from port {got[1]}")
        raw.send(ack(1), new_port)
    delta = counters.wait(before, "a new request before the last ACK",
                          lambda d: d["sessions_completed"] >= 2 and d["error_unknown_tid"] >= 1)
    expect(delta, "a new request before the last ACK", sessions_started=2, sessions_completed=2,
           sessions_aborted=0, errors_sent=0, error_unknown_tid=1)

    # Malformed requests get no answer: the request after them, on the same
    # flow (so the same queue, in order), is answered first and alone.
    before = counters.settled()
    with RawClient(lab) as raw:
        for _, packet in MALFORMED:
            raw.send(packet)
        raw.send(request(RRQ, "one"))
        packet, port = raw.reply("RRQ one after malformed requests")
        assert describe(packet) == "DATA 1 (1 bytes)", (
            f"a malformed request was answered: {describe(packet)}")
        raw.send(ack(1), port)
        raw.expect_silence("after malformed requests")
    delta = counters.wait(before, "malformed counted", lambda d: d["malformed"] >= len(MALFORMED))
    expect(delta, "malformed requests", malformed=len(MALFORMED), errors_sent=0)
    fetch_raw(lab, files["two-blocks"], blksize=BLKSIZE)


def check_names_and_rollover(lab, counters, files, case_insensitive):
    """Case 5, config dependent: names by case, block numbers after 65535."""
    fetch_raw(lab, files["boot/bcd"], name="\\boot\\bcd")  # backslashes: always separators
    if case_insensitive:
        fetch_raw(lab, files["boot/bcd"], name="\\BOOT\\BCD")
        fetch_raw(lab, files["boot/bcd"], name="Boot/BCD")
    else:
        with RawClient(lab) as raw:
            raw.send(request(RRQ, "\\BOOT\\BCD"))
            raw.expect_error(ERR_FILE_NOT_FOUND, "\\BOOT\\BCD, case sensitive")
    rollover_to = 1 if case_insensitive else 0
    before = counters.settled()
    got = fetch_raw(lab, files["tiny-rollover"], rollover_to=rollover_to, blksize=8,
                    windowsize=WINDOWSIZE)
    assert got.oack.get("windowsize") == str(WINDOWSIZE), got.oack
    delta = counters.wait(before, "tiny-rollover", lambda d: d["sessions_completed"] >= 1)
    expect(delta, f"65537 blocks of 8, rollover to {rollover_to}", sessions_completed=1,
           data_sent=at_least(blocks(files["tiny-rollover"].size, 8)), data_on_duplicate_ack=0)


def check_windows(lab, counters, files, out_dir):
    """Case 6: windows of max_windowsize blocks, and their cost."""
    before = counters.settled()
    with RawClient(lab) as raw:
        raw.send(request(RRQ, "medium", blksize=DEFAULT_BLKSIZE, windowsize=4 * WINDOWSIZE))
        packet, port = raw.reply("RRQ medium, windowsize 64")
        granted = oack_options(packet)
        assert granted.get("windowsize") == str(WINDOWSIZE), f"windowsize 64 granted: {granted}"
        raw.send(ack(0), port)
        window = [describe(raw.reply(f"DATA {i} of the first window")[0])
                  for i in range(1, WINDOWSIZE + 1)]
        assert window == [f"DATA {i} ({DEFAULT_BLKSIZE} bytes)" for i in range(1, WINDOWSIZE + 1)
                          ], window
        more = raw.receive(SILENCE)
        # Nothing, or the window again on a timeout: never block 17 unasked.
        assert more is None or (opcode(more[0]) == DATA and struct.unpack(
            "!H", more[0][2:4])[0] <= WINDOWSIZE), f"before the ACK: {describe(more[0])}"
        raw.send(error(ERR_NOT_DEFINED, "enough"), port)
    counters.wait(before, "the windowed session aborted", lambda d: d["sessions_aborted"] >= 1)

    big = files["big"]
    before = counters.settled()
    fetch_all(lab, [("atftp fast", big)], out_dir, timeout=120)
    delta = counters.wait(before, "100 MiB", lambda d: d["sessions_completed"] >= 1)
    count = blocks(big.size, BLKSIZE)
    slack = count // 100
    print(f"100 MiB: {count} blocks, {delta['data_sent']} DATA sent, "
          f"{delta['data_retransmitted']} retransmitted")
    expect(delta, "case 6: 100 MiB, windowsize 16", sessions_completed=1, sessions_failed=0,
           sessions_aborted=0,
           data_sent=Between(count, count + slack), data_retransmitted=Between(0, slack),
           data_on_duplicate_ack=0, bytes_sent=at_least(big.size))


def restart_control(lab, control, telemetry, args, path, run_dir, text):
    control.stop()
    with open(path, "w") as f:
        f.write(text)
    before = telemetry.query("/stampede/policy")["applied_generation"]
    control = lab.start_control(args.control, path, run_dir)
    lab.wait_serving(telemetry, after_generation=before)
    return control


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataplane", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--in_flight", type=int,
                        help="the dataplane's --tftp_in_flight; only case 7 runs")
    args = parser.parse_args()
    netlab.require(["ip", "ethtool", "tc", "tftp", "atftp", "curl"])

    with netlab.Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        netem = netem_available(lab)
        if not netem:
            netlab.require(["iptables"])  # the impairment from user space
        root = os.path.join(tmp, "root")
        out_dir = os.path.join(tmp, "out")
        os.makedirs(out_dir)
        files = make_files(root)
        path = os.path.join(tmp, "stampede.yaml")
        with open(path, "w") as f:
            f.write(config_text(lab, root))
        run_dir = os.path.join(tmp, "run")
        extra = [f"--tftp_in_flight={args.in_flight}"] if args.in_flight else []
        lab.start_dataplane(args.dataplane, workers=args.workers, extra=extra)
        control = lab.start_control(args.control, path, run_dir)
        telemetry = netlab.Telemetry(lab.file_prefix)
        lab.wait_serving(telemetry)
        counters = Counters(telemetry)
        start = counters.read()
        # Fails in seconds, not a client timeout per transfer, if nothing is served.
        fetch_raw(lab, files["one"])
        if args.in_flight:
            check_turns(lab, counters, files, out_dir, args.in_flight)
            check_queue_expiry(lab, counters, files, args.in_flight)
            expect(counters.since(start), "whole run", sessions_active=0, sessions_in_queue=0,
                   queue_expired=1)
            telemetry.close()
            control.stop()
            print("PASS")
            return

        check_clients(lab, counters, files, out_dir)
        check_netascii(lab, counters, out_dir)
        check_windows(lab, counters, files, out_dir)
        check_tsize_and_abort(lab, counters, files)
        check_errors(lab, counters, files)
        check_names_and_rollover(lab, counters, files, case_insensitive=False)
        check_load(lab, counters, files, out_dir, impaired=False)
        with Impairment(lab, netem) as impairment:
            check_load(lab, counters, files, out_dir, impaired=True)
        if not netem:
            assert impairment.stats["dropped"] > 0 and impairment.stats["at_once"] > 0, (
                impairment.stats)

        control = restart_control(lab, control, telemetry, args, path, run_dir,
                                  config_text(lab, root, case_insensitive="true", rollover_to=1))
        check_names_and_rollover(lab, counters, files, case_insensitive=True)

        total = counters.since(start)
        # The default --tftp_in_flight (half af_packet's 8,192 frames) is
        # far above this test's loads: nobody waits a turn.
        expect(total, "whole run", data_on_duplicate_ack=0, cache_read_errors=0,
               sessions_refused=0, sessions_active=0, sessions_queued=0, sessions_in_queue=0)
        telemetry.close()
        control.stop()
    print("PASS")


if __name__ == "__main__":
    main()
