// libFuzzer target: arbitrary datagrams as TFTP requests and ACKs. Parsing,
// option negotiation, OACK building and path normalisation must stay in
// bounds, and a normalised path never climbs out of the root.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dataplane/tftp/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> datagram(reinterpret_cast<const std::byte*>(data), size);
  stampede::tftp::ParseAck(datagram);
  stampede::tftp::ParsedRequest r = stampede::tftp::ParseRequest(datagram);
  if (!r.ok()) return 0;
  stampede::tftp::Negotiated n = stampede::tftp::Negotiate(r.request.options, {1468, 16});
  std::byte oack[128];
  if (!n.refuse && stampede::tftp::BuildOack(n, UINT64_MAX, oack) > sizeof(oack)) __builtin_trap();
  if (auto path = stampede::tftp::NormalisePath(r.request.path)) {
    // Relative, slash-separated, no empty, "." or ".." component.
    if (path->empty() || path->find('\\') != std::string::npos) __builtin_trap();
    size_t start = 0;
    while (start <= path->size()) {
      size_t end = path->find('/', start);
      if (end == std::string::npos) end = path->size();
      std::string part = path->substr(start, end - start);
      if (part.empty() || part == "." || part == "..") __builtin_trap();
      start = end + 1;
    }
  }
  return 0;
}
