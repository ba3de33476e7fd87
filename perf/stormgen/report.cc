#include "perf/stormgen/report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace stampede::stormgen {
namespace {

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<uint8_t>(c) < 0x20) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", c));
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

std::string JsonCounts(const std::map<std::string, uint64_t>& counts) {
  return absl::StrCat("{",
                      absl::StrJoin(counts, ",",
                                    [](std::string* out, const auto& entry) {
                                      absl::StrAppend(out, JsonString(entry.first), ":",
                                                      entry.second);
                                    }),
                      "}");
}

}  // namespace

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

PhaseSummary Summarise(std::string name, std::span<const Sample> samples, int64_t run_start_ns) {
  PhaseSummary s;
  s.name = std::move(name);
  std::vector<double> latencies;
  int64_t first = INT64_MAX, last = INT64_MIN;
  for (const Sample& sample : samples) {
    ++s.started;
    s.retransmissions += sample.retransmissions;
    first = std::min(first, sample.start_ns);
    if (!sample.ok) {
      ++s.failures;
      ++s.failure_reasons[sample.failure.empty() ? "unfinished" : sample.failure];
      continue;
    }
    ++s.completions;
    s.retransmitted += sample.retransmissions > 0;
    s.bytes += sample.bytes;
    last = std::max(last, sample.end_ns);
    latencies.push_back(static_cast<double>(sample.end_ns - sample.start_ns) / 1e6);
  }
  s.p50_ms = Percentile(latencies, 50);
  s.p99_ms = Percentile(latencies, 99);
  s.max_ms = Percentile(latencies, 100);
  if (s.started > 0) s.first_start_s = static_cast<double>(first - run_start_ns) / 1e9;
  if (s.completions > 0) {
    s.last_end_s = static_cast<double>(last - run_start_ns) / 1e9;
    double span = static_cast<double>(last - first) / 1e9;
    if (span > 0) {
      s.per_second = static_cast<double>(s.completions) / span;
      s.mb_per_s = static_cast<double>(s.bytes) / 1e6 / span;
    }
  }
  return s;
}

std::string FormatTable(const Report& r) {
  std::string out =
      absl::StrFormat("stormgen: %u clients against %s, %.3f s\n", r.clients, r.target, r.wall_s);
  absl::StrAppend(&out, absl::StrFormat("%-22s %8s %8s %8s %10s %10s %10s %10s %10s %8s %10s\n",
                                        "phase", "started", "done", "failed", "p50 ms", "p99 ms",
                                        "max ms", "per s", "MB/s", "retx", "last s"));
  for (const PhaseSummary& p : r.phases) {
    absl::StrAppend(
        &out, absl::StrFormat("%-22s %8u %8u %8u %10.2f %10.2f %10.2f %10.1f %10.2f %8u %10.3f\n",
                              p.name, p.started, p.completions, p.failures, p.p50_ms, p.p99_ms,
                              p.max_ms, p.per_second, p.mb_per_s, p.retransmissions, p.last_end_s));
  }
  for (const PhaseSummary& p : r.phases) {
    for (const auto& [why, count] : p.failure_reasons) {
      absl::StrAppend(&out, absl::StrFormat("failed %s: %u x %s\n", p.name, count, why));
    }
  }
  absl::StrAppend(&out, "counters: ", absl::StrJoin(r.counters, " ", absl::PairFormatter("=")),
                  "\n");
  return out;
}

std::string FormatJson(const Report& r) {
  std::vector<std::string> phases;
  for (const PhaseSummary& p : r.phases) {
    phases.push_back(absl::StrFormat(
        "{\"name\":%s,\"started\":%u,\"completions\":%u,\"failures\":%u,"
        "\"retransmissions\":%u,\"retransmitted\":%u,\"bytes\":%u,\"p50_ms\":%.3f,"
        "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"first_start_s\":%.6f,\"last_end_s\":%.6f,"
        "\"per_second\":%.3f,\"mb_per_s\":%.3f,\"failure_reasons\":%s}",
        JsonString(p.name), p.started, p.completions, p.failures, p.retransmissions,
        p.retransmitted, p.bytes, p.p50_ms, p.p99_ms, p.max_ms, p.first_start_s, p.last_end_s,
        p.per_second, p.mb_per_s, JsonCounts(p.failure_reasons)));
  }
  return absl::StrFormat(
      "{\"target\":%s,\"clients\":%u,\"wall_s\":%.6f,\"phases\":[%s],\"counters\":%s}\n",
      JsonString(r.target), r.clients, r.wall_s, absl::StrJoin(phases, ","),
      JsonCounts(r.counters));
}

}  // namespace stampede::stormgen
