#include "dataplane/policy/status_region.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
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

// The value of counter `name`, `names` naming `values`; ~0 when there is none.
uint64_t ValueOf(const std::vector<std::string>& names, const std::vector<uint64_t>& values,
                 const std::string& name) {
  auto it = std::find(names.begin(), names.end(), name);
  EXPECT_NE(it, names.end()) << name;
  return it == names.end() ? ~uint64_t{0} : values[it - names.begin()];
}

TEST_F(StatusRegionTest, EventsArriveInOrderAndAFullRingCountsDrops) {
  absl::StatusOr<StatusWriter> writer = StatusWriter::Create(path_, 2);
  ASSERT_TRUE(writer.ok()) << writer.status();
  absl::StatusOr<StatusReader> reader = StatusReader::Open(path_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->lcores(), 2u);
  for (uint32_t i = 0; i < kEventSlots; ++i) ASSERT_TRUE(writer->Push(Bytes(absl::StrCat(i))));
  EXPECT_FALSE(writer->Push(Bytes("one too many")));
  EXPECT_EQ(reader->Snapshot().events_dropped, 1u);
  EXPECT_EQ(reader->Snapshot().ring_events_dropped[0], 1u);
  EXPECT_EQ(reader->Snapshot().ring_events_dropped[2], 0u);
  std::vector<std::vector<std::byte>> events = reader->PopEvents(kEventSlots + 10);
  ASSERT_EQ(events.size(), kEventSlots);
  for (uint32_t i = 0; i < kEventSlots; ++i) {
    std::string text(reinterpret_cast<const char*>(events[i].data()), events[i].size());
    ASSERT_EQ(text, absl::StrCat(i));
  }
  EXPECT_TRUE(writer->Push(Bytes("room again")));
  EXPECT_EQ(reader->PopEvents(10).size(), 1u);
}

