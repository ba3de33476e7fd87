#include "dataplane/dhcp/leases.h"

#include <algorithm>
#include <cstring>

namespace stampede::dhcp {

ClientKey ClientKey::From(std::span<const std::byte> id) {
  ClientKey key;
  key.length = static_cast<uint8_t>(std::min(id.size(), kMaxBytes));
  std::memcpy(key.bytes.data(), id.data(), key.length);
  if (id.size() > kMaxBytes) {
    key.overflow_hash = StableHash(id);  // journaled: must not change across restarts
  }
  return key;
}

const Lease* LeaseTable::ByAddress(uint32_t address) const {
  auto it = by_address_.find(address);
  return it == by_address_.end() ? nullptr : &it->second;
}

const Lease* LeaseTable::ByClient(const ClientKey& client) const {
  auto it = clients_.find(client);
  return it == clients_.end() || !it->second.holds ? nullptr : ByAddress(it->second.held);
}

LeaseTable::ClientLeases LeaseTable::ForClient(const ClientKey& client) const {
  auto it = clients_.find(client);
  if (it == clients_.end()) return {};
  return {it->second.holds ? ByAddress(it->second.held) : nullptr, it->second.last};
}

bool LeaseTable::AvailableFor(uint32_t address, const ClientKey& client, uint64_t now_ms) const {
  const Lease* lease = ByAddress(address);
  return lease == nullptr || lease->client == client || lease->expires_ms <= now_ms;
}

void LeaseTable::ForgetIdleClients() {
  absl::erase_if(clients_, [](const auto& entry) { return !entry.second.holds; });
  forget_at_ = std::max(min_remembered_, 2 * clients_.size());
}

void LeaseTable::Put(const Lease& lease) {
  if (clients_.size() >= forget_at_) ForgetIdleClients();
  auto [slot, inserted] = by_address_.try_emplace(lease.address);
  bool declined = lease.state == LeaseState::kDeclined;
  if (!inserted && !declined && slot->second.state != LeaseState::kDeclined &&
      slot->second.client == lease.client) {
    // Its holder again (an offer acknowledged, a lease renewed): the
    // client's entry already holds this address, no need to find it.
    slot->second = lease;
    deadlines_.emplace(lease.expires_ms, lease.address);
    return;
  }
  // The address's previous holder (an expired lease) loses its index entry.
  if (!inserted && !(slot->second.client == lease.client)) {
    if (auto c = clients_.find(slot->second.client); c != clients_.end()) c->second.holds = false;
  }
  // One probe finds the client's entry, or makes it (a declined lease is
  // held by nobody: no entry).
  ClientEntry* entry = nullptr;
  if (declined) {
    if (auto c = clients_.find(lease.client); c != clients_.end()) entry = &c->second;
  } else {
    entry = &clients_.try_emplace(lease.client).first->second;
  }
  // The client's previous address is freed (erasing never moves the
  // other entries, so `slot` stays valid).
  if (entry != nullptr && entry->holds && entry->held != lease.address) {
    by_address_.erase(entry->held);
  }
  slot->second = lease;
  deadlines_.emplace(lease.expires_ms, lease.address);
  if (!declined) *entry = {lease.address, lease.address, true};
}

void LeaseTable::Remove(uint32_t address) {
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return;
  if (auto c = clients_.find(it->second.client);
      c != clients_.end() && c->second.holds && c->second.held == address) {
    c->second.holds = false;
  }
  by_address_.erase(it);
}

std::optional<uint32_t> LeaseTable::LastAddress(const ClientKey& client) const {
  auto it = clients_.find(client);
  if (it == clients_.end()) return std::nullopt;
  return it->second.last;
}

void LeaseTable::Reserve(size_t leases) {
  leases = std::min(leases, kMaxReservedLeases);
  if (leases <= by_address_.size()) return;
  by_address_.reserve(leases);
  clients_.reserve(leases);
  // The queue's vector, through the protected member every adaptor has.
  struct Queue : decltype(deadlines_) {
    static auto& Of(decltype(deadlines_)& queue) { return queue.*(&Queue::c); }
  };
  Queue::Of(deadlines_).reserve(leases);
}

size_t LeaseTable::Expire(uint64_t now_ms, size_t budget) {
  size_t removed = 0;
  for (size_t looked = 0; looked < budget && !deadlines_.empty(); ++looked) {
    auto [expires, address] = deadlines_.top();
    if (expires > now_ms) break;
    deadlines_.pop();
    const Lease* lease = ByAddress(address);
    if (lease != nullptr && lease->expires_ms <= now_ms) {
      Remove(address);
      ++removed;
    }
  }
  return removed;
}

}  // namespace stampede::dhcp
