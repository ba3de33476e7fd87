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
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "dataplane/port/options.h"

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
  return PortSpecArg(port_spec, "iface");
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

// Ethernet (14) + IPv4 without options (20) + TCP without options (20).
constexpr uint32_t kMinTcpFrame = 54;

std::vector<sock_filter> KernelTcpProgram(std::span<const uint32_t> addresses, uint32_t on_match,
                                          uint32_t otherwise, bool refuse_outgoing) {
  // Offsets from the Ethernet header; the two returns close the program:
  // `otherwise` at size - 2, `on_match` at size - 1. A check's failure jumps
  // to `otherwise`, computed once the length is known.
  std::vector<sock_filter> program;
  constexpr uint32_t kOtherwise = 0x100, kMatch = 0x101;  // placeholders
  auto load = [&](uint16_t size, uint32_t offset) {
    program.push_back(BPF_STMT(static_cast<uint16_t>(BPF_LD | size | BPF_ABS), offset));
  };
  // Jumps: jt/jf hold a placeholder until the end.
  struct Jump {
    size_t at;
    uint32_t jt, jf;
  };
  std::vector<Jump> jumps;
  auto jump = [&](uint16_t op, uint32_t k, uint32_t jt, uint32_t jf) {
    jumps.push_back({program.size(), jt, jf});
    program.push_back(BPF_JUMP(static_cast<uint16_t>(BPF_JMP | op | BPF_K), k, 0, 0));
  };
  constexpr uint32_t kNext = 0;
  load(BPF_B, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE));
  if (refuse_outgoing) jump(BPF_JEQ, PACKET_OUTGOING, kMatch, kNext);
  if (!addresses.empty()) {
    jump(BPF_JEQ, PACKET_HOST, kNext, kOtherwise);
    // Shorter than Ethernet + IPv4 + TCP headers: a worker counts it.
    program.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0));
    jump(BPF_JGE, kMinTcpFrame, kNext, kOtherwise);
    load(BPF_B, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT));
    jump(BPF_JEQ, 0, kNext, kOtherwise);
    load(BPF_H, 12);  // EtherType
    jump(BPF_JEQ, 0x0800, kNext, kOtherwise);
    load(BPF_B, 14);  // version and header length: 20 bytes, no options
    jump(BPF_JEQ, 0x45, kNext, kOtherwise);
    load(BPF_H, 20);  // MF and fragment offset: not a fragment
    jump(BPF_JSET, 0x3fff, kOtherwise, kNext);
    load(BPF_B, 23);  // protocol
    jump(BPF_JEQ, 6, kNext, kOtherwise);
    load(BPF_B, 47);  // TCP flags (14 + 20 + 13): SYN clear
    jump(BPF_JSET, 0x02, kOtherwise, kNext);
    load(BPF_W, 30);  // destination address
    for (uint32_t address : addresses) jump(BPF_JEQ, address, kMatch, kNext);
  }
  program.push_back(BPF_STMT(BPF_RET | BPF_K, otherwise));
  program.push_back(BPF_STMT(BPF_RET | BPF_K, on_match));
  size_t size = program.size();
  auto resolve = [&](size_t at, uint32_t target) -> uint8_t {
    if (target == kNext) return 0;
    return static_cast<uint8_t>((target == kOtherwise ? size - 2 : size - 1) - at - 1);
  };
  for (const Jump& j : jumps) {
    program[j.at].jt = resolve(j.at, j.jt);
    program[j.at].jf = resolve(j.at, j.jf);
  }
  return program;
}

absl::StatusOr<std::vector<int>> PacketSocketsOf(const std::string& iface) {
  unsigned index = if_nametoindex(iface.c_str());
  if (index == 0) return absl::NotFoundError(absl::StrCat("no interface ", iface));
  std::error_code error;
  std::filesystem::directory_iterator fds("/proc/self/fd", error);
  if (error) return absl::InternalError(absl::StrCat("/proc/self/fd: ", error.message()));
  std::vector<int> sockets;
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
    sockets.push_back(fd);
  }
  return sockets;
}

absl::StatusOr<int> FilterPortSockets(const std::string& iface,
                                      std::span<const uint32_t> kernel_tcp_to) {
  absl::StatusOr<std::vector<int>> sockets = PacketSocketsOf(iface);
  if (!sockets.ok()) return sockets.status();
  std::vector<sock_filter> code = KernelTcpProgram(kernel_tcp_to, /*on_match=*/0,
                                                   /*otherwise=*/0xffffffffu, true);
  const sock_fprog program{static_cast<uint16_t>(code.size()), code.data()};
  for (int fd : *sockets) {
    // PACKET_IGNORE_OUTGOING would not do: af_packet's queues are in a
    // fanout group, whose hook is the group's.
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("SO_ATTACH_FILTER on fd ", fd));
    }
  }
  return static_cast<int>(sockets->size());
}

namespace {

// tc's `bpf bytecode` text: "count,code jt jf k,...".
std::string TcBytecode(const std::vector<sock_filter>& program) {
  std::string text = absl::StrCat(program.size());
  for (const sock_filter& op : program) {
    absl::StrAppend(&text, ",", op.code, " ", op.jt, " ", op.jf, " ", op.k);
  }
  return text;
}

absl::Status RunAll(const std::vector<std::vector<std::string>>& commands) {
  for (const std::vector<std::string>& command : commands) {
    if (int rc = Run(command); rc != 0) {
      return absl::FailedPreconditionError(absl::StrCat("'", absl::StrJoin(command, " "),
                                                        "' failed (exit ", rc,
                                                        "); is iproute2's tc installed?"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RedirectKernelTcp(const std::string& tap, const std::string& wire,
                               std::span<const uint32_t> addresses) {
  // u32 offsets are from the IPv4 header: a 20-byte header (0x45), TCP
  // (protocol 6 at 9), SYN clear in the TCP flags (20 + 13). Interface names
  // hold no spaces.
  std::vector<std::vector<std::string>> commands = {
      absl::StrSplit(absl::StrCat("tc qdisc add dev ", tap, " clsact"), ' '),
      absl::StrSplit(absl::StrCat("tc filter add dev ", tap,
                                  " egress protocol ip pref 1 u32 match u8 0x45 0xff at 0 "
                                  "match u8 6 0xff at 9 match u8 0 0x02 at 33 "
                                  "action mirred egress redirect dev ",
                                  wire),
                     ' ')};
  if (!addresses.empty()) {
    Run({"tc", "qdisc", "del", "dev", wire, "clsact"}, /*quiet=*/true);  // left by a crash
    commands.push_back({"tc", "qdisc", "add", "dev", wire, "clsact"});
    commands.push_back({"tc", "filter", "add", "dev", wire, "ingress", "protocol", "all", "pref",
                        "1", "bpf", "bytecode",
                        TcBytecode(KernelTcpProgram(addresses, /*on_match=*/0xffffffffu,
                                                    /*otherwise=*/0, false)),
                        "action", "mirred", "ingress", "redirect", "dev", tap});
  }
  absl::Status status = RunAll(commands);
  if (!status.ok()) {
    // Half a redirect is worse than none: the workers would raise peers'
    // MSS for a kernel that sends to the wire directly.
    Run({"tc", "qdisc", "del", "dev", tap, "clsact"}, /*quiet=*/true);
    if (!addresses.empty()) RemoveKernelRedirect(wire);
  }
  return status;
}

void RemoveKernelRedirect(const std::string& wire) {
  Run({"tc", "qdisc", "del", "dev", wire, "clsact"}, /*quiet=*/true);
}

}  // namespace stampede::port
