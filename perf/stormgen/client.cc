#include "perf/stormgen/client.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "dataplane/tftp/message.h"

namespace stampede::stormgen {
namespace {

using net::ConstByteSpan;

// RFC 2132 §9.10: what we take (one 1500-byte frame less IPv4 and UDP).
constexpr uint16_t kMaxMessageSize = 1500 - 20 - 8;
// RFC 2131 §2: the request is padded to at least BOOTP's 300 bytes by the
// builder; 548 is the most a 576-byte datagram carries.
constexpr size_t kDhcpBufferSize = 548;
// The parameter request list of a PXE ROM (PXE 2.1 spec, and what iPXE
// asks): mask, router, DNS, host name, domain, vendor options, vendor
// class, TFTP server, boot file, and PXE's 128-135.
constexpr std::array<uint8_t, 17> kParameterList = {1,  3,   6,   12,  15,  17,  43,  60, 66,
                                                    67, 128, 129, 130, 131, 132, 133, 134};
// RFC 4578 §2.2: UNDI, version 2.1.
constexpr std::array<std::byte, 3> kNdi = {std::byte{1}, std::byte{2}, std::byte{1}};
constexpr size_t kTftpHeaderSize = 4;

uint16_t Load16(ConstByteSpan p, size_t at) { return net::Load16(p, at); }

std::string_view AsText(ConstByteSpan bytes) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return text.substr(0, text.find('\0'));
}

}  // namespace

std::string ClientConfig::VendorClass() const {
  return absl::StrFormat("PXEClient:Arch:%05u:UNDI:002001", arch);
}

net::MacAddress Client::MacOf(uint8_t tag, uint32_t index) {
  return {
      {0x02, tag, uint8_t(index >> 24), uint8_t(index >> 16), uint8_t(index >> 8), uint8_t(index)}};
}

std::optional<uint32_t> Client::IndexOf(uint8_t tag, net::MacAddress mac) {
  if (mac.octets[0] != 0x02 || mac.octets[1] != tag) return std::nullopt;
  return uint32_t(mac.octets[2]) << 24 | uint32_t(mac.octets[3]) << 16 |
         uint32_t(mac.octets[4]) << 8 | mac.octets[5];
}

Client::Client(uint32_t index, const ClientConfig& config, Sink& sink)
    : index_(index),
      config_(config),
      sink_(sink),
      mac_(MacOf(config.mac_tag, index)),
      // Distinct per client and run tag, never 0.
      xid_((index * 2654435761u) ^ (uint32_t(config.mac_tag) << 24) ^ 0x5354u) {}

void Client::Start(int64_t now) {
  result_.power_on_ns = now;
  phase_ = Phase::kDiscovering;
  tries_ = 0;
  SendDiscover();
  deadline_ns_ = now + config_.dhcp_timeouts_ns.at(0);
}

void Client::SendDiscover() {
  ++tries_;
  SendDhcp(dhcp::MessageType::kDiscover);
}

void Client::SendRequest() {
  ++tries_;
  SendDhcp(dhcp::MessageType::kRequest);
}

void Client::SendDhcp(dhcp::MessageType type) {
  // The dataplane's reply builder writes the fixed fields and options; the
  // op byte is then made a BOOTREQUEST.
  dhcp::Message self;
  self.htype = 1;
  self.hlen = 6;
  self.xid = xid_;
  self.flags = config_.broadcast_flag ? dhcp::kBroadcastFlag : 0;
  std::copy(mac_.octets.begin(), mac_.octets.end(), self.chaddr.begin());
  std::array<std::byte, kDhcpBufferSize> buffer;
  dhcp::ReplyBuilder b(buffer, buffer.size());
  b.Begin(self, type);
  net::Store8(buffer, 0, dhcp::kBootRequest);
  b.AddU16(dhcp::option::kMaxMessageSize, kMaxMessageSize);
  if (type == dhcp::MessageType::kRequest) {
    b.AddAddress(dhcp::option::kServerId, server_id_);
    b.AddAddress(dhcp::option::kRequestedAddress, offered_);
  }
  b.Add(dhcp::option::kParameterList, std::as_bytes(std::span(kParameterList)));
  b.AddU16(dhcp::option::kClientArch, config_.arch);
  b.Add(dhcp::option::kClientNdi, kNdi);
  std::array<std::byte, 17> uuid{};  // RFC 4578 §2.3: type 0, then 16 bytes
  for (size_t i = 0; i < 16; ++i) uuid[1 + i] = std::byte(uint8_t((xid_ >> (8 * (i % 4))) + i));
  b.Add(dhcp::option::kClientUuid, uuid);
  b.AddText(dhcp::option::kVendorClass, config_.VendorClass());
  size_t length = b.Finish();
  sink_.SendUdp(index_, net::MacAddress::Broadcast(), net::Ipv4Address{},
                net::Ipv4Address{0xffffffff}, kDhcpClientPort, kDhcpServerPort,
                ConstByteSpan(buffer.data(), length));
}

