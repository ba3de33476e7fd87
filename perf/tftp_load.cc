// tftp_load: a TFTP read load from one process, like N PXE clients booting at
// once: N concurrent transfers over kernel UDP sockets (one non-blocking
// socket per transfer, one epoll), each checked (size against tsize, bytes
// against an expected SHA-256) and timed from its RRQ to its last ACK.
//
// The client side of RFC 1350 with RFC 2347 options (blksize RFC 2348, tsize
// RFC 2349, windowsize RFC 7440). It shares no code with the dataplane's TFTP,
// so it is an independent peer for it. Prints one summary; exits 1 when any
// transfer failed or its bytes did not match.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

ABSL_FLAG(std::string, server, "", "The server's IPv4 address");
ABSL_FLAG(uint32_t, port, 69, "The server's UDP port for requests");
ABSL_FLAG(std::string, file, "",
          "File(s) to read, comma-separated; transfer i reads file i mod count");
ABSL_FLAG(uint32_t, clients, 1, "Transfers in flight at once");
ABSL_FLAG(uint32_t, total, 0, "Transfers in all (0: --clients)");
ABSL_FLAG(uint32_t, blksize, 0, "blksize to ask for (RFC 2348); 0: do not ask (512)");
ABSL_FLAG(uint32_t, windowsize, 0, "windowsize to ask for (RFC 7440); 0: do not ask (1)");
ABSL_FLAG(bool, tsize, false, "Ask for tsize (RFC 2349) and check the bytes received against it");
ABSL_FLAG(uint32_t, rollover_to, 0, "Block number expected after 65535: 0 or 1");
ABSL_FLAG(uint32_t, timeout_ms, 1000, "Silence before the last ACK (or the RRQ) is sent again");
ABSL_FLAG(uint32_t, retries, 5, "Timeouts in a row before a transfer fails");
ABSL_FLAG(std::string, sha256, "",
          "Expected SHA-256 (hex) of every transfer's bytes; one, or one per --file");
ABSL_FLAG(std::string, bind, "", "Source IPv4 address (default: the kernel's choice)");
ABSL_FLAG(std::string, json, "", "Also write the summary as JSON to this file");
ABSL_FLAG(bool, sha256_portable, false,
          "Check digests with the portable SHA-256 even on a CPU with SHA extensions");
ABSL_FLAG(uint32_t, deadline_s, 300, "Transfers still running after this many seconds fail");

