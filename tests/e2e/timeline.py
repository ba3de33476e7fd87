"""The live timeline of guests booting, in seconds since each one's power-on.

Three sources, each row saying which:
  wire      wire_watch.py on the client bridge: DHCP messages, each TFTP
            transfer's end (file, bytes, block size), aborted size probes,
            files the loaders looked for and the appliance does not have,
            a guest's first IPv6 router solicitation and advertisement;
  stampede  the appliance: lease events from control's API (GET /events,
            reported once the lease is durable in the journal), the
            dataplane's log of HTTP requests (event=http_access, timed when
            read), and the
            /stampede/tftp counters (sessions completed, bytes sent) read
            at each transfer's end;
  console   each guest's serial console: bootloader, kernel, init.
"""

import dataclasses
import itertools
import sys
import time

import bootlab
import initramfs

# Serial console lines worth a row, in the order a boot reaches them.
MILESTONES = (
    ("Booting `", "GRUB boots its menu entry"),
    ("Loading debian-installer/amd64/linux", "PXELINUX loads the kernel"),
    ("Loading memtest86+", "PXELINUX loads memtest86+"),
    (bootlab.KERNEL_STARTED, "kernel running"),
    (bootlab.KERNEL_INIT, "init reached"),
    ("Memtest86+ v", "memtest86+ running (its banner)"),
    (initramfs.MARKER, "our init ran (it powers off)"),
    ("stampede-e2e: fetching", "our init downloads the ISO"),
    (initramfs.ISO_MARKER, "the ISO came whole (sha256 checked)"),
)
EVENTS_EVERY = 0.5  # seconds between reads of control's event log
HTTP_PENDING_MAX = 1000  # requests kept while their address is not known yet


