"""Runs one scenario in a BootLab and checks both sides of the boot.

Shared by tests/e2e/boot_test.py (one scenario per meson test) and
scripts/lab (scenario "bios" or "uefi", left up with --keep), so the lab an
operator runs is the code the tests exercise.
"""

import json
import os
import shutil
import time

import bootlab
import scenarios
import timeline


def prerequisites(scenario):
    """What this scenario lacks on this machine (empty when nothing)."""
    files = [bootlab.OVMF_CODE, bootlab.OVMF_VARS] if scenario.firmware != "bios" else [
        bootlab.IPXE_ROM]
    files += sorted(set(scenarios.BOOT_FILES.values())) + list(scenario.images) + list(
        scenario.needs)
    commands = (["dnsmasq"] if scenario.site_dhcp else []) + (
        ["xorriso"] if scenario.make_images else [])
    return bootlab.missing_prerequisites(files, commands)


def start_site_dhcp(lab):
    """dnsmasq as the site's DHCP server: addresses only, no boot options;
    returns its lease file."""
    ns = lab.add_site_namespace(scenarios.SITE_DHCP_ADDRESS)
    first, last = scenarios.SITE_DHCP_RANGE
    leases = os.path.join(lab.work_dir, "dnsmasq.leases")
    proc = lab.spawn(ns, [shutil.which("dnsmasq"), "--no-daemon", "--port=0",
                          "--interface=site0", "--bind-interfaces", "--no-ping",
                          f"--dhcp-range={first},{last},1h", f"--dhcp-leasefile={leases}",
                          "--log-dhcp", "--conf-file=/dev/null",
                          f"--pid-file={lab.work_dir}/dnsmasq.pid"], "dnsmasq")
    proc.wait_for("DHCP, IP range", timeout=30)
    return leases


def prepare(lab, scenario, serve=False):
    """The TFTP root (boot files and menus), the images folder, the config;
    starts stampede."""
    root = os.path.join(lab.work_dir, "tftp")
    scenarios.make_tftp_root(root)
    scenario.menus(root)
    images = None
    if scenario.images or scenario.make_images:
        images = os.path.join(lab.work_dir, "images")
        os.makedirs(images, exist_ok=True)
        for iso in scenario.images:
            bootlab.place(iso, os.path.join(images, os.path.basename(iso)))
        if scenario.make_images:
            scenario.make_images(images)
    lab.start_stampede(scenario.config(lab, root, images), serve=serve)
    return root


def check_leases(lab, scenario, line, site_leases):
    macs = [g.vm.spec.mac for g in line.guests.values()]
    if scenario.site_dhcp:
        with open(site_leases) as f:
            held = f.read().lower()
        missing = [mac for mac in macs if mac.lower() not in held]
        assert not missing, f"dnsmasq leased nothing to {missing}: {held}"
        ours = [l for l in lab.leases() if l["client"].lower() in [m.lower() for m in macs]]
        assert not ours, f"stampede in proxy mode leased addresses: {ours}"
        dhcp = lab.counters("dhcp")
        assert dhcp["proxy_offers"] >= len(macs) and dhcp["acks"] == 0, dhcp
        return f"dnsmasq leased {len(macs)} address(es), stampede none (proxy_offers " \
               f"{dhcp['proxy_offers']}, boot_replies {dhcp['boot_replies']})"
    leases = lab.wait_leases(macs)
    for guest in line.guests.values():
        assert leases[guest.vm.spec.mac] == guest.address, (
            f"{guest.vm.spec.name}: stampede's lease {leases[guest.vm.spec.mac]} is not the "
            f"address it got on the wire ({guest.address})")
    assert len(set(leases.values())) == len(macs), f"an address leased twice: {leases}"
    return "stampede leases: " + ", ".join(f"{mac} {address}" for mac, address in leases.items())


