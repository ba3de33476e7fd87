#!/usr/bin/env python3
"""proxyDHCP beside a site DHCP server.

Three namespaces on one bridge: a client, dnsmasq as the site's DHCP server
(addresses only, no boot options), and stampede in proxy mode. A PXE-looking
DISCOVER gets two offers: dnsmasq's with an address and no boot file, and
stampede's with no address and the boot file. The client then takes its
address from dnsmasq (REQUEST/ACK), and its boot file from stampede's answer
on UDP 4011. A plain client's DISCOVER gets only dnsmasq's offer.

That 4011 request stands for a lease for the per-client files: `boot.ipxe`
over TFTP (tftp-hpa) from the client's address is the catalog's dispatching
script before it, and its host's profile's own script after it.

A host's one-shot next boot is used up by its first 4011 request (option
209 names the `-once` menu, then not), and stays used after the dataplane
is killed (SIGKILL) and started again: the ACK left once the journal had it.

`stampede boots` names the PXE client by its MAC though stampede leased it
nothing: the proxy offer (with its firmware and profile), the address it
asked dnsmasq for, the answer on 4011; and that address finds it.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import netlab

MAGIC = 0x63825363

CONFIG = """dataplane: {{port: net_null0, ipv4: [198.18.0.1/24]}}
tftp: {{root: {root}}}
dhcp:
  mode: proxy
  subnets: [{{subnet: 198.18.0.0/24, profile: install}}]
hosts:
  - {{name: node-one, mac: "02:00:5e:00:c0:01", profile: burn}}
  - {{name: node-three, mac: "02:00:5e:00:c0:03", profile: burn, next_boot: install}}
profiles:
  - {{name: install, boot_files: {{bios: pxelinux.0, efi_x64: ipxe.efi}}, kernel: boot/vmlinuz}}
  - {{name: burn, boot_files: {{bios: pxelinux.0}}, kernel: boot/memtest}}
