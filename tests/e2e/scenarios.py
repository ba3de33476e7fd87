"""The end-to-end boot scenarios: what each serves, and what a pass looks like.

One scenario = the TFTP root's boot files, its hand-written menus, the
appliance's config, the guests (firmware, how many), and the serial marker
that proves the boot got where it was going. The config and the menus are
each one small function per scenario, so when stampede generates menus
from profiles the functions shrink to the profile and the root.

Scenarios 3 (an ISO of ours, downloaded whole over HTTP) and 4 (iPXE over
HTTP) use stampede's generated menus and its HTTP service.
"""

import dataclasses
import hashlib
import os
import shutil
import subprocess
import typing

import bootlab
import initramfs

# TFTP paths of the boot files, the same in every scenario's root.
BIOS_NBP = "pxelinux.0"
EFI_NBP = "bootnetx64.efi"  # shim; it asks for grubx64.efi at the root
KERNEL = "debian-installer/amd64/linux"
INITRD = "debian-installer/amd64/initrd.gz"
MEMTEST_BIOS = "memtest86+x64.bin"
MEMTEST_EFI = "memtest86+x64.efi"
IPXE_EFI = "ipxe.efi"  # what UEFI HTTP boot fetches by URL
IPXE_ISO = "ipxe.iso"  # in the images folder: BIOS and UEFI El Torito images
SMALL_INITRD = "e2e/initrd-small.gz"  # ours: initramfs.py
MEMTEST_IMAGE = "memtest86+x64"  # the ISO in the images folder: images/<this>/...
CONSOLE = "console=ttyS0,115200"
# memtest86+ 6 on a serial console: its screen's title line.
MEMTEST_BANNER = "Memtest86+ v"
SITE_DHCP_ADDRESS = "198.18.0.250"
SITE_DHCP_RANGE = ("198.18.0.100", "198.18.0.150")

# Files every root gets, TFTP path -> the Debian file.
BOOT_FILES = {
    BIOS_NBP: bootlab.PXELINUX,
    **{m: os.path.join(bootlab.SYSLINUX_BIOS, m) for m in bootlab.SYSLINUX_MODULES},
    EFI_NBP: bootlab.SHIM,
    "grubx64.efi": bootlab.GRUB_NET,
    KERNEL: bootlab.DI_KERNEL,
    INITRD: bootlab.DI_INITRD,
    MEMTEST_BIOS: bootlab.MEMTEST_BIN,
    MEMTEST_EFI: bootlab.MEMTEST_EFI,
    IPXE_EFI: bootlab.IPXE_EFI,
}


def make_tftp_root(root, files=BOOT_FILES):
    for path, source in files.items():
        bootlab.place(source, os.path.join(root, path))