void Client::OnDhcp(ConstByteSpan payload, net::MacAddress server_mac, int64_t now) {
  if (phase_ != Phase::kDiscovering && phase_ != Phase::kRequesting) return;
  dhcp::Message reply;
  if (!ParseDhcpReply(payload, reply) || reply.xid != xid_ || reply.Mac() != mac_) return;
  dhcp::MessageType type = reply.Type();
  if (phase_ == Phase::kDiscovering && type == dhcp::MessageType::kOffer) {
    return OnOffer(reply, payload, server_mac, now);
  }
  if (phase_ != Phase::kRequesting) return;
  if (type == dhcp::MessageType::kAck) return OnAck(reply, now);
  if (type == dhcp::MessageType::kNak) {
    // RFC 2131 §3.1.4: back to INIT.
    ++result_.naks;
    phase_ = Phase::kDiscovering;
    tries_ = 0;
    SendDiscover();
    deadline_ns_ = now + config_.dhcp_timeouts_ns.at(0);
  }
}

void Client::OnOffer(const dhcp::Message& reply, ConstByteSpan payload, net::MacAddress from,
                     int64_t now) {
  std::optional<net::Ipv4Address> server = reply.Address(dhcp::option::kServerId);
  if (!server || reply.yiaddr.IsZero()) return;  // a proxyDHCP offer: not ours to take
  offered_ = reply.yiaddr;
  server_id_ = *server;
  server_mac_ = from;
  boot_file_ = BootFileOf(reply, payload);
  phase_ = Phase::kRequesting;
  tries_ = 0;
  SendRequest();
  deadline_ns_ = now + config_.dhcp_timeouts_ns.at(0);
}

void Client::OnAck(const dhcp::Message& reply, int64_t now) {
  address_ = reply.yiaddr;
  tftp_server_ = !reply.siaddr.IsZero() ? reply.siaddr : server_id_;
  if (reply.siaddr.IsZero()) {
    if (auto named = reply.Option(dhcp::option::kTftpServer)) {
      if (auto parsed = net::Ipv4Address::Parse(AsText(*named))) tftp_server_ = *parsed;
    }
  }
  if (boot_file_.empty()) {
    if (auto file = reply.Option(dhcp::option::kBootfileName)) boot_file_ = AsText(*file);
  }
  result_.dhcp_end_ns = now;
  StartFile(0, now);
}

void Client::StartFile(size_t index, int64_t now) {
  file_ = index;
  if (file_ >= config_.files.size()) {
    phase_ = Phase::kDone;
    deadline_ns_.reset();
    result_.end_ns = now;
    return;
  }
  phase_ = Phase::kTftp;
  file_name_ = config_.files[file_] == kBootFileName ? boot_file_ : config_.files[file_];
  FileResult& file = result_.files.emplace_back();
  file.name = config_.files[file_];
  file.start_ns = now;
  if (file_name_.empty()) return FinishFile(false, "tftp: no boot file in the DHCP answer", now);
  server_tid_ = 0;
  negotiated_ = false;
  blksize_ = tftp::kDefaultBlksize;
  window_ = 1;
  tsize_.reset();
  received_ = bytes_ = 0;
  in_window_ = duplicates_in_row_ = timeouts_in_row_ = 0;
  SendRrq();
  deadline_ns_ = now + config_.tftp_timeout_ns;
}

std::vector<std::byte> BuildRrq(std::string_view file, const ClientConfig& config) {
  std::string rrq;
  rrq.push_back(0);
  rrq.push_back(char(tftp::Opcode::kRrq));
  auto field = [&rrq](std::string_view text) {
    rrq.append(text);
    rrq.push_back('\0');
  };
  field(file);
  field("octet");
  auto option = [&field](std::string_view name, uint64_t value) {
    field(name);
    field(std::to_string(value));
  };
  if (config.blksize) option("blksize", config.blksize);
  if (config.windowsize) option("windowsize", config.windowsize);
  if (config.tsize) option("tsize", 0);
  const std::byte* data = reinterpret_cast<const std::byte*>(rrq.data());
  return std::vector<std::byte>(data, data + rrq.size());
}

void Client::SendRrq() {
  std::vector<std::byte> rrq = BuildRrq(file_name_, config_);
  sink_.SendUdp(index_, server_mac_, address_, tftp_server_, LocalPort(), kTftpServerPort, rrq);
}