def human_bytes(n):
    for unit, size in (("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def label_of(marker):
    return next(label for needle, label in MILESTONES if needle == marker)


@dataclasses.dataclass
class Guest:
    vm: object
    address: str = ""
    milestones: dict = dataclasses.field(default_factory=dict)  # label -> seconds
    transfers: list = dataclasses.field(default_factory=list)  # wire "done" events
    dhcp: dict = dataclasses.field(default_factory=dict)  # "OFFER"/"ACK"/"lease" -> seconds
    missing: list = dataclasses.field(default_factory=list)  # (seconds, file) not found, pending
    http_files: set = dataclasses.field(default_factory=set)  # paths answered 200 or 206
    http_bytes: int = 0  # body bytes of those answers
    ndp_seen: set = dataclasses.field(default_factory=set)  # "RS", "RA": first of each shown


class Timeline:
    """Call poll() while guests boot (it prints new rows as they come)."""

    def __init__(self, lab, vms, out=None, quiet=False):
        self.lab = lab
        self.out = out or sys.stdout
        self.quiet = quiet
        self.guests = {vm.spec.mac.lower(): Guest(vm) for vm in vms}
        self.by_address = {}
        self._http_pending = []  # (time read, fields) of requests from addresses not yet seen
        self.rows = []
        self._events_since = 0
        self._log_offset = 0
        self._events_next = 0.0
        # Control's event times are wall-clock; rows are monotonic.
        self._wall_offset = time.time() - time.monotonic()

    def print(self, text):
        if not self.quiet:
            print(text, file=self.out, flush=True)

    def header(self):
        accel = "KVM" if self.lab.kvm else "TCG (no usable KVM)"
        for guest in self.guests.values():
            spec = guest.vm.spec
            firmware = {"bios": "SeaBIOS + iPXE ROM", "uefi": "OVMF (UEFI)",
                        "uefi-http": "OVMF (UEFI HTTP boot)"}[spec.firmware]
            self.print(f"{spec.name}: {firmware}, {spec.nic} {spec.mac}, {spec.memory_mb} MiB, "
                       f"{accel}; serial console log {guest.vm.serial_log}")
        self.print("  seconds   source    event")

    def row(self, guest, seconds, source, text):
        self.rows.append((guest.vm.spec.name, seconds, source, text))
        name = f"{guest.vm.spec.name}  " if len(self.guests) > 1 else ""
        self.print(f"  {seconds:7.2f}   {source:<8}  {name}{text}")

    def note(self, text):
        self.print(f"  {text}")

    def since(self, guest, t):
        return t - guest.vm.started

    def poll(self, final=False):
        # The log first: its lines carry no time, so they get the time they
        # are read (within a poll, 0.1 s), and come before the wire's rows
        # of the same poll.
        self.appliance_log()
        if self.lab.watch:
            events = self.lab.watch.poll()
            last_done = max((i for i, e in enumerate(events) if e["kind"] == "done"), default=-1)
            for i, event in enumerate(events):
                self.wire(event, counters=i == last_done)
            self.flush_missing()
        if final or time.monotonic() >= self._events_next:
            self._events_next = time.monotonic() + EVENTS_EVERY
            self.appliance_events()
        for guest in self.guests.values():
            if guest.vm.started is None:
                continue
            text = guest.vm.serial()
            for needle, label in MILESTONES:
                if label not in guest.milestones and needle in text:
                    seconds = time.monotonic() - guest.vm.started
                    guest.milestones[label] = seconds
                    self.row(guest, seconds, "console", label)

    def appliance_events(self):
        try:
            answer = self.lab.api(f"/events?since={self._events_since}&limit=1000")
        except (OSError, AssertionError, ValueError):
            return  # control restarting: the next poll reads them
        self._events_since = answer.get("next", self._events_since)
        for event in answer.get("events", []):
            if not event["kind"].startswith("lease_"):
                continue
            detail = event["detail"].lower()
            guest = next((g for mac, g in self.guests.items() if mac in detail), None)
            if guest is None:
                continue
            seconds = event["time_ns"] / 1e9 - self._wall_offset - guest.vm.started
            guest.dhcp.setdefault("lease", seconds)
            self.row(guest, seconds, "stampede", f"{event['kind']} {event['detail']} "
                                                  f"(durable in the lease journal)")

    def appliance_log(self):
        """The dataplane's key=value log: its HTTP requests (event=http_access)."""
        if not self.lab.dataplane_log:
            return
        with open(self.lab.dataplane_log, "rb") as f:
            f.seek(self._log_offset)
            chunk = f.read()
        complete = chunk.rfind(b"\n") + 1
        self._log_offset += complete
        now = time.monotonic()
        for line in chunk[:complete].decode(errors="replace").splitlines():
            if "event=http_access" in line:
                fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
                self._http_pending.append((now, fields))
        # A request can be read before the wire's ACK tells whose address it
        # is (UEFI HTTP boot fetches right after its ACK): kept until then.
        ready, waiting = [], []
        for read_at, fields in self._http_pending:
            guest = self.by_address.get(fields.get("client", "").split(":")[0])
            if guest is None:
                waiting.append((read_at, fields))
            else:
                ready.append((guest, read_at, fields))
        self._http_pending = waiting[-HTTP_PENDING_MAX:]

        # Ranges of one file in a row (iPXE's sanboot reads a disk by them)
        # make one row: how many, how many bytes.
        def run_of(item):
            guest, _, fields = item
            ranged = fields.get("status") == "206"
            return (guest.vm.spec.name, fields.get("path")) if ranged else id(item)

        for _, run in itertools.groupby(ready, key=run_of):
            run = list(run)
            guest, read_at, fields = run[0]
            if fields.get("status") in ("200", "206"):
                guest.http_files.add(fields.get("path"))
                guest.http_bytes += sum(int(f.get("bytes", "0")) for _, _, f in run)
            if fields.get("status") == "206":
                total = sum(int(f.get("bytes", "0")) for _, _, f in run)
                text = f"HTTP GET {fields.get('path')}: 206 x {len(run)} (ranges), {total} bytes"
            else:
                text = (f"HTTP {fields.get('method')} {fields.get('path')}: "
                        f"{fields.get('status')}, {fields.get('bytes')} bytes in "
                        f"{fields.get('ms')} ms")
            self.row(guest, read_at - guest.vm.started, "stampede", text)

    def wire(self, event, counters=False):
        kind = event["kind"]
        if kind == "dhcp":
            self.dhcp(event)
        elif kind == "ndp":
            self.ndp(event)
        elif kind in ("done", "error"):
            guest = self.by_address.get(event["client"].split(":")[0])
            if guest is not None:
                self.tftp(guest, event, counters)

    def flush_missing(self):
        """One row for the files a loader looked for in a row and did not
        find (PXELINUX tries eleven config names, GRUB its module lists)."""
        for guest in self.guests.values():
            if guest.missing:
                seconds, names = guest.missing[0][0], [name for _, name in guest.missing]
                guest.missing = []
                self.row(guest, seconds, "wire", f"TFTP not there (looked for, optional): "
                                                 f"{', '.join(names)}")

    def dhcp(self, event):
        guest = self.guests.get(event["mac"])
        if guest is None:
            return
        seconds = self.since(guest, event["t"])
        kind = event["type"]
        if event["op"] == "request":
            who = "iPXE" if event["ipxe"] else {0: "BIOS PXE", 7: "UEFI PXE", 9: "UEFI PXE",
                                                16: "UEFI HTTP"}.get(event["arch"], "client")
            self.row(guest, seconds, "wire", f"DHCP {kind} from the guest ({who})")
            return
        guest.dhcp.setdefault(kind, seconds)
        address = event["yiaddr"]
        if address != "0.0.0.0" and kind == "ACK":
            guest.address = address
            self.by_address[address] = guest
        source = event["server"] or event["src"]
        detail = f" {address}" if address != "0.0.0.0" else " (no address: proxyDHCP)"
        boot = f", boot file {event['file']}" if event["file"] else ""
        self.row(guest, seconds, "wire", f"DHCP {kind}{detail} from {source}{boot}")

    def ndp(self, event):
        """The first router solicitation of each guest and the first
        advertisement to it: why iPXE goes on (or waits) after its ACK."""
        guest = self.guests.get(event["mac"])
        if guest is None or event["type"] in guest.ndp_seen:
            return
        guest.ndp_seen.add(event["type"])
        seconds = self.since(guest, event["t"])
        if event["type"] == "RS":
            self.row(guest, seconds, "wire", "IPv6 router solicitation from the guest")
            return
        offers = [what for what, on in (("a default router", event["lifetime"] > 0),
                                        (f"{event['prefixes']} prefixes", event["prefixes"]),
                                        ("DHCPv6", event["managed"] or event["other"])) if on]
        self.row(guest, seconds, "wire", f"IPv6 router advertisement from {event['src']}: "
                                         f"{', '.join(offers) if offers else 'offers nothing'}")

    def tftp(self, guest, event, counters):
        seconds = self.since(guest, event["t"])
        name = event["file"]
        if not (event["kind"] == "error" and event["from"] == "server" and event["code"] == 1):
            self.flush_missing()
        if event["kind"] == "done":
            guest.transfers.append(event)
            counted = ""
            if counters and self.lab.telemetry:  # read now: only the latest row is exact
                tftp = self.lab.counters("tftp")
                counted = (f"; stampede: {tftp['sessions_completed']} sessions completed, "
                           f"{human_bytes(tftp['bytes_sent'])} sent in all")
            self.row(guest, seconds, "wire", f"TFTP {name}: {human_bytes(event['bytes'])} in "
                                             f"{event['seconds']:.2f} s (blksize "
                                             f"{event['blksize']}){counted}")
        elif event["from"] == "client" and event["bytes"] == 0:
            self.row(guest, seconds, "wire", f"TFTP {name}: size asked (tsize), then the "
                                             f"client stopped (error {event['code']}): normal")
        elif event["from"] == "server" and event["code"] == 1:
            guest.missing.append((seconds, name))
        else:
            self.row(guest, seconds, "wire", f"TFTP {name}: error {event['code']} from the "
                                             f"{event['from']}: {event['message']}")

    def fetched(self, guest):
        """{TFTP path without a leading slash: bytes} of what `guest` fetched whole."""
        return {t["file"].lstrip("/"): t["bytes"] for t in guest.transfers}

    def print_summary(self, marker_label):
        for guest in self.guests.values():
            spec = guest.vm.spec
            got = guest.milestones.get(marker_label)
            total = sum(t["bytes"] for t in guest.transfers)
            ack = guest.dhcp.get("ACK")
            self.print(f"{spec.name} ({spec.firmware}, {spec.mac}, "
                       f"{guest.address or 'no address'}): "
                       f"DHCP ACK at {f'{ack:.1f} s' if ack is not None else '-'}, "
                       f"{len(guest.transfers)} files / {human_bytes(total)} over TFTP, " +
                       (f"{len(guest.http_files)} files / {human_bytes(guest.http_bytes)} "
                        "over HTTP, " if guest.http_files else "") +
                       (f"{marker_label} at {got:.1f} s after power-on" if got is not None
                        else f"{marker_label}: NOT reached"))
