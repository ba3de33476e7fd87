// libFuzzer target: arbitrary datagrams as TFTP requests and ACKs, and as a
// sequence of ACKs and timeouts driving a session. Parsing, option
// negotiation, OACK building and path normalisation must stay in bounds, a
// normalised path never climbs out of the root, and a session never sends
// outside its file or window.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dataplane/tftp/message.h"
#include "dataplane/tftp/session.h"
#include "dataplane/tftp/transfer_event.h"

namespace {

// The same bytes drive a session: byte 0 picks window and rollover, byte 1
// the file size in blocks, then each 16-bit word is an ACK (0xffff: the
// timer fires). Every action must stay inside the file and the window.
void DriveSession(const uint8_t* data, size_t size) {
  if (size < 2) return;
  stampede::tftp::SessionConfig c;
  c.blksize = 512;
  c.windowsize = 1 + data[0] % 16;
  c.rollover_to = data[0] & 0x80 ? 1 : 0;
  c.oack = data[0] & 0x40;
  c.file_size = uint64_t{data[1]} * 300;
  stampede::tftp::Session s(c);
  uint64_t now = 0;
  auto check = [&](const stampede::tftp::SendAction& a) {
    if (a.oack || a.count == 0) return;
    if (a.first < 1 || a.first + a.count - 1 > s.blocks() || a.count > c.windowsize) {
      __builtin_trap();
    }
  };
  check(s.Start(now));
  for (size_t i = 2; i + 1 < size; i += 2) {
    uint16_t word = static_cast<uint16_t>(data[i] << 8 | data[i + 1]);
    now += 10;
    if (word == 0xffff) {
      if (auto again = s.OnTimeout(now)) check(*again);
    } else {
      uint64_t duplicates = s.duplicate_acks();
      stampede::tftp::SendAction a = s.OnAck(word, now);
      // RFC 1123 4.2.3.1: nothing is ever sent in answer to a duplicate ACK.
      if (s.duplicate_acks() != duplicates && !a.empty()) __builtin_trap();
      check(a);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  DriveSession(data, size);
  std::span<const std::byte> datagram(reinterpret_cast<const std::byte*>(data), size);
  stampede::tftp::ParseAck(datagram);
  // A client's ERROR ends its transfer, and its message goes into the
  // transfer's event, as a request's path does: the event stays in bounds.
  std::byte event[stampede::tftp::kMaxTftpTransferEventBytes];
  stampede::tftp::TransferReport report;
  report.outcome = stampede::tftp::TransferOutcome::kAborted;
  if (std::optional<stampede::tftp::ErrorMessage> error = stampede::tftp::ParseError(datagram)) {
    if (error->message.size() + 4 > size) __builtin_trap();
    report.detail = error->message;
    report.file = error->message;
    if (stampede::tftp::EncodeTftpTransferEvent(report, event) > sizeof(event)) __builtin_trap();
  }
  stampede::tftp::ParsedRequest r = stampede::tftp::ParseRequest(datagram);
  if (!r.ok()) return 0;
  report.file = r.request.path;
  if (stampede::tftp::EncodeTftpTransferEvent(report, event) > sizeof(event)) __builtin_trap();
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
