#!/usr/bin/env python3
"""HTTP from the dataplane's io_uring server, with real clients.

stampede-dataplane (net_af_packet, the appliance's address on its exception
TAP) and stampede-control serve a TFTP root and an images folder; curl, wget
and a raw socket client in a client namespace fetch over HTTP. Every byte a
client gets is checked by sha256, and the appliance's side by its counters
(/stampede/http) and access log:

1. curl and wget fetch whole files (0, 1, 1000 bytes, 4 MiB) and HEAD
   answers with the validators; If-None-Match gets 304; HTTP/1.0 closes;
2. ranges at the start, middle and end, open-ended and suffix, of a file
   and of a 5 GiB sparse file past 2 and 4 GiB; unsatisfiable ranges 416;
3. curl with several URLs reuses one connection (num_connects, and the
   appliance's keepalive_requests);
4. 64 concurrent clients (curl and wget) fetch one file;
5. malformed requests (bad request line, huge headers, long URI, bad ranges,
   POST, ../ traversal, HTTP/2.0) get their status while a rate-limited
   download runs on, undisturbed;
6. an ISO image: every file under images/<name>/ is what osirrox extracts,
   images/<name>.iso is the image; a removed image disappears from the
   catalog while its running transfer finishes with every byte;
7. limits: connections over limits.max_http_connections get 503, a head that
   never ends is timed out;
8. stampede-control's view, through the status region: `stampede status`,
   GET /status and /metrics show the HTTP counters (the same numbers as
   /stampede/http), `stampede events` and GET /events list each transfer
   (path, status, bytes, range, client), an aborted one as aborted;
9. a new http.port in the config moves the listener (SIGHUP reload).
"""

import argparse
import concurrent.futures
import hashlib
import itertools
import json
import os
import signal
import sys
import tempfile
import time

import netlab

PORT = 80
NEW_PORT = 8080
MAX_CONNECTIONS = 100
CONCURRENT_CLIENTS = 64
HEADER_TIMEOUT_S = 2
SPARSE_SIZE = 5 << 30
TWO_GIB, FOUR_GIB = 1 << 31, 1 << 32
MARK = 4096  # random bytes written around each boundary of the sparse file
# Generous bounds: a loaded CI machine (or a sanitizer build) is slow to connect.
CURL = ("curl", "-sS", "--connect-timeout", "15", "--max-time", "180")

# A download held open: GET, read the first 64 KiB of the body, print
# "holding", then read nothing more until the file argv[4] exists (bounded),
# then the rest into argv[3]. The server cannot finish while it holds: the
# file is larger than the sockets' buffers.
HELD_DOWNLOAD = r"""
import os, socket, sys, time
host, path, out, go = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
conn = socket.create_connection((host, 80), timeout=60)
conn.sendall(f"GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode())
data = b""
while b"\r\n\r\n" not in data:
    chunk = conn.recv(65536)
    if not chunk:
        sys.exit("closed before the head")
    data += chunk
head, body = data.split(b"\r\n\r\n", 1)
if not head.startswith(b"HTTP/1.1 200"):
    sys.exit(head.decode(errors="replace"))
while len(body) < 65536:
    chunk = conn.recv(65536)
    if not chunk:
        break
    body += chunk
print("holding", flush=True)
deadline = time.monotonic() + 60
while not os.path.exists(go):
    if time.monotonic() > deadline:
        sys.exit("never told to go on")
    time.sleep(0.05)  # waiting for the test's go-ahead, bounded
with open(out, "wb") as f:
    f.write(body)
    while chunk := conn.recv(1 << 20):
        f.write(chunk)
print("done", flush=True)
"""

# /stampede/http: every check reads these names from here.
COUNTERS = (
    "connections_accepted", "connections_refused", "connections_closed", "connections_open",
    "requests", "keepalive_requests", "responses_2xx", "responses_3xx", "responses_4xx",
    "responses_5xx", "partial_responses", "not_modified", "not_found", "range_refused",
    "parse_errors", "bytes_sent", "head_bytes_sent", "transfers_completed",
    "transfers_aborted", "read_errors", "timeouts_header", "timeouts_idle", "timeouts_send",
    "accept_errors", "listen_errors", "listening_port",
)

# A raw client run in the client namespace: sends argv[3] (hex) and prints
# what comes back until the server closes, or <timeout>/<reset>.
RAW_CLIENT = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[4]))
s.sendall(bytes.fromhex(sys.argv[3]))
data = b""
try:
    while chunk := s.recv(65536):
        data += chunk
