// The DHCP worker's lease table: who holds which address until when. One
// writer (the DHCP worker), no locks. Addresses are host-order IPv4; times
// are milliseconds on the worker's monotonic clock.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <queue>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "dataplane/dhcp/table_allocator.h"

namespace stampede::dhcp {

// FNV-1a (64-bit) of `bytes`, continuing from `hash`. The same in every
// process (absl::Hash is seeded per process), so what goes into the lease
// journal still matches after a restart.
inline uint64_t StableHash(std::span<const std::byte> bytes, uint64_t hash = 0xcbf29ce484222325) {
  for (std::byte b : bytes) hash = (hash ^ static_cast<uint8_t>(b)) * 0x100000001b3;
  return hash;
}

// A client's identity (RFC 2131 §4.2): option 61 when sent, else htype +
// chaddr. Longer identifiers are kept by their first bytes and a hash of all.
struct ClientKey {
  static constexpr size_t kMaxBytes = 24;
  // `bytes` first, 8-aligned: the words hashed and compared are loaded as
  // the key was copied, so each load takes its data from the copy's store
  // (one straddling two stores waits for both to reach the cache, behind
  // every store before them, the lease table's missing ones included).
  std::array<uint8_t, kMaxBytes> bytes{};
  uint64_t overflow_hash = 0;
  uint8_t length = 0;

  static ClientKey From(std::span<const std::byte> id);
  // Every field and all kMaxBytes bytes, as a defaulted == compares them,
  // but a word at a time (no memcmp, no byte-string hash): the lease table
  // compares and hashes keys several times per request.
  friend bool operator==(const ClientKey& a, const ClientKey& b) {
    Words x = a.ToWords(), y = b.ToWords();
    return a.length == b.length && a.overflow_hash == b.overflow_hash && x[0] == y[0] &&
           x[1] == y[1] && x[2] == y[2];
  }
  template <typename H>
  friend H AbslHashValue(H h, const ClientKey& k) {
    Words w = k.ToWords();
    return H::combine(std::move(h), w[0], w[1], w[2], k.length, k.overflow_hash);
  }

 private:
  static_assert(kMaxBytes % 8 == 0);
  using Words = std::array<uint64_t, kMaxBytes / 8>;
  Words ToWords() const {
    Words w;
    std::memcpy(w.data(), bytes.data(), kMaxBytes);
    return w;
  }
};

// What happened to a lease. The values are also the lease journal's record
// kinds and stampede.v1.Lease.Change, so one enum serves the server, the
// journal and the events with no mapping between them.
// kNextBootUsed is the journal's only: an ACK carried a host's one-shot
// next boot (never reported as a lease event).
enum class LeaseChange : uint8_t {
  kNone = 0,
  kGranted = 1,
  kReleased = 2,
  kDeclined = 3,
  kNextBootUsed = 4,
};

// No option 93 in the request (its values are 16 bits).
inline constexpr uint32_t kNoClientArch = UINT32_MAX;

// What proxyDHCP learnt of a PXE client (stampede.v1.ProxyBoot.Step's
// numbers).
enum class ProxyStep : uint8_t {
  kNone = 0,
  kOffered = 1,    // boot fields offered on port 67
  kAcked = 2,      // a boot-server REQUEST on port 4011 answered
  kRequested = 3,  // seen asking another server for an address
};

enum class LeaseState : uint8_t {
  kOffered,   // held for a client that was offered it, until offer expiry
  kBound,     // acknowledged
  kDeclined,  // the client saw it in use (DHCPDECLINE): quarantined
};

struct Lease {
  uint32_t address = 0;
  ClientKey client;
  LeaseState state = LeaseState::kOffered;
  uint64_t expires_ms = 0;
  uint32_t xid = 0;  // of the offer, so a retried DISCOVER gets the same one
};

// Clients remembered only for affinity (holding no lease) are forgotten once
// the table has this many client entries (or twice what was left at the last
// sweep), so a flood of made-up client ids cannot grow it without bound. A
// sweep visits every entry once: a pause of milliseconds at a million.
inline constexpr size_t kMinClientsRemembered = size_t{1} << 20;
// Room made ahead for at most this many leases (LeaseTable::Reserve): a /16
// pool's worth, about 16 MiB of tables; bigger pools grow past it on demand.
inline constexpr size_t kMaxReservedLeases = size_t{1} << 17;

class LeaseTable {
 public:
  explicit LeaseTable(size_t min_clients_remembered = kMinClientsRemembered)
      : min_remembered_(min_clients_remembered), forget_at_(min_clients_remembered) {}

  // What the table knows of one client, from one lookup.
  struct ClientLeases {
    const Lease* held = nullptr;   // as ByClient
    std::optional<uint32_t> last;  // as LastAddress
  };

  const Lease* ByAddress(uint32_t address) const;
  const Lease* ByClient(const ClientKey& client) const;
  ClientLeases ForClient(const ClientKey& client) const;
  // Whether `address` may be given to `client` at `now`: nobody else holds
  // it (expired holdings do not count).
  bool AvailableFor(uint32_t address, const ClientKey& client, uint64_t now_ms) const;
  // Records `lease` (replacing what the address and the client held).
  void Put(const Lease& lease);
  void Remove(uint32_t address);
  // The address the client last held, even released or expired (affinity:
  // a returning machine gets its old address when it is free).
  std::optional<uint32_t> LastAddress(const ClientKey& client) const;
  // Drops up to `budget` expired entries, so expiry never stalls the worker.
  size_t Expire(uint64_t now_ms, size_t budget);
  // Makes room for `leases` leases (at most kMaxReservedLeases) and their
  // clients now, so the tables do not grow (allocate, fault in, rehash:
  // milliseconds at tens of thousands) in the middle of a boot storm. Only
  // grows.
  void Reserve(size_t leases);
  size_t size() const { return by_address_.size(); }
  // Leases the table holds before it must grow.
  size_t capacity() const { return by_address_.capacity() * 7 / 8; }
  // Client entries: those holding a lease and those remembered for affinity.
  size_t clients_remembered() const { return clients_.size(); }
  template <typename F>
  void ForEach(F&& f) const {
    for (const auto& [address, lease] : by_address_) f(lease);
  }

 private:
  // One entry per client seen: the address it holds (the index that finds
  // its lease) and the one it last held (affinity), from a single probe.
  struct ClientEntry {
    uint32_t held = 0;
    uint32_t last = 0;
    bool holds = false;
  };
  // Drops the entries of clients holding nothing (see kMinClientsRemembered).
  void ForgetIdleClients();

  size_t min_remembered_;
  size_t forget_at_;
  TableMap<uint32_t, Lease> by_address_;
  TableMap<ClientKey, ClientEntry> clients_;
  // (expiry, address), soonest first; entries whose lease moved on since are
  // skipped when they come up. Emplaced, not pushed: a pair built on the
  // stack is read back by one 16-byte load across its two stores, which
  // waits until every older store is in the cache (the table slots just
  // written, often missing).
  using Deadline = std::pair<uint64_t, uint32_t>;
  std::priority_queue<Deadline, std::vector<Deadline, TableAllocator<Deadline>>,
                      std::greater<Deadline>>
      deadlines_;
};

}  // namespace stampede::dhcp
