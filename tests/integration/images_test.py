#!/usr/bin/env python3
"""ISO images served in place: stampede-control reads the images folder,
the dataplane serves each image's files over TFTP straight out of the image
file (no mount, no extraction), with a real client (tftp-hpa) in a client
namespace.

1. An image built with xorriso (Rock Ridge + Joliet, a symlink, nested
   folders, a file over 64 KiB, an Ubuntu live-server layout) and a file
   that is not an image: every file of the image fetched over TFTP is
   byte-identical to what osirrox extracts; the whole image is served as
   images/<name>.iso; `stampede images` says which image is served and why
   the other is not, and what the served one was detected as (distro,
   version, kernel, initrd, command line).
2. An image dropped into the folder while running is catalogued and served
   without a restart; a removed image disappears from the catalog, while a
   transfer of it that already started finishes with every byte.
3. Generated menus and packaged boot loaders: a PXE BIOS DHCP request gets
   pxelinux.0 and option 209 naming its profile's menu; that menu, fetched
   over TFTP, boots the image's kernel and initrd with the detected command
   line and the profile's answer file; GRUB's grub.cfg passes
   grub-script-check; pxelinux.0, ldlinux.c32, shim and GRUB fetched over
   TFTP are byte-identical to the files Debian's packages installed.
4. A profile's image removed while running leaves the menus (the config
   stays valid), and comes back when the image does.
5. Every layout and the real ISOs Debian ships: images built with xorriso
   with Joliet only, Rock Ridge only and plain ISO 9660, and Debian's
   memtest86+ and grub-rescue ISOs: every file served over TFTP is
   byte-identical to what osirrox extracts, and detection says what each is
   (memtest86+ with its EFI binary; grub-rescue, no Linux, booted whole).
6. Per-client files: a host with a one-shot next boot gets, from its leased
   address, the next boot's menus for grub/grub.cfg (TFTP and HTTP),
   boot.ipxe and pxelinux.cfg/default; after its next ACK, its own
   profile's; an address without a lease gets the catalog's grub.cfg.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import dhcp_test
import netlab



def build_iso(src, iso, volume):
    netlab.run(["xorriso", "-as", "mkisofs", "-R", "-J", "-V", volume, "-o", iso, src],
               timeout=120)


def make_tree(root, seed, big_bytes):
    os.makedirs(f"{root}/casper", exist_ok=True)
    os.makedirs(f"{root}/boot/grub/x86_64-efi", exist_ok=True)
    with open(f"{root}/casper/vmlinuz", "wb") as f:
        f.write(os.urandom(big_bytes))
    with open(f"{root}/casper/initrd", "wb") as f:
        f.write(os.urandom(70_000))
    with open(f"{root}/boot/grub/x86_64-efi/normal.mod", "wb") as f:
        f.write(seed.encode() * 100)
    with open(f"{root}/.disk-info", "w") as f:
        f.write(f"Test image {seed}\n")
    # What makes it an Ubuntu live-server image to detection.
    os.makedirs(f"{root}/.disk", exist_ok=True)
    with open(f"{root}/.disk/info", "w") as f:
        f.write('Ubuntu-Server 24.04 LTS "Noble Numbat" - Release amd64 (20240423)\n')
    with open(f"{root}/casper/filesystem.squashfs", "wb") as f:
        f.write(b"hsqs" + os.urandom(4000))
    os.symlink("casper/vmlinuz", f"{root}/vmlinuz")


def tftp_get(lab, name, out, timeout=120):
    result = lab.client(["tftp", "-m", "binary", lab.server_ip, "-c", "get", name, out],
                        check=False, timeout=timeout)
    # tftp-hpa exits 0 even after an ERROR; its output says so.
    ok = result.returncode == 0 and "Error" not in result.stdout and os.path.exists(out)
    return ok, result.stdout


def extracted_files(iso, into):
    netlab.run(["osirrox", "-indev", iso, "-extract", "/", into], timeout=120)
    files = []
    for dirpath, _, names in os.walk(into):
        for name in names:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path):
                files.append(os.path.relpath(path, into))
    return sorted(files)


def cli_images(cli, socket_path):
    return netlab.run([cli, "images"], env={**os.environ, "STAMPEDE_API": socket_path}).stdout


def wait_catalog(cli, socket_path, predicate, what, timeout=15):
    return netlab.poll(lambda: cli_images(cli, socket_path), predicate,
                       f"{what}; stampede images says", timeout)


def tftp_text(lab, tmp, name):
    out = f"{tmp}/text"
    if os.path.exists(out):
        os.unlink(out)
    ok, said = tftp_get(lab, name, out)
    assert ok, f"{name}: {said}"
    with open(out) as f:
        return f.read()


def wait_tftp_text(lab, tmp, name, predicate, what, timeout=15):
    return netlab.poll(lambda: tftp_text(lab, tmp, name), predicate, f"{what}; {name} is",
                       timeout)


# Each ISO 9660 naming a file may be read by (the reader prefers Rock
# Ridge, then Joliet): osirrox extracts the same names.
LAYOUTS = {"joliet": ["-J"], "rockridge": ["-R"], "plain": []}
REAL_ISOS = {"memtest": "/usr/lib/memtest86+/memtest86+x64.iso",
             "grub-rescue": "/usr/lib/grub-rescue/grub-rescue-cdrom.iso"}

PACKAGED = {
    "pxelinux.0": "/usr/lib/PXELINUX/pxelinux.0",
    "ldlinux.c32": "/usr/lib/syslinux/modules/bios/ldlinux.c32",
    "menu.c32": "/usr/lib/syslinux/modules/bios/menu.c32",
    "bootnetx64.efi": "/usr/lib/shim/shimx64.efi.signed",
    "grubx64.efi": "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed",
}


def check_menus_and_loaders(lab, tmp):
    mac = bytes.fromhex("02005e000042")
    xid, payload = dhcp_test.dhcp_request(
        mac, 1, [(93, b"\0\0"), (60, b"PXEClient:Arch:00000:UNDI:002001"),
                 (55, bytes([1, 3, 66, 67]))])
    reply = dhcp_test.exchange(lab, payload, xid)
    assert reply["file"] == "pxelinux.0", reply
    config_name = reply["options"].get(209, b"").decode()
    assert config_name == "pxelinux.cfg/p-live-install", reply
    menu = tftp_text(lab, tmp, config_name)
    print(menu)
    server = lab.server_ip
    for line in ["UI menu.c32", "TIMEOUT 50", "DEFAULT live-install",
                 "  LINUX images/live/casper/vmlinuz",
                 f"  APPEND initrd=images/live/casper/initrd ip=dhcp cloud-config-url=/dev/null "
                 f"url=http://{server}/images/live.iso autoinstall "
                 f"ds=nocloud-net;s=http://{server}/seeds/web/"]:
        assert line in menu.splitlines(), (line, menu)
    assert "LABEL later" not in menu  # its image is not in the folder
    # What the menu names is served.
    for name in ("images/live/casper/vmlinuz", "images/live/casper/initrd", "menu.c32"):
        ok, said = tftp_get(lab, name, f"{tmp}/named")
        assert ok, f"{name}: {said}"
        os.unlink(f"{tmp}/named")
    grub = tftp_text(lab, tmp, "grub/grub.cfg")
    with open(f"{tmp}/grub.cfg", "w") as f:
        f.write(grub)
    netlab.run(["grub-script-check", f"{tmp}/grub.cfg"])
    assert "regexp '^198\\.18\\.0\\.' \"$net_default_ip\"" in grub, grub
    ipxe = tftp_text(lab, tmp, "ipxe/p-live-install.ipxe")
    assert ipxe.startswith("#!ipxe\n") and \
        f"kernel http://{server}/images/live/casper/vmlinuz" in ipxe, ipxe
    for name, installed in PACKAGED.items():
        ok, said = tftp_get(lab, name, f"{tmp}/loader")
        assert ok, f"{name}: {said}"
        assert netlab.sha256_file(f"{tmp}/loader") == netlab.sha256_file(installed), name
        os.unlink(f"{tmp}/loader")


ONCE_MAC = bytes.fromhex("02005e000077")
UEFI = [(93, b"\0\x07"), (60, b"PXEClient:Arch:00007:UNDI:003016"), (55, bytes([1, 3, 66, 67]))]


def dora(lab, mac, options):
    """A whole DISCOVER-OFFER-REQUEST-ACK; returns the ACK."""
    xid, payload = dhcp_test.dhcp_request(mac, 1, options)
    offer = dhcp_test.exchange(lab, payload, xid)
    assert offer["options"][53] == b"\x02", offer
    address = offer["yiaddr"]
    xid, payload = dhcp_test.dhcp_request(
        mac, 3, options + [(50, bytes(map(int, address.split(".")))),
                           (54, bytes(map(int, lab.server_ip.split("."))))])
    ack = dhcp_test.exchange(lab, payload, xid)
    assert ack["options"][53] == b"\x05" and ack["yiaddr"] == address, ack
    return ack


def fetch_as(lab, tmp, source, url):
    """`url` fetched with curl from the client namespace's address `source`."""
    out = f"{tmp}/as-{source}"
    got = lab.client(["curl", "-sS", "--max-time", "20", "--interface", source, "-o", out, url],
                     check=False)
    assert got.returncode == 0, f"{url} from {source}: {got.stdout}{got.stderr}"
    with open(out) as f:
        text = f.read()
    os.unlink(out)
    return text


