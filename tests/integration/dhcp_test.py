#!/usr/bin/env python3
"""DHCP and PXE boot selection from the dataplane, with real clients.

stampede-dataplane (net_af_packet, two workers so DHCP frames also travel the
handoff ring to the DHCP worker) and stampede-control serve a client namespace
over a veth. Checked from the client side and from the appliance's counters:

- busybox udhcpc, ISC dhclient and dhcpcd each get an address from the pool
  and the subnet's options (mask, router, DNS, domain, lease time), the
  configured ones they ask for (NTP servers, domain search, MTU, classless
  static routes) and their host entry's name as option 12;
- an `always_send` option comes unasked, an unasked one does not;
- a reserved MAC gets its fixed address; udhcpc sending a reserved client
  identifier (option 61, an InfiniBand-style DUID) gets that host's address
  and name, though its MAC is another host's;
- client classes: udhcpc sending a class's vendor class (option 60) gets an
  address from the class's pool, its lease time and NTP server, other clients
  never one from that pool; a PXE client whose MAC and arch put it in a class gets
  the class's profile's boot file, the same MAC as UEFI the subnet's;
- PXE-looking requests (option 93/60) get the boot file of their
  architecture (BIOS, EFI x64, x64 and ARM64 HTTP as URLs) with next-server and
  option 66/67/file agreeing; an iPXE request gets the script URL;
- perfdhcp as a relay (giaddr on a second subnet) gets leases from the
  relay's subnet, with no drops;
- control's `stampede status` and /metrics show the DHCP server's counters;
- `known_clients_only`: a MAC without a host entry gets no answer, one in a
  `known` class does;
- proxyDHCP mode: a PXE client gets an offer with no address and the boot file.
"""

import argparse
import os
import re
import socket
import struct
import tempfile
import time

import netlab

MAGIC = 0x63825363


# A client identifier as an IPoIB client sends it (RFC 4390: type 255, IAID,
# DUID-LL): no MAC in it.
BY_ID = "ff:00:00:00:01:00:03:00:20:80:00:fe:80:00:00:00:00:00:00:00:02:c9:03:00:0b:0c:0d"


def config(lab, mode="authoritative", extra_hosts="", known_only=False):
    return f"""dataplane: {{port: net_null0, ipv4: [{lab.server_ip}/{lab.prefix}]}}
dhcp:
  mode: {mode}
  lease_time: 2h
  options:
    - {{name: ntp-servers, data: "198.18.0.123, 198.18.0.124"}}
    - {{code: 224, type: string, data: stampede, always_send: true}}
  subnets:
    - subnet: 198.18.0.0/24
      router: 198.18.0.1
      dns: [198.18.0.53, 198.18.0.54]
      domain: lab.test
      profile: install
      known_clients_only: {str(known_only).lower()}
      pools:
        - {{first: 198.18.0.100, last: 198.18.0.189, classes: ["!rack-a"]}}
        - {{first: 198.18.0.190, last: 198.18.0.199, classes: [rack-a]}}
      options:
        - {{name: domain-search, data: "lab.test, test"}}
        - {{name: interface-mtu, data: 1500}}
        - {{name: classless-static-route, data: "198.18.5.0/24 - 198.18.0.1"}}
    - subnet: 198.19.7.0/24
      router: 198.19.7.1
      pools: [{{first: 198.19.7.10, last: 198.19.7.250}}]
  classes:
    - {{name: rack-a, vendor_class: [stampede-rack], known: true, lease_time: 10m,
       options: [{{name: ntp-servers, data: 198.18.0.9}}]}}
    - {{name: burn-rack, mac: ["02:00:5e:00:b0:*"], arch: [bios], profile: burn}}
hosts:
  - {{name: fixed, mac: "02:00:5e:00:77:07", ipv4: 198.18.0.7, profile: install}}
  - {{name: by-id, client_id: "{BY_ID}", ipv4: 198.18.0.8}}
{extra_hosts}profiles:
  - name: install
    boot_files: {{bios: pxelinux.0, efi_x64: bootnetx64.efi, efi_x64_http: boot/grubx64.efi,
                 efi_arm64_http: boot/grubaa64.efi}}
  - {{name: burn, boot_files: {{bios: memtest.bin}}}}
"""


