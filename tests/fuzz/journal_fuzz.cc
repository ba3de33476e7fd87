// libFuzzer target: arbitrary bytes as a lease journal. Replay must stop at
// the first bad record without reading past the input, and restoring what
// it accepted must leave a consistent table.
#include <cstddef>
#include <cstdint>

#include "dataplane/dhcp/journal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  stampede::dhcp::ReplayResult r = stampede::dhcp::Replay(file);
  if (r.valid_bytes + r.skipped_bytes != size && r.header_ok) __builtin_trap();
  stampede::dhcp::LeaseTable table;
  stampede::dhcp::Restore(r.records, 1000, table);
  for (const auto& record : stampede::dhcp::Snapshot(table, 1000)) {
    if (table.ByAddress(record.address) == nullptr) __builtin_trap();
  }
  return 0;
}