def check_transfers(lab, scenario, line, root, before):
    sizes = {path: os.path.getsize(os.path.join(root, path))
             for path in scenario.fetched if os.path.exists(os.path.join(root, path))}
    for guest in line.guests.values():
        got = line.fetched(guest)
        for path in scenario.fetched:
            # A file inside an ISO image has no size here; the guest booting it says it was whole.
            want = sizes.get(path, got.get(path))
            assert want is not None and got.get(path) == want, (
                f"{guest.vm.spec.name}: {path} not fetched whole ({got.get(path)} of {want} "
                f"bytes); fetched: {got}")
    after = lab.counters("tftp")
    delta = {k: after[k] - before.get(k, 0) for k in after}
    wire_bytes = sum(sum(line.fetched(g).values()) for g in line.guests.values())
    wire_files = sum(len(g.transfers) for g in line.guests.values())
    assert delta["sessions_completed"] >= wire_files, (delta, wire_files)
    assert delta["bytes_sent"] >= wire_bytes, (delta, wire_bytes)
    assert delta["sessions_failed"] == 0 and delta["data_on_duplicate_ack"] == 0, delta
    assert delta["cache_read_errors"] == 0 and delta["sessions_refused"] == 0, delta
    return (f"/stampede/tftp: {delta['sessions_completed']} sessions completed, "
            f"{delta['bytes_sent']} bytes sent, {delta['data_retransmitted']} DATA "
            f"retransmitted, {delta['sessions_aborted']} aborted by clients, 0 failed")


def check_boots(lab, scenario, line, timeout=10):
    """`stampede boots` tells each guest's boot as the wire saw it: its lease
    (in proxy mode, where the site's server leases, stampede's proxy offer)
    with its firmware and profile, and every file of
    `fetched` (TFTP) and of `http_fetched` and `http_ranged` (HTTP) among its
    completed steps, none of its steps pushed out."""
    notes = []
    for guest in line.guests.values():
        tftp = {("tftp", path) for path in scenario.fetched}
        http = {("http", path) for path in scenario.http_fetched + scenario.http_ranged}
        deadline = time.monotonic() + timeout
        while True:  # control reads the dataplane's events every 100 ms
            out = lab.cli("boots", guest.address, "--json")
            machine = json.loads(out.stdout)["machine"] if out.returncode == 0 else None
            done = {(s["kind"], s["what"].lstrip("/").split("?")[0])
                    for s in (machine or {}).get("steps", []) if s["ok"]}
            missing = sorted((tftp | http) - done)
            if machine and not missing:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{guest.vm.spec.name}: stampede boots {guest.address} "
                                     f"lacks {missing}: {out.stdout[-3000:]}")
            time.sleep(0.1)  # polling the API, bounded by the deadline
        assert machine["steps_dropped"] == 0, machine
        # It booted: not where `stampede boots --failed` would list it.
        assert not machine["failing"], machine
        # Named by its MAC, its first step its lease, or in proxy mode (the
        # site's server leases) stampede's proxy offer.
        assert machine["client"] == guest.vm.spec.mac.lower(), machine
        first = machine["steps"][0]
        want = ("proxy", "offered") if scenario.site_dhcp else ("lease", "granted")
        assert (first["kind"], first["outcome"]) == want, machine
        # Its last lease's option 93: SeaBIOS's iPXE says BIOS; OVMF, and
        # the ipxe.efi it runs after HTTP boot, say x64 UEFI.
        arch = "bios" if scenario.firmware == "bios" else "efi-x64"
        assert machine["arch"] == arch and machine["profile"], machine
        failed = [f"{s['kind']} {s['what']} {s['outcome']}" +
                  (f" ({s['status']}: {s['detail']})" if s["detail"] else "")
                  for s in machine["steps"]
                  if s["kind"] in ("tftp", "http") and not s["ok"]
                  and s["status"] not in (1, 404)]
        notes.append(f"{guest.vm.spec.name} {machine['files']} files, "
                     f"{machine['not_found']} not found, {machine['failed']} failed"
                     + (f" ({'; '.join(failed)})" if failed else ""))
    return "stampede boots: " + "; ".join(notes)


def http_access(lab):
    """The dataplane's event=http_access log lines, as dicts of their fields."""
    with open(lab.dataplane_log, errors="replace") as f:
        return [dict(part.split("=", 1) for part in line.split() if "=" in part)
                for line in f if "event=http_access" in line]