def check_per_client_files(lab, tmp):
    """GRUB reads grub/grub.cfg whatever DHCP said: the dataplane answers it
    (and boot.ipxe, pxelinux.cfg/default) by the asking address's lease."""
    server = lab.server_ip
    ack = dora(lab, ONCE_MAC, UEFI)
    assert ack["file"] == "bootnetx64.efi", ack
    leased = ack["yiaddr"]
    lab.client(["ip", "address", "add", f"{leased}/32", "dev", lab.client_if])
    try:
        once = tftp_text(lab, tmp, "grub/p-memtest-once.cfg")
        assert "set timeout=0" in once, once
        assert fetch_as(lab, tmp, leased, f"tftp://{server}/grub/grub.cfg") == once
        assert fetch_as(lab, tmp, leased, f"http://{server}/grub/grub.cfg") == once
        assert fetch_as(lab, tmp, leased, f"http://{server}/boot.ipxe") == \
            tftp_text(lab, tmp, "ipxe/p-memtest-once.ipxe")
        assert fetch_as(lab, tmp, leased, f"tftp://{server}/pxelinux.cfg/default") == \
            tftp_text(lab, tmp, "pxelinux.cfg/p-memtest-once")
        # The next ACK no longer carries the next boot: the host's profile.
        assert dora(lab, ONCE_MAC, UEFI)["yiaddr"] == leased
        own = tftp_text(lab, tmp, "grub/p-live-install.cfg")
        assert fetch_as(lab, tmp, leased, f"tftp://{server}/grub/grub.cfg") == own
        assert fetch_as(lab, tmp, leased, f"http://{server}/boot.ipxe") == \
            tftp_text(lab, tmp, "ipxe/p-live-install.ipxe")
        # An address without a lease gets the catalog's grub.cfg (which
        # dispatches by MAC and address itself).
        generic = fetch_as(lab, tmp, lab.client_ip, f"tftp://{server}/grub/grub.cfg")
        assert "regexp" in generic and generic != own, generic
        assert generic == tftp_text(lab, tmp, "grub/grub.cfg")
    finally:
        lab.client(["ip", "address", "del", f"{leased}/32", "dev", lab.client_if], check=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataplane", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--cli", required=True)
    args = parser.parse_args()
    netlab.require(["xorriso", "osirrox", "tftp", "ethtool", "grub-script-check", "curl"])

    with tempfile.TemporaryDirectory() as tmp, netlab.Lab() as lab:
        images = f"{tmp}/images"
        os.makedirs(images)
        make_tree(f"{tmp}/src-live", "live", 300_000)
        build_iso(f"{tmp}/src-live", f"{images}/live.iso", "LIVEVOL")
        make_tree(f"{tmp}/src-layouts", "layouts", 100_000)
        for name, options in LAYOUTS.items():
            netlab.run(["xorriso", "-as", "mkisofs", *options, "-V", name.upper(), "-o",
                        f"{images}/{name}.iso", f"{tmp}/src-layouts"], timeout=120)
        for name, path in REAL_ISOS.items():
            shutil.copy(path, f"{images}/{name}.iso")
        with open(f"{images}/junk.iso", "wb") as f:
            f.write(os.urandom(80_000))
        config = f"{tmp}/stampede.yaml"
        with open(config, "w") as f:
            f.write(f"dataplane: {{port: net_af_packet0, ipv4: [{lab.server_ip}/24]}}\n"
                    f"images: {{folder: {images}}}\n"
                    "dhcp:\n  subnets: [{subnet: 198.18.0.0/24, profile: live-install, "
                    "pools: [{first: 198.18.0.100, last: 198.18.0.200}]}]\n"
                    "tftp: {bootloaders: [pxelinux, grub-efi]}\n"
                    f"hosts: [{{name: once, mac: '{ONCE_MAC.hex(':')}', profile: live-install, "
                    "next_boot: memtest}]\n"
                    "profiles:\n"
                    "  - name: live-install\n"
                    "    image: live\n"
                    "    boot_files: {bios: pxelinux.0, efi_x64: bootnetx64.efi}\n"
                    "    autoinstall: 'http://{server}/seeds/web/'\n"
                    "    menu_timeout: 5s\n"
                    "  - {name: later, image: new}\n"
                    "  - {name: memtest, image: memtest, boot_files: {efi_x64: bootnetx64.efi}}\n")
        lab.start_dataplane(args.dataplane)
        run_dir = f"{tmp}/run"
        lab.start_control(args.control, config, run_dir)
        socket_path = f"{run_dir}/{lab.instance}.sock"
        telemetry = netlab.Telemetry(lab.file_prefix)
        lab.wait_serving(telemetry)

        # 1. Every file of the image, as osirrox sees it.
        out = cli_images(args.cli, socket_path)
        print(out)
        rows = {line.split()[0]: line for line in out.splitlines()[2:] if line and not line.startswith(" ")}
        assert rows["live"].split()[1] == "yes", out
        assert rows["junk"].split()[1] == "no" and "ISO 9660" in rows["junk"], out
        # What it is and how it boots, from its files (a casper layout).
        assert "is: ubuntu Ubuntu-Server 24.04 LTS" in out, out
        assert "boots: casper/vmlinuz + casper/initrd" in out, out
        assert "url=http://{server}/images/{name}.iso" in out, out
        expected = extracted_files(f"{images}/live.iso", f"{tmp}/extract-live")
        assert "casper/vmlinuz" in expected and "vmlinuz" in expected, expected
        for name in expected:
            local = f"{tmp}/got"
            ok, said = tftp_get(lab, f"images/live/{name}", local)
            assert ok, f"images/live/{name}: {said}"
            assert netlab.sha256_file(local) == netlab.sha256_file(f"{tmp}/extract-live/{name}"), name
            os.unlink(local)
        ok, said = tftp_get(lab, "images/live.iso", f"{tmp}/whole.iso")
        assert ok and netlab.sha256_file(f"{tmp}/whole.iso") == netlab.sha256_file(f"{images}/live.iso"), said
        print(f"case 1: {len(expected)} files of live.iso and the image itself: identical")

        # 2. An image added while running is served without a restart...
        make_tree(f"{tmp}/src-new", "new", 12 * 1024 * 1024)
        build_iso(f"{tmp}/src-new", f"{tmp}/new.iso", "NEWVOL")
        shutil.copy(f"{tmp}/new.iso", f"{tmp}/src-new.iso")
        generation = telemetry.query("/stampede/policy")["applied_generation"]
        os.rename(f"{tmp}/new.iso", f"{images}/new.iso")  # appears whole
        wait_catalog(args.cli, socket_path, lambda o: any(
            line.split()[:2] == ["new", "yes"] for line in o.splitlines()), "new.iso catalogued")
        # The policy with it has reached the dataplane, not only control.
        lab.wait_serving(telemetry, after_generation=generation)
        ok, said = tftp_get(lab, "images/new/.disk-info", f"{tmp}/info")
        assert ok and open(f"{tmp}/info").read() == "Test image new\n", said
        # ...and removing it while a transfer of it runs: the transfer ends
        # with every byte, later requests are not found.
        before = telemetry.query("/stampede/tftp")
        transfer = lab.spawn(lab.client_ns, [
            "tftp", "-m", "binary", lab.server_ip, "-c", "get", "images/new/casper/vmlinuz",
            f"{tmp}/big"], "tftp-big")
        deadline = time.monotonic() + 10
        while telemetry.query("/stampede/tftp")["data_sent"] - before["data_sent"] < 100:
            assert time.monotonic() < deadline, "the big transfer did not start"
            time.sleep(0.01)
        os.unlink(f"{images}/new.iso")
        wait_catalog(args.cli, socket_path, lambda o: not any(
            line.startswith("new ") for line in o.splitlines()), "new.iso gone from the catalog")
        transfer.proc.wait(timeout=120)
        assert netlab.sha256_file(f"{tmp}/big") == netlab.sha256_file(f"{tmp}/src-new/casper/vmlinuz"), \
            "the transfer running when its image was removed did not finish intact"
        deadline = time.monotonic() + 10
        while True:
            ok, said = tftp_get(lab, "images/new/.disk-info", f"{tmp}/gone")
            if not ok and "not found" in said.lower():
                break
            assert time.monotonic() < deadline, f"removed image still served: {said}"
            time.sleep(0.1)
        print("case 2: added image served without a restart; removed image gone, "
              "its running transfer finished intact")

        check_menus_and_loaders(lab, tmp)
        print("case 3: PXE request -> pxelinux.0 + option 209; its generated menu boots the "
              "image; grub.cfg passes grub-script-check; packaged loaders byte-identical")

        check_per_client_files(lab, tmp)
        print("case 6: grub/grub.cfg, boot.ipxe and pxelinux.cfg/default answered by the "
              "lease: the one-shot next boot's menus, then the host's own; no lease: the "
              "catalog's")

        # 4. The image of profile `later` comes and goes: the config stays
        # valid and the menus follow.
        assert "later" not in tftp_text(lab, tmp, "pxelinux.cfg/default")
        generation = telemetry.query("/stampede/policy")["applied_generation"]
        shutil.copy(f"{tmp}/src-new.iso", f"{tmp}/staged.iso")
        os.rename(f"{tmp}/staged.iso", f"{images}/new.iso")
        lab.wait_serving(telemetry, after_generation=generation)
        wait_tftp_text(lab, tmp, "pxelinux.cfg/default", lambda t: "LABEL later" in t,
                       "the new image's entry in the menu")
        generation = telemetry.query("/stampede/policy")["applied_generation"]
        os.unlink(f"{images}/new.iso")
        lab.wait_serving(telemetry, after_generation=generation)
        wait_tftp_text(lab, tmp, "pxelinux.cfg/default", lambda t: "LABEL later" not in t,
                       "the removed image's entry gone from the menu")
        assert "LABEL live-install" in tftp_text(lab, tmp, "pxelinux.cfg/default")
        print("case 4: a profile's image added and removed while running: its menu entry "
              "follows, the config stays valid")

        out = cli_images(args.cli, socket_path)
        for name in [*LAYOUTS, *REAL_ISOS]:
            expected = extracted_files(f"{images}/{name}.iso", f"{tmp}/extract-{name}")
            assert expected, name
            for path in expected:
                ok, said = tftp_get(lab, f"images/{name}/{path}", f"{tmp}/got")
                assert ok, f"images/{name}/{path}: {said}"
                assert netlab.sha256_file(f"{tmp}/got") == netlab.sha256_file(f"{tmp}/extract-{name}/{path}"), \
                    f"images/{name}/{path}"
                os.unlink(f"{tmp}/got")
            print(f"case 5: {name}: {len(expected)} files identical to osirrox's")
        lines = out.splitlines()
        def about(name):
            start = next(i for i, line in enumerate(lines) if line.startswith(name + " "))
            return "\n".join(lines[start:start + 4])
        memtest = about("memtest")
        assert "is: memtest86+ Memtest86+ 6." in memtest, memtest
        assert "boots: (UEFI) EFI/BOOT/bootx64.efi" in memtest, memtest
        rescue = about("grub-rescue")
        assert "is: generic" in rescue and "sanboot" in rescue, rescue
        print("case 5: memtest86+ detected with its EFI binary; grub-rescue booted whole")
        telemetry.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