except socket.timeout:
    data += b"<timeout>"
except ConnectionResetError:
    data += b"<reset>"
sys.stdout.write(data.decode("latin-1"))
"""

# Opens argv[3] connections and keeps them (each fetches the 1-byte /one
# first, so it waits under the idle timeout, not the header timeout), then
# argv[4] more: prints what each of the extra ones got.
HOLD_CLIENT = r"""
import socket, sys
host, port, hold, extra = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
held = []
for _ in range(hold):
    s = socket.create_connection((host, port), timeout=15)
    s.sendall(b"GET /one HTTP/1.1\r\nHost: h\r\n\r\n")
    data = b""
    while not (b"\r\n\r\n" in data and len(data.split(b"\r\n\r\n", 1)[1]) == 1):
        chunk = s.recv(4096)
        assert chunk, "a held connection was closed"
        data += chunk
    held.append(s)
for _ in range(extra):
    s = socket.create_connection((host, port), timeout=15)
    data = b""
    try:
        while chunk := s.recv(4096):
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    print(data.split(b"\r\n")[0].decode("latin-1") or "<nothing>", flush=True)
"""


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()



def read_range(path, first, last):
    with open(path, "rb") as f:
        f.seek(first)
        return f.read(last - first + 1)


# ---------------------------------------------------------------- counters

class Counters:
    def __init__(self, telemetry):
        self.telemetry = telemetry

    def read(self):
        reply = self.telemetry.query("/stampede/http")
        missing = [name for name in COUNTERS if name not in reply]
        assert not missing, f"/stampede/http lacks {missing}: {reply}"
        return {name: reply[name] for name in COUNTERS}

    def settled(self, timeout=15):
        """A reading once no connection is open (polled, bounded)."""
        return netlab.poll(self.read, lambda now: now["connections_open"] == 0,
                           "connections still open", timeout)

    def delta(self, before, timeout=15):
        """The change since `before`, once every connection closed."""
        now = self.settled(timeout)
        return {name: now[name] - before[name] for name in COUNTERS}

    def wait(self, what, predicate, timeout=15):
        return netlab.poll(self.read, predicate, what, timeout)


def expect(delta, what, **wanted):
    """Checks counter changes: name=value, or name=range(...)/(low, high)."""
    print(what, {name: value for name, value in delta.items() if value})
    wrong = {}
    for name, want in wanted.items():
        ok = (want[0] <= delta[name] <= want[1]) if isinstance(want, tuple) else delta[name] == want
        if not ok:
            wrong[name] = (delta[name], want)
    assert not wrong, f"{what}: counters (got, wanted): {wrong}; all: {delta}"


# ----------------------------------------------------------------- clients

class Http:
    """Clients in the lab's client namespace."""

    def __init__(self, lab, out_dir, port=PORT):
        self.lab = lab
        self.out_dir = out_dir
        self.port = port
        self.fetched = itertools.count()  # thread-safe in CPython

    def url(self, path, port=None):
        return f"http://{self.lab.server_ip}:{port or self.port}{path}"

    def out(self):
        return os.path.join(self.out_dir, f"fetched-{next(self.fetched)}")

    def curl(self, path, *extra, port=None, timeout=150):
        """(status, body bytes, headers text) of one curl run."""
        out, headers = self.out(), self.out()
        result = self.lab.client([*CURL, *extra, "-D", headers, "-o", out, "-w", "%{http_code}",
                                  self.url(path, port)], check=False, timeout=timeout)
        assert result.returncode == 0, f"curl {path} {extra}: {result.stdout}"
        with open(out, "rb") if os.path.exists(out) else open(os.devnull, "rb") as f:
            body = f.read()
        with open(headers) as f:
            head = f.read()
        return int(result.stdout.strip()[-3:]), body, head

    def curl_sha(self, path, *extra):
        out = self.out()
        result = self.lab.client([*CURL, *extra, "-o", out, "-w", "%{http_code}", self.url(path)],
                                 check=False, timeout=150)
        assert result.returncode == 0 and result.stdout.strip() == "200", (
            f"curl {path}: {result.stdout}")
        # curl creates no file for an empty body.
        return netlab.sha256_file(out) if os.path.exists(out) else sha256_bytes(b"")

    def wget_sha(self, path):
        out = self.out()
        result = self.lab.client(["wget", "-q", "-T", "30", "-t", "1", "-O", out, self.url(path)],
                                 check=False, timeout=150)
        assert result.returncode == 0, f"wget {path}: exit {result.returncode} {result.stdout}"
        return netlab.sha256_file(out)

    def raw(self, request, timeout=10):
        """What the appliance answers to `request` (bytes) on a fresh connection."""
        result = self.lab.client(["python3", "-c", RAW_CLIENT, self.lab.server_ip, str(self.port),
                                  request.hex(), str(timeout)], check=False, timeout=timeout + 20)
        assert result.returncode == 0, f"raw client: {result.stdout}"
        return result.stdout