def write(root, path, text):
    target = os.path.join(root, path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w") as f:
        f.write(text)


# ------------------------------------------------------------- menus

def pxelinux_menu(default, title):
    """PXELINUX's menu (menu.c32, so the menu modules are fetched too), on
    the serial console, booting `default` after a second."""
    return f"""SERIAL 0 115200
UI menu.c32
MENU TITLE {title}
PROMPT 0
TIMEOUT 10
DEFAULT {default}

LABEL install
  MENU LABEL Debian 12 installer (netboot)
  LINUX {KERNEL}
  APPEND initrd={INITRD} {CONSOLE} ---

LABEL memtest
  MENU LABEL Memory test (memtest86+)
  LINUX {MEMTEST_BIOS}
  APPEND {CONSOLE}
"""


def grub_menu(default, server=bootlab.SERVER_IP):
    """GRUB's menu. Debian's signed netboot GRUB reads $prefix/grub.cfg with
    prefix /grub on the TFTP server it came from."""
    return f"""set timeout=1
set default={default}
menuentry 'Debian 12 installer (netboot)' --id install {{
  linux (tftp,{server})/{KERNEL} {CONSOLE} ---
  initrd (tftp,{server})/{INITRD}
}}
menuentry 'Memory test (memtest86+, from its ISO)' --id memtest {{
  linux (tftp,{server})/images/{MEMTEST_IMAGE}/EFI/BOOT/bootx64.efi {CONSOLE}
}}
"""


def menus_install(root):
    write(root, "pxelinux.cfg/default", pxelinux_menu("install", "stampede e2e: install"))
    write(root, "grub/grub.cfg", grub_menu("install"))


def menus_storm(root):
    """The installer's kernel with our small initramfs (initramfs.py)."""
    initramfs.build(os.path.join(root, SMALL_INITRD))
    write(root, "pxelinux.cfg/default", f"""SERIAL 0 115200
PROMPT 0
DEFAULT small
LABEL small
  LINUX {KERNEL}
  APPEND initrd={SMALL_INITRD} {CONSOLE} panic=-1
""")


def menus_memtest(root):
    write(root, "pxelinux.cfg/default", pxelinux_menu("memtest", "stampede e2e: burn-in"))
    write(root, "grub/grub.cfg", grub_menu("memtest"))


# ------------------------------------------------------------- configs

def config(lab, root, profiles, images=None, mode="authoritative", profile="install",
           extra=""):
    """The appliance's config: DHCP on 198.18.0.0/24 giving everyone
    `profile` (`mode` authoritative, from the pool, or proxy), `profiles`
    (YAML list items), `extra` top-level YAML, the TFTP root, the images
    folder."""
    if mode == "proxy":
        dhcp = f"""dhcp:
  mode: proxy
  subnets: [{{subnet: 198.18.0.0/24, profile: {profile}}}]
"""
    else:
        dhcp = f"""dhcp:
  mode: authoritative
  subnets:
    - subnet: 198.18.0.0/24
      profile: {profile}
      pools: [{{first: {bootlab.POOL[0]}, last: {bootlab.POOL[1]}}}]
"""
    return (lab.dataplane_section() + dhcp + extra + "profiles:\n" + profiles +
            f"tftp: {{root: {root}}}\n" + (f"images: {{folder: {images}}}\n" if images else ""))


def installer(boot_files, name="install", menu_timeout="1s"):
    """A profile booting the installer's kernel and initrd (stampede
    generates its menus and iPXE script)."""
    return f"""  - name: {name}
    menu_timeout: {menu_timeout}
    boot_files: {{{boot_files}}}
    kernel: {KERNEL}
    initrds: [{INITRD}]
    cmdline: {CONSOLE} ---
"""


def config_install(lab, root, images=None):
    """Authoritative DHCP on 198.18.0.0/24, one profile for BIOS and UEFI.
    QEMU's NIC ROM is iPXE: `ipxe: nbp` hands it pxelinux.0 like any BIOS
    PXE client, instead of an iPXE script over HTTP."""
    return lab.dataplane_section() + f"""dhcp:
  mode: authoritative
  lease_time: 1h
  subnets:
    - subnet: 198.18.0.0/24
      router: {bootlab.SERVER_IP}
      profile: install
      pools: [{{first: {bootlab.POOL[0]}, last: {bootlab.POOL[1]}}}]
profiles:
  - name: install
    boot_files: {{bios: {BIOS_NBP}, efi_x64: {EFI_NBP}, ipxe: nbp}}
tftp: {{root: {root}}}
""" + (f"images: {{folder: {images}}}\n" if images else "")


def config_memtest(lab, root, images):
    return config_install(lab, root, images)


def menus_generated(root):
    """None written: stampede generates them from the profile (iPXE script,
    PXELINUX and GRUB menus)."""


def config_ipxe(lab, root, images=None):
    """A profile with a kernel: stampede generates its menus, and hands the
    iPXE ROM its script (ipxe/p-install.ipxe) over HTTP, which loads the
    kernel and initrd over HTTP. The subnet has no profile: a client class
    (iPXE's user class, BIOS) gives the ROM its profile, so the boot fails
    unless real firmware's request is matched."""
    text = config(lab, root, installer(f"bios: {BIOS_NBP}, efi_x64: {EFI_NBP}"))
    for old, new in [("      profile: install\n", ""),
                     ("  mode: authoritative\n",
                      "  mode: authoritative\n  classes:\n    - {name: ipxe-roms, "
                      "user_class: [iPXE], arch: [bios], profile: install}\n")]:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def config_http_boot(lab, root, images=None):
    """UEFI HTTP boot: the firmware's DHCP says HTTPClient (arch 16) and gets
    the profile's `efi_x64_http` as a URL, iPXE, which it fetches over HTTP
    and runs; iPXE's own DHCP gets the profile's generated script, then the
    kernel and initrd over HTTP. No TFTP at all."""
    return config(lab, root, installer(f"efi_x64_http: {IPXE_EFI}"))


def config_http_iso(lab, root, images):
    """UEFI HTTP boot of an ISO: the URL names the image itself, which the
    firmware downloads whole into a RAM disk and boots as a CD (its El
    Torito EFI image: iPXE, whose DHCP then gets the generated script)."""
    return config(lab, root, installer(f"efi_x64_http: images/{IPXE_ISO}"), images)


def config_proxy_uefi(lab, root, images=None):
    """proxyDHCP for UEFI: the site's DHCP server gives addresses, stampede
    hands OVMF's PXE iPXE (which reads the proxy's answer, where Debian's
    GRUB 2.06 asks the site server for its files), then iPXE its script."""
    return config(lab, root, installer(f"efi_x64: {IPXE_EFI}"), mode="proxy")


def config_proxy_http(lab, root, images=None):
    """proxyDHCP for UEFI HTTP boot: the site's server gives the address,
    stampede's proxy OFFER the URL (no address, option 60 HTTPClient)."""
    return config(lab, root, installer(f"efi_x64_http: {IPXE_EFI}"), mode="proxy")


def config_grub_once(lab, root, images):
    """Generated menus; the guest is a known host whose profile is the
    installer and whose one-shot next boot is burn-in (memtest86+ from its
    ISO). GRUB reads grub/grub.cfg whatever DHCP said: the dataplane answers
    it by the guest's lease with burn-in's -once menu, which boots memtest86+
    at once (the catalog's grub.cfg would send this MAC to the installer)."""
    mac = f"52:54:00:18:{lab.mac_byte:02x}:01"  # the first guest's (BootLab.new_vm)
    burn_in = f"""  - name: burn-in
    boot_files: {{efi_x64: {EFI_NBP}}}
    image: {MEMTEST_IMAGE}
    cmdline: {CONSOLE}
"""
    return config(lab, root, installer(f"efi_x64: {EFI_NBP}", menu_timeout="5s") + burn_in,
                  images, extra=f"""hosts:
  - {{name: rack1-07, mac: "{mac}", profile: install, next_boot: burn-in}}
""")


ISO_NAME = "e2e-casper"  # images/<this>.iso
SQUASHFS_BYTES = 8 << 20  # what makes it casper, and bytes worth downloading


def pack_iso(staging, images, name, volume, boot=()):
    """images/<name>.iso from the `staging` folder with xorriso (`boot`: its
    El Torito arguments), then the folder goes."""
    os.makedirs(images, exist_ok=True)
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-r", "-J", "-V", volume, *boot,
                    "-o", os.path.join(images, f"{name}.iso"), staging], check=True, timeout=120)
    shutil.rmtree(staging)


