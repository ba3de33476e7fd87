// One emulated PXE client of the boot-storm generator: DHCP DORA with the
// PXE options (RFC 4578: 93 arch, 97 UUID; 60 "PXEClient:Arch:..."), then
// TFTP reads of a list of files (RFC 1350 with RFC 2347/2348/2349/7440
// options), with firmware-like retransmission timers. A state machine
// driven by received datagrams and timer expiries, over byte spans: no DPDK,
// no sockets, so it is unit tested by feeding it packets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/dhcp/message.h"
#include "dataplane/net/address.h"
#include "dataplane/net/bytes.h"

namespace stampede::stormgen {

inline constexpr uint16_t kDhcpClientPort = 68;  // RFC 2131 §4.1
inline constexpr uint16_t kDhcpServerPort = 67;
inline constexpr uint16_t kTftpServerPort = 69;  // RFC 1350 §4
// The client's own TFTP port of transfer k is kTftpFirstClientPort + k, so a
// stray packet of an earlier transfer is told apart.
inline constexpr uint16_t kTftpFirstClientPort = 2070;
// In --files, the name the DHCP server gave as boot file (option 67 / file).
inline constexpr std::string_view kBootFileName = "@bootfile";

// Where the client is in its boot.
enum class Phase : uint8_t {
  kOff,          // not powered on yet
  kDiscovering,  // DISCOVER sent, waiting for an OFFER
  kRequesting,   // REQUEST sent, waiting for an ACK
  kTftp,         // reading files_[file_]
  kDone,         // every file read: the driver may go on (HTTP)
  kFailed,
};

// What every client of a run shares.
struct ClientConfig {
  uint8_t mac_tag = 0x53;  // second MAC octet: 02:<tag>:<index, 32 bits>
  uint16_t arch = 0;       // option 93 (RFC 4578 §2.1): 0 BIOS, 7 EFI x64
  bool broadcast_flag = true;
  // DISCOVER and REQUEST retransmission timeouts, one per try (PXE 2.1:
  // 4, 8, 16, 32 s); past the last the client gives up.
  std::vector<int64_t> dhcp_timeouts_ns = {4'000'000'000, 8'000'000'000, 16'000'000'000,
                                           32'000'000'000};
  std::vector<std::string> files = {std::string(kBootFileName)};
  uint32_t blksize = 1468;   // 0: do not ask (RFC 2348)
  uint32_t windowsize = 16;  // 0: do not ask (RFC 7440)
  bool tsize = true;         // RFC 2349
  uint16_t rollover_to = 0;  // the block after 65535
  int64_t tftp_timeout_ns = 1'000'000'000;
  uint32_t tftp_retries = 6;  // timeouts in a row before a transfer fails
  // Option 60 for `arch`: "PXEClient:Arch:00000:UNDI:002001".
  std::string VendorClass() const;
};

// Where a client sends a UDP datagram. The driver builds the frame with the
// client's MAC as source; `payload` is valid only during the call.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void SendUdp(uint32_t client, net::MacAddress destination_mac, net::Ipv4Address source,
                       net::Ipv4Address destination, uint16_t source_port,
                       uint16_t destination_port, net::ConstByteSpan payload) = 0;
};

// What one client measured; times are the driver's clock in ns, 0: never.
struct FileResult {
  std::string name;  // as requested
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  uint64_t bytes = 0;
  uint32_t retransmissions = 0;
  uint32_t blksize = 0;
  uint32_t windowsize = 0;
  bool ok = false;
  const char* failure = nullptr;
};

struct ClientResult {
  int64_t power_on_ns = 0;
  int64_t dhcp_end_ns = 0;  // the ACK
  uint32_t dhcp_retransmissions = 0;
  uint32_t naks = 0;
  std::vector<FileResult> files;
  int64_t end_ns = 0;  // done or failed
  const char* failure = nullptr;
};

class Client {
 public:
  Client(uint32_t index, const ClientConfig& config, Sink& sink);

