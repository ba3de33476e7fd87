// Control's memory of events: numbered, followed with ?since=, and bounded
// per class so a storm of transfers never pushes out the leases.
#include "control/daemon/event_log.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace stampede::control {
namespace {

LoggedEvent Lease(int i) {
  return {0, 1, "dataplane", "lease_granted", 0, "lease " + std::to_string(i)};
}

LoggedEvent Transfer(int i) {
  LoggedEvent e{0, 1, "dataplane", "http_transfer", 0, "transfer " + std::to_string(i)};
  e.http.emplace();
  return e;
}

LoggedEvent Tftp(int i) {
  LoggedEvent e{0, 1, "dataplane", "tftp_transfer", 0, "tftp " + std::to_string(i)};
  e.tftp.emplace();
  return e;
}

std::vector<std::string> Details(const std::vector<LoggedEvent>& events) {
  std::vector<std::string> out;
  for (const LoggedEvent& e : events) out.push_back(e.detail);
  return out;
}

TEST(EventLogTest, NumbersEventsAndFollowsFromAnyPoint) {
  EventLog log;
  EXPECT_TRUE(log.Since(0, 100).empty());
  log.Add(Lease(1));
  log.Add(Transfer(1));
  log.Add(Lease(2));
  log.Add(Tftp(1));
  EXPECT_EQ(log.next_seq(), 5u);
  std::vector<LoggedEvent> all = log.Since(0, 100);
  ASSERT_EQ(all.size(), 4u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].seq, i + 1);
  EXPECT_EQ(Details(all), (std::vector<std::string>{"lease 1", "transfer 1", "lease 2", "tftp 1"}));
  EXPECT_NE(all[0].time_ns, 0u);
  EXPECT_EQ(Details(log.Since(3, 100)), (std::vector<std::string>{"lease 2", "tftp 1"}));
  EXPECT_EQ(Details(log.Since(2, 2)), (std::vector<std::string>{"transfer 1", "lease 2"}));
  EXPECT_TRUE(log.Since(5, 100).empty());
  EXPECT_TRUE(log.Since(2, 0).empty());
}

// A storm of transfers pushes out older transfers only: the leases stay,
// and the merged list is still in the order of adding.
TEST(EventLogTest, TransfersNeverPushOutOtherEvents) {
  EventLog log(/*capacity=*/3);
  log.Add(Lease(1));
  for (int i = 1; i <= 10; ++i) {
    log.Add(Transfer(i));
    if (i == 5) log.Add(Lease(2));
  }
  EXPECT_EQ(
      Details(log.Since(0, 100)),
      (std::vector<std::string>{"lease 1", "lease 2", "transfer 8", "transfer 9", "transfer 10"}));
  // Other events are bounded too.
  for (int i = 3; i <= 6; ++i) log.Add(Lease(i));
  EXPECT_EQ(Details(log.Since(0, 100)),
            (std::vector<std::string>{"transfer 8", "transfer 9", "transfer 10", "lease 4",
                                      "lease 5", "lease 6"}));
  // Following from a seq that was pushed out gives what is kept after it.
  std::vector<LoggedEvent> rest = log.Since(2, 100);
  ASSERT_EQ(rest.size(), 6u);
  EXPECT_GT(rest[0].seq, 2u);
}

}  // namespace
}  // namespace stampede::control
