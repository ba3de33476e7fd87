// The lease table filling up, as in a boot storm on a fresh server: every
// Put timed, the table grown on demand against the same table with room
// made ahead (LeaseTable::Reserve, as the worker does when a policy comes).
// What a storm feels is the worst single Put: the worker answers nothing
// while the table grows, and the packet rings fill behind it.
//
//   build/perf/lease_table_bench [--leases=60000] [--rounds=5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "dataplane/dhcp/leases.h"

ABSL_FLAG(uint32_t, leases, 60000, "Leases put into each fresh table (new clients)");
ABSL_FLAG(uint32_t, rounds, 5, "Rounds, each row once per round; medians are reported");

namespace stampede::dhcp {
namespace {

using Clock = std::chrono::steady_clock;

struct Round {
  double reserve_ms = 0;  // LeaseTable::Reserve, before the storm
  double fill_ms = 0;     // every Put
  double worst_us = 0;    // the longest single Put
  double p999_us = 0;
};

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

Round Fill(uint32_t leases, bool reserve) {
  Round r;
  LeaseTable table;
  if (reserve) {
    Clock::time_point t = Clock::now();
    table.Reserve(leases);
    r.reserve_ms = Micros(Clock::now() - t) / 1000;
  }
  std::vector<double> puts(leases);
  Clock::time_point start = Clock::now();
  for (uint32_t n = 0; n < leases; ++n) {
    std::byte id[7] = {std::byte{1},       std::byte{2},      std::byte{0}, std::byte(n >> 24),
                       std::byte(n >> 16), std::byte(n >> 8), std::byte(n)};
    Lease lease{0xc6120100 + n, ClientKey::From(id), LeaseState::kOffered, 1'000'000 + n, n};
    Clock::time_point t = Clock::now();
    table.Put(lease);
    puts[n] = Micros(Clock::now() - t);
  }
  r.fill_ms = Micros(Clock::now() - start) / 1000;
  std::sort(puts.begin(), puts.end());
  r.worst_us = puts.back();
  r.p999_us = puts[puts.size() * 999 / 1000];
  return r;
}

template <typename F>
double Median(const std::vector<Round>& rounds, F field) {
  std::vector<double> values;
  for (const Round& r : rounds) values.push_back(field(r));
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

int Main() {
  uint32_t leases = std::max<uint32_t>(absl::GetFlag(FLAGS_leases), 1000);
  uint32_t rounds = std::max<uint32_t>(absl::GetFlag(FLAGS_rounds), 1);
  std::vector<Round> grown, reserved;
  for (uint32_t i = 0; i < rounds; ++i) {  // the rows in turn
    grown.push_back(Fill(leases, false));
    reserved.push_back(Fill(leases, true));
  }
  absl::PrintF("lease_table_bench: %u new leases into a fresh table, %u rounds (medians)\n", leases,
               rounds);
  absl::PrintF("%-22s %12s %12s %14s %14s\n", "row", "reserve ms", "fill ms", "p99.9 put us",
               "worst put us");
  for (const auto& [name, row] :
       {std::pair{"grown on demand", &grown}, std::pair{"room made ahead", &reserved}}) {
    absl::PrintF("%-22s %12.2f %12.2f %14.2f %14.1f\n", name,
                 Median(*row, [](const Round& r) { return r.reserve_ms; }),
                 Median(*row, [](const Round& r) { return r.fill_ms; }),
                 Median(*row, [](const Round& r) { return r.p999_us; }),
                 Median(*row, [](const Round& r) { return r.worst_us; }));
  }
  double ratio = Median(grown, [](const Round& r) { return r.worst_us; }) /
                 std::max(Median(reserved, [](const Round& r) { return r.worst_us; }), 0.001);
  absl::PrintF("worst put, grown / made ahead: %.1fx\n", ratio);
  return 0;
}

}  // namespace
}  // namespace stampede::dhcp

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return stampede::dhcp::Main();
}
