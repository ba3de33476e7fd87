#include "perf/bench_setup.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "absl/strings/str_cat.h"
#include "dataplane/port/port.h"

namespace stampede::perf {

namespace {

// EAL's runtime folder for this process (config, memory maps, sockets):
// removed at exit, whichever way the benchmark ends, so runs leave nothing.
std::string runtime_dir;

void RemoveRuntimeDir() {
  std::error_code ignored;
  if (!runtime_dir.empty()) std::filesystem::remove_all(runtime_dir, ignored);
}

}  // namespace

bool InitBenchEal(const std::string& name, const std::vector<std::string>& extra) {
  std::string prefix = absl::StrCat(name, "_", getpid());
  runtime_dir = absl::StrCat("/var/run/dpdk/", prefix);
  std::atexit(RemoveRuntimeDir);
  std::vector<std::string> eal = {name,
                                  "-l",
                                  "0",
                                  "--no-huge",
                                  "-m",
                                  "512",
                                  "--no-pci",
                                  "--file-prefix",
                                  prefix,
                                  "--log-level",
                                  "lib.eal:error"};
  eal.insert(eal.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (std::string& arg : eal) argv.push_back(arg.data());
  if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
    std::fprintf(stderr, "%s: EAL init failed\n", name.c_str());
    return false;
  }
  return true;
}

std::optional<RingPair> MakeRingPair(const std::string& name, unsigned ring_size) {
  RingPair pair;
  pair.pool = rte_pktmbuf_pool_create("bench", 16383, port::kMbufCacheSize, 0,
                                      RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  rte_ring* to_worker = rte_ring_create("to_worker", ring_size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_ring* from_worker =
      rte_ring_create("from_worker", ring_size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  int worker = to_worker && from_worker
                   ? rte_eth_from_rings("ring_worker", &to_worker, 1, &from_worker, 1, 0)
                   : -1;
  int generator =
      worker >= 0 ? rte_eth_from_rings("ring_generator", &from_worker, 1, &to_worker, 1, 0) : -1;
  if (pair.pool == nullptr || worker < 0 || generator < 0) {
    std::fprintf(stderr, "%s: cannot set up the net_ring pair\n", name.c_str());
    return std::nullopt;
  }
  pair.worker_port = static_cast<uint16_t>(worker);
  pair.generator_port = static_cast<uint16_t>(generator);
  port::QueueConfig queues{1, 1024, 1024, pair.pool};
  for (uint16_t id : {pair.worker_port, pair.generator_port}) {
    if (absl::Status status = port::StartPort(id, queues); !status.ok()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), std::string(status.message()).c_str());
      return std::nullopt;
    }
  }
  return pair;
}

std::unique_ptr<LocalStatus> MakeLocalStatus(uint32_t lcores) {
  auto status = std::make_unique<LocalStatus>();
  size_t bytes = policy::StatusRegionSize(lcores);
  status->memory.reset(static_cast<std::byte*>(::operator new (bytes, std::align_val_t{64})));
  std::span<std::byte> region(status->memory.get(), bytes);
  status->writer.emplace(policy::StatusWriter::Over(region, lcores));
  absl::StatusOr<policy::StatusReader> reader = policy::StatusReader::Attach(region);
  if (!reader.ok()) {
    std::fprintf(stderr, "status region: %s\n", std::string(reader.status().message()).c_str());
    return nullptr;
  }
  status->reader.emplace(*std::move(reader));
  return status;
}

}  // namespace stampede::perf
