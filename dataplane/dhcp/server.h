// The DHCPv4 server's logic (RFC 2131 §4.3) and PXE boot selection, over
// parsed messages: no frames, no DPDK. The DHCP worker owns one Server (the
// single writer of its lease table); the policy comes in per request.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "dataplane/dhcp/counters.h"
#include "dataplane/dhcp/journal.h"
#include "dataplane/dhcp/leases.h"
#include "dataplane/dhcp/message.h"
#include "dataplane/dhcp/rate_limiter.h"
#include "dataplane/dhcp/table_allocator.h"
#include "dataplane/policy/tables.h"

namespace stampede::dhcp {

// How long an offered address is held for a client that has not requested
// it yet (dnsmasq and Kea hold offers for about this long).
inline constexpr uint64_t kOfferHoldMs = 30'000;
// RFC 2131 §4.4.4 lets the server choose; dnsmasq quarantines declined
// addresses for 10 minutes.
inline constexpr uint64_t kDeclineQuarantineMs = 600'000;
// Renewal (T1) and rebinding (T2) as fractions of the lease (RFC 2131 §4.4.5).
inline constexpr uint32_t kT1Permille = 500;
inline constexpr uint32_t kT2Permille = 875;

// Where and how a request arrived.
struct RequestContext {
  net::Ipv4Interface local;       // the appliance's address facing the client
  bool boot_server_port = false;  // arrived on UDP 4011 (PXE boot server)
  uint64_t now_ms = 0;
};

// What changed in the lease table, for the journal and the events.

struct Decision {
  bool reply = false;
  size_t reply_length = 0;
  MessageType reply_type = MessageType::kNone;
  LeaseChange change = LeaseChange::kNone;
  Lease lease;  // when change != kNone
  // Where the reply goes (RFC 2131 §4.1), for the frame layer.
  bool to_relay = false;         // unicast to giaddr, port 67
  bool broadcast = false;        // to 255.255.255.255
  bool to_ciaddr = false;        // unicast to ciaddr (renewals, INFORM)
  bool to_source = false;        // back to the request's source (port 4011)
  net::Ipv4Address destination;  // yiaddr / ciaddr / giaddr
  // A DISCOVER found no free address in this subnet (network; 0 if not).
  uint32_t exhausted_subnet = 0;
  uint32_t exhausted_prefix = 0;
  // This ACK carries a host's one-shot next boot (host key; 0: none): it
  // is used up once the journal has it, like the lease.
  uint64_t next_boot_host = 0;
  uint32_t next_boot_profile = 0;
  // An ACK's boot, for its lease event: the profile its boot options came
  // from (1-based index into the policy's profiles; 0: none) and the
  // client's architecture (option 93's first value; kNoClientArch: none).
  uint32_t boot_profile = 0;
  uint32_t client_arch = kNoClientArch;
  // proxyDHCP: what this request told of a PXE client (a ProxyBoot event),
  // with the client in lease.client and its address (0: not known) in
  // lease.address; boot_profile and client_arch as an ACK's. No lease
  // changes (change stays kNone).
  ProxyStep proxy = ProxyStep::kNone;
};

class Server {
 public:
  Decision Handle(const Message& request, const RequestContext& context,
                  const policy::PolicyTables& policy, net::ByteSpan reply, size_t reply_limit);
  // Expires at most `budget` leases; call from the poll loop.
  // A request from `mac` (chaddr) is coming: its rate bucket starts loading.
  void PrefetchRateBucket(uint64_t mac) const { rate_limiter_.Prefetch(mac); }
  size_t Expire(uint64_t now_ms, size_t budget) { return leases_.Expire(now_ms, budget); }
  // A new policy: room in the lease table for every address its pools and
  // reservations can hand out (LeaseTable::Reserve). Call when the policy
  // changes, not per request.
  void ReserveFor(const policy::PolicyTables& policy);
  const LeaseTable& leases() const { return leases_; }
  LeaseTable& leases() { return leases_; }
  // Hosts whose one-shot next boot an ACK carried (the journal restores it).
  NextBootUsed& next_boot_used() { return next_boot_used_; }
  const DhcpCounters& counters() const { return *counters_; }
  // Counts into `counters` (the status region's block, which control reads)
  // from now on; call before the first request. Default: its own.
  void UseCounters(DhcpCounters& counters) { counters_ = &counters; }
  // Where each ACK says which profile its address boots (null: nowhere).
  void set_client_directory(policy::ClientDirectory* directory) { directory_ = directory; }