"""

# Broadcasts one DHCP message and prints every reply with our xid (hex),
# until `seconds` pass.
LISTEN = r'''
import select, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, sys.argv[1].encode())
s.bind(("0.0.0.0", int(sys.argv[3])))
s.sendto(bytes.fromhex(sys.argv[2]), (sys.argv[5], int(sys.argv[6])))
end = time.monotonic() + float(sys.argv[7])
while time.monotonic() < end:
    r, _, _ = select.select([s], [], [], max(0, end - time.monotonic()))
    if not r: break
    d, a = s.recvfrom(2048)
    if d[4:8] == bytes.fromhex(sys.argv[4]): print(a[0], d.hex(), flush=True)
'''


def request(mac, msg_type, options, ciaddr=0, xid=0x5a5a0001):
    fixed = struct.pack("!BBBBIHHIIII", 1, 1, 6, 0, xid, 0, 0x8000, ciaddr, 0, 0, 0)
    fixed += mac + bytes(10) + bytes(192)
    body = struct.pack("!I", MAGIC) + bytes([53, 1, msg_type])
    for code, value in options:
        body += bytes([code, len(value)]) + value
    return xid, fixed + body + b"\xff"


def parse(data):
    options, i = {}, 240
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        options[data[i]] = options.get(data[i], b"") + data[i + 2:i + 2 + data[i + 1]]
        i += 2 + data[i + 1]
    return {"yiaddr": socket.inet_ntoa(data[16:20]), "file": data[108:236].split(b"\0")[0].decode(),
            "type": options.get(53, b"\0")[0], "server": socket.inet_ntoa(options.get(54, bytes(4))),
            "options": options}


def ask(lab, payload, xid, port=68, to="255.255.255.255", to_port=67, seconds=2.0):
    out = lab.client(["python3", "-c", LISTEN, lab.client_if, payload.hex(), str(port),
                      struct.pack("!I", xid).hex(), to, str(to_port), str(seconds)], timeout=30)
    replies = []
    for line in out.stdout.splitlines():
        source, hexdata = line.split()
        replies.append((source, parse(bytes.fromhex(hexdata))))
    return replies


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataplane", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--cli", required=True)
    args = parser.parse_args()
    netlab.require(["ip", "nft", "ethtool", "dnsmasq", "tftp"])
    dnsmasq = shutil.which("dnsmasq")

    with netlab.Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        # A bridge in a switch namespace joins the client, stampede and dnsmasq.
        lab.bridge_ns = f"stp-{lab.tag}-b"
        site_ns = f"stp-{lab.tag}-d"
        netlab.run(["ip", "netns", "add", lab.bridge_ns])
        netlab.run(["ip", "netns", "add", site_ns])
        lab.extra_namespaces = [lab.bridge_ns, site_ns]
        b = ["ip", "-n", lab.bridge_ns]
        netlab.run(b + ["link", "add", "br0", "type", "bridge"])
        netlab.run(b + ["link", "set", "br0", "up"])
        # Re-home the lab's two ends onto the bridge: new veths for each.
        for ns, inner in ((lab.client_ns, lab.client_if), (lab.server_ns, lab.server_if)):
            netlab.run(["ip", "-n", ns, "link", "del", inner], check=False)
        for ns, inner, outer in ((lab.client_ns, lab.client_if, "pc"),
                                 (lab.server_ns, lab.server_if, "ps"),
                                 (site_ns, "vd", "pd")):
            netlab.run(["ip", "link", "add", inner, "netns", ns, "type", "veth", "peer", "name",
                        f"{outer}{lab.tag}", "netns", lab.bridge_ns])
            netlab.run(b + ["link", "set", f"{outer}{lab.tag}", "master", "br0", "up"])
            netlab.run(["ip", "-n", ns, "link", "set", inner, "up"])
            netlab.run(["ip", "-n", ns, "link", "set", "lo", "up"])
        netlab.run(["ip", "-n", lab.client_ns, "addr", "add", f"{lab.client_ip}/24", "dev",
                    lab.client_if])
        lab.client(["ethtool", "-K", lab.client_if, "tx", "off"])
        netlab.run(["ip", "-n", site_ns, "addr", "add", "198.18.0.250/24", "dev", "vd"])
        netlab.run(["ip", "netns", "exec", site_ns, "ethtool", "-K", "vd", "tx", "off"])

        site = lab.spawn(site_ns, [dnsmasq, "--no-daemon", "--port=0", "--interface=vd",
                                   "--bind-interfaces", "--no-ping",
                                   "--dhcp-range=198.18.0.150,198.18.0.160,1h",
                                   f"--dhcp-leasefile={tmp}/dnsmasq.leases", "--log-dhcp",
                                   "--conf-file=/dev/null", f"--pid-file={tmp}/dnsmasq.pid"],
                         "dnsmasq")
        site.wait_for("DHCP, IP range", timeout=30)
        path = os.path.join(tmp, "stampede.yaml")
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "boot"))
        for name in ("pxelinux.0", "ipxe.efi", "boot/vmlinuz", "boot/memtest"):
            with open(os.path.join(root, name), "wb") as f:
                f.write(name.encode() * 100)
        with open(path, "w") as f:
            f.write(CONFIG.format(root=root))
        dataplane = lab.start_dataplane(args.dataplane)
        control = lab.start_control(args.control, path, f"{tmp}/run")
        telemetry = netlab.Telemetry(lab.file_prefix)
        lab.wait_serving(telemetry)

        mac = bytes.fromhex("02005e00c001")
        pxe = [(93, b"\0\0"), (60, b"PXEClient:Arch:00000:UNDI:002001"), (97, bytes(17)),
               (55, bytes([1, 3, 43, 60, 66, 67]))]
        xid, payload = request(mac, 1, pxe)
        offers = ask(lab, payload, xid)
        print(offers)
        by_server = {reply["server"]: reply for _, reply in offers}
        site_offer, proxy_offer = by_server.get("198.18.0.250"), by_server.get("198.18.0.1")
        assert site_offer and proxy_offer, f"want one offer from each server: {offers}"
        assert site_offer["yiaddr"].startswith("198.18.0.15") or site_offer["yiaddr"] == "198.18.0.160"
        assert site_offer["file"] == "" and 67 not in site_offer["options"], site_offer
        assert proxy_offer["yiaddr"] == "0.0.0.0" and 51 not in proxy_offer["options"], proxy_offer
        assert proxy_offer["file"] == "pxelinux.0", proxy_offer
        assert proxy_offer["options"][60] == b"PXEClient", proxy_offer

        # The address from the site server...
        address = site_offer["yiaddr"]
        xid, payload = request(mac, 3, [(54, socket.inet_aton("198.18.0.250")),
                                        (50, socket.inet_aton(address))] + pxe, xid=xid + 1)
        acks = [r for _, r in ask(lab, payload, xid) if r["type"] == 5]
        assert [a["server"] for a in acks] == ["198.18.0.250"], acks  # stampede stays out
        assert acks[0]["yiaddr"] == address, acks
        # The address becomes the client's primary one, so tftp-hpa sends
        # from it; before the 4011 request it has no profile of stampede's.
        lab.client(["ip", "addr", "flush", "dev", lab.client_if])
        for own in (address, lab.client_ip):
            lab.client(["ip", "addr", "add", f"{own}/24", "dev", lab.client_if])

        def tftp_get(name):
            got = os.path.join(tmp, "got")
            lab.client(["tftp", "-m", "binary", "198.18.0.1", "-c", "get", name, got])
            with open(got, "rb") as f:
                return f.read()

        profile_script = tftp_get("ipxe/p-burn.ipxe")
        dispatch = tftp_get("boot.ipxe")
        assert dispatch != profile_script, (dispatch, profile_script)
        # ...the boot file from stampede's boot server port, answered to the client.
        xid, payload = request(mac, 3, pxe, ciaddr=struct.unpack("!I", socket.inet_aton(address))[0],
                               xid=xid + 1)
        boot = ask(lab, payload, xid, port=68, to="198.18.0.1", to_port=4011)
        assert boot and boot[0][1]["type"] == 5 and boot[0][1]["file"] == "pxelinux.0", boot
        assert tftp_get("boot.ipxe") == profile_script  # now by its 4011 request

        # A plain client: only the site server answers.
        xid, payload = request(bytes.fromhex("02005e00c002"), 1, [], xid=0x5a5a0100)
        offers = ask(lab, payload, xid)
        assert [r["server"] for _, r in offers] == ["198.18.0.250"], offers
        dhcp = telemetry.query("/stampede/dhcp")
        print(dhcp)
        assert dhcp["proxy_offers"] == 2 and dhcp["acks"] == 0, dhcp

        # stampede boots: the client by its MAC, with no lease of stampede's.
        sock = os.path.join(tmp, "run", f"{lab.instance}.sock")
        want = [("offered", ""), ("requested", address), ("acked", address)]
        deadline = time.monotonic() + 10
        while True:  # control reads the dataplane's events every 100 ms
            out = netlab.run([args.cli, "boots", "02:00:5e:00:c0:01", "--json",
                              f"--api={sock}"], check=False)
            machine = json.loads(out.stdout)["machine"] if out.returncode == 0 else {}
            steps = [(s["outcome"], s["what"]) for s in machine.get("steps", [])
                     if s["kind"] == "proxy"]
            if steps == want or time.monotonic() > deadline:
                break
            time.sleep(0.1)  # polling the API, bounded by the deadline
        assert steps == want, (want, out.stdout)
        assert machine["address"] == address and machine["leases"] == 0, machine
        assert machine["proxy"] == 2 and machine["arch"] == "bios", machine
        assert machine["profile"] == "burn", machine
        by_address = json.loads(netlab.run([args.cli, "boots", address, "--json",
                                            f"--api={sock}"]).stdout)["machine"]
        assert by_address["client"] == "02:00:5e:00:c0:01", by_address
        text = netlab.run([args.cli, "boots", address, f"--api={sock}"]).stdout
        print(text)
        assert "proxy offered" in text and "bios, profile burn" in text, text
        assert "proxyDHCP answers 2" in text, text
        # The plain client got nothing of stampede's: no machine.
        plain = netlab.run([args.cli, "boots", "02:00:5e:00:c0:02", f"--api={sock}"],
                           check=False)
        assert plain.returncode != 0, plain.stdout

        # A one-shot next boot, used up on 4011, stays used across a kill.
        def menu_on_4011(xid):
            ciaddr = struct.unpack("!I", socket.inet_aton(address))[0]
            _, payload = request(bytes.fromhex("02005e00c003"), 3, pxe, ciaddr=ciaddr, xid=xid)
            replies = ask(lab, payload, xid, port=68, to="198.18.0.1", to_port=4011)
            assert replies and replies[0][1]["type"] == 5, replies
            return replies[0][1]["options"].get(209, b"").decode()

        assert menu_on_4011(0x5a5a0200) == "pxelinux.cfg/p-install-once"
        assert menu_on_4011(0x5a5a0201) == "pxelinux.cfg/p-burn"
        telemetry.close()
        dataplane.proc.send_signal(signal.SIGKILL)
        dataplane.proc.wait(timeout=10)
        dataplane = lab.start_dataplane(args.dataplane)
        telemetry = netlab.Telemetry(lab.file_prefix)
        lab.wait_serving(telemetry)
        assert menu_on_4011(0x5a5a0202) == "pxelinux.cfg/p-burn"
        telemetry.close()
        control.stop()
        site.stop()
    print("PASS")


if __name__ == "__main__":
    main()
