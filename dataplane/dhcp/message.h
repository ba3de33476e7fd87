// DHCPv4 messages (RFC 2131 §2, options RFC 2132) as plain values over byte
// spans: parsing a request (with option overload, RFC 2131 §4.1 / RFC 2132
// §9.3, and long options split over several instances, RFC 3396) and
// building a reply (options in the order the client asked for, long values
// split, within the client's maximum message size). No allocation: a
// parsed message keeps its concatenated option values in its own buffer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

#include "dataplane/dhcp/options.h"
#include "dataplane/net/address.h"
#include "dataplane/net/bytes.h"

namespace stampede::dhcp {

// RFC 2131 §2: op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr,
// siaddr, giaddr, chaddr[16], sname[64], file[128].
inline constexpr size_t kFixedSize = 236;
inline constexpr size_t kSnameOffset = 44;
inline constexpr size_t kSnameSize = 64;
inline constexpr size_t kFileOffset = 108;
inline constexpr size_t kFileSize = 128;
inline constexpr uint32_t kMagicCookie = 0x63825363;  // RFC 2131 §3
inline constexpr size_t kOptionsOffset = kFixedSize + 4;
// RFC 2131 §2: clients must accept 576-byte IP datagrams, i.e. 548 bytes of
// DHCP message; RFC 2132 §9.10: option 57 may not ask for less than 576.
inline constexpr size_t kMinMaxMessageSize = 576;
inline constexpr size_t kDefaultReplyLimit = 576 - 20 - 8;
// BOOTP clients (RFC 1542 §2.1) expect at least 300 bytes.
inline constexpr size_t kMinReplySize = 300;
inline constexpr uint16_t kBroadcastFlag = 0x8000;
inline constexpr uint8_t kBootRequest = 1;
inline constexpr uint8_t kBootReply = 2;

enum class MessageType : uint8_t {
  kNone = 0,  // BOOTP, or option 53 missing
  kDiscover = 1,
  kOffer = 2,
  kRequest = 3,
  kDecline = 4,
  kAck = 5,
  kNak = 6,
  kRelease = 7,
  kInform = 8,
};

// Why a request was not accepted; counted by the server.
enum class ParseError : uint8_t {
  kNone,
  kTruncated,     // shorter than the fixed header + cookie
  kNotRequest,    // op is not BOOTREQUEST
  kBadHardware,   // hlen over 16
  kBadCookie,     // no DHCP magic cookie
  kBadOption,     // an option runs past its field, or no room for its value
  kBadOverload,   // option 52 with a bad value
  kTooManyBytes,  // concatenated option values overflow the parse buffer
};

std::string_view ParseErrorName(ParseError error);

// A parsed request. Option values are views into `values_`.
class Message {
 public:
  uint8_t op = 0;
  uint8_t htype = 0;
  uint8_t hlen = 0;
  uint8_t hops = 0;
  uint32_t xid = 0;
  uint16_t secs = 0;
  uint16_t flags = 0;
  net::Ipv4Address ciaddr, yiaddr, siaddr, giaddr;
  std::array<uint8_t, 16> chaddr{};

  // The value of option `code` (all its instances concatenated), if present.
  // These are inline: the server asks a dozen of them per request.
  std::optional<std::span<const std::byte>> Option(uint8_t code) const {
    if (length_[code] == kAbsent) return std::nullopt;
    return std::span<const std::byte>(values_.data() + offset_[code], length_[code]);
  }
  bool Has(uint8_t code) const { return length_[code] != kAbsent; }
  MessageType Type() const {
    if (length_[option::kMessageType] != 1) return MessageType::kNone;
    uint8_t type = static_cast<uint8_t>(values_[offset_[option::kMessageType]]);
    return type >= 1 && type <= 8 ? static_cast<MessageType>(type) : MessageType::kNone;
  }
  std::optional<net::Ipv4Address> Address(uint8_t code) const {
    if (length_[code] != 4) return std::nullopt;
    return net::Ipv4Address{net::Load32(values_, offset_[code])};
  }
  std::optional<uint16_t> U16(uint8_t code) const {
    if (length_[code] != 2) return std::nullopt;
    return net::Load16(values_, offset_[code]);
  }
  std::optional<uint32_t> U32(uint8_t code) const {
    if (length_[code] != 4) return std::nullopt;
    return net::Load32(values_, offset_[code]);
  }
  net::MacAddress Mac() const;  // chaddr's first 6 bytes (Ethernet)
  bool Broadcast() const { return (flags & kBroadcastFlag) != 0; }

