#include "dataplane/tftp/session.h"

#include <algorithm>

namespace stampede::tftp {

Session::Session(const SessionConfig& config)
    : config_(config),
      blocks_(config.file_size / config.blksize + 1),
      oack_acked_(!config.oack),
      rto_ms_(config.initial_rto_ms) {
  // An ACK names a block among those in flight only while a window is
  // shorter than one turn of the block counter (65536 numbers, 65535 when
  // rolling over to 1).
  config_.windowsize = std::min(config_.windowsize, config_.rollover_to == 1 ? 65534u : 65535u);
}

uint16_t Session::WireBlock(uint64_t index) const {
  if (config_.rollover_to == 1) return static_cast<uint16_t>((index - 1) % 65535 + 1);
  return static_cast<uint16_t>(index & 0xffff);
}

uint32_t Session::BlockLength(uint64_t index) const {
  if (index < blocks_) return config_.blksize;
  return static_cast<uint32_t>(config_.file_size - (blocks_ - 1) * config_.blksize);
}

SendAction Session::Start(uint64_t now_ms) {
  sent_at_ = now_ms;
  if (config_.oack) return {true, 0, 0};
  return Window(now_ms);
}

SendAction Session::Window(uint64_t now_ms) {
  uint64_t first = acked_ + 1;
  uint64_t last = std::min(blocks_, acked_ + config_.windowsize);
  sent_upto_ = last;
  sent_at_ = now_ms;
  return {false, first, last >= first ? last - first + 1 : 0};
}

SendAction Session::OnAck(uint16_t block, uint64_t now_ms) {
  if (!oack_acked_) {
    // RFC 2347: the OACK is acknowledged with block 0.
    if (block != 0) {
      ++duplicate_acks_;
      return {};
    }
    oack_acked_ = true;
    if (!retransmitted_) Sample(now_ms - sent_at_);
    retries_ = 0;
    retransmitted_ = false;
    return Window(now_ms);
  }
  // The block this ACK names among those sent and not yet acknowledged; a
  // window never spans a whole wrap of the 16-bit counter, so it is unique.
  uint64_t match = 0;
  for (uint64_t i = acked_ + 1; i <= sent_upto_; ++i) {
    if (WireBlock(i) == block) {
      match = i;
      break;
    }
  }
  if (match == 0) {
    ++duplicate_acks_;  // old or repeated: answering it would double the traffic
    return {};
  }
  if (!retransmitted_ && match == sent_upto_) Sample(now_ms - sent_at_);
  acked_ = match;
  retries_ = 0;
  retransmitted_ = false;
  if (acked_ == blocks_) return {};
  // A full window acknowledged, or a loss inside it: either way the next
  // window starts right after what the client has.
  return Window(now_ms);
}

std::optional<SendAction> Session::OnTimeout(uint64_t now_ms) {
  if (done()) return SendAction{};
  if (++retries_ > config_.max_retries) return std::nullopt;
  retransmitted_ = true;
  rto_ms_ = std::min(config_.max_rto_ms, rto_ms_ * 2);  // RFC 6298 §5.5 back-off
  if (!oack_acked_) {
    sent_at_ = now_ms;
    return SendAction{true, 0, 0};
  }
  return Window(now_ms);
}

void Session::Sample(uint64_t rtt) {
  // RFC 6298 §2: alpha 1/8, beta 1/4, RTO = SRTT + 4 RTTVAR, clamped.
  uint32_t r = static_cast<uint32_t>(std::min<uint64_t>(rtt, config_.max_rto_ms));
  if (!have_rtt_) {
    srtt_ms_ = r;
    rttvar_ms_ = r / 2;
    have_rtt_ = true;
  } else {
    uint32_t delta = srtt_ms_ > r ? srtt_ms_ - r : r - srtt_ms_;
    rttvar_ms_ = (3 * rttvar_ms_ + delta) / 4;
    srtt_ms_ = (7 * srtt_ms_ + r) / 8;
  }
  rto_ms_ = std::clamp(srtt_ms_ + 4 * rttvar_ms_, config_.min_rto_ms, config_.max_rto_ms);
}

}  // namespace stampede::tftp
