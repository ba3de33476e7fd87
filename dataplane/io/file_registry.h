// The files the dataplane serves bytes from, opened once by the service
// thread when a policy that names them arrives, and known to the workers by a
// small id (the io_uring fixed-file slot and the block cache's key). An id
// stands for one version of a file (device, inode, mtime): a file replaced on
// disk gets a new id, so the cache never mixes old and new bytes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "stampede/v1/policy.pb.h"

namespace stampede::io {

class FileRegistry {
 public:
  // Every id is an io_uring fixed-file slot in each worker's ring.
  static constexpr uint32_t kMaxFiles = 65536;
  static constexpr uint32_t kNoFile = UINT32_MAX;

  FileRegistry();
  ~FileRegistry();
  FileRegistry(const FileRegistry&) = delete;
  FileRegistry& operator=(const FileRegistry&) = delete;

  // Service thread: the id of `file`'s source if it is still the file that
  // was catalogued (same device, inode and mtime), opening it the first
  // time; kNoFile (and why) if it is gone, changed or the registry is full.
  // A generated file (content, no source) is put in a sealed memfd once per
  // distinct content.
  uint32_t Open(const v1::CatalogFile& file, std::string& why);

  // Workers: valid for an id they got through a published policy (the
  // policy pointer's release/acquire orders these stores before it).
  int fd(uint32_t id) const { return entries_[id].fd; }
  uint64_t size(uint32_t id) const { return entries_[id].size; }
  uint32_t count() const { return count_.load(std::memory_order_acquire); }

 private:
  struct Entry {
    int fd = -1;
    uint64_t size = 0;
  };
  struct Identity {
    uint64_t device;
    uint64_t inode;
    int64_t mtime_ns;
    bool operator==(const Identity&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Identity& i) {
      return H::combine(std::move(h), i.device, i.inode, i.mtime_ns);
    }
  };

  bool HasRoom(std::string& why) const;
  uint32_t Add(const Identity& identity, int fd, uint64_t size);
  uint32_t OpenGenerated(const v1::CatalogFile& file, std::string& why);

  std::unique_ptr<Entry[]> entries_;
  std::atomic<uint32_t> count_{0};
  absl::flat_hash_map<Identity, uint32_t> ids_;  // service thread only
};

}  // namespace stampede::io