def make_casper_iso(images):
    """Builds images/e2e-casper.iso with xorriso in Ubuntu's casper layout:
    the installer's kernel, our ISO_INIT initramfs, a squashfs-named blob
    and .disk/info, which stampede detects as `ubuntu`."""
    staging = os.path.join(os.path.dirname(images), "iso-staging")
    bootlab.place(bootlab.DI_KERNEL, os.path.join(staging, "casper", "vmlinuz"))
    initramfs.build(os.path.join(staging, "casper", "initrd"), init=initramfs.ISO_INIT,
                    modules=("e1000.ko",))
    with open(os.path.join(staging, "casper", "filesystem.squashfs"), "wb") as f:
        f.write(os.urandom(SQUASHFS_BYTES))
    write(staging, ".disk/info", "Ubuntu-Server 24.04 LTS \"stampede e2e\" - amd64\n")
    pack_iso(staging, images, ISO_NAME, "E2E_CASPER")


GENERIC_NAME = "e2e-generic"  # images/<this>.iso


def make_generic_iso(images):
    """Builds images/e2e-generic.iso: an ISOLINUX CD (El Torito, no
    emulation) that boots the installer's kernel with our small initramfs.
    Nothing in it is a layout stampede knows, so it is `generic`: iPXE
    sanboots the whole ISO over HTTP, reading it by ranges."""
    staging = os.path.join(os.path.dirname(images), "generic-staging")
    bootlab.place(bootlab.ISOLINUX, os.path.join(staging, "isolinux", "isolinux.bin"))
    bootlab.place(os.path.join(bootlab.SYSLINUX_BIOS, "ldlinux.c32"),
                  os.path.join(staging, "isolinux", "ldlinux.c32"))
    bootlab.place(bootlab.DI_KERNEL, os.path.join(staging, "boot", "vmlinuz"))
    initramfs.build(os.path.join(staging, "boot", "initrd.gz"))
    write(staging, "isolinux/isolinux.cfg", f"""SERIAL 0 115200
PROMPT 0
DEFAULT small
LABEL small
  LINUX /boot/vmlinuz
  APPEND initrd=/boot/initrd.gz {CONSOLE} panic=-1
""")
    pack_iso(staging, images, GENERIC_NAME, "E2E_GENERIC",
             boot=["-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat", "-no-emul-boot",
                   "-boot-load-size", "4", "-boot-info-table"])