def dhcp_request(mac, msg_type=1, options=(), flags=0x8000, xid=None):
    xid = xid if xid is not None else int.from_bytes(os.urandom(4), "big")
    fixed = struct.pack("!BBBBIHHIIII", 1, 1, 6, 0, xid, 0, flags, 0, 0, 0, 0)
    fixed += mac + bytes(10) + bytes(64) + bytes(128)
    body = struct.pack("!I", MAGIC) + bytes([53, 1, msg_type])
    for code, value in options:
        body += bytes([code, len(value)]) + value
    return xid, fixed + body + b"\xff"


def parse_reply(data):
    yiaddr = socket.inet_ntoa(data[16:20])
    siaddr = socket.inet_ntoa(data[20:24])
    file = data[108:236].split(b"\0")[0].decode()
    options = {}
    i = 240
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        code, length = data[i], data[i + 1]
        options[code] = options.get(code, b"") + data[i + 2:i + 2 + length]
        i += 2 + length
    return {"xid": struct.unpack("!I", data[4:8])[0], "yiaddr": yiaddr, "siaddr": siaddr,
            "file": file, "options": options}


CLIENT = r'''
import socket, sys, select, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, sys.argv[1].encode())
s.bind(("0.0.0.0", int(sys.argv[3])))
xid = bytes.fromhex(sys.argv[4])
deadline = time.monotonic() + 5
s.sendto(bytes.fromhex(sys.argv[2]), (sys.argv[5], int(sys.argv[6])))
while time.monotonic() < deadline:
    r, _, _ = select.select([s], [], [], max(0, deadline - time.monotonic()))
    if not r:
        break
    data, _ = s.recvfrom(2048)
    if data[4:8] == xid:
        print(data.hex())
        sys.exit(0)
sys.exit(3)
'''


def exchange(lab, payload, xid, port=68, to="255.255.255.255", to_port=67):
    """Sends one request from the client namespace and returns the parsed reply."""
    out = lab.client(["python3", "-c", CLIENT, lab.client_if, payload.hex(), str(port),
                      struct.pack("!I", xid).hex(), to, str(to_port)], check=False)
    assert out.returncode == 0, f"no reply: {out.stdout}"
    return parse_reply(bytes.fromhex(out.stdout.strip().splitlines()[-1]))


