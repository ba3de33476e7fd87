// The shared-memory policy channel: publisher in control, reader in the
// dataplane, on a real region file.
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "control/publish/publisher.h"
#include "dataplane/policy/reader.h"
#include "dataplane/policy/region.h"
#include "gtest/gtest.h"

namespace stampede::policy {
namespace {

using publish::Publisher;

std::vector<std::byte> Payload(uint64_t generation, size_t length) {
  std::vector<std::byte> bytes(std::max<size_t>(length, 8));
  std::memcpy(bytes.data(), &generation, 8);
  for (size_t i = 8; i < bytes.size(); ++i) bytes[i] = std::byte((generation * 31 + i) & 0xff);
  return bytes;
}

class ChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("stampede-test-" + std::to_string(getpid()) + "-policy"))
                .string();
    std::filesystem::remove(path_);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  std::string path_;
};

TEST_F(ChannelTest, PublishThenRead) {
  absl::StatusOr<Publisher> publisher = Publisher::Open(path_, 4096);
  ASSERT_TRUE(publisher.ok()) << publisher.status();
  absl::StatusOr<RegionMapping> mapping = RegionMapping::Open(path_);
  ASSERT_TRUE(mapping.ok()) << mapping.status();

  absl::StatusOr<ReadResult> empty = ReadRegion(mapping->bytes(), 0);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->outcome, ReadOutcome::kEmpty);

  for (uint64_t expected = 1; expected <= 3; ++expected) {
    std::vector<std::byte> payload = Payload(expected, 100 * expected);
    ASSERT_EQ(publisher->Publish(payload).value(), expected);
    absl::StatusOr<ReadResult> read = ReadRegion(mapping->bytes(), expected - 1);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->outcome, ReadOutcome::kNew);
    EXPECT_EQ(read->generation, expected);
    EXPECT_EQ(read->payload, payload);
    EXPECT_EQ(ReadRegion(mapping->bytes(), expected)->outcome, ReadOutcome::kUnchanged);
  }
}

TEST_F(ChannelTest, RestartedPublisherContinuesAndOnlyOneMayWrite) {
  {
    absl::StatusOr<Publisher> first = Publisher::Open(path_, 4096);
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(first->Publish(Payload(1, 10)).ok());
    ASSERT_TRUE(first->Publish(Payload(2, 10)).ok());
    absl::StatusOr<Publisher> second = Publisher::Open(path_, 4096);
    EXPECT_FALSE(second.ok());
  }
  absl::StatusOr<Publisher> restarted = Publisher::Open(path_, 4096);
  ASSERT_TRUE(restarted.ok());
  EXPECT_EQ(restarted->generation(), 2u);
  EXPECT_EQ(restarted->Publish(Payload(3, 10)).value(), 3u);
  absl::StatusOr<RegionMapping> mapping = RegionMapping::Open(path_);
  EXPECT_EQ(ReadRegion(mapping->bytes(), 0)->payload, Payload(3, 10));
}

TEST_F(ChannelTest, EmptyPolicyRoundTrips) {
  absl::StatusOr<Publisher> publisher = Publisher::Open(path_, 64);
  ASSERT_TRUE(publisher.ok());
  ASSERT_TRUE(publisher->Publish({}).ok());
  absl::StatusOr<RegionMapping> mapping = RegionMapping::Open(path_);
  absl::StatusOr<ReadResult> read = ReadRegion(mapping->bytes(), 0);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->outcome, ReadOutcome::kNew);
  EXPECT_TRUE(read->payload.empty());
}

TEST_F(ChannelTest, RefusesOversizedPublish) {
  absl::StatusOr<Publisher> publisher = Publisher::Open(path_, 64);
  ASSERT_TRUE(publisher.ok());
  EXPECT_FALSE(publisher->Publish(Payload(1, 65)).ok());
  EXPECT_EQ(publisher->generation(), 0u);
}

