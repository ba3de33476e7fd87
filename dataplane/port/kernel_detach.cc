#include "dataplane/port/kernel_detach.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace stampede::port {
namespace {

// Runs a fixed argv (no shell); returns its exit status or -1. `quiet` sends
// its output to /dev/null, for commands whose failure is expected.
int Run(std::vector<std::string> args, bool quiet = false) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = 0;
  int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace

std::optional<std::string> KernelInterfaceOf(const std::string& port_spec) {
  absl::string_view spec(port_spec);
  if (!absl::StartsWith(spec, "net_af_packet") && !absl::StartsWith(spec, "net_af_xdp")) {
    return std::nullopt;
  }
  for (absl::string_view arg : absl::StrSplit(spec, ',')) {
    if (absl::ConsumePrefix(&arg, "iface=")) return std::string(arg);
  }
  return std::nullopt;
}

namespace {
std::string TableName(const std::string& iface) { return absl::StrCat("stampede_", iface); }

}  // namespace

absl::Status DetachKernelStack(const std::string& iface) {
  std::string table = TableName(iface);
  Run({"nft", absl::StrCat("delete table netdev ", table)}, /*quiet=*/true);  // left by a crash
  std::string rules = absl::StrCat("add table netdev ", table, "; add chain netdev ", table,
                                   " ingress { type filter hook ingress device \"", iface,
                                   "\" priority 0 ; policy drop ; }");
  if (int rc = Run({"nft", rules}); rc != 0) {
    return absl::FailedPreconditionError(absl::StrCat("detaching the kernel stack from ", iface,
                                                      ": 'nft ", rules, "' failed (exit ", rc,
                                                      "); is nftables installed and are we root?"));
  }
  std::ofstream(absl::StrCat("/proc/sys/net/ipv6/conf/", iface, "/disable_ipv6")) << "1\n";
  return absl::OkStatus();
}

void ReattachKernelStack(const std::string& iface) {
  Run({"nft", absl::StrCat("delete table netdev ", TableName(iface))});
}

namespace {

// A classic BPF socket filter: frames the host sends (PACKET_OUTGOING) are
// refused before they are copied into the ring; everything else is taken
// whole.
sock_filter kDropOutgoingCode[] = {
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
};
const sock_fprog kDropOutgoing{std::size(kDropOutgoingCode), kDropOutgoingCode};

}  // namespace

absl::StatusOr<int> IgnoreOutgoingFrames(const std::string& iface) {
  unsigned index = if_nametoindex(iface.c_str());
  if (index == 0) return absl::NotFoundError(absl::StrCat("no interface ", iface));
  std::error_code error;
  std::filesystem::directory_iterator fds("/proc/self/fd", error);
  if (error) return absl::InternalError(absl::StrCat("/proc/self/fd: ", error.message()));
  int set = 0;
  for (const std::filesystem::directory_entry& entry : fds) {
    int fd = -1;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &fd)) continue;
    int domain = 0;
    socklen_t length = sizeof(domain);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0 || domain != AF_PACKET) {
      continue;  // not a socket (or the directory's own fd, closed by now)
    }
    sockaddr_ll address{};
    length = sizeof(address);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
        address.sll_ifindex != static_cast<int>(index)) {
      continue;
    }
    // PACKET_IGNORE_OUTGOING would not do: af_packet's queues are in a
    // fanout group, whose hook is the group's.
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &kDropOutgoing, sizeof(kDropOutgoing)) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("SO_ATTACH_FILTER on fd ", fd));
    }
    ++set;
  }
  return set;
}

absl::Status RedirectKernelTcp(const std::string& tap, const std::string& wire) {
  // u32 offsets are from the IPv4 header: a 20-byte header (0x45), TCP
  // (protocol 6 at 9), SYN clear in the TCP flags (20 + 13). Interface names
  // hold no spaces.
  for (const std::string& command :
       {absl::StrCat("tc qdisc add dev ", tap, " clsact"),
        absl::StrCat("tc filter add dev ", tap,
                     " egress protocol ip pref 1 u32 match u8 0x45 0xff at 0 match u8 6 0xff at 9 "
                     "match u8 0 0x02 at 33 action mirred egress redirect dev ",
                     wire)}) {
    if (int rc = Run(absl::StrSplit(command, ' ')); rc != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("'", command, "' failed (exit ", rc, "); is iproute2's tc installed?"));
    }
  }
  return absl::OkStatus();
}

}  // namespace stampede::port
