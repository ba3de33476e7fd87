// What the one-core dataplane benchmarks share: EAL without hugepages on
// lcore 0, and a net_ring port pair (the worker's port and a generator's,
// crossed) with a pool, started.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/net/address.h"
#include "dataplane/policy/status_region.h"
#include "dataplane/port/worker.h"
#include "perf/frames.h"

struct rte_mempool;

namespace stampede::perf {

inline constexpr uint16_t kBurst = port::kBurstSize;

// EAL for benchmark `name` (lcore 0, --no-huge, 512 MiB, no PCI) plus `extra`
// arguments; false (after saying why) when it fails.
bool InitBenchEal(const std::string& name, const std::vector<std::string>& extra = {});

struct RingPair {
  rte_mempool* pool = nullptr;
  uint16_t worker_port = 0;     // reads what the generator sends, writes replies
  uint16_t generator_port = 0;  // the crossed side
};

// Creates and starts the pair with `ring_size`-entry rings; nullopt (after
// saying why) on failure.
std::optional<RingPair> MakeRingPair(const std::string& name, unsigned ring_size);

// A status region in this process's memory, for the rows that report
// events: the worker pushes into `writer`, the generator drains `reader`
// between polls as control would.
struct LocalStatus {
  struct Free {
    void operator()(std::byte* p) const { ::operator delete (p, std::align_val_t{64}); }
  };
  std::unique_ptr<std::byte, Free> memory;
  std::optional<policy::StatusWriter> writer;
  std::optional<policy::StatusReader> reader;
};

// For `lcores` workers; nullptr (after saying why) on failure.
std::unique_ptr<LocalStatus> MakeLocalStatus(uint32_t lcores);

}  // namespace stampede::perf