// Damage of every kind to a region copy is refused, never returned as a policy.
TEST_F(ChannelTest, RefusesDamagedRegions) {
  absl::StatusOr<Publisher> publisher = Publisher::Open(path_, 256);
  ASSERT_TRUE(publisher.ok());
  ASSERT_TRUE(publisher->Publish(Payload(1, 200)).ok());
  absl::StatusOr<RegionMapping> mapping = RegionMapping::Open(path_);
  ASSERT_TRUE(mapping.ok());
  const size_t size = mapping->bytes().size();
  auto damaged = [&](auto mutate) {
    alignas(64) static std::byte copy[RegionSize(256)];
    std::memcpy(copy, mapping->bytes().data(), size);
    mutate(copy);
    return ReadRegion({copy, size}, 0);
  };
  auto* unused = +[](std::byte*) {};
  ASSERT_TRUE(damaged(unused).ok());
  constexpr size_t kSlot0 = sizeof(RegionHeader);
  EXPECT_FALSE(damaged([](std::byte* r) { r[0] = std::byte{0}; }).ok());  // magic
  EXPECT_FALSE(
      damaged([](std::byte* r) { reinterpret_cast<RegionHeader*>(r)->layout_version = 2; }).ok());
  EXPECT_FALSE(damaged([](std::byte* r) {
                 reinterpret_cast<RegionHeader*>(r)->slot_capacity = 1u << 30;
               }).ok());
  EXPECT_FALSE(
      damaged([](std::byte* r) { reinterpret_cast<RegionHeader*>(r)->active_slot.store(7); }).ok());
  EXPECT_FALSE(damaged([](std::byte* r) {
                 reinterpret_cast<SlotHeader*>(r + kSlot0)->length.store(257);
               }).ok());
  EXPECT_FALSE(damaged([](std::byte* r) {
                 r[kSlot0 + sizeof(SlotHeader) + 50] ^= std::byte{1};
               }).ok());  // payload bit flip -> CRC
  // A slot stuck mid-write (writer killed): it never matches, the read gives up.
  absl::StatusOr<ReadResult> stuck =
      damaged([](std::byte* r) { reinterpret_cast<SlotHeader*>(r + kSlot0)->generation.store(0); });
  EXPECT_FALSE(stuck.ok());
  EXPECT_FALSE(ReadRegion(mapping->bytes().first(10), 0).ok());
}

// The fuzz seed was written by a Python model of the layout (its generator is
// in the commit history): both must agree on every offset.
TEST(RegionSeedTest, IndependentlyWrittenRegionReads) {
  std::ifstream in(std::string(STAMPEDE_SOURCE_ROOT) + "/tests/fuzz/corpus/region/seed_valid.bin",
                   std::ios::binary);
  std::vector<char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(file.size(), RegionSize(128));
  alignas(64) std::byte region[RegionSize(128)];
  std::memcpy(region, file.data(), file.size());
  absl::StatusOr<ReadResult> read = ReadRegion(region, 0);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->generation, 1u);
  std::string payload(reinterpret_cast<const char*>(read->payload.data()), read->payload.size());
  EXPECT_EQ(payload, "policy-bytespolicy-bytespolicy-bytespolicy-bytes");
}

// A writer publishing as fast as it can and a reader reading as fast as it can:
// every policy the reader accepts is exactly one that was published, in order.
TEST_F(ChannelTest, ConcurrentPublishNeverYieldsATornPolicy) {
  constexpr uint64_t kGenerations = 20000;
  absl::StatusOr<Publisher> publisher = Publisher::Open(path_, 8192);
  ASSERT_TRUE(publisher.ok());
  absl::StatusOr<RegionMapping> mapping = RegionMapping::Open(path_);
  ASSERT_TRUE(mapping.ok());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint64_t g = 1; g <= kGenerations; ++g) {
      ASSERT_TRUE(publisher->Publish(Payload(g, 64 + (g * 97) % 8000)).ok());
    }
    done.store(true);
  });
  uint64_t last = 0, accepted = 0, busy = 0;
  while (true) {
    bool finished = done.load();
    absl::StatusOr<ReadResult> read = ReadRegion(mapping->bytes(), last);
    if (!read.ok()) {
      // Only "kept changing" is acceptable under contention; never corruption.
      ASSERT_EQ(read.status().code(), absl::StatusCode::kUnavailable) << read.status();
      ++busy;
      continue;
    }
    if (read->outcome == ReadOutcome::kNew) {
      ASSERT_GT(read->generation, last);
      ASSERT_EQ(read->payload, Payload(read->generation, 64 + (read->generation * 97) % 8000));
      last = read->generation;
      ++accepted;
    }
    if (finished && last == kGenerations) break;
  }
  writer.join();
  EXPECT_EQ(last, kGenerations);
  EXPECT_GT(accepted, 1u);
  RecordProperty("accepted", std::to_string(accepted));
  RecordProperty("busy", std::to_string(busy));
}

}  // namespace
}  // namespace stampede::policy
