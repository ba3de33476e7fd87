// Encodes a stampede.v1.Event carrying a TftpTransfer by hand, into a
// caller's buffer: a worker reports every TFTP request it ends and must not
// allocate for it. The unit test parses the result with protobuf, so the
// two stay the same wire format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace stampede::tftp {

// How a request ended (stampede.v1.TftpTransfer.Outcome's numbers).
enum class TransferOutcome : uint8_t {
  kCompleted = 1,
  kRefused = 2,
  kAborted = 3,
  kTimedOut = 4,
  kReadError = 5,
  kUnanswered = 6,
};

// The file and the error message go in escaped as the access log writes
// text (net::EscapeLogged; the message keeps its spaces), cut to these many
// bytes.
inline constexpr size_t kMaxTransferFileBytes = 256;
inline constexpr size_t kMaxTransferDetailBytes = 64;

struct TransferReport {
  uint64_t time_ns = 0;         // Unix epoch
  uint32_t client_address = 0;  // IPv4, host order
  uint16_t client_port = 0;
  std::string_view file;  // raw, as requested
  TransferOutcome outcome = TransferOutcome::kCompleted;
  uint16_t error_code = 0;
  std::string_view detail;  // the ERROR's message
  uint64_t bytes = 0;       // acknowledged
  uint64_t size = 0;
  uint64_t duration_us = 0;
  uint32_t block_size = 0;
  uint32_t window_size = 0;
  uint32_t retransmits = 0;
};

// Event tag + length, time, and every TftpTransfer field at its largest.
inline constexpr size_t kMaxTftpTransferEventBytes = 11 + 3 + 5 + 4 + (3 + kMaxTransferFileBytes) +
                                                     2 + 2 + 4 + (2 + kMaxTransferDetailBytes) +
                                                     2 * 11 + 11 + 3 * 6;

// Returns the encoded size.
size_t EncodeTftpTransferEvent(const TransferReport& report,
                               std::span<std::byte, kMaxTftpTransferEventBytes> out);

}  // namespace stampede::tftp
