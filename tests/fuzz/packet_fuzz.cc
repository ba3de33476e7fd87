// libFuzzer target: arbitrary bytes as a received frame, through the parser and
// the responder (which rewrites replies in place; router solicitations
// answered).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "dataplane/net/local_addresses.h"
#include "dataplane/net/ndp.h"
#include "dataplane/net/neighbour_table.h"
#include "dataplane/net/packet.h"
#include "dataplane/net/responder.h"

namespace {

using namespace stampede::net;

// What an mbuf of the dataplane's pool has after a short frame, at least.
constexpr size_t kRoom = 128;

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

  // The frame with room after it, as an mbuf has: a router advertisement is
  // longer than the solicitation it answers.
  std::vector<std::byte> buffer(bytes, bytes + size);
  buffer.resize(size + kRoom);
  Responder responder(appliance->local, appliance->neighbours);
  responder.SetRouterAdvertisements(true);
  Decision decision = responder.Handle(buffer, size, size);
  if (decision.verdict == Verdict::kTransmit) {
    // A reply we built must itself be a valid frame, of the request's length
    // unless it is a router advertisement, and within the room.
    if (decision.length > buffer.size()) std::abort();
    ParseResult reply = ParsePacket(ConstByteSpan(buffer).first(decision.length));
    if (!reply.ok) std::abort();
    bool advertisement = decision.answer == Answer::kRouterAdvertisement;
    if (!advertisement && decision.length != size) std::abort();
    if (advertisement && (reply.packet.l4 != L4Kind::kIcmpv6 ||
                          reply.packet.icmp.type != kIcmpv6RouterAdvertisement)) {
      std::abort();
    }
  }
  if (decision.verdict != Verdict::kDrop && !parsed.ok) std::abort();
  return 0;
}
