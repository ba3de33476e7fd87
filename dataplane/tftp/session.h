// The sending side of one TFTP read transfer as a state machine over block
// numbers, driven by ACKs and timer expiries; it says which blocks to send
// and does no I/O. RFC 1350 lock-step, RFC 7440 windows (after an ACK the
// next window starts right after the acknowledged block, so a loss inside a
// window resumes from the first block the client is missing), RFC 2347 OACK
// first when options were negotiated, block numbers rolling over past 65535
// (to 0, or to 1 for clients that need it), and never a DATA in answer to a
// duplicate ACK (RFC 1123 §4.2.3.1, the Sorcerer's Apprentice bug).
// Retransmission uses an RFC 6298 estimate of the round trip (Karn's rule:
// no sample from a retransmitted window).
#pragma once

#include <cstdint>
#include <optional>

namespace stampede::tftp {

struct SessionConfig {
  uint32_t blksize = 512;
  uint32_t windowsize = 1;
  uint64_t file_size = 0;
  bool oack = false;         // options were negotiated: the OACK goes first
  uint16_t rollover_to = 0;  // block number after 65535: 0 or 1
  uint32_t max_retries = 5;
  uint32_t initial_rto_ms = 1000;  // RFC 6298 §2.1
  // LAN boot networks: far below TCP's 1 s floor, above the few ms a busy
  // firmware or host takes to answer a window.
  uint32_t min_rto_ms = 100;
  uint32_t max_rto_ms = 8000;
};

// Blocks to (re)send: absolute indexes first..first+count-1 (1-based), or
// the OACK.
struct SendAction {
  bool oack = false;
  uint64_t first = 0;
  uint64_t count = 0;
  bool empty() const { return !oack && count == 0; }
};

class Session {
 public:
  explicit Session(const SessionConfig& config);

  // The first thing to send, at `now_ms`.
  SendAction Start(uint64_t now_ms);
  // An ACK carrying wire block number `block`. Nothing to send for a stale
  // or duplicate ACK (counted in duplicate_acks()).
  SendAction OnAck(uint16_t block, uint64_t now_ms);
  // The retransmission timer fired: the unacknowledged window again, or
  // nullopt when the retries are used up (the session is dead).
  std::optional<SendAction> OnTimeout(uint64_t now_ms);

  bool done() const { return acked_ == blocks_ && oack_acked_; }
  // Every block has been sent at least once (only the last ACKs are owed).
  bool all_sent() const { return sent_upto_ == blocks_; }
  // The unacknowledged window actually left now (it waited for its bytes):
  // its retransmission timer and round-trip clock start here.
  void Restamp(uint64_t now_ms) { sent_at_ = now_ms; }
  // The client has acknowledged something (the OACK or a block).
  bool acknowledged() const { return acked_ > 0 || (config_.oack && oack_acked_); }
  uint64_t deadline_ms() const { return sent_at_ + rto_ms_; }
  uint32_t rto_ms() const { return rto_ms_; }
  uint64_t blocks() const { return blocks_; }
  uint64_t acked() const { return acked_; }
  uint64_t duplicate_acks() const { return duplicate_acks_; }
  uint32_t retries() const { return retries_; }

  // The block number on the wire for absolute index `index` (1-based).
  uint16_t WireBlock(uint64_t index) const;
  // Bytes of file data block `index` carries (the last one is short, maybe 0).
  uint32_t BlockLength(uint64_t index) const;
  uint64_t BlockOffset(uint64_t index) const { return (index - 1) * config_.blksize; }

 private:
  SendAction Window(uint64_t now_ms);
  void Sample(uint64_t rtt_ms);

  SessionConfig config_;
  uint64_t blocks_;         // DATA blocks in all: size / blksize + 1
  uint64_t acked_ = 0;      // highest block acknowledged
  uint64_t sent_upto_ = 0;  // highest block sent
  bool oack_acked_;
  uint64_t sent_at_ = 0;
  bool retransmitted_ = false;
  uint32_t retries_ = 0;
  uint64_t duplicate_acks_ = 0;
  uint32_t rto_ms_;
  uint32_t srtt_ms_ = 0, rttvar_ms_ = 0;
  bool have_rtt_ = false;
};

}  // namespace stampede::tftp
