#include "control/catalog/tftp_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "dataplane/policy/tables.h"
#include "dataplane/tftp/message.h"

namespace stampede::catalog {
namespace {

struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};
using Dir = std::unique_ptr<DIR, DirCloser>;

std::string Escaped(std::string_view path) {
  return absl::CHexEscape(absl::string_view(path.data(), path.size()));
}

bool HasDotDotPart(std::string_view path) {
  for (size_t start = 0; start <= path.size();) {
    size_t end = std::min(path.find_first_of("/\\", start), path.size());
    if (path.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

// "" when clients can ask for `path` by exactly this name; else why not.
std::string WhyNotServable(const std::string& path) {
  if (path.size() > tftp::kMaxPathLength) {
    return absl::StrCat("path longer than ", tftp::kMaxPathLength,
                        " bytes, the longest a request can name");
  }
  std::optional<std::string> normal = tftp::NormalisePath(path);
  if (!normal) {
    if (std::any_of(path.begin(), path.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      return "name has a control character";
    }
    if (HasDotDotPart(path)) return "name has a '..' part (requests read backslashes as '/')";
    return "name is only backslashes and dots";
  }
  if (*normal != path) {
    return absl::StrCat("a request for it is read as '", Escaped(*normal), "'");
  }
  return "";
}

const char* FileType(mode_t mode) {
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  return "special file";
}

// One walk of one root; folders are read depth first, names in byte order.
class Scanner {
 public:
  Scanner(std::string root, const ScanLimits& limits) : root_(std::move(root)), limits_(limits) {}

  void Walk(DIR* dir, const std::string& real_path, const std::string& path, int depth) {
    std::vector<std::string> names = ReadNames(dir, path);
    for (const std::string& name : names) {
      if (stopped_) return;
      Visit(dirfd(dir), real_path, path, name, depth);
    }
  }

  bool Enter(dev_t device, ino_t inode) { return active_.emplace(device, inode).second; }
  void Leave(dev_t device, ino_t inode) { active_.erase({device, inode}); }

  TftpRootScan Finish(bool case_insensitive) && {
    std::sort(
        scan_.files.begin(), scan_.files.end(),
        [](const v1::CatalogFile& a, const v1::CatalogFile& b) { return a.path() < b.path(); });
    if (case_insensitive) DropCaseCollisions();
    return std::move(scan_);
  }

 private:
  void Problem(std::string_view path, std::string what) {
    scan_.problems.push_back({Escaped(path), std::move(what)});
  }

  std::vector<std::string> ReadNames(DIR* dir, const std::string& path) {
    std::vector<std::string> names;
    while (true) {
      errno = 0;
      const dirent* entry = readdir(dir);
      if (entry == nullptr) {
        if (errno != 0) {
          Problem(path, absl::StrCat("folder not read to its end: ", strerror(errno)));
        }
        break;
      }
      std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      if (examined_ >= limits_.max_entries) {
        if (!entries_exhausted_) {
          Problem(path, absl::StrCat("the scan stops after ", limits_.max_entries,
                                     " entries; the rest of the root is not served"));
        }
        entries_exhausted_ = true;
        break;
      }
      ++examined_;
      names.emplace_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  bool Inside(const std::string& resolved) const {
    if (root_ == "/") return true;
    return resolved == root_ || (resolved.size() > root_.size() && resolved.starts_with(root_) &&
                                 resolved[root_.size()] == '/');
  }

  void Visit(int dir_fd, const std::string& real_dir, const std::string& dir_path,
             const std::string& name, int depth) {
    std::string path = dir_path.empty() ? name : absl::StrCat(dir_path, "/", name);
    if (std::string why = WhyNotServable(path); !why.empty()) {
      Problem(path, std::move(why));
      return;
    }
    std::string real = real_dir == "/" ? "/" + name : absl::StrCat(real_dir, "/", name);
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      Problem(path, absl::StrCat("cannot stat: ", strerror(errno)));
      return;
    }
    bool link = S_ISLNK(st.st_mode);
    if (link) {
      std::optional<std::string> target = FollowInside(path, real);
      if (!target) return;
      real = *std::move(target);
      if (stat(real.c_str(), &st) != 0) {
        Problem(path, absl::StrCat("cannot stat the symlink's target: ", strerror(errno)));
        return;
      }
    }
    if (S_ISREG(st.st_mode)) {
      AddFile(path, real, st);
    } else if (S_ISDIR(st.st_mode)) {
      Descend(link ? AT_FDCWD : dir_fd, link ? real : name, real, path, depth + 1, st);
    } else {
      Problem(path, absl::StrCat("not a regular file (", FileType(st.st_mode), ")"));
    }
  }

  // The canonical path a symlink leads to, if it stays inside the root.
  std::optional<std::string> FollowInside(const std::string& path, const std::string& real) {
    char resolved[PATH_MAX];
    if (realpath(real.c_str(), resolved) == nullptr) {
      Problem(path, absl::StrCat("symlink leads nowhere: ", strerror(errno)));
      return std::nullopt;
    }
    if (!Inside(resolved)) {
      Problem(path, absl::StrCat("symlink leads out of the root (to ", Escaped(resolved), ")"));
      return std::nullopt;
    }
    return std::string(resolved);
  }

  void AddFile(const std::string& path, const std::string& real, const struct stat& st) {
    if (scan_.files.size() >= limits_.max_files) {
      Problem(path, absl::StrCat("the root holds more than ", limits_.max_files,
                                 " files; this and the rest are not served"));
      stopped_ = true;
      return;
    }
    v1::CatalogFile& file = scan_.files.emplace_back();
    file.set_path(path);
    file.set_source(real);
    file.set_offset(0);
    file.set_length(static_cast<uint64_t>(st.st_size));
    policy::SetFileIdentity(st, file);
  }

  // Opens `name` (relative to `at`) as the folder `st` and walks it.
  void Descend(int at, const std::string& name, const std::string& real, const std::string& path,
               int depth, const struct stat& st) {
    if (depth > limits_.max_depth) {
      Problem(path, absl::StrCat("folder deeper than ", limits_.max_depth, " levels; not read"));
      return;
    }
    int fd = openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      Problem(path, absl::StrCat("folder cannot be read: ", strerror(errno)));
      return;
    }
    struct stat opened;
    if (fstat(fd, &opened) != 0 || opened.st_dev != st.st_dev || opened.st_ino != st.st_ino) {
      close(fd);
      Problem(path, "folder changed while being read");
      return;
    }
    Dir dir(fdopendir(fd));
    if (!dir) {
      Problem(path, absl::StrCat("folder cannot be read: ", strerror(errno)));
      close(fd);
      return;
    }
    if (!Enter(st.st_dev, st.st_ino)) {
      Problem(path, "symlink leads back to a folder above it; not read again");
      return;
    }
    Walk(dir.get(), real, path, depth);
    Leave(st.st_dev, st.st_ino);
  }

  // Keeps the first of names equal ignoring ASCII case (in path order).
  void DropCaseCollisions() {
    absl::flat_hash_map<std::string, size_t> first_by_folded;
    std::vector<v1::CatalogFile> kept;
    kept.reserve(scan_.files.size());
    for (v1::CatalogFile& file : scan_.files) {
      auto [it, fresh] = first_by_folded.emplace(absl::AsciiStrToLower(file.path()), kept.size());
      if (!fresh) {
        Problem(file.path(), absl::StrCat("same name ignoring case as '",
                                          Escaped(kept[it->second].path()), "', which is served"));
        continue;
      }
      kept.push_back(std::move(file));
    }
    scan_.files = std::move(kept);
  }

  const std::string root_;  // canonical
  const ScanLimits limits_;
  TftpRootScan scan_;
  std::set<std::pair<dev_t, ino_t>> active_;  // folders being walked: loops
  size_t examined_ = 0;
  bool entries_exhausted_ = false;  // folders read from now on are read as empty
  bool stopped_ = false;            // the file limit: nothing more is added
};

}  // namespace

absl::StatusOr<TftpRootScan> ScanTftpRoot(const std::string& root, bool case_insensitive,
                                          const ScanLimits& limits) {
  auto fail = [&root](int error) {
    return absl::ErrnoToStatus(error, absl::StrCat("'", Escaped(root), "' cannot be read"));
  };
  if (root.empty()) return absl::InvalidArgumentError("no TFTP root given");
  char resolved[PATH_MAX];
  if (realpath(root.c_str(), resolved) == nullptr) return fail(errno);
  int fd = open(resolved, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int error = errno;
    close(fd);
    return fail(error);
  }
  Dir dir(fdopendir(fd));
  if (!dir) {
    int error = errno;
    close(fd);
    return fail(error);
  }
  Scanner scanner(resolved, limits);
  scanner.Enter(st.st_dev, st.st_ino);
  scanner.Walk(dir.get(), resolved, "", 0);
  return std::move(scanner).Finish(case_insensitive);
}

}  // namespace stampede::catalog
