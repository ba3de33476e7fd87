// TFTP messages (RFC 1350) with option negotiation (RFC 2347: blksize RFC
// 2348, timeout and tsize RFC 2349, windowsize RFC 7440) and request path
// normalisation, as plain values over byte spans: the TFTP sessions of the
// dataplane are built on these; nothing here touches DPDK.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace stampede::tftp {

enum class Opcode : uint16_t {
  kRrq = 1,
  kWrq = 2,
  kData = 3,
  kAck = 4,
  kError = 5,
  kOack = 6,  // RFC 2347
};

// RFC 1350 §5 error codes (8: RFC 2347 option negotiation refused).
enum class ErrorCode : uint16_t {
  kUndefined = 0,
  kFileNotFound = 1,
  kAccessViolation = 2,
  kDiskFull = 3,
  kIllegalOperation = 4,
  kUnknownTransferId = 5,
  kFileExists = 6,
  kNoSuchUser = 7,
  kOptionRefused = 8,
};

inline constexpr uint16_t kDefaultBlksize = 512;  // RFC 1350
inline constexpr uint16_t kMinBlksize = 8;        // RFC 2348
inline constexpr uint16_t kMaxBlksize = 65464;    // RFC 2348
inline constexpr uint8_t kMinTimeout = 1;         // RFC 2349, seconds
inline constexpr uint8_t kMaxTimeout = 255;
inline constexpr uint16_t kMaxWindowsize = 65535;  // RFC 7440
// A request is one datagram: a name and a handful of options.
inline constexpr size_t kMaxRequestSize = 512;
inline constexpr size_t kMaxPathLength = 255;

enum class Mode : uint8_t { kOctet, kNetascii };

// The options a client asked for, as it asked (validated for syntax only).
struct RequestedOptions {
  std::optional<uint32_t> blksize;
  std::optional<uint32_t> timeout;
  std::optional<uint64_t> tsize;  // the client's value (0 in a RRQ: "tell me")
  std::optional<uint32_t> windowsize;
};

struct Request {
  Opcode opcode = Opcode::kRrq;
  std::string path;  // as sent
  Mode mode = Mode::kOctet;
  RequestedOptions options;
};

enum class RequestError : uint8_t {
  kNone,
  kTruncated,   // shorter than an opcode, or a field without its NUL
  kNotRequest,  // not RRQ or WRQ
  kBadMode,     // not octet/netascii (mail is obsolete, RFC 1350 §1)
  kBadOption,   // an option without a value, or a value that is not a number
  kTooLong,     // over kMaxRequestSize
};

struct ParsedRequest {
  RequestError error = RequestError::kNone;
  Request request;
  bool ok() const { return error == RequestError::kNone; }
};

// Parses a RRQ/WRQ datagram. Unknown options are ignored (RFC 2347);
// option names and modes are case-insensitive.
ParsedRequest ParseRequest(std::span<const std::byte> datagram);

// What the server grants, within its limits.
struct Limits {
  uint32_t max_blksize = kMaxBlksize;  // the path MTU minus headers, or the policy's
  uint32_t max_windowsize = 16;
};

struct Negotiated {
  uint32_t blksize = kDefaultBlksize;
  uint32_t timeout_s = 0;  // 0: the server's own (adaptive) timer
  uint32_t windowsize = 1;
  // Which options the OACK acknowledges (those asked for and accepted).
  bool ack_blksize = false;
  bool ack_timeout = false;
  bool ack_windowsize = false;
  bool send_tsize = false;
  bool any = false;                 // an OACK is due
  std::optional<ErrorCode> refuse;  // error 8: a value out of its RFC range
};

// RFC 2347 §3: the server answers each option it accepts, with a value no
// larger than asked (blksize, windowsize clamped to `limits`); tsize answers
// the file size. An out-of-range value refuses the transfer with error 8.
Negotiated Negotiate(const RequestedOptions& asked, const Limits& limits);

// Writes an OACK for `n` (tsize = `file_size`) into `out`; returns its size.
size_t BuildOack(const Negotiated& n, uint64_t file_size, std::span<std::byte> out);
// Writes an ERROR packet; `out` holds at least 5 + message size bytes.
size_t BuildError(ErrorCode code, std::string_view message, std::span<std::byte> out);
// Writes a DATA header (4 bytes) for `block`.
void BuildDataHeader(uint16_t block, std::span<std::byte> out);

// An ACK's block number, or nullopt if `datagram` is not an ACK.
std::optional<uint16_t> ParseAck(std::span<const std::byte> datagram);

// An ERROR's code and message (a view into `datagram`, up to its NUL or its
// end: a missing NUL is forgiven), or nullopt if it is not an ERROR.
struct ErrorMessage {
  ErrorCode code = ErrorCode::kUndefined;
  std::string_view message;
};
std::optional<ErrorMessage> ParseError(std::span<const std::byte> datagram);

// RFC 1350 netascii (RFC 764's NVT ASCII): a newline becomes CR LF, a bare
// CR becomes CR NUL. Replaces `out`.
void ToNetascii(std::span<const std::byte> in, std::vector<std::byte>& out);

// Normalises a requested path: backslashes become slashes, leading slashes
// and "." components go, repeated slashes collapse. Refuses (nullopt) "..",
// NUL or control characters, and empty or over-long names: the file must
// stay inside the TFTP root.
std::optional<std::string> NormalisePath(std::string_view path);

}  // namespace stampede::tftp
