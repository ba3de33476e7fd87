#include "dataplane/policy/status_region.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace stampede::policy {
namespace {

std::span<const std::byte> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

class StatusRegionTest : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove(path_); }
  std::string path_ = absl::StrCat("/dev/shm/stampede-status-test-", getpid());
};

TEST_F(StatusRegionTest, EventsArriveInOrderAndAFullRingCountsDrops) {
  absl::StatusOr<StatusWriter> writer = StatusWriter::Create(path_, 2);
  ASSERT_TRUE(writer.ok()) << writer.status();
  absl::StatusOr<StatusReader> reader = StatusReader::Open(path_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->lcores(), 2u);
  for (uint32_t i = 0; i < kEventSlots; ++i) ASSERT_TRUE(writer->Push(Bytes(absl::StrCat(i))));
  EXPECT_FALSE(writer->Push(Bytes("one too many")));
  EXPECT_EQ(reader->Snapshot().events_dropped, 1u);
  std::vector<std::vector<std::byte>> events = reader->PopEvents(kEventSlots + 10);
  ASSERT_EQ(events.size(), kEventSlots);
  for (uint32_t i = 0; i < kEventSlots; ++i) {
    std::string text(reinterpret_cast<const char*>(events[i].data()), events[i].size());
    ASSERT_EQ(text, absl::StrCat(i));
  }
  EXPECT_TRUE(writer->Push(Bytes("room again")));
  EXPECT_EQ(reader->PopEvents(10).size(), 1u);
}

TEST_F(StatusRegionTest, RefusesEventsLargerThanARecord) {
  absl::StatusOr<StatusWriter> writer = StatusWriter::Create(path_, 1);
  ASSERT_TRUE(writer.ok());
  EXPECT_FALSE(writer->Push(Bytes(std::string(kMaxEventBytes + 1, 'x'))));
  EXPECT_TRUE(writer->Push(Bytes(std::string(kMaxEventBytes, 'x'))));
}

TEST_F(StatusRegionTest, CountersAreSharedAndNamed) {
  absl::StatusOr<StatusWriter> writer = StatusWriter::Create(path_, 2);
  ASSERT_TRUE(writer.ok());
  port::LcoreCounters::Add(writer->counters()[1].rx_packets, 42);
  writer->counters()[1].Drop(net::DropReason::kNoPolicy, 3);
  absl::StatusOr<StatusReader> reader = StatusReader::Open(path_);
  ASSERT_TRUE(reader.ok());
  std::vector<std::string> names = CounterNames();
  std::vector<uint64_t> values = reader->CounterValues(1);
  ASSERT_EQ(values.size(), names.size());
  auto value = [&](const std::string& name) {
    return values[std::find(names.begin(), names.end(), name) - names.begin()];
  };
  EXPECT_EQ(value("rx_packets"), 42u);
  EXPECT_EQ(value("drop_no_policy"), 3u);
  EXPECT_EQ(value("drops"), 3u);
  EXPECT_TRUE(reader->CounterValues(2).empty());
}

TEST_F(StatusRegionTest, ARestartedDataplaneMakesTheOldMappingStale) {
  absl::StatusOr<StatusWriter> first = StatusWriter::Create(path_, 1);
  ASSERT_TRUE(first.ok());
  absl::StatusOr<StatusReader> reader = StatusReader::Open(path_);
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE(reader->Stale());
  absl::StatusOr<StatusWriter> second = StatusWriter::Create(path_, 1);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(reader->Stale());
}

TEST_F(StatusRegionTest, ReaderRefusesMalformedRegions) {
  alignas(64) std::byte small[64] = {};
  EXPECT_FALSE(StatusReader::Attach(small).ok());
  absl::StatusOr<StatusWriter> writer = StatusWriter::Create(path_, 2);
  ASSERT_TRUE(writer.ok());
  std::vector<std::byte> copy(StatusRegionSize(2) + 64);
  std::byte* aligned = copy.data() + (64 - reinterpret_cast<uintptr_t>(copy.data()) % 64) % 64;
  std::span<std::byte> region(aligned, StatusRegionSize(2));
  absl::StatusOr<StatusReader> good = StatusReader::Open(path_);
  ASSERT_TRUE(good.ok());
  // Copy the live region, then spoil one field at a time.
  int fd = open(path_.c_str(), O_RDONLY);
  ASSERT_EQ(pread(fd, region.data(), region.size(), 0), static_cast<ssize_t>(region.size()));
  close(fd);
  ASSERT_TRUE(StatusReader::Attach(region).ok());
  auto* header = reinterpret_cast<StatusHeader*>(region.data());
  header->lcore_count = 3;  // past the region's end
  EXPECT_FALSE(StatusReader::Attach(region).ok());
  header->lcore_count = 2;
  header->counters_bytes = 8;
  EXPECT_FALSE(StatusReader::Attach(region).ok());
  header->counters_bytes = sizeof(port::LcoreCounters);
  // An impossible head and a record length past its slot are skipped, counted.
  absl::StatusOr<StatusReader> reader = StatusReader::Attach(region);
  ASSERT_TRUE(reader.ok());
  auto* head = reinterpret_cast<RingIndex*>(region.data() + sizeof(StatusHeader));
  head->value.store(kEventSlots * 3);
  EXPECT_TRUE(reader->PopEvents(10).empty());
  EXPECT_EQ(reader->bad_records(), 1u);
  head->value.store(kEventSlots * 3 + 1);
  auto* records =
      reinterpret_cast<EventRecord*>(region.data() + sizeof(StatusHeader) + 2 * sizeof(RingIndex));
  records[0].length.store(kEventRecordBytes * 2);
  EXPECT_TRUE(reader->PopEvents(10).empty());
  EXPECT_EQ(reader->bad_records(), 2u);
}

}  // namespace
}  // namespace stampede::policy