def status_of(response):
    # The runner reads output as text: line ends are plain newlines here.
    line = response.splitlines()[0] if response else ""
    return int(line.split()[1]) if line.startswith("HTTP/1.1 ") else None


def header(head, name):
    for line in head.splitlines():
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return None


# ------------------------------------------------------------------- files

def make_root(root):
    """Random files under the TFTP root; their bytes."""
    files = {}
    for name, size in (("empty", 0), ("one", 1), ("small/1000", 1000), ("medium.bin", 4 << 20),
                       ("stream.bin", 16 << 20), ("boot.ipxe", 200)):
        data = os.urandom(size)
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        files[name] = data
    # 5 GiB, sparse: random bytes across the 2 GiB and 4 GiB marks and at the end.
    with open(os.path.join(root, "sparse.img"), "wb") as f:
        f.truncate(SPARSE_SIZE)
        for at in (TWO_GIB - MARK // 2, FOUR_GIB - MARK // 2, SPARSE_SIZE - MARK):
            f.seek(at)
            f.write(os.urandom(MARK))
    return files


def make_iso(tmp, images, name, big_bytes):
    src = os.path.join(tmp, f"src-{name}")
    os.makedirs(f"{src}/casper", exist_ok=True)
    os.makedirs(f"{src}/boot/grub", exist_ok=True)
    with open(f"{src}/casper/vmlinuz", "wb") as f:
        f.write(os.urandom(300_000))
    with open(f"{src}/casper/filesystem.squashfs", "wb") as f:
        f.write(os.urandom(big_bytes))
    with open(f"{src}/boot/grub/grub.cfg", "w") as f:
        f.write(f"menuentry {name} {{ linux /casper/vmlinuz }}\n")
    iso = os.path.join(images, f"{name}.iso")
    netlab.run(["xorriso", "-as", "mkisofs", "-R", "-J", "-V", name.upper(), "-o", iso, src],
               timeout=120)
    return iso


def extracted(iso, into):
    netlab.run(["osirrox", "-indev", iso, "-extract", "/", into], timeout=120)
    files = {}
    for dirpath, _, names in os.walk(into):
        for n in names:
            path = os.path.join(dirpath, n)
            if os.path.isfile(path):
                files[os.path.relpath(path, into)] = netlab.sha256_file(path)
    return files


def config_text(lab, root, images, port):
    return (f"dataplane: {{port: net_null0, ipv4: [{lab.server_ip}/{lab.prefix}]}}\n"
            f"tftp: {{root: {root}}}\n"
            f"images: {{folder: {images}}}\n"
            f"http: {{port: {port}}}\n"
            f"limits: {{max_http_connections: {MAX_CONNECTIONS}}}\n")


# ------------------------------------------------------------------- steps

def check_whole_files(http, counters, files, dataplane):
    before = counters.settled()
    for name, data in files.items():
        if name == "stream.bin":
            continue
        assert http.curl_sha(f"/{name}") == sha256_bytes(data), f"curl {name}"
    assert http.wget_sha("/medium.bin") == sha256_bytes(files["medium.bin"]), "wget medium.bin"
    status, _, head = http.curl("/medium.bin", "-I")
    assert status == 200 and header(head, "Content-Length") == str(4 << 20), head
    assert header(head, "Accept-Ranges") == "bytes", head
    etag, modified = header(head, "ETag"), header(head, "Last-Modified")
    assert etag and etag.startswith('"') and modified and modified.endswith(" GMT"), head
    assert header(head, "Content-Type") == "application/octet-stream", head
    _, _, head = http.curl("/boot.ipxe", "-I")
    assert header(head, "Content-Type") == "text/plain", head
    status, body, _ = http.curl("/medium.bin", "-H", f"If-None-Match: {etag}")
    assert status == 304 and body == b"", status
    status, _, _ = http.curl("/medium.bin", "-H", f"If-Modified-Since: {modified}")
    assert status == 304, status
    status, body, head = http.curl("/small/1000", "--http1.0")
    assert status == 200 and body == files["small/1000"], status
    assert header(head, "Connection") == "close", head
    # curl for each file but stream.bin, and wget: the empty file has no
    # bytes to transfer; HTTP/1.0 adds one.
    whole = len(files) - 1 + 1
    expect(counters.delta(before), "1: whole files, HEAD, 304, HTTP/1.0",
           requests=whole + 5, responses_2xx=whole + 3, responses_3xx=2, responses_4xx=0,
           transfers_completed=whole, transfers_aborted=0, parse_errors=0,
           bytes_sent=sum(len(d) for n, d in files.items() if n != "stream.bin")
           + len(files["medium.bin"]) + 1000)
    line = dataplane.wait_for("path=/small/1000 status=200 bytes=1000 ", timeout=10)
    assert f"client={http.lab.client_ip}:" in line and "method=GET" in line, line


def check_ranges(http, counters, files, root):
    before = counters.settled()
    medium = files["medium.bin"]
    size = len(medium)
    cases = [("0-99", 0, 99), ("1000000-1999999", 1000000, 1999999), (f"{size - 100}-", size - 100,
             size - 1), ("-4096", size - 4096, size - 1), (f"0-{size * 2}", 0, size - 1)]
    for spec, first, last in cases:
        status, body, head = http.curl("/medium.bin", "-r", spec)
        assert status == 206, f"range {spec}: {status}"
        assert body == medium[first:last + 1], f"range {spec}: {len(body)} bytes"
        assert header(head, "Content-Range") == f"bytes {first}-{last}/{size}", head
    sparse = os.path.join(root, "sparse.img")
    for first, last in ((TWO_GIB - MARK // 2, TWO_GIB + MARK // 2 - 1),
                        (FOUR_GIB - MARK // 2, FOUR_GIB + MARK // 2 - 1),
                        (SPARSE_SIZE - MARK, SPARSE_SIZE - 1)):
        status, body, head = http.curl("/sparse.img", "-r", f"{first}-{last}")
        assert status == 206, f"sparse {first}-{last}: {status}"
        assert sha256_bytes(body) == sha256_bytes(read_range(sparse, first, last)), (
            f"sparse {first}-{last}")
        assert header(head, "Content-Range") == f"bytes {first}-{last}/{SPARSE_SIZE}", head
    status, body, head = http.curl("/sparse.img", "-r", "-4096")
    assert status == 206 and body == read_range(sparse, SPARSE_SIZE - 4096, SPARSE_SIZE - 1)
    _, _, head = http.curl("/sparse.img", "-I")
    assert header(head, "Content-Length") == str(SPARSE_SIZE), head
    for spec in (f"{size}-", "5-2"):
        status, _, head = http.curl("/medium.bin", "-r", spec)
        assert status == 416 and header(head, "Content-Range") == f"bytes */{size}", (spec, head)
    status, body, _ = http.curl("/medium.bin", "-r", "0-1,5-6")  # several: the whole
    assert status == 200 and body == medium
    expect(counters.delta(before), "2: ranges", partial_responses=len(cases) + 4,
           range_refused=2, responses_4xx=2, parse_errors=0, transfers_aborted=0)


def check_keep_alive(http, counters, files):
    before = counters.settled()
    outs = [http.out() for _ in range(3)]
    command = [*CURL, "-w", "%{num_connects} %{http_code}\n"]
    for name, out in zip(("small/1000", "medium.bin", "one"), outs):
        command += [http.url(f"/{name}"), "-o", out]
    result = http.lab.client(command, check=False, timeout=60)
    assert result.returncode == 0, result.stdout
    assert result.stdout.split() == ["1", "200", "0", "200", "0", "200"], result.stdout
    for name, out in zip(("small/1000", "medium.bin", "one"), outs):
        assert netlab.sha256_file(out) == sha256_bytes(files[name]), name
    expect(counters.delta(before), "3: keep-alive", connections_accepted=1, requests=3,
           keepalive_requests=2, responses_2xx=3)


def check_concurrent(http, counters, files):
    before = counters.settled()
    want = sha256_bytes(files["medium.bin"])
    peak = 0
    with concurrent.futures.ThreadPoolExecutor(CONCURRENT_CLIENTS) as pool:
        jobs = [pool.submit(http.wget_sha if i % 4 == 3 else http.curl_sha, "/medium.bin")
                for i in range(CONCURRENT_CLIENTS)]
        while not all(job.done() for job in jobs):
            peak = max(peak, counters.read()["connections_open"])
            concurrent.futures.wait(jobs, timeout=0.05)
        digests = [job.result() for job in jobs]
    bad = sum(1 for d in digests if d != want)
    assert bad == 0, f"{bad} of {CONCURRENT_CLIENTS} clients got wrong bytes"
    print(f"4: {CONCURRENT_CLIENTS} clients, at most {peak} connections open at once")
    expect(counters.delta(before), "4: concurrent clients",
           connections_accepted=CONCURRENT_CLIENTS, connections_refused=0,
           responses_2xx=CONCURRENT_CLIENTS, transfers_completed=CONCURRENT_CLIENTS,
           transfers_aborted=0, bytes_sent=CONCURRENT_CLIENTS * len(files["medium.bin"]))


# (what, raw request, status, refused by the parser rather than answered)
MALFORMED = [
    ("bad request line", b"GARBAGE\r\n\r\n", 400, True),
    ("no version", b"GET /one\r\n\r\n", 400, True),
    ("HTTP/2.0", b"GET /one HTTP/2.0\r\n\r\n", 505, True),
    ("huge headers", b"GET /one HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
     431, True),
    ("huge header never ending", b"GET /one HTTP/1.1\r\nX-Big: " + b"a" * 20000, 431, True),
    ("long URI", b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: h\r\n\r\n", 414, True),
    ("NUL", b"GET /one%00 HTTP/1.1\r\nHost: h\r\n\r\n", 400, True),
    ("chunked body", b"POST /one HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
     501, True),
    ("no Host", b"GET /one HTTP/1.1\r\n\r\n", 400, False),
    ("traversal", b"GET /../../etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n", 400, False),
    ("encoded traversal", b"GET /small/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: h\r\n\r\n",
     400, False),
    ("POST", b"POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", 405, False),
    ("DELETE", b"DELETE /one HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 405, False),
    ("missing", b"GET /nope HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 404, False),
    ("bad range",
     b"GET /one HTTP/1.1\r\nHost: h\r\nRange: bytes=x-y\r\nConnection: close\r\n\r\n", 416,
     False),
    ("range past the end",
     b"GET /one HTTP/1.1\r\nHost: h\r\nRange: bytes=1-\r\nConnection: close\r\n\r\n", 416,
     False),
]


def check_malformed(http, counters, files):
    """Every malformed request gets its status while a download is held open
    (16 MiB, more than the sockets' buffers), which still gets every byte."""
    before = counters.settled()
    out, go = http.out(), http.out()
    download = http.lab.spawn(http.lab.client_ns, [
        sys.executable, "-u", "-c", HELD_DOWNLOAD, http.lab.server_ip, "/stream.bin", out, go],
        "held stream")
    download.wait_for("holding", timeout=30)
    for what, request, status, _ in MALFORMED:
        response = http.raw(request)
        assert status_of(response) == status, f"{what}: {response[:200]!r}"
        if status == 405:
            assert header(response, "Allow") == "GET, HEAD", response
        if status == 416:
            assert header(response, "Content-Range") == "bytes */1", response
        print(f"5: {what}: {status}")
    # curl's own traversal, sent as it is.
    status, _, _ = http.curl("/small/../../../etc/passwd", "--path-as-is")
    assert status == 400, status
    assert counters.read()["connections_open"] >= 1, "the held download ended early"
    open(go, "w").close()
    download.wait_for("done", timeout=60)
    assert download.proc.wait(timeout=60) == 0, "the download failed"
    download.stop()
    assert netlab.sha256_file(out) == sha256_bytes(files["stream.bin"]), "the download was disturbed"
    expect(counters.delta(before), "5: malformed requests beside a download",
           parse_errors=sum(1 for *_, parser in MALFORMED if parser), responses_4xx=len(MALFORMED) + 1 - 2,
           responses_5xx=2, transfers_completed=1, transfers_aborted=0,
           bytes_sent=(len(files["stream.bin"]), len(files["stream.bin"]) + 2000))


def check_images(http, counters, tmp, images, live_iso, gone_iso, telemetry):
    before = counters.settled()
    for path, digest in extracted(live_iso, os.path.join(tmp, "x-live")).items():
        assert http.curl_sha(f"/images/live/{path}") == digest, f"images/live/{path}"
    assert http.curl_sha("/images/live.iso") == netlab.sha256_file(live_iso), "images/live.iso"
    _, _, head = http.curl("/images/live.iso", "-I")
    assert header(head, "Content-Type") == "application/x-iso9660-image", head
    status, body, _ = http.curl("/images/live/casper/vmlinuz", "-r", "100-199")
    assert status == 206 and len(body) == 100
    expect(counters.delta(before), "6: the image's files and the image",
           transfers_aborted=0, responses_4xx=0)

    # A removed image: new requests miss it, a running transfer finishes.
    want = netlab.sha256_file(gone_iso)
    out, go = http.out(), http.out()
    generation = telemetry.query("/stampede/policy")["applied_generation"]
    download = http.lab.spawn(http.lab.client_ns, [
        sys.executable, "-u", "-c", HELD_DOWNLOAD, http.lab.server_ip, "/images/gone.iso", out,
        go], "held gone")
    download.wait_for("holding", timeout=30)
    assert counters.read()["connections_open"] >= 1, "the image's download is not running"
    os.unlink(gone_iso)
    http.lab.wait_serving(telemetry, timeout=15, after_generation=generation)
    deadline = time.monotonic() + 15
    # Each poll is a HEAD request of its own (no sleep): bounded by the deadline.
    while http.curl("/images/gone.iso", "-I")[0] != 404:
        assert time.monotonic() < deadline, "images/gone.iso still served after removal"
    open(go, "w").close()
    download.wait_for("done", timeout=60)
    assert download.proc.wait(timeout=60) == 0, "the running transfer failed"
    download.stop()
    assert netlab.sha256_file(out) == want, "the running transfer lost bytes"
    print("6: a removed image's running transfer finished with every byte")


def check_limits(http, counters):
    before = counters.settled()
    extra = 3
    result = http.lab.client(["python3", "-c", HOLD_CLIENT, http.lab.server_ip, str(http.port),
                              str(MAX_CONNECTIONS), str(extra)], check=False, timeout=60)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.split("\n")[:extra]
    assert all(line.startswith("HTTP/1.1 503") for line in lines), result.stdout
    expect(counters.delta(before), "7: connection limit", connections_refused=extra,
           connections_accepted=MAX_CONNECTIONS, requests=MAX_CONNECTIONS,
           responses_2xx=MAX_CONNECTIONS, responses_5xx=extra)

    before = counters.settled()
    started = time.monotonic()
    response = http.raw(b"GET /one HTTP/1.1\r\nHost: h\r\n", timeout=HEADER_TIMEOUT_S + 10)
    took = time.monotonic() - started
    assert response == "" and HEADER_TIMEOUT_S - 0.5 <= took < HEADER_TIMEOUT_S + 5, (
        f"slow head: {response!r} after {took:.1f}s")
    expect(counters.delta(before), "7: header timeout", timeouts_header=1, requests=0)


# ---------------------------------------------------------------- control

class Control:
    """stampede-control's API (its unix socket) and the stampede CLI."""

    def __init__(self, socket_path, cli):
        self.socket = socket_path
        self.cli = cli

    def get(self, target):
        result = netlab.run(["curl", "-sS", "--max-time", "10", "--unix-socket", self.socket,
                             f"http://control{target}"], check=False)
        assert result.returncode == 0, f"GET {target}: {result.stdout}"
        return result.stdout

    def json(self, target):
        return json.loads(self.get(target))

    def run(self, *args):
        result = netlab.run([self.cli, *args, f"--api={self.socket}"], check=False)
        return result.returncode, result.stdout

    def next_event(self):
        """The sequence number the next event will get."""
        return self.json(f"/events?since={1 << 62}&limit=1")["next"]

    def poll(self, what, read, predicate, timeout=15):
        """read() until predicate(value) holds (polled, bounded)."""
        return netlab.poll(read, predicate, what, timeout)


# (path, curl arguments, status, body bytes, range) of the transfers step 8
# makes and then looks for in control's events.
CONTROL_FETCHES = [
    ("/small/1000", (), 200, 1000, None),
    ("/medium.bin", ("-r", "0-99"), 206, 100, [0, 99]),
    ("/nope", (), 404, None, None),  # the 404's text: bytes == length
    ("/one", ("-I",), 200, 0, None),
]


def check_control_view(http, counters, control, files, lab):
    before = counters.settled()
    # The region's counters are the telemetry's: the same numbers, at rest.
    api_before = control.json("/status")["http"]
    assert {name: api_before[name] for name in COUNTERS} == before, (api_before, before)
    since = control.next_event()
    for path, extra, status, _, _ in CONTROL_FETCHES:
        assert http.curl(path, *extra)[0] == status, path
    # A download the client gives up on: an aborted transfer (the client's
    # receive buffer is capped, see main).
    result = lab.client([*CURL[:-2], "--max-time", "2", "--limit-rate", "200K", "-o",
                         os.devnull, http.url("/stream.bin")], check=False, timeout=30)
    assert result.returncode == 28, f"curl --max-time: exit {result.returncode} {result.stdout}"
    delta = counters.delta(before)
    expect(delta, "8: the fetches, by /stampede/http", requests=5, connections_accepted=5,
           responses_2xx=4, responses_4xx=1, not_found=1, partial_responses=1,
           transfers_completed=2, transfers_aborted=1)

    # GET /status: the same counters, once control's copy caught up.
    after = control.poll("GET /status's http counters",
                         lambda: control.json("/status")["http"],
                         lambda h: h["requests"] == api_before["requests"] + 5
                         and h["connections_open"] == 0 and h["transfers_aborted"]
                         == api_before["transfers_aborted"] + 1)
    api_delta = {name: after[name] - api_before[name] for name in COUNTERS}
    assert api_delta == delta, f"GET /status http: {api_delta} != /stampede/http {delta}"
    assert after["listening_port"] == http.port, after
    assert control.json("/status")["dataplane"]["events_dropped_by_ring"]["http"] == 0

    # GET /events: one event per response, in order, with what was sent.
    def http_events():
        page = control.json(f"/events?since={since}&limit=1000")
        return [e for e in page["events"] if e["kind"].startswith("http_transfer")]
    events = control.poll("the transfers in GET /events", http_events, lambda e: len(e) >= 5)
    print("8: events", [e["detail"] for e in events])
    assert len(events) == 5, events
    for event, (path, extra, status, size, byte_range) in zip(events, CONTROL_FETCHES):
        t = event["http"]
        assert event["kind"] == "http_transfer" and event["source"] == "dataplane", event
        assert t["path"] == path and t["status"] == status, event
        assert t["method"] == ("HEAD" if "-I" in extra else "GET"), event
        assert t["client"].startswith(f"{lab.client_ip}:"), event
        assert t["outcome"] == "completed" and t["error"] == "", event
        assert t["bytes"] == (t["length"] if size is None else size) and t["bytes"] == t["length"]
        assert t["range"] == byte_range, event
        assert f"path={path} status={status} bytes={t['bytes']} " in event["detail"], event
    aborted = events[4]
    t = aborted["http"]
    assert aborted["kind"] == "http_transfer_aborted" and t["path"] == "/stream.bin", aborted
    assert t["outcome"] == "aborted" and t["status"] == 200, aborted
    assert t["length"] == len(files["stream.bin"]) and 0 < t["bytes"] < t["length"], aborted
    assert t["duration_us"] >= 1_000_000, aborted  # curl gave up after 2 s
    assert "outcome=aborted" in aborted["detail"], aborted
    assert sum(e["http"]["bytes"] for e in events) == delta["bytes_sent"], (events, delta)

    # The CLI shows the same.
    code, out = control.run("events", f"--since={since}")
    assert code == 0, out
    for path, _, status, size, _ in CONTROL_FETCHES[:2]:
        line = next((l for l in out.splitlines() if f" path={path} " in l), "")
        assert f"dataplane http_transfer client={lab.client_ip}:" in line, out
        assert f" status={status} bytes={size} " in line, out
    assert "http_transfer_aborted" in out and "path=/stream.bin" in out, out
    code, out = control.run("status")
    print(out)
    assert code == 0, out
    assert f"http        port {http.port}, 0 connections open; {after['requests']} requests" in out
    assert (f"transfers {after['transfers_completed']} completed, "
            f"{after['transfers_aborted']} aborted, {after['bytes_sent']} bytes sent") in out, out

    # GET /metrics: Prometheus names, the same numbers.
    metrics = control.get("/metrics").splitlines()
    for line in (f"stampede_http_requests_total {after['requests']}",
                 f"stampede_http_bytes_sent_total {after['bytes_sent']}",
                 f"stampede_http_transfers_aborted_total {after['transfers_aborted']}",
                 "stampede_http_connections_open 0",
                 f"stampede_http_listening_port {http.port}",
                 "# TYPE stampede_http_requests_total counter",
                 "# TYPE stampede_http_connections_open gauge",
                 'stampede_events_dropped_total{ring="http"} 0'):
        assert line in metrics, f"/metrics lacks {line!r}"
    print("8: control shows the HTTP counters and each transfer")


def check_new_port(http, counters, control, config, lab, root, images, telemetry):
    generation = telemetry.query("/stampede/policy")["applied_generation"]
    with open(config, "w") as f:
        f.write(config_text(lab, root, images, NEW_PORT))
    control.proc.send_signal(signal.SIGHUP)
    lab.wait_serving(telemetry, timeout=15, after_generation=generation)
    counters.wait("the listener to move", lambda c: c["listening_port"] == NEW_PORT)
    status, body, _ = http.curl("/one", port=NEW_PORT)
    assert status == 200 and len(body) == 1
    result = lab.client([*CURL, "-o", "/dev/null", http.url("/one", PORT)], check=False)
    assert result.returncode == 7, f"port {PORT} still answers: {result.stdout}"
    print(f"9: the listener moved to {NEW_PORT}")


def report_failure(counters, dataplane, lab):
    """The appliance's side of a failed step: its counters, the access lines
    of responses that did not complete, the exception path's losses."""
    try:
        print("on failure, /stampede/http:", counters.read())
        print(lab.server(["ip", "-s", "link", "show", lab.tap_if], check=False).stdout)
        dataplane.stop()  # and read all it printed
    except (AssertionError, OSError, ValueError) as e:
        print(f"(diagnostics incomplete: {e!r})")
    for line in dataplane.output:
        if "outcome=" in line or "error" in line:
            print("dataplane:", line)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataplane", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--send", default="splice", choices=["splice", "read"])
    parser.add_argument("--cli", help="the stampede CLI (default: beside --control)")
    args = parser.parse_args()
    cli = args.cli or os.path.join(os.path.dirname(os.path.abspath(args.control)), "stampede")
    netlab.require(["curl", "wget", "xorriso", "osirrox", "ethtool", "python3"])

    with tempfile.TemporaryDirectory() as tmp, netlab.Lab() as lab:
        root, images, out_dir = (os.path.join(tmp, d) for d in ("root", "images", "out"))
        for d in (root, images, out_dir):
            os.makedirs(d)
        files = make_root(root)
        live_iso = make_iso(tmp, images, "live", 2 << 20)
        gone_iso = make_iso(tmp, images, "gone", 8 << 20)
        config = os.path.join(tmp, "stampede.yaml")
        with open(config, "w") as f:
            f.write(config_text(lab, root, images, PORT))
        dataplane = lab.start_dataplane(args.dataplane, extra=[
            f"--http_send={args.send}", f"--http_header_timeout_s={HEADER_TIMEOUT_S}"])
        run_dir = os.path.join(tmp, "run")
        control = lab.start_control(args.control, config, run_dir)
        api = Control(os.path.join(run_dir, f"{lab.instance}.sock"), cli)
        telemetry = netlab.Telemetry(lab.file_prefix)
        lab.wait_serving(telemetry)
        counters = Counters(telemetry)
        counters.wait("the HTTP listener", lambda c: c["listening_port"] == PORT)
        http = Http(lab, out_dir)
        # The client's receive buffer is capped at 1 MiB (its namespace only):
        # kernels since 6.x let it grow to 32 MiB, and with the exception
        # path's big frames a rate-limited download (the checks that run
        # beside one, an aborted one) then fits into the client's socket and
        # ends on the server's side in milliseconds.
        lab.client(["sysctl", "-qw", "net.ipv4.tcp_rmem=4096 131072 1048576"], timeout=10)

        try:
            check_whole_files(http, counters, files, dataplane)
            check_ranges(http, counters, files, root)
            check_keep_alive(http, counters, files)
            check_concurrent(http, counters, files)
            check_malformed(http, counters, files)
            check_images(http, counters, tmp, images, live_iso, gone_iso, telemetry)
            check_limits(http, counters)
            check_control_view(http, counters, api, files, lab)
            check_new_port(http, counters, control, config, lab, root, images, telemetry)
        except BaseException:
            report_failure(counters, dataplane, lab)
            raise

        final = counters.read()
        assert final["read_errors"] == 0 and final["listen_errors"] == 0, final
        print("final /stampede/http:", final)
        assert dataplane.stop() == 0, "the dataplane did not stop cleanly"
    print("PASS")


if __name__ == "__main__":
    main()
