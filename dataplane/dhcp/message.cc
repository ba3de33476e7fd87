#include "dataplane/dhcp/message.h"

#include <algorithm>
#include <cstring>

namespace stampede::dhcp {
namespace {

using net::ConstByteSpan;
using net::Load16;
using net::Load32;
using net::Load8;

ParseError ParseOptionField(ConstByteSpan field, Message& out) {
  size_t i = 0;
  while (i < field.size()) {
    uint8_t code = Load8(field, i);
    if (code == option::kPad) {
      ++i;
      continue;
    }
    if (code == option::kEnd) break;
    if (i + 2 > field.size()) return ParseError::kBadOption;
    size_t length = Load8(field, i + 1);
    if (i + 2 + length > field.size()) return ParseError::kBadOption;
    if (!out.Append(code, field.subspan(i + 2, length))) return ParseError::kTooManyBytes;
    i += 2 + length;
  }
  return ParseError::kNone;
}

}  // namespace

std::string_view ParseErrorName(ParseError error) {
  switch (error) {
    case ParseError::kNone:
      return "none";
    case ParseError::kTruncated:
      return "truncated";
    case ParseError::kNotRequest:
      return "not_request";
    case ParseError::kBadHardware:
      return "bad_hardware";
    case ParseError::kBadCookie:
      return "bad_cookie";
    case ParseError::kBadOption:
      return "bad_option";
    case ParseError::kBadOverload:
      return "bad_overload";
    case ParseError::kTooManyBytes:
      return "too_many_option_bytes";
  }
  return "unknown";
}

void Message::Reset() {
  op = htype = hlen = hops = 0;
  xid = 0;
  secs = flags = 0;
  ciaddr = yiaddr = siaddr = giaddr = {};
  chaddr.fill(0);
  for (size_t i = 0; i < present_count_; ++i) length_[present_[i]] = kAbsent;
  present_count_ = 0;
  used_ = 0;
}

bool Message::Append(uint8_t code, std::span<const std::byte> value) {
  if (length_[code] == kAbsent) {
    if (used_ + value.size() > kValueBytes) return false;
    offset_[code] = static_cast<uint16_t>(used_);
    length_[code] = static_cast<uint16_t>(value.size());
    present_[present_count_++] = code;
  } else {
    // RFC 3396: a later instance continues the value. Keep it contiguous:
    // move the value so far to the end unless it is already there.
    size_t old_length = length_[code];
    if (offset_[code] + old_length != used_) {
      if (used_ + old_length + value.size() > kValueBytes) return false;
      std::memmove(values_.data() + used_, values_.data() + offset_[code], old_length);
      offset_[code] = static_cast<uint16_t>(used_);
      used_ += old_length;
    } else if (used_ + value.size() > kValueBytes) {
      return false;
    }
    length_[code] = static_cast<uint16_t>(old_length + value.size());
  }
  if (!value.empty()) std::memcpy(values_.data() + used_, value.data(), value.size());
  used_ += value.size();
  return true;
}

net::MacAddress Message::Mac() const {
  net::MacAddress mac;
  std::copy_n(chaddr.begin(), 6, mac.octets.begin());
  return mac;
}

ParseResult Parse(net::ConstByteSpan payload, Message& out) {
  out.Reset();
  if (payload.size() < kOptionsOffset) return {ParseError::kTruncated};
  out.op = Load8(payload, 0);
  out.htype = Load8(payload, 1);
  out.hlen = Load8(payload, 2);
  out.hops = Load8(payload, 3);
  out.xid = Load32(payload, 4);
  out.secs = Load16(payload, 8);
  out.flags = Load16(payload, 10);
  out.ciaddr = net::Ipv4Address::Load(payload, 12);
  out.yiaddr = net::Ipv4Address::Load(payload, 16);
  out.siaddr = net::Ipv4Address::Load(payload, 20);
  out.giaddr = net::Ipv4Address::Load(payload, 24);
  std::memcpy(out.chaddr.data(), payload.data() + 28, out.chaddr.size());
  if (out.op != kBootRequest) return {ParseError::kNotRequest};
  if (out.hlen > out.chaddr.size()) return {ParseError::kBadHardware};
  if (Load32(payload, kFixedSize) != kMagicCookie) return {ParseError::kBadCookie};
  if (ParseError e = ParseOptionField(payload.subspan(kOptionsOffset), out);
      e != ParseError::kNone) {
    return {e};
  }
  // RFC 2131 §4.1: with option 52, `file` and then `sname` carry options too.
  if (auto overload = out.Option(option::kOverload)) {
    if (overload->size() != 1) return {ParseError::kBadOverload};
    uint8_t which = Load8(*overload, 0);
    if (which < 1 || which > 3) return {ParseError::kBadOverload};
    if (which & 1) {
      ParseError e = ParseOptionField(payload.subspan(kFileOffset, kFileSize), out);
      if (e != ParseError::kNone) return {e};
    }
    if (which & 2) {
      ParseError e = ParseOptionField(payload.subspan(kSnameOffset, kSnameSize), out);
      if (e != ParseError::kNone) return {e};
    }
  }
  return {};
}

size_t ReplyLimit(const Message& request, size_t mtu_payload) {
  size_t limit = kDefaultReplyLimit;
  if (auto max = request.U16(option::kMaxMessageSize); max && *max >= kMinMaxMessageSize) {
    limit = *max - 20 - 8;  // the option counts the IPv4 and UDP headers
  }
  return std::max(kMinReplySize, std::min(limit, mtu_payload));
}

ReplyBuilder::ReplyBuilder(net::ByteSpan buffer, size_t limit)
    : buffer_(buffer), limit_(std::min(limit, buffer.size())) {}

void ReplyBuilder::Begin(const Message& request, MessageType type) {
  std::memset(buffer_.data(), 0, kOptionsOffset);
  net::Store8(buffer_, 0, kBootReply);
  net::Store8(buffer_, 1, request.htype);
  net::Store8(buffer_, 2, request.hlen);
  net::Store32(buffer_, 4, request.xid);
  net::Store16(buffer_, 10, request.flags);
  // RFC 2131 table 3: ciaddr echoed in ACKs (renewals, INFORM), 0 otherwise.
  if (type == MessageType::kAck) request.ciaddr.Store(buffer_, 12);
  request.giaddr.Store(buffer_, 24);
  std::memcpy(buffer_.data() + 28, request.chaddr.data(), request.chaddr.size());
  net::Store32(buffer_, kFixedSize, kMagicCookie);
  at_ = kOptionsOffset;
  dropped_ = 0;
  AddU8(option::kMessageType, static_cast<uint8_t>(type));
}

bool ReplyBuilder::SetFile(std::string_view file) {
  if (file.size() >= kFileSize) return false;  // NUL-terminated (RFC 2131 §2)
  std::memcpy(buffer_.data() + kFileOffset, file.data(), file.size());
  return true;
}

bool ReplyBuilder::SetSname(std::string_view sname) {
  if (sname.size() >= kSnameSize) return false;
  std::memcpy(buffer_.data() + kSnameOffset, sname.data(), sname.size());
  return true;
}

bool ReplyBuilder::AddSplitOrDrop(uint8_t code, std::span<const std::byte> value) {
  size_t instances = std::max<size_t>(1, (value.size() + 254) / 255);
  size_t needed = value.size() + 2 * instances;
  // One byte stays for END.
  if (at_ + needed + 1 > limit_) {
    ++dropped_;
    return false;
  }
  size_t done = 0;
  do {
    size_t chunk = std::min<size_t>(255, value.size() - done);
    net::Store8(buffer_, at_, code);
    net::Store8(buffer_, at_ + 1, static_cast<uint8_t>(chunk));
    if (chunk > 0) std::memcpy(buffer_.data() + at_ + 2, value.data() + done, chunk);
    at_ += 2 + chunk;
    done += chunk;
  } while (done < value.size());
  return true;
}

size_t ReplyBuilder::Finish() {
  net::Store8(buffer_, at_++, option::kEnd);
  if (at_ < kMinReplySize) {
    std::memset(buffer_.data() + at_, 0, kMinReplySize - at_);
    at_ = kMinReplySize;
  }
  return at_;
}

}  // namespace stampede::dhcp