def check_pxe(lab, mac):
    cases = [
        ("bios", [(93, b"\0\0"), (60, b"PXEClient:Arch:00000:UNDI:002001")], "pxelinux.0", True),
        ("efi_x64", [(93, b"\0\x07"), (60, b"PXEClient:Arch:00007:UNDI:003016")],
         "bootnetx64.efi", True),
        ("efi_http", [(93, b"\0\x10"), (60, b"HTTPClient:Arch:00016:UNDI:003001")],
         f"http://{lab.server_ip}/boot/grubx64.efi", False),
        ("efi_arm64_http", [(93, b"\0\x13"), (60, b"HTTPClient:Arch:00019:UNDI:003001")],
         f"http://{lab.server_ip}/boot/grubaa64.efi", False),
        ("ipxe", [(93, b"\0\0"), (60, b"PXEClient:Arch:00000"), (77, b"iPXE"),
                  (175, b"\x13\x01\x01")], f"http://{lab.server_ip}/boot.ipxe", False),
    ]
    for name, options, want, tftp in cases:
        uuid = bytes([0]) + os.urandom(16)
        xid, payload = dhcp_request(mac, 1, options + [(97, uuid), (55, bytes([1, 3, 66, 67]))])
        reply = exchange(lab, payload, xid)
        print(name, reply["yiaddr"], reply["file"])
        assert reply["options"][53] == b"\x02", reply
        assert reply["file"] == want, (name, reply)
        assert reply["options"][67].decode() == want, (name, reply)
        assert reply["siaddr"] == lab.server_ip, (name, reply)
        assert reply["options"][97] == uuid, (name, reply)
        if tftp:
            assert reply["options"][66].decode() == lab.server_ip, (name, reply)
            assert reply["options"][60] == b"PXEClient", (name, reply)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataplane", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--cli", required=True)
    args = parser.parse_args()
    netlab.require(["ip", "nft", "ethtool", "busybox", "dhclient", "dhcpcd", "perfdhcp", "curl"])

    with netlab.Lab() as lab, tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "stampede.yaml")
        # The clients below run on the client interface: a host entry with
        # no fixed address names it (option 12); its address is the pool's.
        client_mac = lab.client(["cat", f"/sys/class/net/{lab.client_if}/address"]).stdout.strip()
        named = f'  - {{name: client-one, mac: "{client_mac}"}}\n'
        with open(path, "w") as f:
            f.write(config(lab, extra_hosts=named))
        run_dir = os.path.join(tmp, "run")
        lab.start_dataplane(args.dataplane, workers=2, extra=["--huge_pages=off"])
        control = lab.start_control(args.control, path, run_dir)
        telemetry = netlab.Telemetry(lab.file_prefix)
        lab.wait_serving(telemetry)
        def pool(address, first=100, last=189):  # the pool of clients not in rack-a
            return address.startswith("198.18.0.") and first <= int(address.split(".")[3]) <= last

        # busybox udhcpc: prints what it got through its script.
        script = os.path.join(tmp, "udhcpc.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\n[ \"$1\" = bound ] && env | grep -E "
                    "'^(ip|subnet|router|dns|domain|lease|serverid|ntpsrv|search|mtu|"
                    "staticroutes|hostname)=' > " + tmp + "/udhcpc.env\n"
                    "exit 0\n")
        os.chmod(script, 0o755)
        asked = ["-O", "ntpsrv", "-O", "search", "-O", "mtu", "-O", "staticroutes"]
        out = lab.client(["busybox", "udhcpc", "-i", lab.client_if, "-n", "-q", "-f", "-t", "5",
                          "-T", "2", "-s", script] + asked, check=False, timeout=60)
        print(out.stdout)
        assert out.returncode == 0, out.stdout
        env = dict(line.split("=", 1) for line in open(f"{tmp}/udhcpc.env").read().splitlines())
        print(env)
        assert pool(env["ip"]), env
        assert env["subnet"] == "255.255.255.0" and env["router"] == "198.18.0.1", env
        assert env["dns"].split() == ["198.18.0.53", "198.18.0.54"], env
        assert env["domain"] == "lab.test" and env["lease"] == "7200", env
        assert env["serverid"] == lab.server_ip, env
        assert env["ntpsrv"].split() == ["198.18.0.123", "198.18.0.124"], env
        assert env["search"].split() == ["lab.test", "test"], env
        assert env["mtu"] == "1500" and env["hostname"] == "client-one", env
        assert env["staticroutes"] == "198.18.5.0/24 198.18.0.1", env

        # ISC dhclient, one attempt, its script writes the new_* variables.
        dscript = os.path.join(tmp, "dhclient.sh")
        with open(dscript, "w") as f:
            f.write(f"#!/bin/sh\nset | grep -E '^new_' > {tmp}/dhclient.env\nexit 0\n")
        os.chmod(dscript, 0o755)
        with open(os.path.join(tmp, "dhclient.conf"), "w") as f:
            f.write("timeout 30;\nretry 1;\n"
                    "option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;\n"
                    "request subnet-mask, routers, domain-name-servers, domain-name, ntp-servers, "
                    "domain-search, interface-mtu, host-name, rfc3442-classless-static-routes;\n")
        # -1: one try (exit 2 on failure); on success it forks to the
        # background to renew, and is stopped below with -x.
        out = lab.client(["dhclient", "-1", "-4", "-v", "-sf", dscript, "-cf",
                          f"{tmp}/dhclient.conf", "-lf", f"{tmp}/dhclient.leases", "-pf",
                          f"{tmp}/dhclient.pid", lab.client_if], check=False, timeout=60)
        print(out.stdout)
        assert out.returncode == 0, out.stdout
        denv = dict(line.split("=", 1) for line in open(f"{tmp}/dhclient.env").read().splitlines())
        denv = {k: v.strip("'") for k, v in denv.items()}
        print(denv)
        assert pool(denv["new_ip_address"]), denv
        assert denv["new_routers"] == "198.18.0.1" and denv["new_domain_name"] == "lab.test", denv
        assert "198.18.0.53" in denv["new_domain_name_servers"], denv
        assert denv["new_dhcp_lease_time"] == "7200", denv
        assert denv["new_ntp_servers"].split() == ["198.18.0.123", "198.18.0.124"], denv
        assert denv["new_domain_search"].split() == ["lab.test.", "test."], denv
        assert denv["new_interface_mtu"] == "1500", denv
        assert denv["new_host_name"] == "client-one", denv
        assert denv["new_rfc3442_classless_static_routes"] == "24 198 18 5 198 18 0 1", denv
        lab.client(["dhclient", "-x", "-sf", dscript, "-cf", f"{tmp}/dhclient.conf", "-lf",
                    f"{tmp}/dhclient.leases", "-pf", f"{tmp}/dhclient.pid", lab.client_if],
                   check=False, timeout=30)

        # dhcpcd, one shot in the foreground; its hook script records the
        # variables. (Its test mode, -T, crashes after printing in 9.4.1.)
        hook = os.path.join(tmp, "dhcpcd.sh")
        with open(hook, "w") as f:
            f.write(f"#!/bin/sh\nset | grep -E '^(reason|new_)' >> {tmp}/dhcpcd.env\n")
        os.chmod(hook, 0o755)
        try:
            out = lab.client(["sh", "-c", f"dhcpcd -4 -1 -B -t 20 -c {hook} -f /dev/null "
                              "-o ntp_servers -o domain_search -o host_name "
                              f"{lab.client_if} > {tmp}/dhcpcd.out 2>&1; echo rc=$?"],
                             check=False, timeout=60)
        finally:
            netlab.run(["pkill", "-f", f"dhcpcd.*{lab.client_if}"], check=False)
        print(open(f"{tmp}/dhcpcd.out").read())
        assert "rc=0" in out.stdout, out.stdout
        got = dict(re.findall(r"^(\w+)='?([^'\n]*)'?$", open(f"{tmp}/dhcpcd.env").read(), re.M))
        print(got)
        assert got.get("reason") == "BOUND", got
        assert pool(got.get("new_ip_address", "")), got
        assert got.get("new_routers") == "198.18.0.1", got
        assert got.get("new_domain_name") == "lab.test", got
        assert got.get("new_ntp_servers") == "198.18.0.123 198.18.0.124", got
        assert got.get("new_domain_search") == "lab.test test", got
        assert got.get("new_host_name") == "client-one", got

        # A reserved MAC gets its fixed address.
        reserved = bytes.fromhex("02005e007707")
        xid, payload = dhcp_request(reserved)
        offer = exchange(lab, payload, xid)
        assert offer["yiaddr"] == "198.18.0.7", offer
        # Not asked for (no option 55): only the always_send option comes.
        assert offer["options"].get(224) == b"stampede" and 42 not in offer["options"], offer
        assert 12 not in offer["options"], offer
        xid, payload = dhcp_request(reserved, 3, [(54, socket.inet_aton(lab.server_ip)),
                                                  (50, socket.inet_aton("198.18.0.7"))])
        ack = exchange(lab, payload, xid)
        assert ack["options"][53] == b"\x05" and ack["yiaddr"] == "198.18.0.7", ack

        # A reserved client identifier (an IPoIB client's DUID, RFC 4390)
        # gets its host's address and name, before the MAC's host.
        out = lab.client(["busybox", "udhcpc", "-i", lab.client_if, "-n", "-q", "-f", "-t", "5",
                          "-T", "2", "-s", script, "-x", "0x3d:" + BY_ID.replace(":", "")],
                         check=False, timeout=60)
        assert out.returncode == 0, out.stdout
        env = dict(line.split("=", 1) for line in open(f"{tmp}/udhcpc.env").read().splitlines())
        assert env["ip"] == "198.18.0.8" and env["hostname"] == "by-id", env

        # Client classes. udhcpc's vendor class (option 60) puts it in rack-a:
        # an address of the class's pool, its lease time, the class's NTP
        # server over the global ones; the subnet's search.
        out = lab.client(["busybox", "udhcpc", "-i", lab.client_if, "-n", "-q", "-f", "-t", "5",
                          "-T", "2", "-s", script, "-V", "stampede-rack"] + asked,
                         check=False, timeout=60)
        assert out.returncode == 0, out.stdout
        env = dict(line.split("=", 1) for line in open(f"{tmp}/udhcpc.env").read().splitlines())
        assert pool(env["ip"], 190, 199) and env["lease"] == "600", env
        assert env["ntpsrv"].split() == ["198.18.0.9"], env
        assert env["search"].split() == ["lab.test", "test"], env
        # burn-rack (a MAC prefix and BIOS): its profile; the same MAC as a
        # UEFI client is not in it and gets the subnet's.
        rack_mac = bytes.fromhex("02005e00b001")
        for arch, vendor, want in [(b"\0\0", b"PXEClient:Arch:00000", "memtest.bin"),
                                   (b"\0\x07", b"PXEClient:Arch:00007", "bootnetx64.efi")]:
            xid, payload = dhcp_request(rack_mac, 1, [(93, arch), (60, vendor)])
            reply = exchange(lab, payload, xid)
            assert reply["file"] == want, reply

        # PXE boot selection by architecture, and iPXE.
        check_pxe(lab, bytes.fromhex("02005e0000a1"))

        # perfdhcp as a relay on a second subnet: giaddr picks 198.19.7.0/24.
        lab.client(["ip", "addr", "add", "198.19.7.1/24", "dev", lab.client_if])
        out = lab.client(["perfdhcp", "-4", "-l", "198.19.7.1", "-r", "50", "-n", "100",
                          "-R", "100", "-W", "2000000", "-u", lab.server_ip], check=False, timeout=120)
        print(out.stdout)
        sent = re.search(r"sent packets: (\d+)", out.stdout)
        received = re.findall(r"received packets: (\d+)", out.stdout)
        drops = re.findall(r"drops: (\d+)", out.stdout)
        assert out.returncode == 0, out.stdout
        assert sent and received and all(d == "0" for d in drops), out.stdout
        dhcp = telemetry.query("/stampede/dhcp")
        stats = telemetry.query("/stampede/stats")
        print(dhcp)
        print({k: v for k, v in stats.items() if "dhcp" in k or k in ("rx_packets", "drops")})
        assert dhcp["acks"] >= 103 and dhcp["offers"] >= 107, dhcp
        assert dhcp["boot_replies"] >= 4, dhcp
        assert stats["drop_dhcp_malformed"] == 0 and stats["drop_dhcp_queue_full"] == 0, stats
        per_worker = [telemetry.query(f"/stampede/lcore_stats,{w}") for w in range(2)]
        assert per_worker[0]["dhcp_requests"] == stats["dhcp_requests"], per_worker

        # The control plane hears of every lease (events) and lists them
        # from the journal (stampede leases).
        sock = os.path.join(run_dir, f"{lab.instance}.sock")
        leases = netlab.run([args.cli, "leases", f"--api={sock}"]).stdout
        print(leases)
        assert re.search(r"^198\.18\.0\.7 +02:00:5e:00:77:07 +bound .* fixed$", leases, re.M), leases
        # A client id is kept (and listed) by its first 24 bytes, the rest hashed.
        assert re.search(rf"^198\.18\.0\.8 +{BY_ID.replace(':', '')[:48]} +bound .* by-id$",
                         leases, re.M), leases
        # The host entry of the running config that holds each lease.
        assert re.search(rf"^198\.18\.0\.1\d\d +{client_mac} +bound .* client-one$", leases,
                         re.M), leases
        bound = re.findall(r"^198\.19\.7\.\d+ ", leases, re.M)
        assert len(bound) == 100, f"{len(bound)} relay leases listed"
        # Control shows the DHCP server's counters (the status region): the
        # same numbers as the dataplane's telemetry, in stampede status and
        # in /metrics.
        dhcp = telemetry.query("/stampede/dhcp")
        status = netlab.run([args.cli, "status", f"--api={sock}"], check=False).stdout
        print(status)
        assert f"dhcp        {dhcp['offers']} offers, {dhcp['acks']} acks, {dhcp['naks']} naks" \
            in status, (dhcp, status)
        metrics = netlab.run(["curl", "-sS", "--max-time", "5", "--unix-socket", sock,
                              "http://stampede/metrics"]).stdout.splitlines()
        for name in ("acks", "offers", "discovers", "options_dropped"):
            assert f"stampede_dhcp_{name}_total {dhcp[name]}" in metrics, (name, dhcp)
        assert "# TYPE stampede_dhcp_acks_total counter" in metrics
        deadline = time.monotonic() + 10
        while True:
            events = netlab.run([args.cli, "events", f"--api={sock}"]).stdout
            granted = events.count("dataplane lease_granted")
            if granted >= dhcp["acks"] - 1 or time.monotonic() > deadline:  # INFORM-free: acks = leases
                break
            time.sleep(0.1)
        assert granted >= 100, events[-2000:]
        assert "lease_granted 198.18.0.7 client=02:00:5e:00:77:07" in events, events[-2000:]
        control.stop()

        # known_clients_only: a MAC without a host entry gets no answer (and
        # is counted); the reserved one still does, and so does a client of
        # rack-a (`known: true`), from its pool.
        with open(path, "w") as f:
            f.write(config(lab, extra_hosts=named, known_only=True))
        before = telemetry.query("/stampede/policy")["applied_generation"]
        control = lab.start_control(args.control, path, run_dir)
        lab.wait_serving(telemetry, after_generation=before)
        unknown_before = telemetry.query("/stampede/dhcp")["unknown_clients"]
        xid, payload = dhcp_request(bytes.fromhex("02005e0000c1"))
        out = lab.client(["python3", "-c", CLIENT, lab.client_if, payload.hex(), "68",
                          struct.pack("!I", xid).hex(), "255.255.255.255", "67"], check=False)
        assert out.returncode == 3, f"an unknown client was answered: {out.stdout}"
        assert telemetry.query("/stampede/dhcp")["unknown_clients"] == unknown_before + 1
        xid, payload = dhcp_request(reserved)
        assert exchange(lab, payload, xid)["yiaddr"] == "198.18.0.7"
        xid, payload = dhcp_request(bytes.fromhex("02005e0000c2"), 1, [(60, b"stampede-rack")])
        assert pool(exchange(lab, payload, xid)["yiaddr"], 190, 199)
        control.stop()

        # proxyDHCP: no address, only the boot fields, and only for PXE clients.
        with open(path, "w") as f:
            f.write(config(lab, mode="proxy"))
        before = telemetry.query("/stampede/policy")["applied_generation"]
        control = lab.start_control(args.control, path, run_dir)
        lab.wait_serving(telemetry, after_generation=before)
        xid, payload = dhcp_request(bytes.fromhex("02005e0000b1"), 1,
                                    [(93, b"\0\x07"), (60, b"PXEClient:Arch:00007:UNDI:003016")])
        reply = exchange(lab, payload, xid)
        assert reply["yiaddr"] == "0.0.0.0" and 51 not in reply["options"], reply
        assert reply["file"] == "bootnetx64.efi" and reply["options"][60] == b"PXEClient", reply
        telemetry.close()
        control.stop()
    print("PASS")


if __name__ == "__main__":
    main()