namespace stampede::perf {
namespace {

// RFC 1350 §5 opcodes, RFC 2347 OACK.
enum class Opcode : uint16_t { kRrq = 1, kData = 3, kAck = 4, kError = 5, kOack = 6 };
// RFC 1350 §5 error codes used by the client; 8 is RFC 2347's.
constexpr uint16_t kErrorIllegalOperation = 4;
constexpr uint16_t kErrorUnknownTid = 5;
constexpr uint16_t kErrorOptionRefused = 8;

constexpr uint32_t kDefaultBlksize = 512;    // RFC 1350
constexpr uint32_t kMinBlksize = 8;          // RFC 2348
constexpr uint32_t kMaxBlksize = 65464;      // RFC 2348
constexpr uint32_t kMaxWindowsize = 65535;   // RFC 7440
constexpr size_t kMaxPathLength = 255;       // with "octet" and options, a RRQ fits 512 bytes
constexpr size_t kHeaderSize = 4;            // opcode + block number or error code
constexpr size_t kMaxDatagram = 65536;       // largest UDP payload we may be sent
constexpr int kBatch = 16;                   // datagrams per recvmmsg
constexpr int kMaxBatchesPerWakeup = 4;      // one busy socket cannot starve the others
constexpr int64_t kTimerScanNs = 5'000'000;  // granularity of the retransmission timers
constexpr int kSocketBufferBytes = 4 << 20;  // a whole window of large blocks (capped by rmem_max)

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

uint16_t Load16(std::span<const uint8_t> p, size_t at) { return uint16_t(p[at] << 8 | p[at + 1]); }

void Append16(std::string& out, uint16_t v) {
  out.push_back(char(v >> 8));
  out.push_back(char(v & 0xff));
}

// FIPS 180-4 round constants.
constexpr std::array<uint32_t, 64> kSha256K = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

using Sha256State = std::array<uint32_t, 8>;

uint32_t Rotr(uint32_t x, int n) { return x >> n | x << (32 - n); }

// The portable compression function, over `blocks` 64-byte blocks.
void Sha256Blocks(Sha256State& h, const uint8_t* data, size_t blocks) {
  for (; blocks > 0; --blocks, data += 64) {
    std::array<uint32_t, 64> w;
    for (int i = 0; i < 16; ++i) {
      w[i] = uint32_t(data[4 * i]) << 24 | uint32_t(data[4 * i + 1]) << 16 |
             uint32_t(data[4 * i + 2]) << 8 | data[4 * i + 3];
    }
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = Rotr(w[i - 15], 7) ^ Rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = Rotr(w[i - 2], 17) ^ Rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    Sha256State v = h;
    for (int i = 0; i < 64; ++i) {
      uint32_t s1 = Rotr(v[4], 6) ^ Rotr(v[4], 11) ^ Rotr(v[4], 25);
      uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
      uint32_t t1 = v[7] + s1 + ch + kSha256K[i] + w[i];
      uint32_t s0 = Rotr(v[0], 2) ^ Rotr(v[0], 13) ^ Rotr(v[0], 22);
      uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
      v = {t1 + s0 + maj, v[0], v[1], v[2], v[3] + t1, v[4], v[5], v[6]};
    }
    for (int i = 0; i < 8; ++i) h[i] += v[i];
  }
}

#if defined(__x86_64__)
// The same with the x86 SHA extensions (Intel's published round structure):
// several times faster, so that checking every byte does not make the
// client the bottleneck of the server it measures.
__attribute__((target("sha,sse4.1,ssse3"))) void Sha256BlocksShaNi(Sha256State& h,
                                                                   const uint8_t* data,
                                                                   size_t blocks) {
  const __m128i kByteSwap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&h[0])), 0xb1);
  __m128i state1 =
      _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&h[4])), 0x1b);
  __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);  // ABEF
  state1 = _mm_blend_epi16(state1, tmp, 0xf0);       // CDGH
  for (; blocks > 0; --blocks, data += 64) {
    __m128i abef = state0;
    __m128i cdgh = state1;
    __m128i m[4];                   // the message schedule, four words a register
    for (int g = 0; g < 16; ++g) {  // rounds 4g..4g+3
      if (g < 4) {
        m[g] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(data + 16 * g)),
                                kByteSwap);
      }
      __m128i msg = _mm_add_epi32(
          m[g % 4], _mm_loadu_si128(reinterpret_cast<const __m128i*>(&kSha256K[4 * g])));
      state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
      if (g >= 3 && g < 15) {
        __m128i& next = m[(g + 1) % 4];
        next = _mm_add_epi32(next, _mm_alignr_epi8(m[g % 4], m[(g + 3) % 4], 4));
        next = _mm_sha256msg2_epu32(next, m[g % 4]);
      }
      state0 = _mm_sha256rnds2_epu32(state0, state1, _mm_shuffle_epi32(msg, 0x0e));
      if (g >= 1 && g < 13) m[(g + 3) % 4] = _mm_sha256msg1_epu32(m[(g + 3) % 4], m[g % 4]);
    }
    state0 = _mm_add_epi32(state0, abef);
    state1 = _mm_add_epi32(state1, cdgh);
  }
  tmp = _mm_shuffle_epi32(state0, 0x1b);     // FEBA
  state1 = _mm_shuffle_epi32(state1, 0xb1);  // DCHG
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&h[0]), _mm_blend_epi16(tmp, state1, 0xf0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&h[4]), _mm_alignr_epi8(state1, tmp, 8));
}

bool HasShaNi() {
  unsigned a, b, c, d;
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA) != 0;
}
#endif

// FIPS 180-4 SHA-256, fed incrementally as blocks arrive.
class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  // Which compression function runs: the SHA extensions when the CPU has
  // them, unless `portable`.
  static void Select(bool portable) {
#if defined(__x86_64__)
    blocks_ = !portable && HasShaNi() ? Sha256BlocksShaNi : Sha256Blocks;
#else
    (void)portable;
#endif
  }
  static bool Accelerated() { return blocks_ != Sha256Blocks; }

  void Update(std::span<const uint8_t> data) {
    length_ += data.size();
    if (buffered_ > 0) {
      size_t take = std::min(data.size(), buffer_.size() - buffered_);
      std::memcpy(buffer_.data() + buffered_, data.data(), take);
      buffered_ += take;
      data = data.subspan(take);
      if (buffered_ < buffer_.size()) return;
      blocks_(h_, buffer_.data(), 1);
      buffered_ = 0;
    }
    size_t whole = data.size() / buffer_.size();
    if (whole > 0) blocks_(h_, data.data(), whole);
    data = data.subspan(whole * buffer_.size());
    std::memcpy(buffer_.data(), data.data(), data.size());
    buffered_ = data.size();
  }

  Digest Final() {
    uint64_t bits = length_ * 8;
    std::array<uint8_t, 72> pad{};  // 0x80, zeros to 56 mod 64, the length
    pad[0] = 0x80;
    size_t zeros = (buffered_ < 56 ? 56 : 120) - buffered_ - 1;
    for (int i = 0; i < 8; ++i) pad[1 + zeros + i] = uint8_t(bits >> (56 - 8 * i));
    Update(std::span<const uint8_t>(pad.data(), 1 + zeros + 8));
    Digest out;
    for (int i = 0; i < 8; ++i) {
      for (int j = 0; j < 4; ++j) out[4 * i + j] = uint8_t(h_[i] >> (24 - 8 * j));
    }
    return out;
  }

 private:
  static inline void (*blocks_)(Sha256State&, const uint8_t*, size_t) = Sha256Blocks;

  Sha256State h_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t length_ = 0;
};

