#include "dataplane/policy/service.h"

#include <sys/stat.h>
#include <time.h>

#include <chrono>
#include <thread>

#include <rte_rcu_qsbr.h>
#include <rte_telemetry.h>

#include "absl/strings/str_cat.h"
#include "dataplane/port/log.h"
#include "stampede/v1/event.pb.h"

namespace stampede::policy {
namespace {

using port::Log;
using port::LogLevel;

uint64_t NowNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

// The generation a region claims, to refuse a bad one only once.
uint64_t ClaimedGeneration(std::span<const std::byte> region) {
  if (region.size() < sizeof(RegionHeader)) return 0;
  const auto* header = reinterpret_cast<const RegionHeader*>(region.data());
  return header->magic == kRegionMagic ? header->generation.load(std::memory_order_acquire) : 0;
}

const StatusHeader* telemetry_header = nullptr;

int PolicyTelemetry(const char*, const char*, rte_tel_data* d) {
  const StatusHeader& h = *telemetry_header;
  rte_tel_data_start_dict(d);
  bool serving = h.policy_state.load() == static_cast<uint32_t>(PolicyState::kServing);
  rte_tel_data_add_dict_string(d, "state", serving ? "serving" : "none");
  rte_tel_data_add_dict_u64(d, "applied_generation", h.applied_generation.load());
  rte_tel_data_add_dict_u64(d, "policies_applied", h.policies_applied.load());
  rte_tel_data_add_dict_u64(d, "policies_refused", h.policies_refused.load());
  rte_tel_data_add_dict_u64(d, "refused_generation", h.refused_generation.load());
  rte_tel_data_add_dict_u64(d, "events_dropped", h.events_dropped.load());
  return 0;
}

}  // namespace

void RegisterPolicyTelemetry(const StatusHeader& header) {
  telemetry_header = &header;
  rte_telemetry_register_cmd("/stampede/policy", PolicyTelemetry,
                             "Policy state: serving or none, generations. Takes no parameters");
}

PolicyService::PolicyService(std::string region_path, StatusWriter& status, rte_rcu_qsbr* qsbr)
    : region_path_(std::move(region_path)), status_(status), qsbr_(qsbr) {
  Log(LogLevel::kWarning, absl::StrCat("event=no_policy serving=nothing region=", region_path_,
                                       " detail=\"DHCP and TFTP stay off until stampede-control "
                                       "publishes a policy\""));
}

PolicyService::~PolicyService() { ReleaseAll(); }

void PolicyService::Run(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    PollOnce();
    std::this_thread::sleep_for(std::chrono::milliseconds(kPolicyPollMillis));
  }
}

bool PolicyService::EnsureMapping() {
  struct stat st {};
  if (stat(region_path_.c_str(), &st) != 0) {
    mapping_.reset();
    return false;
  }
  // A region file replaced (control restarted on a fresh /dev/shm) is remapped.
  if (mapping_ && mapped_inode_ == st.st_ino) return true;
  mapping_.reset();
  absl::StatusOr<RegionMapping> mapping = RegionMapping::Open(region_path_);
  if (!mapping.ok()) return false;
  mapping_.emplace(*std::move(mapping));
  mapped_inode_ = st.st_ino;
  return true;
}

void PolicyService::PollOnce() {
  status_.header().heartbeat_ns.store(NowNs(), std::memory_order_release);
  FreeRetired();
  if (!EnsureMapping()) return;
  // The generation this read is about, taken before it: a newer one
  // published meanwhile is not refused for this one's fault.
  uint64_t claimed = ClaimedGeneration(mapping_->bytes());
  absl::StatusOr<ReadResult> read = ReadRegion(mapping_->bytes(), last_generation_);
  if (!read.ok()) {
    // Still changing after the bounded retries (a writer mid-publish): try
    // again next pass rather than refuse a policy that may be fine.
    if (absl::IsUnavailable(read.status())) return;
    if (claimed != last_generation_) Refuse(claimed, std::string(read.status().message()));
    return;
  }
  if (read->outcome == ReadOutcome::kEmpty && !said_waiting_) {
    said_waiting_ = true;
    Log(LogLevel::kInfo, "event=policy_region_empty detail=\"waiting for the first publish\"");
  }
  if (read->outcome != ReadOutcome::kNew) return;
  absl::StatusOr<std::unique_ptr<PolicyTables>> tables =
      BuildTables(read->payload, read->generation);
  if (!tables.ok()) {
    Refuse(read->generation, std::string(tables.status().message()));
    return;
  }
  if (prepare_) prepare_(**tables);
  Apply(*std::move(tables));
}

void PolicyService::Apply(std::unique_ptr<const PolicyTables> tables) {
  uint64_t generation = tables->generation;
  const PolicyTables* fresh = tables.release();
  const PolicyTables* old = current_.exchange(fresh, std::memory_order_acq_rel);
  if (old != nullptr) {
    // Workers may still hold `old` until their next quiescent report.
    retired_.push_back({qsbr_ != nullptr ? rte_rcu_qsbr_start(qsbr_) : 0, old});
  }
  last_generation_ = generation;
  StatusHeader& h = status_.header();
  h.applied_generation.store(generation, std::memory_order_relaxed);
  h.policies_applied.fetch_add(1, std::memory_order_relaxed);
  h.policy_state.store(static_cast<uint32_t>(PolicyState::kServing), std::memory_order_release);
  Log(LogLevel::kInfo, absl::StrCat("event=policy_applied generation=", generation,
                                    " source=", fresh->policy.source(),
                                    " subnets=", fresh->policy.dhcp().subnets_size(),
                                    " hosts=", fresh->policy.hosts_size(),
                                    " profiles=", fresh->policy.profiles_size()));
  v1::Event event;
  event.set_time_ns(NowNs());
  event.mutable_policy_applied()->set_generation(generation);
  Emit(event);
}

void PolicyService::Refuse(uint64_t generation, const std::string& reason) {
  last_generation_ = generation;
  StatusHeader& h = status_.header();
  h.policies_refused.fetch_add(1, std::memory_order_relaxed);
  h.refused_generation.store(generation, std::memory_order_relaxed);
  Log(LogLevel::kError,
      absl::StrCat("event=policy_refused generation=", generation, " reason=\"", reason,
                   "\" serving=", current_.load() ? "previous_policy" : "nothing"));
  v1::Event event;
  event.set_time_ns(NowNs());
  event.mutable_policy_refused()->set_generation(generation);
  // Bound the reason so the event fits a ring record.
  event.mutable_policy_refused()->set_reason(std::string(reason.substr(0, 256)));
  Emit(event);
}

void PolicyService::Emit(const v1::Event& event) {
  std::string bytes = event.SerializeAsString();
  status_.Push({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()});
}

void PolicyService::FreeRetired() {
  std::erase_if(retired_, [this](const Retired& r) {
    if (qsbr_ != nullptr && rte_rcu_qsbr_check(qsbr_, r.token, false) != 1) return false;
    delete r.tables;
    return true;
  });
}

void PolicyService::ReleaseAll() {
  for (const Retired& r : retired_) delete r.tables;
  retired_.clear();
  delete current_.exchange(nullptr);
}

}  // namespace stampede::policy
