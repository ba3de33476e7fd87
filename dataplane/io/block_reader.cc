#include "dataplane/io/block_reader.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace stampede::io {

absl::StatusOr<std::unique_ptr<BlockReader>> BlockReader::Create(BlockCache& cache,
                                                                 const FileRegistry& files,
                                                                 unsigned entries) {
  std::unique_ptr<BlockReader> reader(new BlockReader(cache, files, entries));
  int rc = io_uring_queue_init(entries, &reader->ring_, 0);
  if (rc < 0) {
    return absl::InternalError(absl::StrCat("io_uring_queue_init: ", strerror(-rc)));
  }
  reader->ring_ready_ = true;
  // Registered buffers spare the kernel pinning the cache's pages per read;
  // a ring that cannot register them (RLIMIT_MEMLOCK) still works.
  iovec region{cache.memory(), cache.bytes()};
  reader->registered_buffers_ =
      cache.bytes() > 0 && io_uring_register_buffers(&reader->ring_, &region, 1) == 0;
  reader->fixed_files_ =
      io_uring_register_files_sparse(&reader->ring_, FileRegistry::kMaxFiles) == 0;
  if (reader->fixed_files_) reader->file_registered_.assign(FileRegistry::kMaxFiles, 0);
  reader->expected_.assign(cache.slots(), 0);
  return reader;
}

BlockReader::~BlockReader() {
  if (!ring_ready_) return;
  // Reads in flight write into the cache: wait for them (bounded by the disk).
  Submit();
  while (in_flight_ > 0) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe(&ring_, &cqe) != 0) break;
    uint32_t slot = static_cast<uint32_t>(io_uring_cqe_get_data64(cqe));
    cache_.Complete(slot, -ECANCELED);
    io_uring_cqe_seen(&ring_, cqe);
    --in_flight_;
  }
  io_uring_queue_exit(&ring_);
}

void BlockReader::Queue(uint32_t id, uint64_t block, uint32_t slot) {
  uint64_t size = files_.size(id);
  uint64_t offset = block * kCacheBlockBytes;
  uint32_t length =
      offset >= size ? 0
                     : static_cast<uint32_t>(std::min<uint64_t>(kCacheBlockBytes, size - offset));
  io_uring_sqe* sqe = length == 0 ? nullptr : io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    cache_.Complete(slot, length == 0 ? 0 : -EAGAIN);
    return;
  }
  int file = files_.fd(id);
  bool fixed = false;
  if (fixed_files_) {
    if (file_registered_[id] == 0) {
      file_registered_[id] = io_uring_register_files_update(&ring_, id, &file, 1) == 1 ? 1 : 2;
    }
    if (file_registered_[id] == 1) {
      file = static_cast<int>(id);
      fixed = true;
    }
  }
  if (registered_buffers_) {
    io_uring_prep_read_fixed(sqe, file, cache_.data(slot), length, offset, 0);
  } else {
    io_uring_prep_read(sqe, file, cache_.data(slot), length, offset);
  }
  if (fixed) sqe->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(sqe, slot);
  expected_[slot] = length;
  ++queued_;
  ++reads_;
}

void BlockReader::Submit() {
  if (queued_ == 0) return;
  int rc = io_uring_submit(&ring_);
  if (rc > 0) {
    in_flight_ += static_cast<unsigned>(rc);
    queued_ -= std::min(queued_, static_cast<unsigned>(rc));
  }
}

uint32_t BlockReader::Reap() {
  if (in_flight_ == 0) return 0;
  io_uring_cqe* cqes[64];
  unsigned count = io_uring_peek_batch_cqe(&ring_, cqes, 64);
  for (unsigned i = 0; i < count; ++i) {
    uint32_t slot = static_cast<uint32_t>(io_uring_cqe_get_data64(cqes[i]));
    int32_t result = cqes[i]->res;
    // A regular file never reads short inside its size: treat it as an error.
    if (result >= 0 && static_cast<uint32_t>(result) != expected_[slot]) result = -EIO;
    if (result < 0) ++read_errors_;
    cache_.Complete(slot, result);
  }
  io_uring_cq_advance(&ring_, count);
  in_flight_ -= count;
  return count;
}

}  // namespace stampede::io
