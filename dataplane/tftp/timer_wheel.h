// A hashed timing wheel (Varghese & Lauck, scheme 4) at millisecond
// resolution for per-session retransmission timers: O(1) to arm, re-arm and
// cancel, and a poll touches only the slots whose milliseconds have passed.
// Deadlines further out than one turn stay in their slot and are skipped
// until their turn comes. Entries are ids 0..capacity-1 (session slots); the
// wheel owns no sessions. Single-threaded: one per worker.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace stampede::tftp {

class TimerWheel {
 public:
  // One turn: 4.096 s, above the largest adaptive RTO most sessions reach.
  static constexpr uint32_t kSlots = 4096;
  static constexpr uint32_t kNone = UINT32_MAX;

  explicit TimerWheel(uint32_t capacity) : nodes_(capacity), heads_(kSlots, kNone) {}

  // Arms `id` for `deadline_ms`, replacing its earlier deadline if any.
  void Schedule(uint32_t id, uint64_t deadline_ms) {
    if (nodes_[id].armed) Unlink(id);
    if (!started_) {
      cursor_ms_ = deadline_ms;
      started_ = true;
    }
    // Never behind the cursor: a past deadline fires on the next Advance.
    uint64_t at = std::max(deadline_ms, cursor_ms_);
    Node& node = nodes_[id];
    node.deadline_ms = at;
    node.armed = true;
    uint32_t slot = static_cast<uint32_t>(at % kSlots);
    node.prev = kNone;
    node.next = heads_[slot];
    if (node.next != kNone) nodes_[node.next].prev = id;
    heads_[slot] = id;
    ++armed_;
  }

  void Cancel(uint32_t id) {
    if (nodes_[id].armed) Unlink(id);
  }

  bool armed(uint32_t id) const { return nodes_[id].armed; }
  uint32_t size() const { return armed_; }

  // Fires (disarms, then calls fire(id)) every entry due at `now_ms`, at
  // most `budget` of them; what is left fires on the next call. `fire` may
  // Schedule or Cancel the entry it was given, not others.
  template <typename Fire>
  uint32_t Advance(uint64_t now_ms, uint32_t budget, Fire&& fire) {
    if (!started_) {
      cursor_ms_ = now_ms;
      started_ = true;
    }
    uint32_t fired = 0;
    // After a long pause one pass over every slot finds everything due.
    uint64_t last = std::min(now_ms, cursor_ms_ + kSlots - 1);
    while (cursor_ms_ <= last && armed_ > 0) {
      uint32_t slot = static_cast<uint32_t>(cursor_ms_ % kSlots);
      for (uint32_t id = heads_[slot]; id != kNone;) {
        uint32_t next = nodes_[id].next;
        if (nodes_[id].deadline_ms <= now_ms) {
          if (fired == budget) return fired;
          Unlink(id);
          ++fired;
          fire(id);
        }
        id = next;
      }
      if (cursor_ms_ == last) break;
      ++cursor_ms_;
    }
    cursor_ms_ = std::max(cursor_ms_, std::min(now_ms, last));
    if (armed_ == 0) cursor_ms_ = now_ms;
    return fired;
  }

 private:
  struct Node {
    uint32_t next = kNone;
    uint32_t prev = kNone;
    uint64_t deadline_ms = 0;
    bool armed = false;
  };

  void Unlink(uint32_t id) {
    Node& node = nodes_[id];
    if (node.prev != kNone) {
      nodes_[node.prev].next = node.next;
    } else {
      heads_[node.deadline_ms % kSlots] = node.next;
    }
    if (node.next != kNone) nodes_[node.next].prev = node.prev;
    node.armed = false;
    node.next = node.prev = kNone;
    --armed_;
  }

  std::vector<Node> nodes_;
  std::vector<uint32_t> heads_;
  uint64_t cursor_ms_ = 0;
  bool started_ = false;
  uint32_t armed_ = 0;
};

}  // namespace stampede::tftp
