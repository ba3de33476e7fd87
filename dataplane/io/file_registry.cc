#include "dataplane/io/file_registry.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "dataplane/policy/tables.h"

namespace stampede::io {

FileRegistry::FileRegistry() : entries_(std::make_unique<Entry[]>(kMaxFiles)) {}

FileRegistry::~FileRegistry() {
  uint32_t n = count_.load();
  for (uint32_t i = 0; i < n; ++i) {
    if (entries_[i].fd >= 0) close(entries_[i].fd);
  }
}

uint32_t FileRegistry::Open(const v1::CatalogFile& file, std::string& why) {
  Identity identity{file.device(), file.inode(), file.mtime_ns()};
  if (auto it = ids_.find(identity); it != ids_.end()) return it->second;
  uint32_t id = count_.load(std::memory_order_relaxed);
  if (id == kMaxFiles) {
    why = absl::StrCat("more than ", kMaxFiles, " distinct files served since start");
    return kNoFile;
  }
  int fd = open(file.source().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    why = absl::StrCat("open ", file.source(), ": ", strerror(errno));
    return kNoFile;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    why = absl::StrCat(file.source(), " is not a regular file");
    close(fd);
    return kNoFile;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (!policy::SameFileIdentity(st, file) || file.offset() > size ||
      file.length() > size - file.offset()) {
    why = absl::StrCat(file.source(), " changed since it was catalogued");
    close(fd);
    return kNoFile;
  }
  entries_[id] = {fd, size};
  ids_.emplace(identity, id);
  count_.store(id + 1, std::memory_order_release);
  return id;
}

}  // namespace stampede::io
