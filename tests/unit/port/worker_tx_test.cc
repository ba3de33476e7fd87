// The worker's TX backlog on a real DPDK port (net_ring, EAL without
// hugepages): replies the TX queue has no room for wait and go first on the
// next poll; only what the backlog cannot hold is dropped, and counted.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "absl/strings/str_cat.h"
#include "dataplane/net/bytes.h"
#include "dataplane/net/checksum.h"
#include "dataplane/net/local_addresses.h"
#include "dataplane/net/packet.h"
#include "dataplane/port/counters.h"
#include "dataplane/port/port.h"
#include "dataplane/port/worker.h"
#include "gtest/gtest.h"
#include "perf/frames.h"

namespace stampede::port {
namespace {

using perf::IcmpEchoRequest;
using perf::kApplianceIp;
using perf::kApplianceMac;

// A worker on one end of a net_ring pair whose TX ring (the client's RX)
// is small, and a client on the other end that sends echo requests and
// reads the replies only when told.
class WorkerTxTest : public ::testing::Test {
 protected:
  static constexpr unsigned kRequestRing = 4096;
  static constexpr unsigned kReplyRing = 64;

  void SetUp() override {
    static int pairs = 0;
    std::string tag = absl::StrCat(pairs++);
    pool_ = rte_pktmbuf_pool_create(("tx_test" + tag).c_str(), 8191, kMbufCacheSize, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    ASSERT_NE(pool_, nullptr);
    requests_ =
        rte_ring_create(("requests" + tag).c_str(), kRequestRing, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    replies_ =
        rte_ring_create(("replies" + tag).c_str(), kReplyRing, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    ASSERT_NE(requests_, nullptr);
    ASSERT_NE(replies_, nullptr);
    int worker = rte_eth_from_rings(("worker" + tag).c_str(), &requests_, 1, &replies_, 1, 0);
    int client = rte_eth_from_rings(("client" + tag).c_str(), &replies_, 1, &requests_, 1, 0);
    ASSERT_GE(worker, 0);
    ASSERT_GE(client, 0);
    worker_port_ = static_cast<uint16_t>(worker);
    client_port_ = static_cast<uint16_t>(client);
    QueueConfig queues{1, 1024, 1024, pool_};
    ASSERT_TRUE(StartPort(worker_port_, queues).ok());
    ASSERT_TRUE(StartPort(client_port_, queues).ok());
    local_ = net::LocalAddresses(kApplianceMac);
    local_.AddIpv4({kApplianceIp, 24});
    worker_ = std::make_unique<Worker>(WorkerConfig{worker_port_, 0, std::nullopt, pool_, false},
                                       local_, counters_);
  }

  void TearDown() override {
    worker_.reset();
    ClosePort(worker_port_);
    ClosePort(client_port_);
  }

  // Queues `count` echo requests for the worker.
  void SendRequests(unsigned count) {
    std::vector<std::byte> frame = IcmpEchoRequest();
    for (unsigned i = 0; i < count; ++i) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      ASSERT_NE(m, nullptr);
      std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size())), frame.data(),
                  frame.size());
      ASSERT_EQ(rte_eth_tx_burst(client_port_, 0, &m, 1), 1);
    }
  }

  // Reads every reply waiting for the client; returns how many were echo replies.
  unsigned ReadReplies() {
    unsigned replies = 0;
    rte_mbuf* burst[kBurstSize];
    for (uint16_t n; (n = rte_eth_rx_burst(client_port_, 0, burst, kBurstSize)) > 0;) {
      for (uint16_t i = 0; i < n; ++i) {
        const auto* frame = rte_pktmbuf_mtod(burst[i], const uint8_t*);
        if (rte_pktmbuf_data_len(burst[i]) > 34 && frame[23] == net::kIpProtoIcmp &&
            frame[34] == net::kIcmpEchoReply) {
          ++replies;
        }
      }
      rte_pktmbuf_free_bulk(burst, n);
    }
    return replies;
  }

  uint64_t Dropped() const {
    return counters_.drop_reasons[static_cast<size_t>(net::DropReason::kTxQueueFull)].load();
  }

  rte_mempool* pool_ = nullptr;
  rte_ring* requests_ = nullptr;
  rte_ring* replies_ = nullptr;
  uint16_t worker_port_ = 0;
  uint16_t client_port_ = 0;
  net::LocalAddresses local_;
  LcoreCounters counters_;
  std::unique_ptr<Worker> worker_;
};

TEST_F(WorkerTxTest, RepliesTheQueueRefusesWaitAndGoFirstOnTheNextPoll) {
  const unsigned requests = 1000;
  const unsigned room = rte_ring_get_capacity(replies_);
  ASSERT_LT(room, requests);
  SendRequests(requests);
  unsigned replies = 0;
  // Bounded: each round the client reads what fits, the worker sends more.
  for (int round = 0; round < 1000 && replies < requests; ++round) {
    worker_->PollOnce();
    replies += ReadReplies();
  }
  EXPECT_EQ(replies, requests);
  EXPECT_EQ(Dropped(), 0u);
  EXPECT_EQ(counters_.tx_packets.load(), requests);
}

TEST_F(WorkerTxTest, OnlyWhatTheBacklogCannotHoldIsDroppedAndCounted) {
  const unsigned room = rte_ring_get_capacity(replies_);
  const unsigned requests = room + kTxBacklog + 500;
  SendRequests(requests);
  // The client reads nothing: the queue fills, then the backlog. Bounded:
  // each poll takes at most four bursts of requests.
  for (unsigned poll = 0; poll < 2 * requests / kBurstSize; ++poll) worker_->PollOnce();
  EXPECT_EQ(Dropped(), requests - room - kTxBacklog);
  unsigned replies = 0;
  for (int round = 0; round < 1000 && replies < room + kTxBacklog; ++round) {
    replies += ReadReplies();
    worker_->PollOnce();
  }
  EXPECT_EQ(replies, room + kTxBacklog);
  EXPECT_EQ(counters_.tx_packets.load(), room + kTxBacklog);
}

TEST_F(WorkerTxTest, TheBacklogIsFreedWithTheWorker) {
  const unsigned room = rte_ring_get_capacity(replies_);
  SendRequests(room + 100);
  for (int poll = 0; poll < 10; ++poll) worker_->PollOnce();
  unsigned before = rte_mempool_avail_count(pool_);
  worker_.reset();
  EXPECT_EQ(rte_mempool_avail_count(pool_), before + 100);
}

}  // namespace
}  // namespace stampede::port

// EAL once for the whole binary: no hugepages, no PCI, a runtime folder of
// its own, removed at the end.
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::string prefix = absl::StrCat("worker_tx_test_", getpid());
  std::vector<std::string> eal = {
      "worker_tx_test", "-l",   "0",           "--no-huge",    "-m", "256", "--no-pci",
      "--file-prefix",  prefix, "--log-level", "lib.eal:error"};
  std::vector<char*> args;
  for (std::string& arg : eal) args.push_back(arg.data());
  if (rte_eal_init(static_cast<int>(args.size()), args.data()) < 0) {
    std::fprintf(stderr, "worker_tx_test: EAL init failed (root is needed)\n");
    return 1;
  }
  int result = RUN_ALL_TESTS();
  rte_eal_cleanup();
  std::error_code ignored;
  std::filesystem::remove_all("/var/run/dpdk/" + prefix, ignored);
  return result;
}