def config_sanboot(lab, root, images):
    """A profile booting an image stampede does not recognise: its iPXE
    script sanboots the ISO over HTTP."""
    return config(lab, root, f"""  - name: generic
    menu_timeout: 1s
    boot_files: {{bios: {BIOS_NBP}}}
    image: {GENERIC_NAME}
""", images, profile="generic")


def config_iso(lab, root, images):
    """A profile booting the image as detected (casper: url= the whole ISO),
    its command line extended with the console and the sha256 to check."""
    with open(os.path.join(images, f"{ISO_NAME}.iso"), "rb") as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    return config(lab, root, f"""  - name: casper
    menu_timeout: 1s
    boot_files: {{bios: {BIOS_NBP}, ipxe: nbp}}
    image: {ISO_NAME}
    cmdline: "+ {CONSOLE} e2e_sha256={sha256}"
""", images, profile="casper")


def config_proxy(lab, root, images=None):
    """proxyDHCP: the site's DHCP server gives addresses, stampede the boot."""
    return config(lab, root, f"""  - name: install
    boot_files: {{bios: {BIOS_NBP}, efi_x64: {EFI_NBP}, ipxe: nbp}}
""", mode="proxy")


# ------------------------------------------------------------- scenarios

@dataclasses.dataclass
class Scenario:
    name: str
    summary: str
    firmware: str  # bios | uefi
    config: typing.Callable
    menus: typing.Callable
    marker: str  # on the serial console when the guest got there
    guests: int = 1
    site_dhcp: bool = False  # dnsmasq gives the addresses (proxyDHCP)
    images: tuple = ()  # ISO files for the images folder
    make_images: typing.Callable = None  # builds ISOs into the images folder
    needs: tuple = ()  # more files it takes from the machine (make_images's)
    fail_marker: str = ""  # on the console: the guest says it failed
    # TFTP paths each guest must have fetched whole.
    fetched: tuple = ()
    # HTTP paths each guest must have fetched whole (the dataplane's
    # event=http_access log lines: status 200, every byte).
    http_fetched: tuple = ()
    # HTTP paths each guest must have read by ranges (206), at least 1 MiB.
    http_ranged: tuple = ()
    # Seconds from power-on to the marker, per guest, with KVM and without.
    timeout_kvm: int = 120
    timeout_tcg: int = 600

    @property
    def runs_ipxe(self):
        """Whether its guests run iPXE, which solicits an IPv6 router: QEMU's
        NIC ROM on BIOS guests, ipxe.efi on UEFI ones that fetch it."""
        return self.firmware in ("bios", "uefi-http") or IPXE_EFI in self.fetched


