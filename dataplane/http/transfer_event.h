// Encodes a stampede.v1.Event carrying an HttpTransfer by hand, into a
// caller's buffer: the HTTP thread reports every response it finishes and
// must not allocate for it (a protobuf message would). The unit test parses
// the result with protobuf, so the two stay the same wire format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dataplane/net/proto_wire.h"

namespace stampede::http {

// How a response ended (stampede.v1.HttpTransfer.Outcome's numbers).
enum class TransferOutcome : uint8_t {
  kCompleted = 1,
  kAborted = 2,
  kTimedOut = 3,
  kReadError = 4,
};

// The method and target go into the event as the access log writes them:
// bytes outside printable ASCII, '"' and '\' percent-encoded (so the
// event's strings are always valid UTF-8), cut to these many bytes.
inline constexpr size_t kMaxTransferMethodBytes = 32;
inline constexpr size_t kMaxTransferPathBytes = 256;

struct TransferReport {
  uint64_t time_ns = 0;         // Unix epoch
  uint32_t client_address = 0;  // IPv4, host order
  uint16_t client_port = 0;
  std::string_view method;  // raw, as received
  std::string_view target;  // raw, as received
  uint32_t status = 0;
  uint64_t bytes = 0;   // body bytes sent
  uint64_t length = 0;  // body bytes planned
  uint64_t duration_us = 0;
  bool range = false;
  uint64_t range_first = 0;
  uint64_t range_last = 0;
  TransferOutcome outcome = TransferOutcome::kCompleted;
  uint32_t error = 0;  // errno, 0 if none
};

// Event tag + length, time, and every HttpTransfer field at its largest.
inline constexpr size_t kMaxHttpTransferEventBytes =
    11 + 3 + 5 + 4 + (2 + kMaxTransferMethodBytes) + (3 + kMaxTransferPathBytes) + 2 + 6 + 3 * 11 +
    2 + 2 * 11 + 2 + 6;

// Returns the encoded size.
size_t EncodeHttpTransferEvent(const TransferReport& report,
                               std::span<std::byte, kMaxHttpTransferEventBytes> out);

using net::EscapeLogged;

}  // namespace stampede::http
