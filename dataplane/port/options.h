// Startup parameters of stampede-dataplane (from its command-line flags, or
// passed by stampede-control when it spawns the dataplane) and their
// translation into EAL arguments.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/net/address.h"

namespace stampede::port {

enum class HugePages { kAuto, kOn, kOff };

// --idle_sleep_us at most: a longer sleep would let a burst overflow rx rings.
inline constexpr uint32_t kMaxIdleSleepUs = 1000;

// An idle worker's next sleep (--idle_sleep_us, see docs/dataplane.md): 1 us
// after the polls that found nothing (`last` 0), then twice the last, up to
// `limit`. A pause between a client's packets is stretched by at most about
// its own length; a worker idle for long wakes only every `limit` us.
constexpr uint32_t NextIdleSleepUs(uint32_t last, uint32_t limit) {
  return std::min(limit, last == 0 ? 1u : 2 * last);
}

struct DataplaneOptions {
  // A DPDK device: a PCI address ("0000:03:00.0") or a vdev spec
  // ("net_af_packet0,iface=eth1", "net_memif0,role=server", "net_null0").
  std::string port;
  // EAL core list; every core runs one worker, the first (the main lcore)
  // included. Signals and telemetry have threads of their own.
  std::string lcores = "0";
  uint32_t memory_mb = 256;
  HugePages huge_pages = HugePages::kAuto;
  // Unique per instance: names the runtime dir and the telemetry socket.
  std::string file_prefix = "stampede";
  // The appliance's MAC; the port's own when unset.
  std::optional<net::MacAddress> mac;
  std::vector<net::Ipv4Interface> ipv4;
  // Kernel TAP interface for the exception path; empty disables it.
  std::string exception_iface = "stampede0";
  // TCP goes between the TAP and the port's kernel interface inside the
  // kernel (--kernel_redirect); big kernel TCP frames the workers do read go
  // whole to it (--kernel_gso); the TAP's kernel receive work runs off the
  // workers' CPUs (--exception_rps).
  bool kernel_redirect = true;
  bool kernel_gso = true;
  bool exception_rps = true;
  // Microseconds a worker sleeps once its polls find nothing; 0: busy poll.
  uint32_t idle_sleep_us = 0;
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  std::vector<std::string> extra_eal_args;
};

// The facts about the host that decide EAL memory flags.
struct HostFacts {
  uint64_t free_hugepage_bytes = 0;
  bool hugetlbfs_mounted = false;
};

HostFacts ReadHostFacts();

// True when `spec` names a PCI device rather than a vdev.
bool IsPciAddress(const std::string& spec);

// The vdev's device name ("net_af_packet0" of "net_af_packet0,iface=x").
std::string DeviceName(const std::string& spec);

// The value of `key=` among a vdev spec's arguments ("eth1" for "iface" of
// "net_af_packet0,iface=eth1"), if given.
std::optional<std::string> PortSpecArg(const std::string& spec, std::string_view key);

// Frames an af_packet ring holds when --port does not say (framecnt): the
// driver's own 512 is fewer than a boot storm's clients have in flight
// (docs/dataplane.md, "Receive rings").
inline constexpr uint32_t kAfPacketFrames = 8192;

// `spec` with stampede's defaults where the driver's are too small: a
// net_af_packet spec without framecnt gets kAfPacketFrames.
std::string WithPortDefaults(const std::string& spec);

// Frames one receive queue of the vdev `spec` holds, as its arguments say
// (net_af_packet: framecnt, 512 by default; net_memif: 2^rsize, 1024 by
// default); 0 when the spec does not decide it (a NIC's rx descriptors do).
uint32_t SpecRxFrames(const std::string& spec);

// Checks the options and returns the EAL argv (argv[0] included).
absl::StatusOr<std::vector<std::string>> BuildEalArgs(const DataplaneOptions& options,
                                                      const HostFacts& host);

// The number of workers an EAL core list gives: one per distinct core. Errors
// on a malformed list.
absl::StatusOr<uint32_t> CountWorkers(const std::string& lcores);

// A CPU set as Linux's sysfs bitmaps take it (rps_cpus, smp_affinity): hex,
// 32 CPUs per comma-separated group, the highest first ({0} -> "1", {1, 2}
// -> "6", {0, 33} -> "2,00000001"); "0" for none. CPUs >= 1024 are ignored.
std::string CpuMaskHex(const std::vector<int>& cpus);

}  // namespace stampede::port
