// libFuzzer target: the control plane's reader of the dataplane's status
// region (event rings, HTTP and per-lcore counters) over a region the fuzzer
// has scribbled on. The input is a list of patches applied to a valid region
// holding a few events on every ring: [u16 offset][u8 length][length
// bytes]..., the offset's top three bits choosing an 8 KiB window: 0 the
// region's start (header, ring 0's indexes, its first records), 1 ring 1's
// start, 2 ring 2's (HTTP), 3 the counters (HTTP, DHCP, then the lcores'),
// 4 and 5 the workers' TFTP rings, 6 and 7 the start again. The reader must
// never read outside the region nor trust an index or length it finds
// there; the writer, pushing after the scribbles, must stay inside it.
// What control makes of the events (stampede boots' log) takes them all.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "control/daemon/boot_log.h"
#include "dataplane/policy/status_region.h"
#include "stampede/v1/event.pb.h"

namespace {

using stampede::policy::EventRing;
using stampede::policy::kEventRings;
using stampede::policy::kRingBytes;
using stampede::policy::StatusHeader;
using stampede::policy::StatusReader;
using stampede::policy::StatusRegionSize;
using stampede::policy::StatusWriter;

constexpr uint32_t kLcores = 2;
constexpr size_t kWindowBits = 13;

constexpr EventRing kRings[] = {EventRing::kService, EventRing::kDhcp, EventRing::kHttp};

size_t WindowBase(size_t window) {
  if (window < kEventRings) return sizeof(StatusHeader) + window * kRingBytes;
  size_t rings_end = StatusRegionSize(kLcores) - kLcores * kRingBytes;
  if (window == 3) return sizeof(StatusHeader) + kEventRings * kRingBytes;  // counters
  if (window < 4 + kLcores) return rings_end + (window - 4) * kRingBytes;   // TFTP rings
  return 0;
}

void Push(StatusWriter& writer, const stampede::v1::Event& event, EventRing ring) {
  std::string bytes = event.SerializeAsString();
  writer.Push({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, ring);
}

// A few events of each producer's kind, as the dataplane writes them.
void Fill(StatusWriter& writer) {
  for (uint64_t generation : {1, 2, 3}) {
    stampede::v1::Event event;
    event.set_time_ns(generation * 1000);
    event.mutable_policy_applied()->set_generation(generation);
    Push(writer, event, EventRing::kService);
    stampede::v1::Event lease;
    lease.set_time_ns(generation * 1000);
    lease.mutable_lease()->set_change(stampede::v1::Lease::GRANTED);
    lease.mutable_lease()->set_address(0xc6120064 + static_cast<uint32_t>(generation));
    lease.mutable_lease()->set_client_id(std::string("\x01\x02\x00\x5e\x00\x00\x07", 7));
    Push(writer, lease, EventRing::kDhcp);
    // proxyDHCP's steps for another client, the address the HTTP client's.
    stampede::v1::Event proxy;
    proxy.set_time_ns(generation * 1000);
    proxy.mutable_proxy_boot()->set_step(static_cast<stampede::v1::ProxyBoot::Step>(generation));
    proxy.mutable_proxy_boot()->set_address(generation == 1 ? 0 : 0xc6120002);
    proxy.mutable_proxy_boot()->set_client_id(std::string("\x01\x02\x00\x5e\x00\x00\x08", 7));
    proxy.mutable_proxy_boot()->set_client_arch(7);
    Push(writer, proxy, EventRing::kDhcp);
    stampede::v1::Event transfer;
    transfer.set_time_ns(generation * 1000);
    stampede::v1::HttpTransfer* t = transfer.mutable_http_transfer();
    t->set_client_address(0xc6120002);
    t->set_client_port(40000 + static_cast<uint32_t>(generation));
    t->set_method("GET");
    t->set_path("/images/live.iso");
    t->set_status(206);
    t->set_bytes(1 << 20);
    t->set_length(1 << 20);
    t->set_range(true);
    t->set_range_last((1 << 20) - 1);
    t->set_outcome(stampede::v1::HttpTransfer::COMPLETED);
    Push(writer, transfer, EventRing::kHttp);
    stampede::v1::Event tftp;
    tftp.set_time_ns(generation * 1000);
    stampede::v1::TftpTransfer* x = tftp.mutable_tftp_transfer();
    x->set_client_address(0xc6120064 + static_cast<uint32_t>(generation));
    x->set_client_port(2000);
    x->set_file(generation == 2 ? "pxelinux.cfg/default" : "pxelinux.0");
    x->set_outcome(generation == 2 ? stampede::v1::TftpTransfer::REFUSED
                                   : stampede::v1::TftpTransfer::COMPLETED);
    x->set_bytes(70000);
    x->set_size(70000);
    std::string bytes = tftp.SerializeAsString();
    writer.PushTftp({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()},
                    static_cast<uint32_t>(generation % kLcores));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const size_t region_size = StatusRegionSize(kLcores);
  static auto* region = static_cast<std::byte*>(::operator new (region_size, std::align_val_t{64}));
  StatusWriter writer = StatusWriter::Over({region, region_size}, kLcores);
  Fill(writer);
  size_t at = 0;
  while (at + 3 <= size) {
    size_t offset = size_t{data[at]} | size_t{data[at + 1]} << 8;
    size_t length = data[at + 2];
    at += 3;
    length = std::min(length, size - at);
    offset = WindowBase(offset >> kWindowBits) + (offset & ((size_t{1} << kWindowBits) - 1));
    if (offset < region_size) {
      std::memcpy(region + offset, data + at, std::min(length, region_size - offset));
    }
    at += length;
  }
  absl::StatusOr<StatusReader> reader = StatusReader::Attach({region, region_size});
  if (!reader.ok()) return 0;
  reader->Snapshot();
  for (uint32_t lcore = 0; lcore <= reader->lcores(); ++lcore) reader->CounterValues(lcore);
  if (reader->HttpCounterValues().size() != stampede::policy::HttpCounterNames().size() ||
      reader->DhcpCounterValues().size() != stampede::policy::DhcpCounterNames().size()) {
    __builtin_trap();
  }
  stampede::control::BootLog boots(/*max_machines=*/8, /*max_steps=*/4);
  auto take = [&](const std::vector<std::vector<std::byte>>& events) {
    for (const std::vector<std::byte>& bytes : events) {
      if (bytes.size() > stampede::policy::kMaxEventBytes) __builtin_trap();
      stampede::v1::Event event;
      if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) continue;
      if (event.has_http_transfer()) {
        // What control makes of one: the fields it formats.
        const stampede::v1::HttpTransfer& t = event.http_transfer();
        if (t.path().size() > bytes.size() || t.method().size() > bytes.size()) __builtin_trap();
      }
      boots.Add(event);
    }
  };
  std::byte one[1] = {std::byte{0}};
  for (EventRing ring : kRings) {
    take(reader->PopEvents(64, ring));
    // The producer after the consumer moved the tail wherever the bytes said.
    writer.Push(one, ring);
  }
  for (uint32_t lcore = 0; lcore <= kLcores; ++lcore) {
    take(reader->PopTftpEvents(64, lcore));
    writer.PushTftp(one, lcore);
  }
  if (!reader->PopEvents(1, static_cast<EventRing>(kEventRings)).empty()) __builtin_trap();
  if (boots.size() > 8) __builtin_trap();
  for (const stampede::control::BootMachine* m : boots.Machines()) {
    if (m->steps.size() > 4) __builtin_trap();
    stampede::control::BootMachineJson(*m, "", true);
  }
  return 0;
}
