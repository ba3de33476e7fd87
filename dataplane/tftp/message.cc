#include "dataplane/tftp/message.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <vector>

namespace stampede::tftp {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<uint64_t> Number(std::string_view text) {
  uint64_t value = 0;
  if (text.empty() || text.size() > 20) return std::nullopt;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

void Put16(std::span<std::byte> out, size_t at, uint16_t v) {
  out[at] = std::byte(static_cast<uint8_t>(v >> 8));
  out[at + 1] = std::byte(static_cast<uint8_t>(v));
}

size_t PutString(std::span<std::byte> out, size_t at, std::string_view s) {
  std::memcpy(out.data() + at, s.data(), s.size());
  out[at + s.size()] = std::byte{0};
  return at + s.size() + 1;
}

}  // namespace

ParsedRequest ParseRequest(std::span<const std::byte> datagram) {
  ParsedRequest result;
  if (datagram.size() > kMaxRequestSize) {
    result.error = RequestError::kTooLong;
    return result;
  }
  if (datagram.size() < 2) {
    result.error = RequestError::kTruncated;
    return result;
  }
  uint16_t opcode = static_cast<uint16_t>(static_cast<uint8_t>(datagram[0]) << 8 |
                                          static_cast<uint8_t>(datagram[1]));
  if (opcode != 1 && opcode != 2) {
    result.error = RequestError::kNotRequest;
    return result;
  }
  result.request.opcode = static_cast<Opcode>(opcode);
  // The rest is NUL-terminated strings: path, mode, then name/value pairs.
  std::string_view rest(reinterpret_cast<const char*>(datagram.data()) + 2, datagram.size() - 2);
  std::vector<std::string_view> fields;
  while (!rest.empty()) {
    size_t nul = rest.find('\0');
    if (nul == std::string_view::npos) {
      result.error = RequestError::kTruncated;
      return result;
    }
    fields.push_back(rest.substr(0, nul));
    rest.remove_prefix(nul + 1);
  }
  if (fields.size() < 2) {
    result.error = RequestError::kTruncated;
    return result;
  }
  result.request.path = std::string(fields[0]);
  if (EqualsIgnoreCase(fields[1], "octet")) {
    result.request.mode = Mode::kOctet;
  } else if (EqualsIgnoreCase(fields[1], "netascii")) {
    result.request.mode = Mode::kNetascii;
  } else {
    result.error = RequestError::kBadMode;
    return result;
  }
  // Some clients pad with a trailing empty string; an odd count otherwise
  // is an option without its value.
  size_t options = fields.size() - 2;
  if (options % 2 == 1 && !fields.back().empty()) {
    result.error = RequestError::kBadOption;
    return result;
  }
  RequestedOptions& o = result.request.options;
  for (size_t i = 2; i + 1 < fields.size(); i += 2) {
    std::string_view name = fields[i], value = fields[i + 1];
    bool known = EqualsIgnoreCase(name, "blksize") || EqualsIgnoreCase(name, "timeout") ||
                 EqualsIgnoreCase(name, "tsize") || EqualsIgnoreCase(name, "windowsize");
    if (!known) continue;  // RFC 2347: unknown options are ignored
    std::optional<uint64_t> number = Number(value);
    if (!number) {
      result.error = RequestError::kBadOption;
      return result;
    }
    auto small = [&](std::optional<uint32_t>& field) {
      field = static_cast<uint32_t>(std::min<uint64_t>(*number, UINT32_MAX));
    };
    if (EqualsIgnoreCase(name, "blksize")) small(o.blksize);
    if (EqualsIgnoreCase(name, "timeout")) small(o.timeout);
    if (EqualsIgnoreCase(name, "windowsize")) small(o.windowsize);
    if (EqualsIgnoreCase(name, "tsize")) o.tsize = *number;
  }
  return result;
}

Negotiated Negotiate(const RequestedOptions& asked, const Limits& limits) {
  Negotiated n;
  if (asked.blksize) {
    if (*asked.blksize < kMinBlksize || *asked.blksize > kMaxBlksize) {
      n.refuse = ErrorCode::kOptionRefused;
      return n;
    }
    n.blksize = std::min(*asked.blksize, std::max<uint32_t>(limits.max_blksize, kMinBlksize));
    n.ack_blksize = n.any = true;
  }
  if (asked.timeout) {
    if (*asked.timeout < kMinTimeout || *asked.timeout > kMaxTimeout) {
      n.refuse = ErrorCode::kOptionRefused;
      return n;
    }
    n.timeout_s = *asked.timeout;
    n.ack_timeout = n.any = true;
  }
  if (asked.windowsize) {
    if (*asked.windowsize < 1 || *asked.windowsize > kMaxWindowsize) {
      n.refuse = ErrorCode::kOptionRefused;
      return n;
    }
    n.windowsize = std::min(*asked.windowsize, std::max<uint32_t>(limits.max_windowsize, 1));
    n.ack_windowsize = n.any = true;
  }
  if (asked.tsize) {
    n.send_tsize = true;
    n.any = true;
  }
  return n;
}

size_t BuildOack(const Negotiated& n, uint64_t file_size, std::span<std::byte> out) {
  Put16(out, 0, static_cast<uint16_t>(Opcode::kOack));
  size_t at = 2;
  char number[24];
  auto option = [&](std::string_view name, uint64_t value) {
    at = PutString(out, at, name);
    auto [end, ec] = std::to_chars(number, number + sizeof(number), value);
    at = PutString(out, at, std::string_view(number, static_cast<size_t>(end - number)));
  };
  if (n.send_tsize) option("tsize", file_size);
  if (n.ack_blksize) option("blksize", n.blksize);
  if (n.ack_timeout) option("timeout", n.timeout_s);
  if (n.ack_windowsize) option("windowsize", n.windowsize);
  return at;
}

size_t BuildError(ErrorCode code, std::string_view message, std::span<std::byte> out) {
  Put16(out, 0, static_cast<uint16_t>(Opcode::kError));
  Put16(out, 2, static_cast<uint16_t>(code));
  return PutString(out, 4, message);
}

void BuildDataHeader(uint16_t block, std::span<std::byte> out) {
  Put16(out, 0, static_cast<uint16_t>(Opcode::kData));
  Put16(out, 2, block);
}

std::optional<uint16_t> ParseAck(std::span<const std::byte> datagram) {
  if (datagram.size() < 4 || static_cast<uint8_t>(datagram[0]) != 0 ||
      static_cast<uint8_t>(datagram[1]) != static_cast<uint8_t>(Opcode::kAck)) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(static_cast<uint8_t>(datagram[2]) << 8 |
                               static_cast<uint8_t>(datagram[3]));
}

std::optional<ErrorMessage> ParseError(std::span<const std::byte> datagram) {
  if (datagram.size() < 4 || static_cast<uint8_t>(datagram[0]) != 0 ||
      static_cast<uint8_t>(datagram[1]) != static_cast<uint8_t>(Opcode::kError)) {
    return std::nullopt;
  }
  ErrorMessage error;
  error.code = static_cast<ErrorCode>(static_cast<uint8_t>(datagram[2]) << 8 |
                                      static_cast<uint8_t>(datagram[3]));
  std::string_view text(reinterpret_cast<const char*>(datagram.data()) + 4, datagram.size() - 4);
  error.message = text.substr(0, text.find('\0'));
  return error;
}

std::optional<std::string> NormalisePath(std::string_view path) {
  if (path.empty() || path.size() > kMaxPathLength) return std::nullopt;
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") return std::nullopt;
    for (char c : part) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;
    }
    if (!out.empty()) out += '/';
    out += part;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

void ToNetascii(std::span<const std::byte> in, std::vector<std::byte>& out) {
  out.clear();
  out.reserve(in.size() + in.size() / 8);
  for (std::byte b : in) {
    if (b == std::byte{'\n'}) {
      out.push_back(std::byte{'\r'});
      out.push_back(std::byte{'\n'});
    } else if (b == std::byte{'\r'}) {
      out.push_back(std::byte{'\r'});
      out.push_back(std::byte{0});
    } else {
      out.push_back(b);
    }
  }
}

}  // namespace stampede::tftp
