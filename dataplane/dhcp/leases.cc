#include "dataplane/dhcp/leases.h"

#include <algorithm>
#include <cstring>

namespace stampede::dhcp {

ClientKey ClientKey::From(std::span<const std::byte> id) {
  ClientKey key;
  key.length = static_cast<uint8_t>(std::min(id.size(), kMaxBytes));
  std::memcpy(key.bytes.data(), id.data(), key.length);
  if (id.size() > kMaxBytes) {
    key.overflow_hash =
        absl::HashOf(std::string_view(reinterpret_cast<const char*>(id.data()), id.size()));
  }
  return key;
}

const Lease* LeaseTable::ByAddress(uint32_t address) const {
  auto it = by_address_.find(address);
  return it == by_address_.end() ? nullptr : &it->second;
}

const Lease* LeaseTable::ByClient(const ClientKey& client) const {
  auto it = by_client_.find(client);
  return it == by_client_.end() ? nullptr : ByAddress(it->second);
}

bool LeaseTable::AvailableFor(uint32_t address, const ClientKey& client, uint64_t now_ms) const {
  const Lease* lease = ByAddress(address);
  return lease == nullptr || lease->client == client || lease->expires_ms <= now_ms;
}

void LeaseTable::Put(const Lease& lease) {
  // The address's previous holder (an expired lease) loses its index entry.
  if (auto it = by_address_.find(lease.address); it != by_address_.end()) {
    if (!(it->second.client == lease.client)) by_client_.erase(it->second.client);
  }
  // The client's previous address is freed.
  if (auto it = by_client_.find(lease.client);
      it != by_client_.end() && it->second != lease.address) {
    by_address_.erase(it->second);
  }
  by_address_[lease.address] = lease;
  deadlines_.push({lease.expires_ms, lease.address});
  if (lease.state != LeaseState::kDeclined) {
    by_client_[lease.client] = lease.address;
    last_address_[lease.client] = lease.address;
  }
}

void LeaseTable::Remove(uint32_t address) {
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return;
  if (auto c = by_client_.find(it->second.client); c != by_client_.end() && c->second == address) {
    by_client_.erase(c);
  }
  by_address_.erase(it);
}

std::optional<uint32_t> LeaseTable::LastAddress(const ClientKey& client) const {
  auto it = last_address_.find(client);
  if (it == last_address_.end()) return std::nullopt;
  return it->second;
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