std::optional<Sha256::Digest> ParseDigest(absl::string_view hex) {
  Sha256::Digest out;
  if (hex.size() != 2 * out.size()) return std::nullopt;
  for (size_t i = 0; i < out.size(); ++i) {
    int value = 0;
    for (char c : hex.substr(2 * i, 2)) {
      c = absl::ascii_tolower(c);
      if (c >= '0' && c <= '9') {
        value = value * 16 + (c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value = value * 16 + (c - 'a' + 10);
      } else {
        return std::nullopt;
      }
    }
    out[i] = uint8_t(value);
  }
  return out;
}

struct Settings {
  sockaddr_in server{};
  std::optional<sockaddr_in> bind;
  std::vector<std::string> files;
  std::vector<Sha256::Digest> digests;  // empty, or one per file
  uint32_t clients = 1;
  uint32_t total = 1;
  uint32_t blksize = 0;
  uint32_t windowsize = 0;
  bool tsize = false;
  uint16_t rollover_to = 0;
  int64_t timeout_ns = 0;
  uint32_t retries = 0;
  int64_t deadline_ns = 0;
  bool AsksOptions() const { return blksize != 0 || windowsize != 0 || tsize; }
};

absl::StatusOr<sockaddr_in> ParseAddress(const std::string& flag, const std::string& text,
                                         uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (inet_pton(AF_INET, text.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", text, ": not an IPv4 address"));
  }
  return address;
}

absl::StatusOr<Settings> SettingsFromFlags() {
  Settings s;
  uint32_t port = absl::GetFlag(FLAGS_port);
  if (port == 0 || port > 65535) return absl::InvalidArgumentError("--port: must be 1..65535");
  absl::StatusOr<sockaddr_in> server =
      ParseAddress("server", absl::GetFlag(FLAGS_server), uint16_t(port));
  if (!server.ok()) return server.status();
  s.server = *server;
  if (std::string bind = absl::GetFlag(FLAGS_bind); !bind.empty()) {
    absl::StatusOr<sockaddr_in> address = ParseAddress("bind", bind, 0);
    if (!address.ok()) return address.status();
    s.bind = *address;
  }
  s.files = absl::StrSplit(absl::GetFlag(FLAGS_file), ',', absl::SkipEmpty());
  if (s.files.empty()) return absl::InvalidArgumentError("--file: give at least one file name");
  for (const std::string& file : s.files) {
    // The RRQ carries the name, "octet" and the options in one 512-byte packet.
    if (file.size() > kMaxPathLength) {
      return absl::InvalidArgumentError("--file: a name over 255 bytes");
    }
  }
  for (absl::string_view hex :
       absl::StrSplit(absl::GetFlag(FLAGS_sha256), ',', absl::SkipEmpty())) {
    std::optional<Sha256::Digest> digest = ParseDigest(hex);
    if (!digest) {
      return absl::InvalidArgumentError(absl::StrCat("--sha256: ", hex, " is not 64 hex digits"));
    }
    s.digests.push_back(*digest);
  }
  if (s.digests.size() == 1) s.digests.resize(s.files.size(), s.digests[0]);
  if (!s.digests.empty() && s.digests.size() != s.files.size()) {
    return absl::InvalidArgumentError("--sha256: give one digest, or one per --file");
  }
  s.clients = absl::GetFlag(FLAGS_clients);
  if (s.clients == 0) return absl::InvalidArgumentError("--clients: must be at least 1");
  s.total = absl::GetFlag(FLAGS_total) ? absl::GetFlag(FLAGS_total) : s.clients;
  s.clients = std::min(s.clients, s.total);
  s.blksize = absl::GetFlag(FLAGS_blksize);
  if (s.blksize != 0 && (s.blksize < kMinBlksize || s.blksize > kMaxBlksize)) {
    return absl::InvalidArgumentError("--blksize: must be 0 or 8..65464 (RFC 2348)");
  }
  s.windowsize = absl::GetFlag(FLAGS_windowsize);
  if (s.windowsize > kMaxWindowsize) {
    return absl::InvalidArgumentError("--windowsize: must be 0..65535 (RFC 7440)");
  }
  s.tsize = absl::GetFlag(FLAGS_tsize);
  uint32_t rollover = absl::GetFlag(FLAGS_rollover_to);
  if (rollover > 1) return absl::InvalidArgumentError("--rollover_to: must be 0 or 1");
  s.rollover_to = uint16_t(rollover);
  s.timeout_ns = int64_t{absl::GetFlag(FLAGS_timeout_ms)} * 1'000'000;
  if (s.timeout_ns <= 0) return absl::InvalidArgumentError("--timeout_ms: must be at least 1");
  s.retries = absl::GetFlag(FLAGS_retries);
  s.deadline_ns = int64_t{absl::GetFlag(FLAGS_deadline_s)} * 1'000'000'000;
  if (s.deadline_ns <= 0) return absl::InvalidArgumentError("--deadline_s: must be at least 1");
  return s;
}

// What one finished transfer reports.
struct Outcome {
  bool completed = false;
  std::optional<std::string> failure;  // why it did not complete
  bool digest_mismatch = false;
  uint64_t bytes = 0;
  int64_t elapsed_ns = 0;
  bool oack = false;
  uint32_t blksize = 0;
  uint32_t windowsize = 0;
  uint64_t retransmissions = 0;  // RRQs and ACKs sent again on a timeout
  uint64_t rrq_retransmissions = 0;
  uint64_t duplicates = 0;
  uint64_t out_of_order = 0;
  uint64_t send_errors = 0;
};

// recvmmsg's buffers, shared by all transfers (one thread).
struct Batch {
  Batch() {
    for (int i = 0; i < kBatch; ++i) {
      vectors[i] = {buffers[i].data(), buffers[i].size()};
      headers[i].msg_hdr = {};
      headers[i].msg_hdr.msg_name = &from[i];
      headers[i].msg_hdr.msg_namelen = sizeof(from[i]);
      headers[i].msg_hdr.msg_iov = &vectors[i];
      headers[i].msg_hdr.msg_iovlen = 1;
    }
  }
  std::array<std::array<uint8_t, kMaxDatagram>, kBatch> buffers;
  std::array<sockaddr_in, kBatch> from;
  std::array<iovec, kBatch> vectors;
  std::array<mmsghdr, kBatch> headers;
};

// One read transfer on its own socket: RRQ, optional OACK, DATA in windows.
// The client does not dally after its last ACK (RFC 1350 §6 allows ending on
// sending it): the socket closes when the transfer is recorded.
class Transfer {
 public:
  enum class State : uint8_t { kRequested, kReceiving, kFinished };

  Transfer(const Settings& settings, std::string file, const Sha256::Digest* expected)
      : settings_(settings), file_(std::move(file)), expected_(expected) {}
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() {
    if (fd_ >= 0) close(fd_);
  }

  // Opens the socket, registers it with `epoll` under `slot` and sends the RRQ.
  void Start(int epoll, uint32_t slot, int64_t now) {
    start_ns_ = now;
    deadline_ns_ = now + settings_.timeout_ns;
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Fail(absl::StrCat("socket: ", std::strerror(errno)), now);
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &kSocketBufferBytes, sizeof(kSocketBufferBytes));
    if (settings_.bind &&
        bind(fd_, reinterpret_cast<const sockaddr*>(&*settings_.bind), sizeof(sockaddr_in)) != 0) {
      return Fail(absl::StrCat("bind: ", std::strerror(errno)), now);
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = slot;
    if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd_, &event) != 0) {
      return Fail(absl::StrCat("epoll_ctl: ", std::strerror(errno)), now);
    }
    SendRequest();
  }

  bool finished() const { return state_ == State::kFinished; }
  const Outcome& outcome() const { return outcome_; }

  // Reads what the socket holds (bounded) and answers it.
  void OnReadable(int64_t now) {
    static Batch batch;
    for (int round = 0; round < kMaxBatchesPerWakeup && !finished(); ++round) {
      for (mmsghdr& header : batch.headers) header.msg_hdr.msg_namelen = sizeof(sockaddr_in);
      int n = recvmmsg(fd_, batch.headers.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;  // EAGAIN, or an error the timer will see as silence
      for (int i = 0; i < n && !finished(); ++i) {
        OnDatagram(std::span<const uint8_t>(batch.buffers[i].data(), batch.headers[i].msg_len),
                   batch.from[i], now);
      }
      if (n < kBatch) return;
    }
  }

  // On silence past the timeout: the RRQ or the ACK of the last in-order
  // block again (RFC 7440 §4: the server restarts its window after it), at
  // most `retries` times in a row.
  void OnTimer(int64_t now) {
    if (finished() || now < deadline_ns_) return;
    if (timeouts_in_row_ >= settings_.retries) {
      return Fail(absl::StrCat("no answer after ", settings_.retries, " retransmissions"), now);
    }
    ++timeouts_in_row_;
    ++outcome_.retransmissions;
    in_window_ = 0;
    duplicates_in_row_ = 0;
    deadline_ns_ = now + settings_.timeout_ns;
    if (state_ == State::kRequested) {
      ++outcome_.rrq_retransmissions;
      return SendRequest();
    }
    SendAck(WireBlock(received_));
  }

  void Fail(std::string why, int64_t now) {
    if (finished()) return;
    state_ = State::kFinished;
    outcome_.failure = std::move(why);
    outcome_.elapsed_ns = now - start_ns_;
    outcome_.bytes = bytes_;
  }

 private:
  void OnDatagram(std::span<const uint8_t> packet, const sockaddr_in& from, int64_t now) {
    if (from.sin_addr.s_addr != settings_.server.sin_addr.s_addr) return;
    // RFC 1350 §4: the server's first packet chooses its TID (port); a packet
    // from any other port is answered with error 5 and otherwise ignored.
    if (server_tid_ == 0) server_tid_ = from.sin_port;
    if (from.sin_port != server_tid_) {
      return SendError(from, kErrorUnknownTid, "Unknown transfer ID");
    }
    if (packet.size() < kHeaderSize) return Fail("a packet shorter than 4 bytes", now);
    switch (Opcode(Load16(packet, 0))) {
      case Opcode::kData:
        return OnData(Load16(packet, 2), packet.subspan(kHeaderSize), now);
      case Opcode::kOack:
        return OnOack(packet.subspan(2), now);
      case Opcode::kError:
        return OnError(packet, now);
      default:
        SendError(from, kErrorIllegalOperation, "Illegal TFTP operation");
        return Fail(absl::StrCat("unexpected opcode ", Load16(packet, 0)), now);
    }
  }

  void OnData(uint16_t block, std::span<const uint8_t> payload, int64_t now) {
    if (state_ == State::kRequested) {
      // DATA without an OACK: the server ignored every option (RFC 2347).
      state_ = State::kReceiving;
      blksize_ = kDefaultBlksize;
      window_ = 1;
    }
    if (payload.size() > blksize_) {
      SendError(ServerTid(), kErrorIllegalOperation, "DATA longer than blksize");
      return Fail(absl::StrFormat("DATA of %u bytes over blksize %u", payload.size(), blksize_),
                  now);
    }
    if (block != WireBlock(received_ + 1)) return OnOutOfOrder(block);
    ++received_;
    bytes_ += payload.size();
    if (expected_ != nullptr) digest_.Update(payload);
    timeouts_in_row_ = 0;
    duplicates_in_row_ = 0;
    deadline_ns_ = now + settings_.timeout_ns;
    if (payload.size() < blksize_) {
      SendAck(block);
      return Complete(now);
    }
    // RFC 7440 §4: one ACK per window, for its last block.
    if (++in_window_ >= window_) {
      in_window_ = 0;
      SendAck(block);
    }
  }

  // A block already received is re-ACKed (RFC 1350; once per window's worth
  // of duplicates, so a window sent again is not answered block by block);
  // one past a gap waits: the timer ACKs the last in-order block.
  void OnOutOfOrder(uint16_t block) {
    uint16_t behind = uint16_t(WireBlock(received_) - block);
    if (received_ > 0 && behind < 0x8000) {
      ++outcome_.duplicates;
      if (++duplicates_in_row_ >= window_) {
        duplicates_in_row_ = 0;
        SendAck(WireBlock(received_));
      }
      return;
    }
    ++outcome_.out_of_order;
  }

  // RFC 2347: the server acknowledges a subset of the options asked for, each
  // no larger than asked; anything else is refused with error 8.
  void OnOack(std::span<const uint8_t> body, int64_t now) {
    if (!settings_.AsksOptions()) {
      SendError(ServerTid(), kErrorOptionRefused, "No options were requested");
      return Fail("OACK to a request without options", now);
    }
    if (state_ == State::kReceiving && outcome_.oack) {
      // The server sent its OACK again: our ACK 0 was lost or is late.
      ++outcome_.duplicates;
      if (received_ == 0) SendAck(0);
      return;
    }
    if (state_ != State::kRequested) return Fail("OACK after DATA without one", now);
    if (std::optional<std::string> refused = ApplyOptions(body)) {
      SendError(ServerTid(), kErrorOptionRefused, *refused);
      return Fail(absl::StrCat("OACK refused: ", *refused), now);
    }
    outcome_.oack = true;
    state_ = State::kReceiving;
    timeouts_in_row_ = 0;
    deadline_ns_ = now + settings_.timeout_ns;
    SendAck(0);
  }

  // Takes the OACK's options; the reason when one is not acceptable.
  std::optional<std::string> ApplyOptions(std::span<const uint8_t> body) {
    absl::string_view text(reinterpret_cast<const char*>(body.data()), body.size());
    if (!text.empty() && text.back() == '\0') text.remove_suffix(1);
    std::vector<absl::string_view> fields = absl::StrSplit(text, '\0');
    if (text.empty()) fields.clear();
    if (fields.size() % 2 != 0) return "an option without a value";
    blksize_ = kDefaultBlksize;
    window_ = 1;
    for (size_t i = 0; i < fields.size(); i += 2) {
      std::string name = absl::AsciiStrToLower(fields[i]);
      uint64_t value = 0;
      if (!absl::SimpleAtoi(fields[i + 1], &value)) return absl::StrCat(name, ": not a number");
      if (name == "blksize" && settings_.blksize && value >= kMinBlksize &&
          value <= settings_.blksize) {
        blksize_ = uint32_t(value);
      } else if (name == "windowsize" && settings_.windowsize && value >= 1 &&
                 value <= settings_.windowsize) {
        window_ = uint32_t(value);
      } else if (name == "tsize" && settings_.tsize) {
        tsize_ = value;
      } else {
        return absl::StrCat(name, "=", fields[i + 1], " was not asked for");
      }
    }
    return std::nullopt;
  }

  void OnError(std::span<const uint8_t> packet, int64_t now) {
    absl::string_view message(reinterpret_cast<const char*>(packet.data()) + kHeaderSize,
                              packet.size() - kHeaderSize);
    message = message.substr(0, message.find('\0'));
    Fail(absl::StrCat("ERROR ", Load16(packet, 2), ": ", message), now);
  }

  void Complete(int64_t now) {
    state_ = State::kFinished;
    outcome_.elapsed_ns = now - start_ns_;
    outcome_.bytes = bytes_;
    outcome_.blksize = blksize_;
    outcome_.windowsize = window_;
    if (tsize_ && *tsize_ != bytes_) {
      outcome_.failure = absl::StrCat("received ", bytes_, " bytes, tsize said ", *tsize_);
      return;
    }
    outcome_.completed = true;
    outcome_.digest_mismatch = expected_ != nullptr && digest_.Final() != *expected_;
  }

  // The wire number of the `sequence`th block (1-based): past 65535 it rolls
  // over to 0 (tftp-hpa, atftp, most firmware) or to 1.
  uint16_t WireBlock(uint64_t sequence) const {
    if (settings_.rollover_to == 0 || sequence <= 0xffff) return uint16_t(sequence);
    return uint16_t((sequence - 0x10000) % 0xffff + 1);
  }

  sockaddr_in ServerTid() const {
    sockaddr_in to = settings_.server;
    if (server_tid_ != 0) to.sin_port = server_tid_;
    return to;
  }

  void SendRequest() {
    std::string rrq;
    Append16(rrq, uint16_t(Opcode::kRrq));
    absl::StrAppend(&rrq, file_, absl::string_view("\0octet\0", 7));
    auto option = [&rrq](absl::string_view name, uint64_t value) {
      absl::StrAppend(&rrq, name, absl::string_view("\0", 1), value, absl::string_view("\0", 1));
    };
    if (settings_.blksize) option("blksize", settings_.blksize);
    if (settings_.windowsize) option("windowsize", settings_.windowsize);
    if (settings_.tsize) option("tsize", 0);
    Send(settings_.server, rrq);
  }

  void SendAck(uint16_t block) {
    std::string ack;
    Append16(ack, uint16_t(Opcode::kAck));
    Append16(ack, block);
    Send(ServerTid(), ack);
  }

  void SendError(const sockaddr_in& to, uint16_t code, absl::string_view message) {
    std::string error;
    Append16(error, uint16_t(Opcode::kError));
    Append16(error, code);
    absl::StrAppend(&error, message, absl::string_view("\0", 1));
    Send(to, error);
  }

  // A datagram the kernel would not take counts as lost: the timer resends.
  void Send(const sockaddr_in& to, absl::string_view packet) {
    if (sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<const sockaddr*>(&to),
               sizeof(to)) < 0) {
      ++outcome_.send_errors;
    }
  }

  const Settings& settings_;
  const std::string file_;
  const Sha256::Digest* expected_;
  int fd_ = -1;
  State state_ = State::kRequested;
  uint16_t server_tid_ = 0;  // network order; 0 until the server's first packet
  uint32_t blksize_ = kDefaultBlksize;
  uint32_t window_ = 1;
  std::optional<uint64_t> tsize_;
  uint64_t received_ = 0;  // blocks received in order
  uint64_t bytes_ = 0;
  uint32_t in_window_ = 0;  // in-order blocks since the last ACK
  uint32_t duplicates_in_row_ = 0;
  uint32_t timeouts_in_row_ = 0;
  int64_t start_ns_ = 0;
  int64_t deadline_ns_ = 0;  // of the retransmission timer
  Sha256 digest_;
  Outcome outcome_;
};

