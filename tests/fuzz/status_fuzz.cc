// libFuzzer target: the control plane's reader of the dataplane's status
// region (event ring, counters) over a region the fuzzer has scribbled on.
// The input is a list of patches applied to a valid region holding a few
// events: [u16 offset][u8 length][length bytes]..., offsets into the first
// 64 KiB (header, ring indexes, the first records). The reader must never
// read outside the region nor trust an index or length it finds there.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "dataplane/policy/status_region.h"
#include "stampede/v1/event.pb.h"

namespace {

using stampede::policy::StatusReader;
using stampede::policy::StatusRegionSize;
using stampede::policy::StatusWriter;

constexpr uint32_t kLcores = 2;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const size_t region_size = StatusRegionSize(kLcores);
  static auto* region = static_cast<std::byte*>(::operator new (region_size, std::align_val_t{64}));
  StatusWriter writer = StatusWriter::Over({region, region_size}, kLcores);
  for (uint64_t generation : {1, 2, 3}) {
    stampede::v1::Event event;
    event.set_time_ns(generation * 1000);
    event.mutable_policy_applied()->set_generation(generation);
    std::string bytes = event.SerializeAsString();
    writer.Push({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()});
  }
  size_t at = 0;
  while (at + 3 <= size) {
    size_t offset = size_t{data[at]} | size_t{data[at + 1]} << 8;
    size_t length = data[at + 2];
    at += 3;
    length = std::min({length, size - at, region_size - offset});
    std::memcpy(region + offset, data + at, length);
    at += length;
  }
  absl::StatusOr<StatusReader> reader = StatusReader::Attach({region, region_size});
  if (!reader.ok()) return 0;
  reader->Snapshot();
  for (uint32_t lcore = 0; lcore <= reader->lcores(); ++lcore) reader->CounterValues(lcore);
  for (const std::vector<std::byte>& bytes : reader->PopEvents(64)) {
    if (bytes.size() > stampede::policy::kMaxEventBytes) __builtin_trap();
    stampede::v1::Event event;
    event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  }
  return 0;
}
