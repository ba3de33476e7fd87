// libFuzzer target: DHCP requests from the wire, through the parser and the
// server's state machine. The input is up to 8 messages separated by the
// bytes "MSG|"; they go to one server in order (DISCOVER then REQUEST...),
// under a fixed policy with small pools (two for classes), reservations,
// client classes (one known on a known-clients-only subnet) and PXE profiles,
// and to a second server under the same policy in proxyDHCP mode. Replies
// must stay inside the reply buffer and the client's size limit, and a
// proxy step's event inside its record.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "control/config/compile.h"
#include "dataplane/dhcp/lease_event.h"
#include "dataplane/dhcp/server.h"

namespace {

constexpr char kConfig[] = R"(dataplane: {port: net_null0, ipv4: [198.18.0.1/24]}
dhcp:
  options:
    - {name: ntp-servers, data: "198.18.0.2, 198.18.0.3"}
    - {code: 224, type: string, always_send: true, data: "a value longer than one option's 255 bytes, so that it goes out split over two (RFC 3396) or is left out when the client's size does not take it ........................................................................................................................................................."}
  subnets:
    - subnet: 198.18.0.0/24
      profile: p
      pools: [{first: 198.18.0.100, last: 198.18.0.101, classes: ["!m"]}, {first: 198.18.0.102, last: 198.18.0.103, classes: [m, u]}]
      options: [{name: domain-search, data: "lab.test, test"}, {name: interface-mtu, data: 9000}]
    - {subnet: 198.19.0.0/24, known_clients_only: true, pools: [{first: 198.19.0.10, last: 198.19.0.11, classes: [known]}, {first: 198.19.0.20, last: 198.19.0.21, classes: ["!known", u]}]}
  classes:
    - {name: m, mac: ["02:00:5e:00:00:0a", "02:*:*:00:00:0b"], vendor_class: [PXEClient], arch: [bios, "65000"], profile: q,
       options: [{name: ntp-servers, data: 198.18.0.9}, {code: 225, type: string, data: c}]}
    - {name: u, user_class: [iPXE, stampede], known: true, lease_time: 90s, options: [{code: 225, type: string, data: u}]}
    - {name: r, circuit_id: [c2], remote_id: [r], profile: p}
hosts:
  - {name: n7, mac: "02:00:5e:00:00:07", ipv4: 198.18.0.7, profile: p,
     options: [{name: ntp-servers, data: 198.18.0.9, always_send: true}]}
  - {circuit_id: "c1", profile: p, lease_time: 2m}
  - {client_id: "ff:00:00:00:01:00:02", ipv4: 198.18.0.8, profile: p}
profiles:
  - {name: p, boot_files: {bios: pxelinux.0, efi_x64: ipxe.efi, efi_x64_http: x.efi}}
  - {name: q, boot_files: {bios: memtest.bin}}
)";

std::unique_ptr<const stampede::policy::PolicyTables> Tables(bool proxy) {
  std::string text = kConfig;
  if (proxy) text.replace(text.find("dhcp:\n"), 6, "dhcp:\n  mode: proxy\n");
  auto loaded = stampede::config::ParseConfig(text, "f.yaml", stampede::config::Format::kYaml);
  auto policy = stampede::config::Compile(*loaded);
  std::string bytes = policy->SerializeAsString();
  return *stampede::policy::BuildTables(
      {reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, 1);
}

const stampede::policy::PolicyTables& Policy(bool proxy) {
  static const std::unique_ptr<const stampede::policy::PolicyTables> tables[] = {Tables(false),
                                                                                 Tables(true)};
  return *tables[proxy];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  stampede::dhcp::Server servers[2];
  static stampede::dhcp::Message message;  // large: not on the stack
  std::vector<std::byte> reply(1500);
  uint64_t now = 1000;
  for (int i = 0; i < 8 && !input.empty(); ++i) {
    size_t cut = input.find("MSG|");
    std::string_view chunk = input.substr(0, cut);
    input = cut == std::string_view::npos ? std::string_view() : input.substr(cut + 4);
    std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(chunk.data()),
                                     chunk.size());
    if (!stampede::dhcp::Parse(bytes, message).ok()) continue;
    size_t limit = stampede::dhcp::ReplyLimit(message, 1472);
    stampede::dhcp::RequestContext context{{{0xc6120001}, 24}, (i & 1) != 0, now += 700};
    for (bool proxy : {false, true}) {
      stampede::dhcp::Server& server = servers[proxy];
      stampede::dhcp::Decision d = server.Handle(message, context, Policy(proxy), reply, limit);
      if (d.reply && (d.reply_length > limit || d.reply_length < stampede::dhcp::kMinReplySize)) {
        __builtin_trap();
      }
      if (d.proxy != stampede::dhcp::ProxyStep::kNone) {
        if (!proxy || d.change != stampede::dhcp::LeaseChange::kNone) __builtin_trap();
        std::byte event[stampede::dhcp::kMaxLeaseEventBytes];
        size_t n = stampede::dhcp::EncodeProxyBootEvent(
            now, d.proxy, d.lease.address, d.lease.client, event, {d.boot_profile, d.client_arch});
        if (n > sizeof(event)) __builtin_trap();
      }
      server.Expire(now, 16);
    }
  }
  return 0;
}