void Client::SendAck(uint16_t block) {
  std::array<std::byte, kTftpHeaderSize> ack;
  net::Store16(ack, 0, uint16_t(tftp::Opcode::kAck));
  net::Store16(ack, 2, block);
  SendTftp(ack);
}

void Client::SendTftpError(uint16_t code, std::string_view message) {
  std::array<std::byte, 128> error;
  size_t length = tftp::BuildError(tftp::ErrorCode(code), message.substr(0, 100), error);
  SendTftp(ConstByteSpan(error.data(), length));
}

void Client::SendTftp(ConstByteSpan payload) {
  uint16_t to = server_tid_ ? server_tid_ : kTftpServerPort;
  sink_.SendUdp(index_, server_mac_, address_, tftp_server_, LocalPort(), to, payload);
}

void Client::OnUdp(net::Ipv4Address source, uint16_t source_port, uint16_t destination_port,
                   ConstByteSpan payload, int64_t now) {
  if (phase_ != Phase::kTftp || destination_port != LocalPort() || source != tftp_server_) return;
  // RFC 1350 §4: the server's first packet chooses its TID; another port is
  // told error 5 and otherwise ignored.
  if (server_tid_ == 0) server_tid_ = source_port;
  if (source_port != server_tid_) {
    std::array<std::byte, 64> error;
    size_t length = tftp::BuildError(tftp::ErrorCode::kUnknownTransferId, "unknown TID", error);
    sink_.SendUdp(index_, server_mac_, address_, tftp_server_, LocalPort(), source_port,
                  ConstByteSpan(error.data(), length));
    return;
  }
  if (payload.size() < kTftpHeaderSize) return FinishFile(false, "tftp: short packet", now);
  switch (tftp::Opcode(Load16(payload, 0))) {
    case tftp::Opcode::kData:
      return OnData(Load16(payload, 2), payload.subspan(kTftpHeaderSize), now);
    case tftp::Opcode::kOack:
      return OnOack(payload.subspan(2), now);
    case tftp::Opcode::kError:
      return FinishFile(false, "tftp: server sent an ERROR", now);
    default:
      SendTftpError(uint16_t(tftp::ErrorCode::kIllegalOperation), "illegal operation");
      return FinishFile(false, "tftp: unexpected opcode", now);
  }
}

void Client::OnData(uint16_t block, ConstByteSpan data, int64_t now) {
  if (!negotiated_) {
    // DATA without an OACK: the server ignored every option (RFC 2347).
    negotiated_ = true;
    blksize_ = tftp::kDefaultBlksize;
    window_ = 1;
  }
  if (data.size() > blksize_) {
    SendTftpError(uint16_t(tftp::ErrorCode::kIllegalOperation), "DATA longer than blksize");
    return FinishFile(false, "tftp: DATA longer than blksize", now);
  }
  if (block != WireBlock(received_ + 1)) {
    // A block already received: re-ACK once per window of duplicates; one
    // past a gap waits for the timer (RFC 7440 §4).
    uint16_t behind = uint16_t(WireBlock(received_) - block);
    if (behind < 0x8000 && ++duplicates_in_row_ >= window_) {
      duplicates_in_row_ = 0;
      SendAck(WireBlock(received_));
    }
    return;
  }
  ++received_;
  bytes_ += data.size();
  timeouts_in_row_ = 0;
  duplicates_in_row_ = 0;
  deadline_ns_ = now + config_.tftp_timeout_ns;
  if (data.size() < blksize_) {
    SendAck(block);
    if (tsize_ && *tsize_ != bytes_) return FinishFile(false, "tftp: size differs from tsize", now);
    return FinishFile(true, nullptr, now);
  }
  if (++in_window_ >= window_) {
    in_window_ = 0;
    SendAck(block);
  }
}