// What the run adds up to.
struct Summary {
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t mismatched = 0;
  uint64_t bytes = 0;
  uint64_t oack = 0;
  uint64_t retransmissions = 0;
  uint64_t rrq_retransmissions = 0;
  uint64_t duplicates = 0;
  uint64_t out_of_order = 0;
  uint64_t send_errors = 0;
  std::map<uint32_t, uint64_t> blksizes;     // negotiated value -> transfers
  std::map<uint32_t, uint64_t> windowsizes;  // negotiated value -> transfers
  std::map<std::string, uint64_t> failures;  // reason -> transfers
  std::vector<double> completion_ms;         // of the transfers that were ok
  double wall_s = 0;

  void Add(const Outcome& o) {
    retransmissions += o.retransmissions;
    rrq_retransmissions += o.rrq_retransmissions;
    duplicates += o.duplicates;
    out_of_order += o.out_of_order;
    send_errors += o.send_errors;
    if (!o.completed) {
      ++failed;
      ++failures[o.failure.value_or("unknown")];
      return;
    }
    if (o.digest_mismatch) {
      ++mismatched;
      return;
    }
    ++ok;
    bytes += o.bytes;
    oack += o.oack;
    ++blksizes[o.blksize];
    ++windowsizes[o.windowsize];
    completion_ms.push_back(double(o.elapsed_ns) / 1e6);
  }

