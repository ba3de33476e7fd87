// libFuzzer target: arbitrary bytes as a received frame, through the parser and
// the responder (which rewrites replies in place).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dataplane/net/local_addresses.h"
#include "dataplane/net/neighbour_table.h"
#include "dataplane/net/packet.h"
#include "dataplane/net/responder.h"

namespace {

using namespace stampede::net;

struct Appliance {
  Appliance() : local(MacAddress{{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}}), neighbours(1000) {
    local.AddIpv4({{0xc6120001}, 24});
  }
  LocalAddresses local;
  NeighbourTable neighbours;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Appliance* appliance = new Appliance();
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  ConstByteSpan input(bytes, size);
  ParseResult parsed = ParsePacket(input);
  if (parsed.ok) {
    const ParsedPacket& p = parsed.packet;
    // Everything the parser located lies inside the frame.
    if (p.l3_offset > size || p.l4_offset + p.l4_length > size) std::abort();
    if (p.l4 == L4Kind::kUdp && p.udp.payload_offset + p.udp.payload_length > size) std::abort();
  }

  std::vector<std::byte> frame(bytes, bytes + size);
  Responder responder(appliance->local, appliance->neighbours);
  Decision decision = responder.Handle(frame, size);
  if (decision.verdict == Verdict::kTransmit) {
    // A reply we built must itself be a valid frame of the same length.
    ParseResult reply = ParsePacket(frame);
    if (!reply.ok || frame.size() != size) std::abort();
  }
  if (decision.verdict != Verdict::kDrop && !parsed.ok) std::abort();
  return 0;
}
