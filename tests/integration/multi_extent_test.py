#!/usr/bin/env python3
"""A file over 4 GiB inside an ISO image, served end to end.

ISO 9660 records a file's size in 32 bits, so a file over 4 GiB is several
directory records, one extent each (multi-extent, ISO level 3). An image
built with xorriso holds a sparse 4 GiB + 3 MiB file with random bytes at
its start, around the first extent's end (0xFFFFF800) and at its tail;
xorriso's own report must show it as more than one extent. Then, from the
appliance (images folder, nothing mounted or extracted):

1. over TFTP (blksize 1468, windowsize 64, through block-number rollover):
   the whole file, its SHA-256 equal to that of what `osirrox -extract`
   gives (itself checked against the source file);
2. over HTTP: the whole file byte-compared with osirrox's (cmp), and byte
   ranges across the extent boundary and at the end, each equal to the
   source's bytes there.

Suite `large` (the gcc build only): it writes a 4 GiB image to /dev/shm.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import netlab

EXTENT = 0xFFFFF800  # the largest extent xorriso writes
SIZE = 4 * 1024**3 + 3 * 1024**2 + 123
MARKS = (0, 1 << 20, EXTENT - 4096, EXTENT - 5, EXTENT, EXTENT + 4096, 4 * 1024**3, SIZE - 1000)


def make_source(path):
    with open(path, "wb") as f:
        f.truncate(SIZE)
        for offset in MARKS:
            f.seek(offset)
            f.write(os.urandom(min(1000, SIZE - offset)))



def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataplane", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--tftp-load", required=True)
    args = parser.parse_args()
    netlab.require(["xorriso", "osirrox", "curl", "cmp", "ethtool"])
    # The image, osirrox's extraction and the source live in RAM: 4 GiB
    # each for the first two, the source's few written blocks.
    free = os.statvfs("/dev/shm")
    if free.f_bavail * free.f_frsize < 2 * SIZE + (512 << 20):
        netlab.skip_or_fail("/dev/shm has less than 8.5 GiB free")

    with tempfile.TemporaryDirectory(dir="/dev/shm", prefix="stampede-big-") as tmp, \
            netlab.Lab() as lab:
        src, images = f"{tmp}/src", f"{tmp}/images"
        os.makedirs(src)
        os.makedirs(images)
        make_source(f"{src}/big.bin")
        with open(f"{src}/small.txt", "w") as f:
            f.write("beside the big one\n")
        start = time.monotonic()
        netlab.run(["xorriso", "-as", "mkisofs", "-iso-level", "3", "-R", "-J", "-V", "BIG",
                    "-o", f"{tmp}/big.iso", src], timeout=600)
        # xorriso itself says the file is in more than one extent.
        report = netlab.run(["xorriso", "-indev", f"stdio:{tmp}/big.iso", "-find", "/big.bin",
                             "-exec", "report_lba", "--"], check=False, timeout=120)
        extents = [line for line in report.stdout.splitlines()
                   if line.startswith("File data lba:") and "/big.bin" in line]
        print("\n".join(extents))
        assert len(extents) >= 2, f"not multi-extent: {report.stdout}"
        # What osirrox extracts is the reference, as for the other images.
        netlab.run(["osirrox", "-indev", f"stdio:{tmp}/big.iso", "-extract", "/big.bin",
                    f"{tmp}/extracted.bin"], timeout=600)
        os.rename(f"{tmp}/big.iso", f"{images}/big.iso")
        expected = netlab.sha256_file(f"{tmp}/extracted.bin")
        assert expected == netlab.sha256_file(f"{src}/big.bin"), "osirrox extracts other bytes than went in"
        print(f"image built and hashed in {time.monotonic() - start:.1f} s")

        config = f"{tmp}/stampede.yaml"
        with open(config, "w") as f:
            f.write(f"dataplane: {{port: net_af_packet0, ipv4: [{lab.server_ip}/24]}}\n"
                    f"images: {{folder: {images}}}\n"
                    "tftp: {bootloaders: [none], max_windowsize: 64}\n")
        lab.start_dataplane(args.dataplane)
        run_dir = f"{tmp}/run"
        lab.start_control(args.control, config, run_dir)
        socket_path = f"{run_dir}/{lab.instance}.sock"
        telemetry = netlab.Telemetry(lab.file_prefix)
        lab.wait_serving(telemetry)
        out = netlab.run([args.cli, "images"], env={**os.environ, "STAMPEDE_API": socket_path}).stdout
        print(out)
        row = next((line for line in out.splitlines() if line.startswith("big ")), "")
        assert row.split()[1:2] == ["yes"], out

        # 1. TFTP, the whole file through rollover.
        start = time.monotonic()
        load = lab.client([args.tftp_load, f"--server={lab.server_ip}", "--file=images/big/big.bin",
                           "--blksize=1468", "--windowsize=64", "--tsize",
                           f"--sha256={expected}", "--deadline_s=900"],
                          check=False, timeout=960)
        print(load.stdout)
        assert load.returncode == 0, "TFTP of the multi-extent file failed or differed"
        print(f"case 1: TFTP {SIZE} bytes identical in {time.monotonic() - start:.1f} s")

        # 2. HTTP: the whole file, then ranges across the boundary.
        url = f"http://{lab.server_ip}/images/big/big.bin"
        start = time.monotonic()
        whole = lab.client(["sh", "-c", f"curl -sS --max-time 600 '{url}' | cmp - '{tmp}/extracted.bin'"],
                           check=False, timeout=660)
        assert whole.returncode == 0, f"HTTP bytes differ: {whole.stdout}"
        print(f"case 2: HTTP {SIZE} bytes identical in {time.monotonic() - start:.1f} s")
        with open(f"{src}/big.bin", "rb") as f:
            for first, last in ((EXTENT - 4096, EXTENT + 4095), (EXTENT - 5, EXTENT + 4),
                                (EXTENT, EXTENT + 999), (SIZE - 1000, SIZE - 1)):
                got = subprocess.run(
                    ["ip", "netns", "exec", lab.client_ns, "curl", "-sS", "--max-time", "30",
                     "-r", f"{first}-{last}", url], capture_output=True, timeout=60)
                assert got.returncode == 0, got.stderr
                f.seek(first)
                assert got.stdout == f.read(last - first + 1), (first, last)
        small = lab.client(["curl", "-sS", "--max-time", "30",
                            f"http://{lab.server_ip}/images/big/small.txt"]).stdout
        assert small == "beside the big one\n", small
        print("case 2: ranges across the extent boundary and at the end identical")
        telemetry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