// Each producer's ring is its own: one full ring neither blocks nor loses
// another's events, and its drops are counted against it.
TEST_F(StatusRegionTest, RingsAreIndependent) {
  absl::StatusOr<StatusWriter> writer = StatusWriter::Create(path_, 1);
  ASSERT_TRUE(writer.ok());
  absl::StatusOr<StatusReader> reader = StatusReader::Open(path_);
  ASSERT_TRUE(reader.ok());
  for (uint32_t i = 0; i < kEventSlots; ++i) {
    ASSERT_TRUE(writer->Push(Bytes(absl::StrCat("h", i)), EventRing::kHttp));
  }
  EXPECT_FALSE(writer->Push(Bytes("lost"), EventRing::kHttp));
  EXPECT_FALSE(writer->Push(Bytes("lost too"), EventRing::kHttp));
  EXPECT_TRUE(writer->Push(Bytes("lease"), EventRing::kDhcp));
  EXPECT_TRUE(writer->Push(Bytes("policy"), EventRing::kService));
  StatusSnapshot s = reader->Snapshot();
  EXPECT_EQ(s.events_dropped, 2u);
  EXPECT_EQ(s.ring_events_dropped[static_cast<size_t>(EventRing::kHttp)], 2u);
  EXPECT_EQ(s.ring_events_dropped[static_cast<size_t>(EventRing::kDhcp)], 0u);
  EXPECT_EQ(s.ring_events_dropped[static_cast<size_t>(EventRing::kService)], 0u);
  auto texts = [&](EventRing ring, size_t max) {
    std::vector<std::string> out;
    for (const auto& bytes : reader->PopEvents(max, ring)) {
      out.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    return out;
  };
  EXPECT_EQ(texts(EventRing::kService, 10), std::vector<std::string>{"policy"});
  EXPECT_EQ(texts(EventRing::kDhcp, 10), std::vector<std::string>{"lease"});
  std::vector<std::string> http = texts(EventRing::kHttp, 3);
  EXPECT_EQ(http, (std::vector<std::string>{"h0", "h1", "h2"}));
  EXPECT_TRUE(writer->Push(Bytes("room"), EventRing::kHttp));
  http = texts(EventRing::kHttp, kEventSlots + 1);
  ASSERT_EQ(http.size(), kEventSlots - 3 + 1);
  EXPECT_EQ(http.front(), "h3");
  EXPECT_EQ(http.back(), "room");
  // A ring number from a newer build is nobody's ring.
  EXPECT_TRUE(reader->PopEvents(10, static_cast<EventRing>(kEventRings)).empty());
  EXPECT_STREQ(EventRingName(EventRing::kHttp), "http");
}

// Each worker reports its TFTP transfers in a ring of its own, after the
// counters: a full one loses only its own events, counted in its worker's
// events_dropped (and the total).
TEST_F(StatusRegionTest, EachWorkerHasATftpRing) {
  absl::StatusOr<StatusWriter> writer = StatusWriter::Create(path_, 2);
  ASSERT_TRUE(writer.ok());
  absl::StatusOr<StatusReader> reader = StatusReader::Open(path_);
  ASSERT_TRUE(reader.ok());
  for (uint32_t i = 0; i < kEventSlots; ++i) {
    ASSERT_TRUE(writer->PushTftp(Bytes(absl::StrCat("w1-", i)), 1));
  }
  EXPECT_FALSE(writer->PushTftp(Bytes("lost"), 1));
  EXPECT_TRUE(writer->PushTftp(Bytes("w0"), 0));
  EXPECT_FALSE(writer->PushTftp(Bytes("no such worker"), 2));
  EXPECT_TRUE(writer->Push(Bytes("policy")));
  StatusSnapshot s = reader->Snapshot();
  EXPECT_EQ(s.events_dropped, 1u);
  EXPECT_EQ(s.tftp_events_dropped, 1u);
  std::vector<std::string> names = CounterNames();
  EXPECT_EQ(ValueOf(names, reader->CounterValues(1), "events_dropped"), 1u);
  EXPECT_EQ(ValueOf(names, reader->CounterValues(0), "events_dropped"), 0u);
  auto texts = [&](uint32_t lcore, size_t max) {
    std::vector<std::string> out;
    for (const auto& bytes : reader->PopTftpEvents(max, lcore)) {
      out.emplace_back(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    return out;
  };
  EXPECT_EQ(texts(0, 10), std::vector<std::string>{"w0"});
  std::vector<std::string> w1 = texts(1, kEventSlots + 1);
  ASSERT_EQ(w1.size(), kEventSlots);
  EXPECT_EQ(w1.front(), "w1-0");
  EXPECT_EQ(w1.back(), absl::StrCat("w1-", kEventSlots - 1));
  EXPECT_TRUE(texts(2, 10).empty());
  EXPECT_EQ(reader->PopEvents(10).size(), 1u);  // the service ring kept its own
  // The last ring ends the region: its last record is inside it.
  EXPECT_TRUE(writer->PushTftp(Bytes("room"), 1));
  EXPECT_EQ(texts(1, 10), std::vector<std::string>{"room"});
}

TEST_F(StatusRegionTest, HttpCountersAreSharedAndNamed) {
  absl::StatusOr<StatusWriter> writer = StatusWriter::Create(path_, 1);
  ASSERT_TRUE(writer.ok());
  http::HttpCounters& c = writer->http_counters();
  http::Bump(c.requests, 7);
  http::Bump(c.bytes_sent, 123456);
  http::Bump(c.listen_errors);
  c.connections_open.store(3);
  c.listening_port.store(8080);
  absl::StatusOr<StatusReader> reader = StatusReader::Open(path_);
  ASSERT_TRUE(reader.ok());
  std::vector<std::string> names = HttpCounterNames();
  std::vector<uint64_t> values = reader->HttpCounterValues();
  ASSERT_EQ(values.size(), names.size());
  auto value = [&](const std::string& name) { return ValueOf(names, values, name); };
  EXPECT_EQ(value("requests"), 7u);
  EXPECT_EQ(value("bytes_sent"), 123456u);
  EXPECT_EQ(value("listen_errors"), 1u);
  EXPECT_EQ(value("connections_accepted"), 0u);
  EXPECT_EQ(value("transfers_completed"), 0u);
  // The gauges come last.
  ASSERT_GE(names.size(), kHttpGauges);
  EXPECT_EQ(names[names.size() - 2], "connections_open");
  EXPECT_EQ(names[names.size() - 1], "listening_port");
  EXPECT_EQ(values[values.size() - 2], 3u);
  EXPECT_EQ(values[values.size() - 1], 8080u);
  // Every name once.
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());
  // The workers' counters are elsewhere: the HTTP block does not overlap them.
  EXPECT_EQ(reader->CounterValues(0)[0], 0u);
  port::LcoreCounters::Add(writer->counters()[0].rx_packets, 5);
  EXPECT_EQ(reader->HttpCounterValues(), values);
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

TEST_F(StatusRegionTest, DhcpCountersAreSharedAndNamed) {
  absl::StatusOr<StatusWriter> writer = StatusWriter::Create(path_, 1);
  ASSERT_TRUE(writer.ok());
  dhcp::DhcpCounters& c = writer->dhcp_counters();
  dhcp::DhcpCounters::Bump(c.acks, 11);
  dhcp::DhcpCounters::Bump(c.unknown_clients, 2);
  dhcp::DhcpCounters::Bump(c.client_directory_full);
  http::Bump(writer->http_counters().requests, 5);
  port::LcoreCounters::Add(writer->counters()[0].rx_packets, 9);
  absl::StatusOr<StatusReader> reader = StatusReader::Open(path_);
  ASSERT_TRUE(reader.ok());
  std::vector<std::string> names = DhcpCounterNames();
  std::vector<uint64_t> values = reader->DhcpCounterValues();
  ASSERT_EQ(values.size(), names.size());
  auto value = [&](const std::string& name) { return ValueOf(names, values, name); };
  EXPECT_EQ(value("acks"), 11u);
  EXPECT_EQ(value("unknown_clients"), 2u);
  EXPECT_EQ(value("client_directory_full"), 1u);  // the last: the block is whole
  EXPECT_EQ(value("offers"), 0u);
  // Its neighbours keep their own.
  EXPECT_EQ(reader->HttpCounterValues()[0], 0u);  // connections_accepted
  EXPECT_EQ(reader->CounterValues(0)[0], 9u);     // rx_packets
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
  // A dataplane of another layout (an older one has no HTTP ring).
  header->layout_version = 2;
  EXPECT_EQ(StatusReader::Attach(region).status().code(), absl::StatusCode::kFailedPrecondition);
  header->layout_version = kStatusLayoutVersion;
  header->http_counters_bytes = sizeof(http::HttpCounters) + 64;
  EXPECT_FALSE(StatusReader::Attach(region).ok());
  header->http_counters_bytes = sizeof(http::HttpCounters);
  header->dhcp_counters_bytes = 8;
  EXPECT_FALSE(StatusReader::Attach(region).ok());
  header->dhcp_counters_bytes = sizeof(dhcp::DhcpCounters);
  header->event_rings = kEventRings;  // a layout 6 count: no TFTP rings
  EXPECT_FALSE(StatusReader::Attach(region).ok());
  header->event_rings = kEventRings + 2;
  // A region one byte short of its lcores' counters.
  EXPECT_FALSE(StatusReader::Attach(region.first(region.size() - 1)).ok());
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
  // The same on the HTTP ring: a tail past the head, then a garbage record
  // between good ones.
  std::byte* http = region.data() + sizeof(StatusHeader) + 2 * kRingBytes;
  auto* http_head = reinterpret_cast<RingIndex*>(http);
  auto* http_tail = reinterpret_cast<RingIndex*>(http + sizeof(RingIndex));
  auto* http_records = reinterpret_cast<EventRecord*>(http + 2 * sizeof(RingIndex));
  http_tail->value.store(5);
  http_head->value.store(2);
  EXPECT_TRUE(reader->PopEvents(10, EventRing::kHttp).empty());
  EXPECT_EQ(reader->bad_records(), 3u);
  http_tail->value.store(0);
  http_head->value.store(3);
  for (uint32_t i = 0; i < 3; ++i) {
    http_records[i].length.store(1);
    http_records[i].data[0] = std::byte{'a'};
  }
  http_records[1].length.store(UINT32_MAX);
  EXPECT_EQ(reader->PopEvents(10, EventRing::kHttp).size(), 2u);
  EXPECT_EQ(reader->bad_records(), 4u);
  EXPECT_EQ(http_tail->value.load(), 3u);
  // The HTTP counters are plain numbers: whatever they hold is read as such.
  std::memset(http + kRingBytes, 0xff, sizeof(http::HttpCounters));
  for (uint64_t v : reader->HttpCounterValues()) EXPECT_EQ(v, UINT64_MAX);
  // A TFTP ring (the last two rings end the region) with an impossible head.
  std::byte* tftp = region.data() + StatusRegionSize(2) - 2 * kRingBytes;
  reinterpret_cast<RingIndex*>(tftp)->value.store(kEventSlots * 5);
  EXPECT_TRUE(reader->PopTftpEvents(10, 0).empty());
  EXPECT_EQ(reader->bad_records(), 5u);
}

}  // namespace
}  // namespace stampede::policy