SCENARIOS = {s.name: s for s in [
    Scenario("bios", "SeaBIOS + iPXE ROM -> pxelinux.0 -> menu -> Debian installer",
             "bios", config_install, menus_install, bootlab.KERNEL_INIT,
             fetched=(BIOS_NBP, "ldlinux.c32", "menu.c32", "pxelinux.cfg/default", KERNEL,
                      INITRD)),
    Scenario("uefi", "OVMF -> shim -> GRUB -> grub.cfg -> Debian installer",
             "uefi", config_install, menus_install, bootlab.KERNEL_INIT,
             fetched=(EFI_NBP, "grubx64.efi", "grub/grub.cfg", KERNEL, INITRD)),
    Scenario("iso", "SeaBIOS + iPXE -> pxelinux.0 -> generated menu -> kernel and initrd out "
             "of an ISO of ours (casper layout) -> its init downloads the whole ISO over HTTP",
             "bios", config_iso, menus_generated, initramfs.ISO_MARKER,
             make_images=make_casper_iso, fail_marker=initramfs.ISO_FAILED,
             fetched=(BIOS_NBP, f"images/{ISO_NAME}/casper/vmlinuz",
                      f"images/{ISO_NAME}/casper/initrd"),
             http_fetched=(f"images/{ISO_NAME}.iso",)),
    Scenario("ipxe", "SeaBIOS + iPXE ROM, its profile from a client class -> its generated "
             "script, kernel and initrd over HTTP -> Debian installer", "bios", config_ipxe, menus_generated,
             bootlab.KERNEL_INIT, http_fetched=("ipxe/p-install.ipxe", KERNEL, INITRD)),
    Scenario("proxy-http", "proxyDHCP for UEFI HTTP boot: dnsmasq gives the address, stampede "
             "the URL: OVMF (PXE off) -> iPXE over HTTP -> its script, kernel and initrd over "
             "HTTP -> Debian installer", "uefi-http", config_proxy_http, menus_generated,
             bootlab.KERNEL_INIT, site_dhcp=True,
             http_fetched=(IPXE_EFI, "ipxe/p-install.ipxe", KERNEL, INITRD)),
    Scenario("http-boot", "UEFI HTTP boot: OVMF (PXE off) -> iPXE by URL over HTTP -> its "
             "generated script, kernel and initrd over HTTP -> Debian installer", "uefi-http",
             config_http_boot, menus_generated, bootlab.KERNEL_INIT,
             http_fetched=(IPXE_EFI, "ipxe/p-install.ipxe", KERNEL, INITRD)),
    Scenario("http-iso", "UEFI HTTP boot of an ISO: OVMF (PXE off) -> iPXE's ISO by URL, whole, "
             "into a RAM disk -> its EFI image (iPXE) -> its generated script, kernel and initrd "
             "over HTTP -> Debian installer", "uefi-http", config_http_iso, menus_generated,
             bootlab.KERNEL_INIT, images=(bootlab.IPXE_ISO,),
             http_fetched=(f"images/{IPXE_ISO}", "ipxe/p-install.ipxe", KERNEL, INITRD)),
    Scenario("memtest-bios", "burn-in: SeaBIOS + iPXE -> pxelinux.0 -> memtest86+ (BIOS binary)",
             "bios", config_install, menus_memtest, MEMTEST_BANNER,
             fetched=(BIOS_NBP, "pxelinux.cfg/default", MEMTEST_BIOS)),
    Scenario("memtest", "burn-in: OVMF -> shim -> GRUB -> memtest86+ out of Debian's ISO",
             "uefi", config_memtest, menus_memtest, MEMTEST_BANNER,
             images=(bootlab.MEMTEST_ISO,),
             fetched=(EFI_NBP, "grubx64.efi", "grub/grub.cfg",
                      f"images/{MEMTEST_IMAGE}/EFI/BOOT/bootx64.efi")),
    Scenario("grub-once", "factory line: a host's one-shot next boot through GRUB: OVMF -> "
             "shim -> GRUB -> grub/grub.cfg answered by its lease -> memtest86+ from its ISO",
             "uefi", config_grub_once, menus_generated, MEMTEST_BANNER,
             images=(bootlab.MEMTEST_ISO,),
             # Debian's signed GRUB has no http module: the menu falls back to TFTP.
             fetched=(EFI_NBP, "grubx64.efi", "grub/grub.cfg",
                      f"images/{MEMTEST_IMAGE}/EFI/BOOT/bootx64.efi")),
    Scenario("proxy", "proxyDHCP: dnsmasq gives the address, stampede the boot (BIOS)",
             "bios", config_proxy, menus_install, bootlab.KERNEL_INIT, site_dhcp=True,
             fetched=(BIOS_NBP, KERNEL, INITRD)),
    Scenario("proxy-uefi", "proxyDHCP for UEFI: dnsmasq gives the address, stampede the boot: "
             "OVMF -> iPXE over TFTP -> its script (the proxy's answer on port 4011), kernel "
             "and initrd over HTTP -> Debian installer", "uefi", config_proxy_uefi,
             menus_generated, bootlab.KERNEL_INIT, site_dhcp=True, fetched=(IPXE_EFI,),
             http_fetched=("ipxe/p-install.ipxe", KERNEL, INITRD)),
    Scenario("sanboot", "SeaBIOS + iPXE ROM -> its generated script -> sanboot of an ISO "
             "stampede does not recognise (ISOLINUX of ours), read over HTTP by ranges -> "
             "the installer's kernel and our init", "bios", config_sanboot, menus_generated,
             initramfs.MARKER, make_images=make_generic_iso, needs=(bootlab.ISOLINUX,),
             http_fetched=("ipxe/p-generic.ipxe",),
             http_ranged=(f"images/{GENERIC_NAME}.iso",)),
    Scenario("storm", "4 BIOS guests at once: the installer's kernel and a small initramfs "
             "of ours, all run its init", "bios", config_install, menus_storm, initramfs.MARKER,
             guests=4, fetched=(BIOS_NBP, KERNEL, SMALL_INITRD), timeout_kvm=240,
             timeout_tcg=900),
]}