def check_http(lab, scenario, line, root, timeout=10):
    """Every file of `http_fetched` went to every guest whole (status 200,
    every byte, in the dataplane's access log), every guest read at least
    1 MiB of each `http_ranged` path by ranges (206), and /stampede/http
    agrees."""
    if not scenario.http_fetched and not scenario.http_ranged:
        return None
    sizes = {}
    for path in scenario.http_fetched:  # under the TFTP root, or a whole image
        for folder in (root, lab.work_dir):
            if os.path.isfile(os.path.join(folder, path)):
                sizes[path] = os.path.getsize(os.path.join(folder, path))
                break
    deadline = time.monotonic() + timeout
    while True:
        served = {(f.get("client", "").split(":")[0], f.get("path", "").lstrip("/")):
                  (f.get("status"), int(f.get("bytes", "-1")))
                  for f in http_access(lab) if f.get("status") == "200"}
        missing = [(g.vm.spec.name, path) for g in line.guests.values()
                   for path in scenario.http_fetched
                   if (g.address, path) not in served or
                   (path in sizes and served[(g.address, path)][1] != sizes[path])]
        if not missing:
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"not fetched whole over HTTP: {missing}; served: {served}")
        time.sleep(0.1)  # polling the log, bounded by the deadline
    ranged = {}
    for f in http_access(lab):
        if f.get("status") == "206":
            key = (f.get("client", "").split(":")[0], f.get("path", "").lstrip("/"))
            ranged[key] = ranged.get(key, 0) + int(f.get("bytes", "0"))
    short = [(g.vm.spec.name, path, ranged.get((g.address, path), 0))
             for g in line.guests.values() for path in scenario.http_ranged
             if ranged.get((g.address, path), 0) < 1 << 20]
    assert not short, f"not read by ranges (guest, path, bytes): {short}"
    http = lab.counters("http")
    assert http["transfers_completed"] >= len(scenario.http_fetched) * len(line.guests), http
    assert http["read_errors"] == 0 and http["responses_5xx"] == 0, http
    return (f"/stampede/http: {http['transfers_completed']} transfers completed, "
            f"{http['bytes_sent']} bytes sent, {http['not_found']} not found")


def check_router_advertisements(lab, scenario):
    """Each iPXE guest solicited an IPv6 router and got stampede's
    advertisement (bootlab's config sets dataplane.ipv6_ra), so its wait for
    IPv6 ended at once."""
    sent = lab.counters("stats")["router_advertisements"]
    if scenario.runs_ipxe:
        assert sent >= scenario.guests, \
            f"{sent} router advertisements for {scenario.guests} iPXE guests"
    return f"/stampede/stats: {sent} router advertisements"


def run(lab, scenario, serve=False, out=None, timeout=None):
    """Boots the scenario's guests and checks them; returns the Timeline.
    Raises AssertionError (with what went wrong) when a check fails."""
    site_leases = start_site_dhcp(lab) if scenario.site_dhcp else None
    root = prepare(lab, scenario, serve=serve)
    lab.start_watch()
    before = lab.counters("tftp")
    vms = [lab.new_vm(f"vm{i + 1}", scenario.firmware) for i in range(scenario.guests)]
    line = timeline.Timeline(lab, vms, out=out)
    line.header()
    for vm in vms:
        vm.start()
    timeout = timeout or (scenario.timeout_kvm if lab.kvm else scenario.timeout_tcg)
    deadline = time.monotonic() + timeout
    needles = [scenario.marker] + ([scenario.fail_marker] if scenario.fail_marker else [])
    try:
        for vm in vms:
            found, _ = vm.wait_serial(needles, max(1, deadline - time.monotonic()),
                                      on_poll=line.poll)
            if found != scenario.marker:
                text = bootlab.clean(vm.serial())
                raise AssertionError(f"{vm.spec.name}: {text[text.rfind(found):][:300]}")
    finally:
        line.poll(final=True)
        line.print_summary(timeline.label_of(scenario.marker))
    line.note(check_leases(lab, scenario, line, site_leases))
    line.note(check_transfers(lab, scenario, line, root, before))
    http = check_http(lab, scenario, line, root)
    if http:
        line.note(http)
    line.note(check_router_advertisements(lab, scenario))
    line.note(check_boots(lab, scenario, line))
    return line
