#include "dataplane/port/options.h"

#include <charconv>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace stampede::port {
namespace {

std::optional<uint32_t> ParseUint(absl::string_view text) {
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

HostFacts ReadHostFacts() {
  HostFacts facts;
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  uint64_t free_pages = 0, page_kb = 0;
  while (std::getline(meminfo, line)) {
    std::istringstream words(line);
    std::string key;
    uint64_t value = 0;
    words >> key >> value;
    if (key == "HugePages_Free:") free_pages = value;
    if (key == "Hugepagesize:") page_kb = value;
  }
  facts.free_hugepage_bytes = free_pages * page_kb * 1024;
  std::ifstream mounts("/proc/mounts");
  while (std::getline(mounts, line)) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    if (fields.size() > 2 && fields[2] == "hugetlbfs") facts.hugetlbfs_mounted = true;
  }
  return facts;
}

bool IsPciAddress(const std::string& spec) {
  static const std::regex kPci("^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7](,.*)?$");
  return std::regex_match(spec, kPci);
}

std::string DeviceName(const std::string& spec) {
  return std::string(spec.substr(0, spec.find(',')));
}

std::optional<std::string> PortSpecArg(const std::string& spec, std::string_view key) {
  std::vector<absl::string_view> args = absl::StrSplit(spec, ',');
  for (size_t i = 1; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (absl::ConsumePrefix(&arg, absl::string_view(key.data(), key.size())) &&
        absl::ConsumePrefix(&arg, "=")) {
      return std::string(arg);
    }
  }
  return std::nullopt;
}

std::string WithPortDefaults(const std::string& spec) {
  if (absl::StartsWith(spec, "net_af_packet") && !PortSpecArg(spec, "framecnt")) {
    return absl::StrCat(spec, ",framecnt=", kAfPacketFrames);
  }
  return spec;
}

uint32_t SpecRxFrames(const std::string& spec) {
  if (absl::StartsWith(spec, "net_af_packet")) {
    std::optional<std::string> frames = PortSpecArg(spec, "framecnt");
    std::optional<uint32_t> value = frames ? ParseUint(*frames) : std::nullopt;
    return frames ? value.value_or(0) : 512;
  }
  if (absl::StartsWith(spec, "net_memif")) {
    std::optional<std::string> log2 = PortSpecArg(spec, "rsize");
    std::optional<uint32_t> value = log2 ? ParseUint(*log2) : 10u;
    return value && *value < 32 ? 1u << *value : 0;
  }
  return 0;
}

absl::StatusOr<uint32_t> CountWorkers(const std::string& lcores) {
  std::set<uint32_t> cores;
  for (absl::string_view part : absl::StrSplit(lcores, ',')) {
    std::vector<absl::string_view> range = absl::StrSplit(part, '-');
    std::optional<uint32_t> first = range.empty() ? std::nullopt : ParseUint(range[0]);
    std::optional<uint32_t> last = range.size() == 2 ? ParseUint(range[1]) : first;
    if (!first || !last || range.size() > 2 || *last < *first || *last >= 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("--lcores: '", lcores, "' is not a core list like 0,1 or 0-3"));
    }
    for (uint32_t core = *first; core <= *last; ++core) cores.insert(core);
  }
  return static_cast<uint32_t>(cores.size());
}

std::string CpuMaskHex(const std::vector<int>& cpus) {
  constexpr int kMaxCpus = 1024;
  std::vector<uint32_t> groups;
  for (int cpu : cpus) {
    if (cpu < 0 || cpu >= kMaxCpus) continue;
    size_t group = static_cast<size_t>(cpu) / 32;
    if (groups.size() <= group) groups.resize(group + 1, 0);
    groups[group] |= uint32_t{1} << (cpu % 32);
  }
  if (groups.empty()) return "0";
  std::string out = absl::StrFormat("%x", groups.back());
  for (size_t i = groups.size() - 1; i-- > 0;)
    absl::StrAppend(&out, absl::StrFormat(",%08x", groups[i]));
  return out;
}

absl::StatusOr<std::vector<std::string>> BuildEalArgs(const DataplaneOptions& options,
                                                      const HostFacts& host) {
  if (options.port.empty()) {
    return absl::InvalidArgumentError("--port is required (a PCI address or a vdev spec)");
  }
  if (options.ipv4.empty()) {
    return absl::InvalidArgumentError("--ipv4 is required (the appliance's address/prefix)");
  }
  if (options.memory_mb < 64) {
    return absl::InvalidArgumentError("--memory_mb must be at least 64");
  }
  absl::StatusOr<uint32_t> workers = CountWorkers(options.lcores);
  if (!workers.ok()) return workers.status();

  std::vector<std::string> args = {"stampede-dataplane",
                                   "-l",
                                   options.lcores,
                                   "--file-prefix",
                                   options.file_prefix,
                                   "-m",
                                   absl::StrCat(options.memory_mb)};
  bool enough_huge = host.hugetlbfs_mounted &&
                     host.free_hugepage_bytes >= uint64_t{options.memory_mb} * 1024 * 1024;
  bool use_huge = options.huge_pages == HugePages::kOn ||
                  (options.huge_pages == HugePages::kAuto && enough_huge);
  if (options.huge_pages == HugePages::kOn && !enough_huge) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--huge_pages=on but only ", host.free_hugepage_bytes >> 20, " MiB of hugepages are free",
        host.hugetlbfs_mounted ? "" : " and hugetlbfs is not mounted", " (need ", options.memory_mb,
        " MiB)"));
  }
  if (use_huge) {
    // Nothing backs hugepages but this process's memory: no files to clean up.
    args.push_back("--in-memory");
  } else {
    args.push_back("--no-huge");
  }
  // Never probe PCI devices we were not given: the host's own NICs stay the kernel's.
  if (IsPciAddress(options.port)) {
    args.insert(args.end(), {"-a", options.port});
  } else {
    args.insert(args.end(), {"--no-pci", "--vdev", options.port});
  }
  args.insert(args.end(), options.extra_eal_args.begin(), options.extra_eal_args.end());
  return args;
}

}  // namespace stampede::port
