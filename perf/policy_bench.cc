// policy_bench: how long a config change takes to reach the workers, stage
// by stage, for a site of N hosts: parse the YAML, compile (and check) the
// BootPolicy, serialize, publish into the shared-memory region, then the
// dataplane's side: read (copy + CRC32C), parse, check and build the lookup
// tables. Next to it, in the same run, the ceiling of moving the same bytes:
// a plain memcpy of the serialized policy.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "control/config/compile.h"
#include "control/config/loader.h"
#include "control/publish/publisher.h"
#include "dataplane/policy/reader.h"
#include "dataplane/policy/tables.h"

ABSL_FLAG(uint32_t, hosts, 10000, "Hosts (MAC reservations) in the generated config");
ABSL_FLAG(uint32_t, rounds, 5, "Rounds; the median is reported");

namespace {

using Clock = std::chrono::steady_clock;

std::string ConfigText(uint32_t hosts) {
  std::string text =
      "dataplane: {port: net_null0, ipv4: [198.18.0.1/16]}\n"
      "dhcp:\n  subnets:\n    - subnet: 198.18.0.0/16\n"
      "      pools: [{first: 198.18.200.0, last: 198.18.255.254}]\n"
      "profiles:\n  - {name: install, boot_files: {bios: pxelinux.0, efi_x64: ipxe.efi}}\n"
      "hosts:\n";
  for (uint32_t i = 0; i < hosts; ++i) {
    absl::StrAppendFormat(&text,
                          "  - {name: n%u, mac: \"02:00:5e:%02x:%02x:%02x\", ipv4: 198.18.%u.%u, "
                          "profile: install}\n",
                          i, i >> 16 & 255, i >> 8 & 255, i & 255, 1 + i / 250, 1 + i % 250);
  }
  return text;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  uint32_t hosts = absl::GetFlag(FLAGS_hosts);
  uint32_t rounds = std::max(1u, absl::GetFlag(FLAGS_rounds));
  std::string text = ConfigText(hosts);
  std::string region = absl::StrCat("/dev/shm/stampede-policy-bench-", getpid());
  absl::StatusOr<stampede::publish::Publisher> publisher =
      stampede::publish::Publisher::Open(region, 16u << 20);
  absl::StatusOr<stampede::policy::RegionMapping> mapping =
      publisher.ok() ? stampede::policy::RegionMapping::Open(region)
                     : absl::StatusOr<stampede::policy::RegionMapping>(publisher.status());
  if (!mapping.ok()) {
    std::fprintf(stderr, "policy_bench: %s\n", std::string(mapping.status().message()).c_str());
    return 1;
  }
  const char* names[] = {"parse YAML",         "compile + check", "serialize",
                         "publish (copy+CRC)", "read (copy+CRC)", "parse + check + tables",
                         "memcpy (ceiling)"};
  constexpr size_t kStages = std::size(names);
  std::vector<std::vector<double>> ms(kStages);
  size_t bytes = 0;
  bool ok = true;
  for (uint32_t round = 0; round < rounds && ok; ++round) {
    Clock::time_point t0 = Clock::now();
    absl::StatusOr<stampede::config::LoadedConfig> loaded =
        stampede::config::ParseConfig(text, "bench.yaml", stampede::config::Format::kYaml);
    Clock::time_point t1 = Clock::now();
    absl::StatusOr<stampede::v1::BootPolicy> policy =
        loaded.ok() ? stampede::config::Compile(*loaded)
                    : absl::StatusOr<stampede::v1::BootPolicy>(loaded.status());
    Clock::time_point t2 = Clock::now();
    if (!policy.ok()) {
      std::fprintf(stderr, "policy_bench: %s\n", std::string(policy.status().message()).c_str());
      ok = false;
      break;
    }
    std::string serialized = policy->SerializeAsString();
    bytes = serialized.size();
    std::span<const std::byte> payload(reinterpret_cast<const std::byte*>(serialized.data()),
                                       serialized.size());
    Clock::time_point t3 = Clock::now();
    absl::StatusOr<uint64_t> generation = publisher->Publish(payload);
    Clock::time_point t4 = Clock::now();
    absl::StatusOr<stampede::policy::ReadResult> read =
        stampede::policy::ReadRegion(mapping->bytes(), 0);
    Clock::time_point t5 = Clock::now();
    absl::StatusOr<std::unique_ptr<const stampede::policy::PolicyTables>> tables =
        read.ok()
            ? stampede::policy::BuildTables(read->payload, read->generation)
            : absl::StatusOr<std::unique_ptr<const stampede::policy::PolicyTables>>(read.status());
    Clock::time_point t6 = Clock::now();
    std::vector<char> copy(serialized.size());
    std::memcpy(copy.data(), serialized.data(), serialized.size());
    Clock::time_point t7 = Clock::now();
    ok = generation.ok() && tables.ok() && (*tables)->host_by_mac.size() == hosts &&
         copy.back() == serialized.back();
    Clock::time_point marks[] = {t0, t1, t2, t3, t4, t5, t6, t7};
    for (size_t i = 0; i < kStages; ++i) ms[i].push_back(Ms(marks[i + 1] - marks[i]));
  }
  std::filesystem::remove(region);
  if (!ok) {
    std::fprintf(stderr, "policy_bench: a stage failed or lost hosts\n");
    return 1;
  }
  std::printf("\npolicy_bench: %u hosts, policy %zu bytes, median of %u rounds, one core\n", hosts,
              bytes, rounds);
  std::printf("%-26s %12s %14s %14s\n", "stage", "ms", "us/host", "vs memcpy");
  double ceiling = 0;
  std::vector<double> medians;
  for (auto& stage : ms) {
    std::sort(stage.begin(), stage.end());
    medians.push_back(stage[stage.size() / 2]);
  }
  ceiling = medians.back();
  for (size_t i = 0; i < kStages; ++i) {
    std::printf("%-26s %12.3f %14.3f %13.1fx\n", names[i], medians[i], medians[i] * 1000 / hosts,
                ceiling > 0 ? medians[i] / ceiling : 0.0);
  }
  double control = medians[0] + medians[1] + medians[2] + medians[3];
  double dataplane = medians[4] + medians[5];
  std::printf("control side %.1f ms, dataplane side %.1f ms (then one RCU grace period)\n", control,
              dataplane);
  return 0;
}
