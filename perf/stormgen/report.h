// What a storm run adds up to, per phase (DHCP, each TFTP file, HTTP, the
// whole boot): completions, failures, latency percentiles, throughput,
// retransmissions and when the last one finished; as a table and as JSON.
// Pure: the driver turns its clients' results into samples.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace stampede::stormgen {

// One timed exchange of a phase (a DORA, one file's transfer, one GET, a
// whole boot). Times in ns of the driver's clock.
struct Sample {
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // 0: never finished
  uint64_t bytes = 0;
  uint32_t retransmissions = 0;
  bool ok = false;
  std::string failure;  // why not ok
};

struct PhaseSummary {
  std::string name;
  uint64_t started = 0;
  uint64_t completions = 0;
  uint64_t failures = 0;
  uint64_t retransmissions = 0;
  uint64_t retransmitted = 0;  // completions that needed at least one
  uint64_t bytes = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  double first_start_s = 0;  // from the run's start
  double last_end_s = 0;     // the last completion, from the run's start
  double per_second = 0;     // completions over first start .. last end
  double mb_per_s = 0;       // 10^6 bytes per second over the same span
  std::map<std::string, uint64_t> failure_reasons;
};

// Nearest-rank percentile (0 < p <= 100) of `values`; 0 when empty.
double Percentile(std::vector<double> values, double p);

PhaseSummary Summarise(std::string name, std::span<const Sample> samples, int64_t run_start_ns);

struct Report {
  std::string target;  // the port spec
  uint32_t clients = 0;
  double wall_s = 0;
  std::vector<PhaseSummary> phases;
  std::map<std::string, uint64_t> counters;  // the driver's own (frames, drops)
};

std::string FormatTable(const Report& report);
std::string FormatJson(const Report& report);

}  // namespace stampede::stormgen
