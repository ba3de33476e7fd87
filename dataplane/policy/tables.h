// The dataplane's compiled form of one BootPolicy: the proto, checked again
// (the dataplane trusts nothing it reads from shared memory), plus lookup
// tables built off the hot path. Immutable once built; workers reach it
// through an RCU-protected pointer (dataplane/policy/service.h).
#pragma once

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dataplane/policy/client_directory.h"
#include "stampede/v1/policy.pb.h"

namespace stampede::policy {

// RFC 2348 §2: blksize is 8..65464 octets.
inline constexpr uint32_t kMinTftpBlksize = 8;
inline constexpr uint32_t kMaxTftpBlksize = 65464;
// RFC 7440 §3: windowsize is 1..65535 blocks.
inline constexpr uint32_t kMaxTftpWindowsize = 65535;
// A generated catalog file (a menu, an iPXE script) is carried in the
// policy itself: bounded so a few hundred of them fit the policy region.
inline constexpr size_t kMaxGeneratedFileBytes = 1 << 20;
// An operator's DHCP option value (CompiledOption.value), at most: four
// RFC 3396 pieces, which still fit a 1500-byte reply.
inline constexpr size_t kMaxOptionBytes = 1020;
// Client classes in a policy, at most: a request's classes are a 64-bit
// set (dhcp::Server).
inline constexpr size_t kMaxClientClasses = 64;
// ClientFileKind values past UNSPECIFIED: PXELINUX, GRUB, IPXE.
inline constexpr size_t kClientFileKinds = 3;

struct PolicyTables {
  uint64_t generation = 0;
  v1::BootPolicy policy;
  // MAC (48 bits in a uint64) -> index into policy.hosts().
  absl::flat_hash_map<uint64_t, uint32_t> host_by_mac;
  // Option 82 circuit id / remote id -> index into policy.hosts().
  absl::flat_hash_map<std::string, uint32_t> host_by_circuit_id;
  absl::flat_hash_map<std::string, uint32_t> host_by_remote_id;
  // Option 61's bytes -> index into policy.hosts().
  absl::flat_hash_map<std::string, uint32_t> host_by_client_id;
  // Bit i: dhcp.classes(i) has `known` (its clients pass known_clients_only
  // and `known` pools), against a request's classes in one test.
  uint64_t known_classes = 0;
  // Bit i: dhcp.classes(i) has a lease time; a request's lowest such class
  // gives its lease its time.
  uint64_t lease_time_classes = 0;
  // Fixed addresses of hosts: never handed out of a pool to anyone else.
  absl::flat_hash_map<uint32_t, uint32_t> host_by_address;
  // TFTP catalog path (ASCII-lowercased when tftp.case_insensitive) -> index
  // into policy.tftp().files().
  absl::flat_hash_map<std::string, uint32_t> file_by_path;
  // By catalog index: the dataplane's open file for it (dataplane/io), set
  // by the policy service's prepare step before workers see the tables;
  // empty until then.
  std::vector<uint32_t> file_ids;

  // The host reserved for `mac` (6 bytes), if any.
  const v1::CompiledHost* HostByMac(std::span<const std::byte, 6> mac) const;
  // The host reserved for client identifier `client_id` (option 61's
  // bytes), if any. Never allocates.
  const v1::CompiledHost* HostByClientId(std::string_view client_id) const;
  const v1::CompiledHost* HostByRelayIds(std::string_view circuit_id,
                                         std::string_view remote_id) const;
  // The subnet whose network holds `address` (host order), if any.
  const v1::CompiledSubnet* SubnetOf(uint32_t address) const;
  // The catalog file a request names, by its path as tftp::NormalisePath
  // made it; ignoring ASCII case when the policy says so. Never allocates.
  const v1::CatalogFile* FindFile(std::string_view normalised_path) const;
  // The same, as its index into policy.tftp().files() (and file_ids).
  std::optional<uint32_t> FindFileIndex(std::string_view normalised_path) const;
  // The first TFTP client class whose network holds `client_address` (host
  // order), if any.
  const v1::CompiledTftpClass* TftpClassOf(uint32_t client_address) const;

  // Per-client files (policy.tftp().client_files()): by catalog index, the
  // kind of each.
  std::vector<std::pair<uint32_t, v1::ClientFileKind>> client_files;
  // Per profile, per kind (PXELINUX, GRUB, IPXE) its file and its one-shot
  // variant: catalog indices, -1 for none.
  std::vector<std::array<int32_t, 2 * kClientFileKinds>> profile_files;
  // Names this policy's list of profiles (a hash of their names in order):
  // ClientDirectory entries made under another list are not taken.
  uint16_t profile_fingerprint = 0;
  // The catalog file to serve when the client at `client_address` (host
  // order) asks for catalog file `index`: a per-client file answers with
  // the profile the client's lease was given (ClientDirectory), else the
  // file itself. Never allocates.
  uint32_t ForClient(uint32_t index, uint32_t client_address,
                     const ClientDirectory* directory) const;
};

// A catalog file's identity (device, inode, mtime) from stat(): control
// records it, the dataplane checks the file it opens against it; one
// definition so the two never disagree.
void SetFileIdentity(const struct stat& st, v1::CatalogFile& file);
bool SameFileIdentity(const struct stat& st, const v1::CatalogFile& file);

// Parses and checks a serialized BootPolicy and builds its tables. Refuses
// (with the first problem found) what the compiler never emits: unparsable
// bytes, prefixes over 32, host bits in a network, pools reversed, outside
// their subnet, unsorted or overlapping, profile references past the end,
// MACs not 6 bytes or repeated, TFTP sizes outside their RFC ranges, paths
// that climb out of their root, TFTP client classes like bad subnets, more
// than kMaxClientClasses DHCP client classes, a class without matchers, with
// a MAC pattern past 48 bits or an empty or over-long item, a catalog whose
// paths are unsorted, repeated (also ignoring case when it is
// case-insensitive) or not normalised, whose sources are not absolute or
// whose extents overflow, rollover to other than 0 or 1, DHCP options
// unsorted, repeated, out of 1..254, the server's own or over
// kMaxOptionBytes.
// Mutable until published, so the dataplane can attach what it opened
// (file_ids); immutable once workers can see it.
absl::StatusOr<std::unique_ptr<PolicyTables>> BuildTables(std::span<const std::byte> payload,
                                                          uint64_t generation);

// Same checks on a parsed policy (the control plane runs them before it
// publishes, so what it publishes is what the dataplane accepts).
absl::Status CheckPolicy(const v1::BootPolicy& policy);

}  // namespace stampede::policy