  // Nearest-rank percentile of the completion times; 0 when none completed.
  double Percentile(double p) const {
    if (completion_ms.empty()) return 0;
    std::vector<double> sorted = completion_ms;
    std::sort(sorted.begin(), sorted.end());
    size_t rank = size_t(std::ceil(p / 100 * double(sorted.size())));
    return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
  }

  double MegabytesPerSecond() const { return wall_s > 0 ? double(bytes) / 1e6 / wall_s : 0; }
};

// Runs `settings.total` transfers, `settings.clients` at a time.
class LoadRun {
 public:
  explicit LoadRun(const Settings& settings) : settings_(settings), slots_(settings.clients) {}
  LoadRun(const LoadRun&) = delete;
  LoadRun& operator=(const LoadRun&) = delete;
  ~LoadRun() {
    if (epoll_ >= 0) close(epoll_);
  }

  absl::StatusOr<Summary> Run() {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) return absl::InternalError(absl::StrCat("epoll: ", std::strerror(errno)));
    int64_t begin = NowNs();
    last_finish_ = begin;
    int64_t deadline = begin + settings_.deadline_ns;
    for (uint32_t slot = 0; slot < slots_.size(); ++slot) StartNext(slot, begin);
    int64_t next_scan = begin + kTimerScanNs;
    std::vector<epoll_event> events(256);
    while (active_ > 0) {
      int64_t now = NowNs();
      if (now >= deadline) {
        stopped_ = true;
        for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
          if (slots_[slot]) slots_[slot]->Fail("overall --deadline_s passed", now);
          Reap(slot, now);
        }
        break;
      }
      if (now >= next_scan) {
        for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
          if (slots_[slot]) slots_[slot]->OnTimer(now);
          Reap(slot, now);
        }
        next_scan = now + kTimerScanNs;
      }
      int wait_ms = int((std::min(next_scan, deadline) - now + 999'999) / 1'000'000);
      int n = epoll_wait(epoll_, events.data(), int(events.size()), std::max(wait_ms, 0));
      if (n < 0 && errno != EINTR) {
        return absl::InternalError(absl::StrCat("epoll_wait: ", std::strerror(errno)));
      }
      now = NowNs();
      for (int i = 0; i < n; ++i) {
        uint32_t slot = events[i].data.u32;
        if (slots_[slot]) slots_[slot]->OnReadable(now);
        Reap(slot, now);
      }
    }
    for (; started_ < settings_.total; ++started_) {
      ++summary_.failed;
      ++summary_.failures["not started before --deadline_s"];
    }
    summary_.wall_s = double(last_finish_ - begin) / 1e9;
    return summary_;
  }

 private:
  void StartNext(uint32_t slot, int64_t now) {
    if (stopped_ || started_ >= settings_.total) return;
    size_t file = started_ % settings_.files.size();
    const Sha256::Digest* expected = settings_.digests.empty() ? nullptr : &settings_.digests[file];
    ++started_;
    ++active_;
    slots_[slot] = std::make_unique<Transfer>(settings_, settings_.files[file], expected);
    slots_[slot]->Start(epoll_, slot, now);
  }

  // Records a finished transfer and starts the next one in its slot (a
  // transfer that failed to start is reaped here too, so this is bounded by
  // `total`).
  void Reap(uint32_t slot, int64_t now) {
    while (slots_[slot] && slots_[slot]->finished()) {
      summary_.Add(slots_[slot]->outcome());
      slots_[slot].reset();  // closes the socket, which leaves the epoll set
      --active_;
      last_finish_ = now;
      StartNext(slot, now);
    }
  }

  const Settings& settings_;
  std::vector<std::unique_ptr<Transfer>> slots_;
  int epoll_ = -1;
  uint32_t started_ = 0;
  uint32_t active_ = 0;
  bool stopped_ = false;  // the overall deadline passed
  int64_t last_finish_ = 0;
  Summary summary_;
};

