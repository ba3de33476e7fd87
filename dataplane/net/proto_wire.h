// Protocol buffers' wire format written by hand into a caller's buffer, for
// the events the dataplane reports from its hot paths (a protobuf message
// would allocate). Each encoder's unit test parses its output with
// protobuf, so the two stay the same format.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace stampede::net {

class ProtoWriter {
 public:
  explicit ProtoWriter(std::byte* out) : out_(out) {}
  size_t size() const { return n_; }
  const std::byte* data() const { return out_; }

  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_[n_++] = static_cast<std::byte>(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    out_[n_++] = static_cast<std::byte>(static_cast<uint8_t>(v));
  }
  // Fields with proto3's default value are left out, as protobuf does.
  void VarintField(int field, uint64_t v) {
    if (v == 0) return;
    Tag(field, kVarint);
    Varint(v);
  }
  // A proto3 `optional` field: written even with its default value.
  void VarintFieldPresent(int field, uint64_t v) {
    Tag(field, kVarint);
    Varint(v);
  }
  void Fixed32Field(int field, uint32_t v) {
    if (v == 0) return;
    Tag(field, kFixed32);
    for (int i = 0; i < 4; ++i)
      out_[n_++] = static_cast<std::byte>(static_cast<uint8_t>(v >> (8 * i)));
  }
  void BytesField(int field, const void* bytes, size_t length) {
    if (length == 0) return;
    MessageField(field, bytes, length);
  }
  // A message field is written even when empty: it says which oneof member.
  void MessageField(int field, const void* bytes, size_t length) {
    Tag(field, kLengthDelimited);
    Varint(length);
    if (length > 0) std::memcpy(out_ + n_, bytes, length);
    n_ += length;
  }

 private:
  static constexpr int kVarint = 0;
  static constexpr int kLengthDelimited = 2;
  static constexpr int kFixed32 = 5;
  void Tag(int field, int wire_type) { Varint(static_cast<uint64_t>(field << 3 | wire_type)); }

  std::byte* out_;
  size_t n_ = 0;
};

// `text` as the access logs write it: bytes outside printable ASCII, '"'
// and '\' percent-encoded (so an event's strings are always valid UTF-8),
// spaces too unless `keep_spaces` (a message, not a log field), at most
// `max` bytes (an escape is never cut); `truncated` when some of it did not
// fit. Writes into `out` (at least `max` bytes), returns the length.
inline size_t EscapeLogged(std::string_view text, size_t max, char* out, bool& truncated,
                           bool keep_spaces = false) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  size_t n = 0;
  truncated = false;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    bool escape = (u <= 0x20 && !(keep_spaces && c == ' ')) || u >= 0x7f || c == '"' || c == '\\';
    if (n + (escape ? 3 : 1) > max) {
      truncated = true;
      break;
    }
    if (escape) {
      out[n++] = '%';
      out[n++] = kHex[u >> 4];
      out[n++] = kHex[u & 15];
    } else {
      out[n++] = c;
    }
  }
  return n;
}

}  // namespace stampede::net
