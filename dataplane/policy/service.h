// The dataplane's policy watcher, run by its service thread: polls the policy
// region, refuses what fails its checks, swaps good policies in for the
// workers with RCU (rte_rcu_qsbr) and frees the old ones after every worker
// has passed a quiescent state. Reports through the status region.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/policy/reader.h"
#include "dataplane/policy/region.h"
#include "dataplane/policy/status_region.h"
#include "dataplane/policy/tables.h"
#include "stampede/v1/event.pb.h"

struct rte_rcu_qsbr;

namespace stampede::policy {

// How often the region is polled: a config change reaches the workers within
// this (plus the publish), and an idle dataplane costs nothing measurable.
inline constexpr uint32_t kPolicyPollMillis = 20;

// The workers' view: one pointer, read once per burst; null before the
// first policy (boot services off).
using PolicyPointer = std::atomic<const PolicyTables*>;

class PolicyService {
 public:
  // `qsbr` has one thread slot per worker (worker i registers as i) and one
  // more for the HTTP thread (it registers as the last).
  PolicyService(std::string region_path, StatusWriter& status, rte_rcu_qsbr* qsbr);
  ~PolicyService();

  const PolicyPointer& current() const { return current_; }
  // Runs on the service thread on every policy that passed its checks,
  // before the workers see it: attaches what the tables need from outside
  // (the TFTP catalog's open files).
  using Prepare = std::function<void(PolicyTables&)>;
  void SetPrepare(Prepare prepare) { prepare_ = std::move(prepare); }
  // One pass: read the region, apply or refuse, free retired policies.
  void PollOnce();
  // Passes every kPolicyPollMillis until `stop`.
  void Run(const std::atomic<bool>& stop);
  // After the workers stopped (offline): frees what is still retired.
  void ReleaseAll();

 private:
  void Apply(std::unique_ptr<const PolicyTables> tables);
  void Refuse(uint64_t generation, const std::string& reason);
  void Emit(const v1::Event& event);
  bool EnsureMapping();
  void FreeRetired();

  std::string region_path_;
  StatusWriter& status_;
  rte_rcu_qsbr* qsbr_;
  PolicyPointer current_{nullptr};
  std::optional<RegionMapping> mapping_;
  uint64_t mapped_inode_ = 0;
  uint64_t last_generation_ = 0;  // applied or refused
  bool said_waiting_ = false;
  struct Retired {
    uint64_t token;
    const PolicyTables* tables;
  };
  std::vector<Retired> retired_;
  Prepare prepare_;
};

// Registers "/stampede/policy" on DPDK's telemetry socket: state, applied
// generation, applied and refused counts. `header` must outlive EAL.
void RegisterPolicyTelemetry(const StatusHeader& header);

}  // namespace stampede::policy