  // Internal to Parse: forgets every field and option (in the number of
  // options present), without clearing the value buffer.
  void Reset();
  bool Append(uint8_t code, std::span<const std::byte> value);

 private:
  static constexpr uint16_t kAbsent = 0xffff;
  // Options of a 1500-byte frame fit in less; RFC 3396 concatenation only
  // joins what the frame carried.
  static constexpr size_t kValueBytes = 2048;
  std::array<uint16_t, 256> offset_{};
  std::array<uint16_t, 256> length_ = MakeAbsent();
  std::array<std::byte, kValueBytes> values_{};
  size_t used_ = 0;
  // The codes present, so Reset forgets them without touching all 256.
  std::array<uint8_t, 256> present_{};
  size_t present_count_ = 0;
  // Where the latest instance of each code ends, to append to it.
  static std::array<uint16_t, 256> MakeAbsent() {
    std::array<uint16_t, 256> a;
    a.fill(kAbsent);
    return a;
  }
};

struct ParseResult {
  ParseError error = ParseError::kNone;
  bool ok() const { return error == ParseError::kNone; }
};

// Parses a DHCP request (the UDP payload) into `out`.
ParseResult Parse(net::ConstByteSpan payload, Message& out);

// Builds a reply into a buffer. Fixed fields first (Begin), then options in
// the order given; Finish() writes the END option and pads to kMinReplySize.
class ReplyBuilder {
 public:
  // `buffer` receives the reply; `limit` is the most the client takes
  // (option 57 minus IP/UDP headers, at least kDefaultReplyLimit).
  ReplyBuilder(net::ByteSpan buffer, size_t limit);

  void Begin(const Message& request, MessageType type);
  void SetYiaddr(net::Ipv4Address a) { net::Store32(buffer_, 16, a.value); }
  void SetSiaddr(net::Ipv4Address a) { net::Store32(buffer_, 20, a.value); }
  // Writes the `file` (boot file name) and `sname` fields, NUL-padded;
  // false when too long for the field.
  bool SetFile(std::string_view file);
  bool SetSname(std::string_view sname);

  // Appends an option; values over 255 bytes are split into several
  // instances (RFC 3396). False (and nothing written) when it would not fit.
  // Inline for the common case (one instance that fits): a reply adds a
  // dozen options.
  bool Add(uint8_t code, std::span<const std::byte> value) {
    // Code, length, value, and one byte kept for END.
    if (value.size() > 255 || at_ + 2 + value.size() + 1 > limit_)
      return AddSplitOrDrop(code, value);
    net::Store8(buffer_, at_, code);
    net::Store8(buffer_, at_ + 1, static_cast<uint8_t>(value.size()));
    if (!value.empty()) std::memcpy(buffer_.data() + at_ + 2, value.data(), value.size());
    at_ += 2 + value.size();
    return true;
  }
  bool AddU8(uint8_t code, uint8_t value) {
    std::byte b[1] = {std::byte{value}};
    return Add(code, b);
  }
  bool AddU16(uint8_t code, uint16_t value) {
    std::byte b[2];
    net::Store16(b, 0, value);
    return Add(code, b);
  }
  bool AddU32(uint8_t code, uint32_t value) {
    std::byte b[4];
    net::Store32(b, 0, value);
    return Add(code, b);
  }
  bool AddAddress(uint8_t code, net::Ipv4Address value) { return AddU32(code, value.value); }
  bool AddText(uint8_t code, std::string_view text) {
    return Add(code, {reinterpret_cast<const std::byte*>(text.data()), text.size()});
  }

  // Ends the options; returns the reply's length.
  size_t Finish();
  // Options dropped because they did not fit.
  uint32_t dropped() const { return dropped_; }

 private:
  // Add's other cases: a value split over instances, or one that does not fit.
  bool AddSplitOrDrop(uint8_t code, std::span<const std::byte> value);

  net::ByteSpan buffer_;
  size_t limit_;
  size_t at_ = kOptionsOffset;
  uint32_t dropped_ = 0;
};

// The most a reply to `request` may be: option 57 (minus IPv4 and UDP
// headers) when given and sane, else kDefaultReplyLimit; never above
// `mtu_payload` (what fits one frame without fragments).
size_t ReplyLimit(const Message& request, size_t mtu_payload);

}  // namespace stampede::dhcp
