#include "dataplane/dhcp/leases.h"

#include <limits>
#include <optional>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace stampede::dhcp {
namespace {

ClientKey Key(uint32_t n) {
  std::byte id[7] = {std::byte{1},       std::byte{2},      std::byte{0}, std::byte(n >> 24),
                     std::byte(n >> 16), std::byte(n >> 8), std::byte(n)};
  return ClientKey::From(id);
}

TEST(ClientKeyTest, EqualityAndHashSeeEveryField) {
  std::byte long_id[40];
  for (size_t i = 0; i < sizeof(long_id); ++i) long_id[i] = std::byte(i);
  ClientKey a = Key(1), b = Key(1), c = Key(2), longer = ClientKey::From(long_id);
  EXPECT_EQ(a, b);
  EXPECT_EQ(absl::HashOf(a), absl::HashOf(b));
  EXPECT_NE(a, c);
  EXPECT_NE(a, longer);
  EXPECT_EQ(longer, ClientKey::From(long_id));
  ClientKey shorter = a;
  shorter.length = 6;  // same bytes, another length
  EXPECT_NE(a, shorter);
  ClientKey quarantined = a;
  quarantined.overflow_hash ^= 0x9e3779b97f4a7c15;
  EXPECT_NE(a, quarantined);
  ClientKey tail = a;
  tail.bytes[ClientKey::kMaxBytes - 1] = 1;  // a byte past `length`, as a defaulted == saw it
  EXPECT_NE(a, tail);
}

// A long client id's hash goes into the journal: it must be the same in the
// process that replays it (absl::Hash is seeded per process), so it is
// FNV-1a with fixed constants, checked against the published test vectors.
TEST(ClientKeyTest, OverflowHashIsTheSameInEveryProcess) {
  EXPECT_EQ(StableHash({}), 0xcbf29ce484222325u);
  std::byte a[1] = {std::byte{'a'}};
  EXPECT_EQ(StableHash(a), 0xaf63dc4c8601ec8cu);
  std::byte foobar[6] = {std::byte{'f'}, std::byte{'o'}, std::byte{'o'},
                         std::byte{'b'}, std::byte{'a'}, std::byte{'r'}};
  EXPECT_EQ(StableHash(foobar), 0x85944171f73967e8u);
  std::byte long_id[40];
  for (size_t i = 0; i < sizeof(long_id); ++i) long_id[i] = std::byte(i);
  EXPECT_EQ(ClientKey::From(long_id).overflow_hash, StableHash(long_id));
  EXPECT_EQ(Key(1).overflow_hash, 0u);  // short ids are kept whole
}

// A flood of client ids that take an offer and never come back: the clients
// holding nothing are forgotten past the limit, those holding a lease never.
TEST(LeaseTableTest, ForgetsIdleClientsPastItsLimit) {
  LeaseTable table(/*min_clients_remembered=*/64);
  for (uint32_t n = 0; n < 20; ++n) {
    table.Put({.address = 1000 + n,
               .client = Key(n),
               .state = LeaseState::kBound,
               .expires_ms = 1'000'000});
  }
  for (uint32_t n = 20; n < 10'000; ++n) {
    table.Put({.address = 5000 + n % 100,
               .client = Key(n),
               .state = LeaseState::kOffered,
               .expires_ms = 1'000'000});
    table.Remove(5000 + n % 100);  // the offer reclaimed: the client holds nothing
    ASSERT_LE(table.clients_remembered(), 64u) << n;
  }
  for (uint32_t n = 0; n < 20; ++n) {
    const Lease* held = table.ByClient(Key(n));
    ASSERT_NE(held, nullptr) << n;
    EXPECT_EQ(held->address, 1000 + n);
  }
  EXPECT_EQ(table.LastAddress(Key(9'999)), 5000u + 9'999 % 100);  // the latest are still known
}

TEST(LeaseTableTest, ForClientAgreesWithByClientAndLastAddress) {
  LeaseTable table;
  EXPECT_EQ(table.ForClient(Key(1)).held, nullptr);
  EXPECT_FALSE(table.ForClient(Key(1)).last);
  table.Put({100, Key(1), LeaseState::kOffered, 1000, 7});
  LeaseTable::ClientLeases one = table.ForClient(Key(1));
  ASSERT_NE(one.held, nullptr);
  EXPECT_EQ(one.held->address, 100u);
  EXPECT_EQ(one.last, 100u);
  // Moving to another address frees the first.
  table.Put({101, Key(1), LeaseState::kBound, 2000, 7});
  EXPECT_EQ(table.ByAddress(100), nullptr);
  EXPECT_EQ(table.ForClient(Key(1)).held, table.ByAddress(101));
  // Removed: nothing held, the last address kept for affinity.
  table.Remove(101);
  EXPECT_EQ(table.ForClient(Key(1)).held, nullptr);
  EXPECT_EQ(table.ForClient(Key(1)).last, 101u);
  EXPECT_EQ(table.LastAddress(Key(1)), 101u);
}

TEST(LeaseTableTest, AnExpiredHolderLosesItsAddress) {
  LeaseTable table;
  table.Put({100, Key(1), LeaseState::kBound, 1000, 0});
  table.Put({100, Key(2), LeaseState::kOffered, 5000, 0});  // Key(1)'s lease had expired
  EXPECT_EQ(table.ByClient(Key(1)), nullptr);
  EXPECT_EQ(table.LastAddress(Key(1)), 100u);
  ASSERT_NE(table.ByClient(Key(2)), nullptr);
  EXPECT_EQ(table.ByClient(Key(2))->address, 100u);
  // Key(1) coming back elsewhere must not free Key(2)'s address.
  table.Put({102, Key(1), LeaseState::kOffered, 6000, 0});
  EXPECT_NE(table.ByAddress(100), nullptr);
}

TEST(LeaseTableTest, ADeclinedLeaseIsHeldByNobody) {
  LeaseTable table;
  table.Put({100, Key(1), LeaseState::kBound, 1000, 0});
  Lease declined{100, Key(1), LeaseState::kDeclined, 9000, 0};
  declined.client.overflow_hash ^= 0x9e3779b97f4a7c15;
  table.Put(declined);
  EXPECT_EQ(table.ByClient(Key(1)), nullptr);
  EXPECT_EQ(table.ByAddress(100)->state, LeaseState::kDeclined);
  EXPECT_EQ(table.LastAddress(Key(1)), 100u);
}

// Putting the holder's own lease again (an offer acknowledged, a lease
// renewed or cut short) takes a shorter way through the table: it must keep
// the client's entry, and expiry must follow the latest term.
TEST(LeaseTableTest, ExpiryFollowsTheHoldersLatestTerm) {
  LeaseTable table;
  table.Put({100, Key(1), LeaseState::kOffered, 31'000, 7});  // offered
  table.Put({100, Key(1), LeaseState::kOffered, 32'000, 8});  // offered again
  table.Put({100, Key(1), LeaseState::kBound, 100'000, 8});   // acknowledged
  EXPECT_EQ(table.Expire(99'999, 100), 0u);
  ASSERT_NE(table.ByClient(Key(1)), nullptr);
  EXPECT_EQ(table.ByClient(Key(1))->state, LeaseState::kBound);
  table.Put({100, Key(1), LeaseState::kBound, 150'000, 9});  // renewed
  EXPECT_EQ(table.Expire(149'999, 100), 0u);
  EXPECT_EQ(table.ForClient(Key(1)).held, table.ByAddress(100));
  EXPECT_EQ(table.Expire(150'000, 100), 1u);
  EXPECT_EQ(table.ByAddress(100), nullptr);
  EXPECT_EQ(table.ByClient(Key(1)), nullptr);
  EXPECT_EQ(table.LastAddress(Key(1)), 100u);

  // A term cut short (a shorter lease time at renewal) ends at its new end.
  table.Put({101, Key(2), LeaseState::kBound, 500'000, 0});
  table.Put({101, Key(2), LeaseState::kBound, 200'000, 0});
  EXPECT_EQ(table.Expire(199'999, 100), 0u);
  EXPECT_EQ(table.Expire(200'000, 100), 1u);
  EXPECT_EQ(table.size(), 0u);
}

TEST(LeaseTableTest, ARenewalAfterAReleaseExpiresAtItsOwnEnd) {
  LeaseTable table;
  table.Put({100, Key(1), LeaseState::kBound, 10'000, 0});
  table.Remove(100);  // released
  table.Put({100, Key(1), LeaseState::kOffered, 40'000, 0});
  table.Put({100, Key(1), LeaseState::kBound, 90'000, 0});
  EXPECT_EQ(table.Expire(10'000, 100), 0u);  // the released lease's deadline: nothing to do
  EXPECT_EQ(table.Expire(89'999, 100), 0u);
  ASSERT_NE(table.ByClient(Key(1)), nullptr);
  EXPECT_EQ(table.Expire(90'000, 100), 1u);
  EXPECT_EQ(table.size(), 0u);
}

// Room made ahead (before a boot storm) keeps what the table holds and its
// expiry order, and the leases it was made for fit without the table growing.
TEST(LeaseTableTest, ReserveMakesRoomAheadAndKeepsWhatItHolds) {
  LeaseTable table;
  table.Put({100, Key(1), LeaseState::kBound, 20'000, 0});
  table.Put({101, Key(2), LeaseState::kBound, 10'000, 0});
  table.Reserve(5000);
  size_t room = table.capacity();
  EXPECT_GE(room, 5000u);
  ASSERT_NE(table.ByClient(Key(1)), nullptr);
  EXPECT_EQ(table.ByClient(Key(1))->address, 100u);
  EXPECT_EQ(table.ByAddress(101)->client, Key(2));
  for (uint32_t n = 2; n < 5000; ++n) {
    table.Put({1000 + n, Key(1000 + n), LeaseState::kBound, 90'000, 0});
  }
  EXPECT_EQ(table.size(), 5000u);
  EXPECT_EQ(table.capacity(), room);  // no growth for what it was made for
  EXPECT_EQ(table.Expire(10'000, 100), 1u);
  EXPECT_EQ(table.ByAddress(101), nullptr);
  EXPECT_EQ(table.Expire(20'000, 100), 1u);
  EXPECT_EQ(table.ByClient(Key(1)), nullptr);

  table.Reserve(10);  // never shrinks
  EXPECT_EQ(table.capacity(), room);
  LeaseTable capped;
  capped.Reserve(kMaxReservedLeases * 8);
  EXPECT_GE(capped.capacity(), kMaxReservedLeases);
  EXPECT_LT(capped.capacity(), kMaxReservedLeases * 2);
}

TEST(LeaseTableTest, ExpireLooksAtNoMoreThanItsBudget) {
  LeaseTable table;
  for (uint32_t n = 0; n < 10; ++n) {
    table.Put({100 + n, Key(n), LeaseState::kOffered, 1'000 + n, 0});
    table.Put({100 + n, Key(n), LeaseState::kBound, 2'000 + n, 0});
  }
  EXPECT_EQ(table.Expire(1'999, 100), 0u);  // the offers' deadlines: all renewed since
  EXPECT_EQ(table.Expire(5'000, 3), 3u);
  EXPECT_EQ(table.size(), 7u);
  size_t removed = 3, calls = 0;
  while (table.size() > 0) {
    size_t dropped = table.Expire(5'000, 3);
    EXPECT_LE(dropped, 3u);
    removed += dropped;
    ASSERT_LT(++calls, 100u);
  }
  EXPECT_EQ(removed, 10u);
  EXPECT_EQ(table.Expire(5'000, 3), 0u);
}

// The three maps the table had before it kept one entry per client (address
// -> lease, client -> address held, client -> last address), with their
// code as it was: the reference the table must agree with.
class ThreeMaps {
 public:
  const Lease* ByAddress(uint32_t address) const {
    auto it = by_address_.find(address);
    return it == by_address_.end() ? nullptr : &it->second;
  }
  const Lease* ByClient(const ClientKey& client) const {
    auto it = by_client_.find(client);
    return it == by_client_.end() ? nullptr : ByAddress(it->second);
  }
  std::optional<uint32_t> LastAddress(const ClientKey& client) const {
    auto it = last_address_.find(client);
    if (it == last_address_.end()) return std::nullopt;
    return it->second;
  }
  void Put(const Lease& lease) {
    if (auto it = by_address_.find(lease.address); it != by_address_.end()) {
      if (!(it->second.client == lease.client)) by_client_.erase(it->second.client);
    }
    if (auto it = by_client_.find(lease.client);
        it != by_client_.end() && it->second != lease.address) {
      by_address_.erase(it->second);
    }
    by_address_[lease.address] = lease;
    if (lease.state != LeaseState::kDeclined) {
      by_client_[lease.client] = lease.address;
      last_address_[lease.client] = lease.address;
    }
  }
  void Remove(uint32_t address) {
    auto it = by_address_.find(address);
    if (it == by_address_.end()) return;
    if (auto c = by_client_.find(it->second.client);
        c != by_client_.end() && c->second == address) {
      by_client_.erase(c);
    }
    by_address_.erase(it);
  }
  size_t size() const { return by_address_.size(); }
  void Expire(uint64_t now_ms) {
    std::vector<uint32_t> due;
    for (const auto& [address, lease] : by_address_) {
      if (lease.expires_ms <= now_ms) due.push_back(address);
    }
    for (uint32_t address : due) Remove(address);
  }

 private:
  absl::flat_hash_map<uint32_t, Lease> by_address_;
  absl::flat_hash_map<ClientKey, uint32_t> by_client_;
  absl::flat_hash_map<ClientKey, uint32_t> last_address_;
};

TEST(LeaseTableTest, AgreesWithTheThreeMapsItReplaced) {
  constexpr uint32_t kClients = 30, kAddresses = 40;
  for (uint32_t seed = 0; seed < 20; ++seed) {
    LeaseTable table;
    ThreeMaps reference;
    std::mt19937 random(seed);
    for (int step = 0; step < 5000; ++step) {
      uint32_t address = 100 + random() % kAddresses, client = random() % kClients;
      switch (random() % 4) {
        case 0:
        case 1:
        case 2: {
          bool declined = random() % 8 == 0;
          LeaseState state = declined            ? LeaseState::kDeclined
                             : random() % 2 == 0 ? LeaseState::kOffered
                                                 : LeaseState::kBound;
          Lease lease{address, Key(client), state, static_cast<uint64_t>(step) + random() % 500,
                      static_cast<uint32_t>(step)};
          if (declined) lease.client.overflow_hash ^= 0x9e3779b97f4a7c15;  // as Server::Decline
          table.Put(lease);
          reference.Put(lease);
          break;
        }
        default:
          table.Remove(address);
          reference.Remove(address);
          break;
      }
      if (step % 50 == 0) {
        // Everything due goes, however many deadlines are queued.
        table.Expire(step, std::numeric_limits<size_t>::max());
        reference.Expire(step);
      }
      ASSERT_EQ(table.size(), reference.size());
      for (uint32_t c = 0; c < kClients; ++c) {
        LeaseTable::ClientLeases got = table.ForClient(Key(c));
        const Lease* want = reference.ByClient(Key(c));
        ASSERT_EQ(got.held == nullptr, want == nullptr) << "seed " << seed << " step " << step;
        if (want != nullptr) {
          ASSERT_EQ(got.held->address, want->address);
        }
        ASSERT_EQ(table.ByClient(Key(c)), got.held);
        ASSERT_EQ(got.last, reference.LastAddress(Key(c)));
        ASSERT_EQ(table.LastAddress(Key(c)), got.last);
      }
      for (uint32_t a = 100; a < 100 + kAddresses; ++a) {
        const Lease* got = table.ByAddress(a);
        const Lease* want = reference.ByAddress(a);
        ASSERT_EQ(got == nullptr, want == nullptr) << "seed " << seed << " step " << step;
        if (want == nullptr) continue;
        ASSERT_EQ(got->client, want->client);
        ASSERT_EQ(got->state, want->state);
        ASSERT_EQ(got->expires_ms, want->expires_ms);
        ASSERT_EQ(got->xid, want->xid);
      }
    }
  }
}

}  // namespace
}  // namespace stampede::dhcp