void Client::OnOack(ConstByteSpan body, int64_t now) {
  if (negotiated_) {
    // The OACK again: our ACK 0 was lost or late.
    if (received_ == 0) SendAck(0);
    return;
  }
  std::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
  if (!text.empty() && text.back() == '\0') text.remove_suffix(1);
  std::vector<std::string_view> fields;
  while (!text.empty()) {
    size_t nul = text.find('\0');
    fields.push_back(text.substr(0, nul));
    text.remove_prefix(nul == std::string_view::npos ? text.size() : nul + 1);
  }
  if (fields.size() % 2 != 0) {
    SendTftpError(uint16_t(tftp::ErrorCode::kOptionRefused), "option without value");
    return FinishFile(false, "tftp: malformed OACK", now);
  }
  blksize_ = tftp::kDefaultBlksize;
  window_ = 1;
  for (size_t i = 0; i < fields.size(); i += 2) {
    std::string name = absl::AsciiStrToLower(absl::string_view(fields[i].data(), fields[i].size()));
    uint64_t value = 0;
    auto [end, ec] =
        std::from_chars(fields[i + 1].data(), fields[i + 1].data() + fields[i + 1].size(), value);
    bool number = ec == std::errc() && end == fields[i + 1].data() + fields[i + 1].size();
    // RFC 2347 §3: only options asked for, no larger than asked.
    if (number && name == "blksize" && config_.blksize && value >= tftp::kMinBlksize &&
        value <= config_.blksize) {
      blksize_ = uint32_t(value);
    } else if (number && name == "windowsize" && config_.windowsize && value >= 1 &&
               value <= config_.windowsize) {
      window_ = uint32_t(value);
    } else if (number && name == "tsize" && config_.tsize) {
      tsize_ = value;
    } else if (number && name == "timeout") {
      // Some servers echo a timeout unasked; harmless.
    } else {
      SendTftpError(uint16_t(tftp::ErrorCode::kOptionRefused), "option not asked for");
      return FinishFile(false, "tftp: OACK option refused", now);
    }
  }
  negotiated_ = true;
  timeouts_in_row_ = 0;
  deadline_ns_ = now + config_.tftp_timeout_ns;
  SendAck(0);
}

void Client::FinishFile(bool ok, const char* failure, int64_t now) {
  FileResult& file = result_.files.back();
  file.end_ns = now;
  file.bytes = bytes_;
  file.ok = ok;
  file.failure = failure;
  file.blksize = blksize_;
  file.windowsize = window_;
  if (!ok) return Fail(failure, now);
  StartFile(file_ + 1, now);
}

void Client::Fail(const char* why, int64_t now) {
  phase_ = Phase::kFailed;
  deadline_ns_.reset();
  result_.failure = why;
  result_.end_ns = now;
}

void Client::OnTimer(int64_t now) {
  if (!deadline_ns_ || now < *deadline_ns_) return;
  switch (phase_) {
    case Phase::kDiscovering:
    case Phase::kRequesting:
      if (tries_ >= config_.dhcp_timeouts_ns.size()) {
        return Fail(phase_ == Phase::kDiscovering ? "dhcp: no OFFER" : "dhcp: no ACK", now);
      }
      ++result_.dhcp_retransmissions;
      deadline_ns_ = now + config_.dhcp_timeouts_ns[tries_];
      return phase_ == Phase::kDiscovering ? SendDiscover() : SendRequest();
    case Phase::kTftp: {
      if (timeouts_in_row_ >= config_.tftp_retries) {
        return FinishFile(false, "tftp: no answer", now);
      }
      ++timeouts_in_row_;
      ++result_.files.back().retransmissions;
      in_window_ = 0;
      duplicates_in_row_ = 0;
      deadline_ns_ = now + config_.tftp_timeout_ns;
      if (!negotiated_ && received_ == 0 && server_tid_ == 0) return SendRrq();
      return SendAck(WireBlock(received_));
    }
    default:
      deadline_ns_.reset();
  }
}

uint16_t Client::WireBlock(uint64_t sequence) const {
  if (config_.rollover_to == 0 || sequence <= 0xffff) return uint16_t(sequence);
  return uint16_t((sequence - 0x10000) % 0xffff + 1);
}

bool ParseDhcpReply(ConstByteSpan payload, dhcp::Message& out) {
  std::array<std::byte, 2048> copy;
  if (payload.size() > copy.size() || payload.size() < dhcp::kOptionsOffset) return false;
  if (net::Load8(payload, 0) != dhcp::kBootReply) return false;
  std::memcpy(copy.data(), payload.data(), payload.size());
  copy[0] = std::byte{dhcp::kBootRequest};
  if (!dhcp::Parse(ConstByteSpan(copy.data(), payload.size()), out).ok()) return false;
  out.op = dhcp::kBootReply;
  return true;
}

std::string BootFileOf(const dhcp::Message& reply, ConstByteSpan payload) {
  if (auto file = reply.Option(dhcp::option::kBootfileName)) return std::string(AsText(*file));
  auto overload = reply.Option(dhcp::option::kOverload);
  bool file_holds_options = overload && overload->size() == 1 && (net::Load8(*overload, 0) & 1);
  if (file_holds_options || payload.size() < dhcp::kFileOffset + dhcp::kFileSize) return "";
  return std::string(AsText(payload.subspan(dhcp::kFileOffset, dhcp::kFileSize)));
}

}  // namespace stampede::stormgen