// Room for every socket: the soft descriptor limit up to the hard one.
void RaiseDescriptorLimit(uint32_t sockets) {
  rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  rlim_t want = rlim_t{sockets} + 64;
  if (limit.rlim_cur >= want) return;
  limit.rlim_cur = std::min(want, limit.rlim_max);
  setrlimit(RLIMIT_NOFILE, &limit);
}

std::string Counts(const std::map<uint32_t, uint64_t>& counts) {
  return absl::StrJoin(counts, ", ", [](std::string* out, const auto& entry) {
    absl::StrAppend(out, entry.first, " (", entry.second, ")");
  });
}

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", absl::string_view(&c, 1));
    } else if (uint8_t(c) < 0x20) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", int(c)));
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

std::string JsonCounts(const std::map<uint32_t, uint64_t>& counts) {
  return absl::StrCat("{",
                      absl::StrJoin(counts, ",",
                                    [](std::string* out, const auto& entry) {
                                      absl::StrAppend(out, "\"", entry.first, "\":", entry.second);
                                    }),
                      "}");
}

std::string Json(const Settings& s, const Summary& r) {
  std::string failures = absl::StrJoin(r.failures, ",", [](std::string* out, const auto& entry) {
    absl::StrAppend(out, JsonString(entry.first), ":", entry.second);
  });
  return absl::StrFormat(
      "{\"server\":%s,\"files\":%s,\"clients\":%u,\"transfers\":%u,\"blksize_asked\":%u,"
      "\"windowsize_asked\":%u,\"ok\":%u,\"failed\":%u,\"digest_mismatches\":%u,"
      "\"digest_checked\":%s,\"bytes\":%u,\"wall_s\":%.6f,\"mb_per_s\":%.3f,\"p50_ms\":%.3f,"
      "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"retransmissions\":%u,\"rrq_retransmissions\":%u,"
      "\"duplicates\":%u,"
      "\"out_of_order\":%u,\"send_errors\":%u,\"oack\":%u,\"blksize\":%s,\"windowsize\":%s,"
      "\"failures\":{%s}}\n",
      JsonString(absl::GetFlag(FLAGS_server)), JsonString(absl::StrJoin(s.files, ",")), s.clients,
      s.total, s.blksize, s.windowsize, r.ok, r.failed, r.mismatched,
      s.digests.empty() ? "false" : "true", r.bytes, r.wall_s, r.MegabytesPerSecond(),
      r.Percentile(50), r.Percentile(99), r.Percentile(100), r.retransmissions,
      r.rrq_retransmissions, r.duplicates, r.out_of_order, r.send_errors, r.oack,
      JsonCounts(r.blksizes), JsonCounts(r.windowsizes), failures);
}

