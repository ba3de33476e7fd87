// libFuzzer target: arbitrary bytes as a shared-memory policy region. The
// reader must refuse anything malformed without reading outside the region.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "dataplane/policy/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The region is a mapping: page-aligned. Copy into an aligned buffer of the
  // exact size so ASan catches any read past it.
  auto* region = static_cast<std::byte*>(::operator new (size + 1, std::align_val_t{64}));
  std::memcpy(region, data, size);
  for (uint64_t last : {uint64_t{0}, uint64_t{1}}) {
    absl::StatusOr<stampede::policy::ReadResult> read =
        stampede::policy::ReadRegion({region, size}, last);
    if (read.ok() && read->payload.size() > size) __builtin_trap();
  }
  ::operator delete (region, std::align_val_t{64});
  return 0;
}
