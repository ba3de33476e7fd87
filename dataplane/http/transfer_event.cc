#include "dataplane/http/transfer_event.h"

#include <cstring>

namespace stampede::http {
namespace {

// Protocol buffers wire format: varints, fixed32, length-delimited fields.
constexpr int kVarint = 0;
constexpr int kLengthDelimited = 2;
constexpr int kFixed32 = 5;

constexpr std::byte Tag(int field, int wire_type) {
  return static_cast<std::byte>(field << 3 | wire_type);
}

class Writer {
 public:
  explicit Writer(std::byte* out) : out_(out) {}
  size_t size() const { return n_; }

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
    out_[n_++] = Tag(field, kVarint);
    Varint(v);
  }
  void Fixed32Field(int field, uint32_t v) {
    if (v == 0) return;
    out_[n_++] = Tag(field, kFixed32);
    for (int i = 0; i < 4; ++i)
      out_[n_++] = static_cast<std::byte>(static_cast<uint8_t>(v >> (8 * i)));
  }
  void BytesField(int field, const void* bytes, size_t length) {
    if (length == 0) return;
    MessageField(field, bytes, length);
  }
  // A message field is written even when empty: it says which oneof member.
  void MessageField(int field, const void* bytes, size_t length) {
    out_[n_++] = Tag(field, kLengthDelimited);
    Varint(length);
    if (length > 0) std::memcpy(out_ + n_, bytes, length);
    n_ += length;
  }

 private:
  std::byte* out_;
  size_t n_ = 0;
};

// stampede.v1.Event's fields (HttpTransfer's are numbered where written).
constexpr int kEventTime = 1;
constexpr int kEventHttpTransfer = 6;

}  // namespace

size_t EscapeLogged(std::string_view text, size_t max, char* out, bool& truncated) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  size_t n = 0;
  truncated = false;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    bool escape = u <= 0x20 || u >= 0x7f || c == '"' || c == '\\';
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

size_t EncodeHttpTransferEvent(const TransferReport& r,
                               std::span<std::byte, kMaxHttpTransferEventBytes> out) {
  // The HttpTransfer message first, into a scratch area, to know its length.
  std::byte body[kMaxHttpTransferEventBytes];
  Writer t(body);
  t.Fixed32Field(1, r.client_address);
  t.VarintField(2, r.client_port);
  char text[kMaxTransferPathBytes];
  bool method_truncated = false, path_truncated = false;
  t.BytesField(3, text, EscapeLogged(r.method, kMaxTransferMethodBytes, text, method_truncated));
  t.BytesField(4, text, EscapeLogged(r.target, kMaxTransferPathBytes, text, path_truncated));
  t.VarintField(5, path_truncated ? 1 : 0);
  t.VarintField(6, r.status);
  t.VarintField(7, r.bytes);
  t.VarintField(8, r.length);
  t.VarintField(9, r.duration_us);
  t.VarintField(10, r.range ? 1 : 0);
  t.VarintField(11, r.range_first);
  t.VarintField(12, r.range_last);
  t.VarintField(13, static_cast<uint8_t>(r.outcome));
  t.VarintField(14, r.error);

  Writer e(out.data());
  e.VarintField(kEventTime, r.time_ns);
  e.MessageField(kEventHttpTransfer, body, t.size());
  return e.size();
}

}  // namespace stampede::http
