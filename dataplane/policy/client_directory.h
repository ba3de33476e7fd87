// Which boot profile each leased address was given: written by the DHCP
// worker when an ACK leaves, read by the TFTP workers and the HTTP thread to
// answer per-client files (grub/grub.cfg, boot.ipxe, pxelinux.cfg/default)
// by the asking address's lease — the only way to reach GRUB, which reads
// grub/grub.cfg whatever DHCP said, with a host's one-shot next boot.
//
// One writer, any number of readers, no locks: a fixed open-addressing table
// of 64-bit words, each (address, profile fingerprint, once, profile) stored
// and loaded whole. An address keeps its slot once it has one (an emptied
// entry keeps its key), so a reader's probe never misses an entry that moved.
// Bounded: addresses beyond the capacity are not remembered (counted) and
// their clients get the catalog's file, as clients without a lease do.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace stampede::policy {

struct ClientBoot {
  uint32_t profile = 0;  // 1-based index into the policy's profiles
  bool once = false;     // the lease carried the host's one-shot next boot
};

class ClientDirectory {
 public:
  // Profiles are 15 bits in an entry.
  static constexpr uint32_t kMaxProfile = 0x7fff;
  static constexpr size_t kMaxProbe = 32;

  // `capacity` rounded up to a power of two (at least 64).
  explicit ClientDirectory(size_t capacity)
      : mask_(std::bit_ceil(capacity < 64 ? size_t{64} : capacity) - 1),
        slots_(new std::atomic<uint64_t>[mask_ + 1]) {
    for (size_t i = 0; i <= mask_; ++i) slots_[i].store(0, std::memory_order_relaxed);
  }

  size_t capacity() const { return mask_ + 1; }

  // Writer only. `fingerprint` names the policy's list of profiles (see
  // PolicyTables::profile_fingerprint): a reader under another list ignores
  // the entry. Profile 0 empties the address's entry. False: not kept
  // (profile out of range, or no slot within kMaxProbe).
  bool Set(uint32_t address, uint32_t profile, bool once, uint16_t fingerprint) {
    if (address == 0 || profile > kMaxProfile) return false;
    uint64_t word = uint64_t{address} << 32 | uint64_t{fingerprint} << 16 |
                    (profile != 0 && once ? 0x8000u : 0u) | profile;
    for (size_t i = 0, slot = Home(address); i < kMaxProbe; ++i, slot = (slot + 1) & mask_) {
      uint64_t held = slots_[slot].load(std::memory_order_relaxed);
      if (held == 0 && profile == 0) return true;  // nothing to empty
      if (held == 0 || held >> 32 == address) {
        slots_[slot].store(word, std::memory_order_release);
        return true;
      }
    }
    if (profile != 0) full_.fetch_add(1, std::memory_order_relaxed);
    return profile == 0;
  }
  void Clear(uint32_t address) { Set(address, 0, false, 0); }

  // Any thread.
  std::optional<ClientBoot> Find(uint32_t address, uint16_t fingerprint) const {
    if (address == 0) return std::nullopt;
    for (size_t i = 0, slot = Home(address); i < kMaxProbe; ++i, slot = (slot + 1) & mask_) {
      uint64_t held = slots_[slot].load(std::memory_order_acquire);
      if (held == 0) return std::nullopt;
      if (held >> 32 != address) continue;
      uint32_t profile = held & kMaxProfile;
      if (profile == 0 || (held >> 16 & 0xffff) != fingerprint) return std::nullopt;
      return ClientBoot{profile, (held & 0x8000) != 0};
    }
    return std::nullopt;
  }

  // Addresses not remembered for want of room.
  uint64_t full() const { return full_.load(std::memory_order_relaxed); }

 private:
  size_t Home(uint32_t address) const {
    return static_cast<size_t>((uint64_t{address} * 0x9e3779b97f4a7c15u) >> 32) & mask_;
  }

  size_t mask_;
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
  std::atomic<uint64_t> full_{0};
};

}  // namespace stampede::policy
