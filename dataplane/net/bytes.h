// Big-endian loads and stores over byte spans: the only way protocol code reads
// or writes wire fields, so every access is bounds-checked by construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace stampede::net {

using ByteSpan = std::span<std::byte>;
using ConstByteSpan = std::span<const std::byte>;

// Callers check `offset + N <= bytes.size()` before calling; the parsers do so
// once per header rather than once per field.
inline uint8_t Load8(ConstByteSpan bytes, size_t offset) {
  return static_cast<uint8_t>(bytes[offset]);
}
inline uint16_t Load16(ConstByteSpan bytes, size_t offset) {
  return static_cast<uint16_t>((Load8(bytes, offset) << 8) | Load8(bytes, offset + 1));
}
inline uint32_t Load32(ConstByteSpan bytes, size_t offset) {
  return (static_cast<uint32_t>(Load16(bytes, offset)) << 16) | Load16(bytes, offset + 2);
}
inline void Store8(ByteSpan bytes, size_t offset, uint8_t value) {
  bytes[offset] = static_cast<std::byte>(value);
}
inline void Store16(ByteSpan bytes, size_t offset, uint16_t value) {
  Store8(bytes, offset, static_cast<uint8_t>(value >> 8));
  Store8(bytes, offset + 1, static_cast<uint8_t>(value));
}
inline void Store32(ByteSpan bytes, size_t offset, uint32_t value) {
  Store16(bytes, offset, static_cast<uint16_t>(value >> 16));
  Store16(bytes, offset + 2, static_cast<uint16_t>(value));
}
inline void CopyBytes(ByteSpan to, size_t to_offset, ConstByteSpan from) {
  std::memcpy(to.data() + to_offset, from.data(), from.size());
}

}  // namespace stampede::net
