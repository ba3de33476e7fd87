// The TFTP root's catalog: every regular file under the root folder that a
// client can ask for, by the path the dataplane will look it up under, and
// what was left out of it and why.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "stampede/v1/policy.pb.h"

namespace stampede::catalog {

// A root holding more is served in part (and says so): the catalog travels
// in the policy, which has to fit its shared-memory slot.
inline constexpr size_t kMaxTftpRootFiles = 100'000;
// Deeper folders are not read; folders reached through symlinks count too.
inline constexpr int kMaxTftpRootDepth = 32;
// Entries of every kind looked at in one scan: a folder reached through
// several symlinks is read once per way in, so folders alone could otherwise
// make a scan long without adding a file.
inline constexpr size_t kMaxTftpRootEntries = 4 * kMaxTftpRootFiles;

struct ScanLimits {
  size_t max_files = kMaxTftpRootFiles;
  int max_depth = kMaxTftpRootDepth;
  size_t max_entries = kMaxTftpRootEntries;
};

// Something under the root that is not served, or not all of it.
struct ScanProblem {
  std::string path;  // relative to the root, as on disk (C-escaped); "" for the root
  std::string what;
};

struct TftpRootScan {
  // Sorted by path, unique (and unique ignoring ASCII case when scanned
  // case-insensitively).
  std::vector<v1::CatalogFile> files;
  std::vector<ScanProblem> problems;
};

// Walks `root` without leaving it: symlinks are followed only when they
// resolve to somewhere inside the root. Catalogues regular files whose path
// is what stampede::tftp::NormalisePath makes of it (the dataplane looks
// requests up by that), with their real absolute path as the source; skips
// and reports other names, other file types, escaping or dangling symlinks,
// unreadable folders, folder loops, the limits when hit, and (when
// `case_insensitive`) names equal to an earlier one (in path order) ignoring
// ASCII case. A missing or unreadable root is an error naming it.
absl::StatusOr<TftpRootScan> ScanTftpRoot(const std::string& root, bool case_insensitive,
                                          const ScanLimits& limits = {});

}  // namespace stampede::catalog
