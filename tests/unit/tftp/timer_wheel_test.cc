#include "dataplane/tftp/timer_wheel.h"

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace stampede::tftp {
namespace {

std::vector<uint32_t> AdvanceTo(TimerWheel& wheel, uint64_t now, uint32_t budget = 1'000'000) {
  std::vector<uint32_t> fired;
  wheel.Advance(now, budget, [&](uint32_t id) { fired.push_back(id); });
  return fired;
}

TEST(TimerWheelTest, FiresAtTheDeadlineNotBefore) {
  TimerWheel wheel(4);
  wheel.Schedule(1, 100);
  EXPECT_TRUE(AdvanceTo(wheel, 99).empty());
  EXPECT_EQ(AdvanceTo(wheel, 100), std::vector<uint32_t>{1});
  EXPECT_FALSE(wheel.armed(1));
  EXPECT_TRUE(AdvanceTo(wheel, 200).empty());
}

TEST(TimerWheelTest, RescheduleReplacesAndCancelRemoves) {
  TimerWheel wheel(4);
  wheel.Schedule(0, 10);
  wheel.Schedule(0, 50);
  wheel.Schedule(2, 20);
  wheel.Cancel(2);
  EXPECT_TRUE(AdvanceTo(wheel, 49).empty());
  EXPECT_EQ(AdvanceTo(wheel, 50), std::vector<uint32_t>{0});
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, DeadlinesBeyondOneTurnWaitForTheirTurn) {
  TimerWheel wheel(2);
  wheel.Schedule(0, 0);
  AdvanceTo(wheel, 0);
  wheel.Schedule(1, TimerWheel::kSlots + 5);  // same slot as 5, one turn later
  EXPECT_TRUE(AdvanceTo(wheel, 5).empty());
  EXPECT_TRUE(AdvanceTo(wheel, TimerWheel::kSlots + 4).empty());
  EXPECT_EQ(AdvanceTo(wheel, TimerWheel::kSlots + 5), std::vector<uint32_t>{1});
}

TEST(TimerWheelTest, ALongPauseFiresEverythingDue) {
  TimerWheel wheel(3);
  wheel.Schedule(0, 1);
  wheel.Schedule(1, 3000);
  wheel.Schedule(2, 90'000);
  std::vector<uint32_t> fired = AdvanceTo(wheel, 50'000);
  EXPECT_EQ(fired.size(), 2u);
  EXPECT_TRUE(wheel.armed(2));
  EXPECT_EQ(AdvanceTo(wheel, 90'000), std::vector<uint32_t>{2});
}

TEST(TimerWheelTest, BudgetLeavesTheRestForTheNextCall) {
  TimerWheel wheel(10);
  for (uint32_t i = 0; i < 10; ++i) wheel.Schedule(i, 7);
  EXPECT_EQ(AdvanceTo(wheel, 7, 4).size(), 4u);
  EXPECT_EQ(AdvanceTo(wheel, 8, 4).size(), 4u);
  EXPECT_EQ(AdvanceTo(wheel, 8, 4).size(), 2u);
  EXPECT_EQ(wheel.size(), 0u);
}

TEST(TimerWheelTest, FireMayRescheduleItself) {
  TimerWheel wheel(1);
  wheel.Schedule(0, 10);
  int fires = 0;
  for (uint64_t now = 10; now <= 100; ++now) {
    wheel.Advance(now, 10, [&](uint32_t id) {
      ++fires;
      wheel.Schedule(id, now + 10);
    });
  }
  EXPECT_EQ(fires, 10);
}

// Against a plain map of deadlines: every entry fires exactly once, at the
// first Advance whose time reached its deadline.
TEST(TimerWheelTest, MatchesAReferenceModel) {
  constexpr uint32_t kIds = 200;
  TimerWheel wheel(kIds);
  std::map<uint32_t, uint64_t> model;
  std::mt19937_64 rng(7);
  uint64_t now = 1000;
  for (int step = 0; step < 20'000; ++step) {
    uint32_t id = static_cast<uint32_t>(rng() % kIds);
    switch (rng() % 4) {
      case 0:
      case 1: {
        uint64_t deadline = now + rng() % 10'000;
        wheel.Schedule(id, deadline);
        model[id] = deadline;
        break;
      }
      case 2:
        wheel.Cancel(id);
        model.erase(id);
        break;
      case 3: {
        now += rng() % 300;
        std::vector<uint32_t> fired = AdvanceTo(wheel, now);
        for (uint32_t f : fired) {
          ASSERT_TRUE(model.contains(f)) << f;
          EXPECT_LE(model[f], now);
          model.erase(f);
        }
        for (const auto& [left, deadline] : model) ASSERT_GT(deadline, now) << left;
        break;
      }
    }
  }
}

}  // namespace
}  // namespace stampede::tftp