  static net::MacAddress MacOf(uint8_t tag, uint32_t index);
  // The client index a MAC belongs to, when it is one of ours.
  static std::optional<uint32_t> IndexOf(uint8_t tag, net::MacAddress mac);

  // Powers on: the first DISCOVER.
  void Start(int64_t now);
  // A DHCP reply (UDP payload from port 67) seen by this client.
  void OnDhcp(net::ConstByteSpan payload, net::MacAddress server_mac, int64_t now);
  // A UDP datagram to this client's address (TFTP).
  void OnUdp(net::Ipv4Address source, uint16_t source_port, uint16_t destination_port,
             net::ConstByteSpan payload, int64_t now);
  // Call at deadline_ns() (or later): retransmits or gives up.
  void OnTimer(int64_t now);

  Phase phase() const { return phase_; }
  bool finished() const { return phase_ == Phase::kDone || phase_ == Phase::kFailed; }
  // When OnTimer is due; nullopt: nothing pending.
  std::optional<int64_t> deadline_ns() const { return deadline_ns_; }
  net::MacAddress mac() const { return mac_; }
  net::Ipv4Address address() const { return address_; }
  net::Ipv4Address tftp_server() const { return tftp_server_; }
  const std::string& boot_file() const { return boot_file_; }
  const ClientResult& result() const { return result_; }
  uint32_t xid() const { return xid_; }

 private:
  void SendDiscover();
  void SendRequest();
  void SendDhcp(dhcp::MessageType type);
  void OnOffer(const dhcp::Message& reply, net::ConstByteSpan payload, net::MacAddress from,
               int64_t now);
  void OnAck(const dhcp::Message& reply, int64_t now);
  void StartFile(size_t index, int64_t now);
  void SendRrq();
  void SendAck(uint16_t block);
  void SendTftpError(uint16_t code, std::string_view message);
  void SendTftp(net::ConstByteSpan payload);
  void OnData(uint16_t block, net::ConstByteSpan data, int64_t now);
  void OnOack(net::ConstByteSpan body, int64_t now);
  void FinishFile(bool ok, const char* failure, int64_t now);
  void Fail(const char* why, int64_t now);
  uint16_t WireBlock(uint64_t sequence) const;
  uint16_t LocalPort() const { return static_cast<uint16_t>(kTftpFirstClientPort + file_); }

  const uint32_t index_;
  const ClientConfig& config_;
  Sink& sink_;
  const net::MacAddress mac_;
  uint32_t xid_;
  Phase phase_ = Phase::kOff;
  std::optional<int64_t> deadline_ns_;
  uint32_t tries_ = 0;  // sends of the current DHCP message
  // From the OFFER / ACK.
  net::Ipv4Address offered_, server_id_, address_, tftp_server_;
  net::MacAddress server_mac_;
  std::string boot_file_;
  // The current transfer.
  size_t file_ = 0;
  std::string file_name_;
  uint16_t server_tid_ = 0;  // 0 until the server's first packet
  bool negotiated_ = false;  // OACK or first DATA seen
  uint32_t blksize_ = 512;
  uint32_t window_ = 1;
  std::optional<uint64_t> tsize_;
  uint64_t received_ = 0;  // blocks in order
  uint64_t bytes_ = 0;
  uint32_t in_window_ = 0;
  uint32_t duplicates_in_row_ = 0;
  uint32_t timeouts_in_row_ = 0;
  ClientResult result_;
};

// The DHCP reply in `payload` parsed with the dataplane's own parser (which
// reads requests: the op byte is checked, so a copy with op 1 is parsed);
// false when it is not a well-formed BOOTREPLY.
bool ParseDhcpReply(net::ConstByteSpan payload, dhcp::Message& out);

// The boot file a reply names: option 67, else the `file` field.
std::string BootFileOf(const dhcp::Message& reply, net::ConstByteSpan payload);

// A TFTP RRQ for `file` in octet mode with the options of `config`.
std::vector<std::byte> BuildRrq(std::string_view file, const ClientConfig& config);

}  // namespace stampede::stormgen