void Print(const Settings& s, const Summary& r) {
  std::printf("tftp_load: %s:%u %s, %u clients, %u transfers, asked blksize %u windowsize %u%s\n",
              absl::GetFlag(FLAGS_server).c_str(), absl::GetFlag(FLAGS_port),
              absl::StrJoin(s.files, ",").c_str(), s.clients, s.total, s.blksize, s.windowsize,
              s.tsize ? " tsize" : "");
  const char* checked = s.digests.empty()       ? " (no digest given)"
                        : Sha256::Accelerated() ? " (sha256 checked, SHA extensions)"
                                                : " (sha256 checked, portable)";
  std::printf("transfers: %lu ok, %lu failed, %lu digest mismatches%s\n", r.ok, r.failed,
              r.mismatched, checked);
  std::printf("bytes: %lu in %.3f s, %.2f MB/s aggregate\n", r.bytes, r.wall_s,
              r.MegabytesPerSecond());
  std::printf("completion ms: p50 %.2f, p99 %.2f, max %.2f\n", r.Percentile(50), r.Percentile(99),
              r.Percentile(100));
  std::printf("negotiated: OACK in %lu; blksize %s; windowsize %s\n", r.oack,
              Counts(r.blksizes).c_str(), Counts(r.windowsizes).c_str());
  std::printf(
      "packets: %lu retransmissions (%lu of them RRQs), %lu duplicate DATA, %lu out-of-order "
      "DATA, %lu send errors\n",
      r.retransmissions, r.rrq_retransmissions, r.duplicates, r.out_of_order, r.send_errors);
  for (const auto& [reason, count] : r.failures) {
    std::printf("failed: %lu x %s\n", count, reason.c_str());
  }
}