 private:
  struct Client;
  Decision Discover(const Client& c, ReplyBuilder& out);
  Decision Request(const Client& c, ReplyBuilder& out);
  Decision Decline(const Client& c);
  Decision Release(const Client& c);
  Decision Inform(const Client& c, ReplyBuilder& out);
  Decision Proxy(const Client& c, ReplyBuilder& out);
  Decision Ack(const Client& c, uint32_t address, ReplyBuilder& out);
  Decision Nak(const Client& c, ReplyBuilder& out);
  // `mine`: what the table has for the client (LeaseTable::ForClient).
  std::optional<uint32_t> ChooseAddress(const Client& c, const LeaseTable::ClientLeases& mine);
  // `address` is in one of the client's subnet's pools open to its classes.
  bool InPool(const Client& c, uint32_t address) const;
  bool Usable(const Client& c, uint32_t address) const;
  // `final`: an ACK, which uses up a one-shot next boot (an OFFER does not).
  void AddNetworkOptions(const Client& c, ReplyBuilder& out, uint32_t lease_seconds, bool final);
  bool AddBootOptions(const Client& c, ReplyBuilder& out, bool final);
  // Notes in the client directory what `address` boots (`profile`, 0:
  // nothing; the one-shot next boot if the reply used it).
  void NoteClientBoot(const Client& c, uint32_t address, uint32_t profile);
  bool RateLimited(const Client& c);
  // Closes the reply and says where it goes; `yiaddr` the address it gives.
  Decision Finish(const Client& c, ReplyBuilder& out, MessageType type, uint32_t yiaddr);
  bool Allowed(const Client& c, uint32_t address) const;

  LeaseTable leases_;
  DhcpCounters own_counters_;
  DhcpCounters* counters_ = &own_counters_;
  RateLimiter rate_limiter_;
  absl::flat_hash_map<uint32_t, uint32_t> pool_cursor_;  // subnet network -> next try
  // Hosts whose one-shot next boot an ACK carried (HostKey -> the next_boot
  // profile then); a new next_boot in the policy applies again. Journaled:
  // a restart does not offer it once more.
  NextBootUsed next_boot_used_;
  // Set by AddBootOptions for the reply being built, moved into its Decision.
  uint64_t next_boot_host_ = 0;
  uint32_t next_boot_profile_ = 0;
  // Set by every AddBootOptions call for the reply being built: its profile
  // (0: none) and whether an ACK carries the one-shot next boot, for its
  // event and the client directory.
  uint32_t boot_profile_ = 0;
  bool boot_once_ = false;
  policy::ClientDirectory* directory_ = nullptr;
};

// The PXE client architecture (RFC 4578 §2.1, IANA "Processor Architecture
// Types") to the profile's boot file field.
// Option 93's architectures a profile has a boot file for (RFC 4578 and
// IANA's list); kNone: none, or one of the others (x86 or ARM32 HTTP, RISC-V).
enum class BootArch : uint8_t {
  kNone,
  kBios,
  kEfiIa32,
  kEfiX64,
  kEfiArm64,
  kEfiX64Http,
  kEfiArm64Http,
};
BootArch ArchOf(const Message& request);
// Option 93's value (the first of a list); nullopt when absent or malformed.
std::optional<uint16_t> ClientArchOf(const Message& request);

}  // namespace stampede::dhcp
