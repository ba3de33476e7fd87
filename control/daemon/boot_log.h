// Each machine's boot as the dataplane saw it (`stampede boots`): its
// leases, and the TFTP and HTTP requests from its address, in order. Built
// in control's memory from the dataplane's events, so it starts empty when
// control starts; a TFTP or HTTP event belongs to the client holding the
// address's lease at the time. In proxyDHCP mode, where stampede grants no
// lease, the address a PXE client asked the site's server for, or named on
// port 4011, stands for one (by its address alone when nothing names it:
// static addresses, a client that did not ask where stampede could see).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "stampede/v1/config.pb.h"
#include "stampede/v1/event.pb.h"

namespace stampede::control {

// Machines remembered (the least recently seen go first) and steps per
// machine (its oldest go first): a boot storm of a few thousand machines
// with every file they fetch, in a few tens of MB.
inline constexpr size_t kBootLogMachines = 16384;
inline constexpr size_t kBootLogSteps = 64;

// A client id as people read it: the MAC for hardware type 1 + 6 bytes,
// else hex.
std::string ClientText(const std::string& id);

// Option 93's architecture as people read it (RFC 4578 with its errata,
// IANA's "Processor Architecture Types"): "bios" (0), "efi-ia32" (6),
// "efi-x64" (7 and 9), "efi-arm32" (10), "efi-arm64" (11), and the HTTP
// boot ones (15, 16, 18, 19: "efi-x64-http", ...); else "arch-N".
std::string ClientArchName(uint32_t arch);

// Lease changes ("granted", "released", "declined") and proxyDHCP steps
// ("offered", "acked", "requested") as `stampede boots` names them and the
// event kinds end ("lease_granted", "proxy_offered"); else "unknown".
const char* LeaseChangeName(v1::Lease::Change change);
const char* ProxyStepName(v1::ProxyBoot::Step step);

// Outcomes as the API, the events' details and `stampede boots` name them:
// "completed", "refused", "aborted", "timeout", "read_error", "unanswered".
const char* TftpOutcomeName(v1::TftpTransfer::Outcome outcome);
const char* HttpOutcomeName(v1::HttpTransfer::Outcome outcome);

struct BootStep {
  enum class Kind : uint8_t { kLease, kTftp, kHttp, kProxy };
  uint64_t time_ns = 0;
  Kind kind = Kind::kLease;
  // kLease: "granted", "released", "declined"; kProxy: "offered",
  // "acked" (port 4011), "requested" (of the site's server); kTftp and
  // kHttp: the transfer's outcome ("completed", "refused", "aborted",
  // "timeout", "read_error", "unanswered").
  std::string outcome;
  std::string what;     // the address (leased, asked for), the TFTP file, the HTTP path
  uint32_t status = 0;  // HTTP status, TFTP error code
  uint64_t bytes = 0;
  uint64_t size = 0;
  uint64_t duration_us = 0;
  std::string detail;  // a TFTP error's message, an errno's text
  // Range responses (206) for the same path one after another are one step
  // (iPXE's sanboot reads a whole ISO so): how many, their bytes and time
  // summed.
  uint32_t count = 1;
  // A file (or answer) the client got whole: a completed TFTP transfer, a
  // completed HTTP response under 400.
  bool ok() const;
  // Asked for something not there: TFTP "file not found", HTTP 404.
  bool not_found() const;
};

struct BootMachine {
  // ClientText of its lease (or its proxyDHCP requests); empty: known by
  // address only.
  std::string client;
  uint32_t address = 0;
  uint64_t first_ns = 0;
  uint64_t last_ns = 0;
  uint64_t leases = 0;     // granted
  uint64_t proxy = 0;      // proxyDHCP answers (offered, acked)
  uint64_t files = 0;      // steps ok()
  uint64_t not_found = 0;  // steps not_found()
  uint64_t failed = 0;     // TFTP and HTTP steps neither
  uint64_t bytes = 0;      // of TFTP and HTTP steps
  // From its last lease granted (or proxyDHCP answer) that had them: its
  // firmware (ClientArchName) and the profile it was given ("" when none
  // yet).
  std::string arch;
  std::string profile;
  uint64_t steps_dropped = 0;
  std::deque<BootStep> steps;
  // No file yet, or its last TFTP or HTTP step failed (not a "not found"
  // probe): where a machine that did not boot stopped. What `stampede boots
  // --failed` lists. (A failure it got past, as OVMF's aborted size query,
  // does not count.)
  bool Failing() const;
};

class BootLog {
 public:
  explicit BootLog(size_t max_machines = kBootLogMachines, size_t max_steps = kBootLogSteps)
      : max_machines_(max_machines), max_steps_(max_steps) {}

  // Takes a dataplane event: leases, proxyDHCP steps, TFTP and HTTP
  // transfers; others are ignored.
  void Add(const v1::Event& event);
  // `client` holds `address` (a lease from the journal, when control
  // starts): that address's transfers are the client's, with no step.
  void Remember(uint32_t address, const std::string& client);
  // The published policy's profile names, in its order: a lease event's
  // boot_profile is an index into them.
  void SetProfiles(std::vector<std::string> names) { profiles_ = std::move(names); }
  // Most recently seen first.
  std::vector<const BootMachine*> Machines() const;
  // By client (a MAC in any case, or the client id's hex) or by address
  // (the machine holding its lease, else the one known by it); null: none.
  const BootMachine* Find(std::string_view client_or_address) const;
  size_t size() const { return machines_.size(); }
  uint64_t evicted() const { return evicted_; }

 private:
  BootMachine& MachineFor(uint32_t address, uint64_t time_ns);
  BootMachine& Named(const std::string& key, uint64_t time_ns);
  void Append(BootMachine& m, BootStep step);
  // "efi-x64, profile ubuntu" for a lease or proxy step; the machine takes
  // the ones it has.
  std::string Boot(BootMachine& m, bool has_arch, uint32_t arch, uint32_t profile);
  void EvictOldest();

  size_t max_machines_;
  size_t max_steps_;
  // Keyed by client text, or "@<address>" for a machine known by address.
  absl::flat_hash_map<std::string, BootMachine> machines_;
  absl::flat_hash_map<uint32_t, std::string> client_of_address_;  // bound leases
  std::vector<std::string> profiles_;
  uint64_t evicted_ = 0;
};

// The host entries of a config by fixed address, client id and MAC, to name
// a lease's or a machine's host as `stampede leases` does.
class HostNames {
 public:
  HostNames() = default;
  explicit HostNames(const v1::Config& config);
  // The host whose fixed address `address` is, else whose client id or MAC
  // `client` (ClientText) is.
  std::string Find(uint32_t address, const std::string& client) const;

 private:
  absl::flat_hash_map<uint32_t, std::string> by_address_;
  absl::flat_hash_map<std::string, std::string> by_client_;  // by ClientText
};

// JSON for the API: a machine's summary (its last step as "last"), and
// with `steps` every step it has.
std::string BootMachineJson(const BootMachine& m, const std::string& host, bool steps);

}  // namespace stampede::control
