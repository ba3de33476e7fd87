// libFuzzer target: arbitrary bytes as a shared-memory policy region, and as
// the serialized BootPolicy inside a slot. The reader and the dataplane's
// policy checks must refuse anything malformed without reading outside it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "dataplane/policy/reader.h"
#include "dataplane/policy/tables.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The region is a mapping: page-aligned. Copy into an aligned buffer of the
  // exact size so ASan catches any read past it.
  auto* region = static_cast<std::byte*>(::operator new (size + 1, std::align_val_t{64}));
  std::memcpy(region, data, size);
  for (uint64_t last : {uint64_t{0}, uint64_t{1}}) {
    absl::StatusOr<stampede::policy::ReadResult> read =
        stampede::policy::ReadRegion({region, size}, last);
    if (read.ok() && read->payload.size() > size) __builtin_trap();
    if (read.ok() && read->outcome == stampede::policy::ReadOutcome::kNew) {
      (void)stampede::policy::BuildTables(read->payload, read->generation);
    }
  }
  (void)stampede::policy::BuildTables({region, size}, 1);
  ::operator delete (region, std::align_val_t{64});
  return 0;
}