int Main() {
  absl::StatusOr<Settings> settings = SettingsFromFlags();
  if (!settings.ok()) {
    std::fprintf(stderr, "tftp_load: %s\n", std::string(settings.status().message()).c_str());
    return 2;
  }
  RaiseDescriptorLimit(settings->clients);
  Sha256::Select(absl::GetFlag(FLAGS_sha256_portable));
  LoadRun run(*settings);
  absl::StatusOr<Summary> summary = run.Run();
  if (!summary.ok()) {
    std::fprintf(stderr, "tftp_load: %s\n", std::string(summary.status().message()).c_str());
    return 2;
  }
  Print(*settings, *summary);
  if (std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    std::ofstream out(path);
    out << Json(*settings, *summary);
    if (!out) {
      std::fprintf(stderr, "tftp_load: cannot write %s\n", path.c_str());
      return 2;
    }
  }
  return summary->failed == 0 && summary->mismatched == 0 ? 0 : 1;
}

}  // namespace
}  // namespace stampede::perf

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "tftp_load --server=IP --file=NAME[,NAME...] [--clients=N --total=M --blksize=B "
      "--windowsize=W --tsize --sha256=HEX --json=PATH]");
  absl::ParseCommandLine(argc, argv);
  return stampede::perf::Main();
}
