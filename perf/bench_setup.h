// What the one-core dataplane benchmarks share: EAL without hugepages on
// lcore 0, and a net_ring port pair (the worker's port and a generator's,
// crossed) with a pool, started.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/net/address.h"
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

}  // namespace stampede::perf
