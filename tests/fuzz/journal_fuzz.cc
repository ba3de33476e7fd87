// libFuzzer target: arbitrary bytes as a lease journal. Replay must stop at
// the first bad record (or at zeros written ahead) without reading past the
// input, and restoring what it accepted must leave a consistent table.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "dataplane/dhcp/journal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  stampede::dhcp::ReplayResult r = stampede::dhcp::Replay(file);
  if (r.header_ok) {
    // Either every byte is accounted for (records, then a skipped tail), or
    // the records end in zeros written ahead: a clean end, nothing skipped.
    bool zero_tail = r.tail_reason.empty() && std::all_of(data + r.valid_bytes, data + size,
                                                          [](uint8_t b) { return b == 0; });
    if (r.valid_bytes + r.skipped_bytes != size && !zero_tail) __builtin_trap();
    if (zero_tail && r.skipped_bytes != 0) __builtin_trap();
  }
  stampede::dhcp::LeaseTable table;
  stampede::dhcp::Restore(r.records, 1000, table);
  for (const auto& record : stampede::dhcp::Snapshot(table, 1000)) {
    if (table.ByAddress(record.address) == nullptr) __builtin_trap();
  }
  return 0;
}
