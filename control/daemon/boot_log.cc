#include "control/daemon/boot_log.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "control/api/json.h"
#include "dataplane/dhcp/leases.h"
#include "dataplane/net/address.h"

namespace stampede::control {
namespace {

using api::JsonString;

std::string AddressKey(uint32_t address) { return absl::StrCat("@", address); }

}  // namespace

const char* ProxyStepName(v1::ProxyBoot::Step step) {
  switch (step) {
    case v1::ProxyBoot::OFFERED:
      return "offered";
    case v1::ProxyBoot::ACKED:
      return "acked";
    case v1::ProxyBoot::REQUESTED:
      return "requested";
    default:
      return "unknown";
  }
}

const char* LeaseChangeName(v1::Lease::Change change) {
  switch (change) {
    case v1::Lease::GRANTED:
      return "granted";
    case v1::Lease::RELEASED:
      return "released";
    case v1::Lease::DECLINED:
      return "declined";
    default:
      return "unknown";
  }
}

const char* TftpOutcomeName(v1::TftpTransfer::Outcome outcome) {
  switch (outcome) {
    case v1::TftpTransfer::COMPLETED:
      return "completed";
    case v1::TftpTransfer::REFUSED:
      return "refused";
    case v1::TftpTransfer::ABORTED:
      return "aborted";
    case v1::TftpTransfer::TIMED_OUT:
      return "timeout";
    case v1::TftpTransfer::READ_ERROR:
      return "read_error";
    case v1::TftpTransfer::UNANSWERED:
      return "unanswered";
    default:
      return "unknown";
  }
}

const char* HttpOutcomeName(v1::HttpTransfer::Outcome outcome) {
  switch (outcome) {
    case v1::HttpTransfer::COMPLETED:
      return "completed";
    case v1::HttpTransfer::ABORTED:
      return "aborted";
    case v1::HttpTransfer::TIMED_OUT:
      return "timeout";
    case v1::HttpTransfer::READ_ERROR:
      return "read_error";
    default:
      return "unknown";
  }
}

namespace {

const char* KindName(BootStep::Kind kind) {
  switch (kind) {
    case BootStep::Kind::kLease:
      return "lease";
    case BootStep::Kind::kTftp:
      return "tftp";
    case BootStep::Kind::kHttp:
      return "http";
    case BootStep::Kind::kProxy:
      return "proxy";
  }
  return "unknown";
}

// TFTP error 1 (RFC 1350).
constexpr uint32_t kTftpFileNotFound = 1;

std::string StepJson(const BootStep& s) {
  return absl::StrCat("{\"time_ns\":", s.time_ns, ",\"kind\":", JsonString(KindName(s.kind)),
                      ",\"outcome\":", JsonString(s.outcome), ",\"what\":", JsonString(s.what),
                      ",\"status\":", s.status, ",\"bytes\":", s.bytes, ",\"size\":", s.size,
                      ",\"duration_us\":", s.duration_us, ",\"detail\":", JsonString(s.detail),
                      ",\"ok\":", s.ok() ? "true" : "false", ",\"count\":", s.count, "}");
}

}  // namespace

std::string ClientText(const std::string& id) {
  if (id.size() == 7 && id[0] == 1) {
    net::MacAddress mac;
    std::memcpy(mac.octets.data(), id.data() + 1, 6);
    return mac.ToString();
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : id) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return hex;
}

std::string ClientArchName(uint32_t arch) {
  switch (arch) {
    case 0:
      return "bios";
    case 6:
      return "efi-ia32";
    case 7:
    case 9:
      return "efi-x64";
    case 10:
      return "efi-arm32";
    case 11:
      return "efi-arm64";
    case 15:
      return "efi-ia32-http";
    case 16:
      return "efi-x64-http";
    case 18:
      return "efi-arm32-http";
    case 19:
      return "efi-arm64-http";
    default:
      return absl::StrCat("arch-", arch);
  }
}

bool BootStep::ok() const {
  switch (kind) {
    case Kind::kLease:
    case Kind::kProxy:
      return false;
    case Kind::kTftp:
      return outcome == "completed";
    case Kind::kHttp:
      return outcome == "completed" && status < 400;
  }
  return false;
}

bool BootMachine::Failing() const {
  if (files == 0) return true;
  for (auto step = steps.rbegin(); step != steps.rend(); ++step) {
    if (step->kind == BootStep::Kind::kTftp || step->kind == BootStep::Kind::kHttp) {
      return !step->ok() && !step->not_found();
    }
  }
  return false;
}

bool BootStep::not_found() const {
  return (kind == Kind::kTftp && outcome == "refused" && status == kTftpFileNotFound) ||
         (kind == Kind::kHttp && status == 404);
}

void BootLog::Add(const v1::Event& event) {
  uint64_t t = event.time_ns();
  if (event.has_lease()) {
    const v1::Lease& lease = event.lease();
    if (lease.client_id().empty()) return;
    std::string client = ClientText(lease.client_id());
    if (lease.change() == v1::Lease::GRANTED) {
      client_of_address_[lease.address()] = client;
    } else if (auto it = client_of_address_.find(lease.address());
               it != client_of_address_.end() && it->second == client) {
      client_of_address_.erase(it);
    }
    BootMachine& m = Named(client, t);
    m.address = lease.address();
    BootStep step;
    step.time_ns = t;
    step.kind = BootStep::Kind::kLease;
    step.outcome = LeaseChangeName(lease.change());
    step.what = net::Ipv4Address{lease.address()}.ToString();
    if (lease.change() == v1::Lease::GRANTED) {
      ++m.leases;
      step.detail = Boot(m, lease.has_client_arch(), lease.client_arch(), lease.boot_profile());
    }
    Append(m, std::move(step));
  } else if (event.has_proxy_boot()) {
    const v1::ProxyBoot& proxy = event.proxy_boot();
    if (proxy.client_id().empty()) return;
    std::string client = ClientText(proxy.client_id());
    // No lease: the address it has (4011) or asks the site's server for
    // stands for one until another client names it.
    if (proxy.address() != 0) client_of_address_[proxy.address()] = client;
    BootMachine& m = Named(client, t);
    if (proxy.address() != 0) m.address = proxy.address();
    BootStep step;
    step.time_ns = t;
    step.kind = BootStep::Kind::kProxy;
    step.outcome = ProxyStepName(proxy.step());
    if (proxy.address() != 0) step.what = net::Ipv4Address{proxy.address()}.ToString();
    if (proxy.step() == v1::ProxyBoot::REQUESTED) {
      step.detail = "of the site's DHCP server";
    } else {
      ++m.proxy;
      step.detail = Boot(m, proxy.has_client_arch(), proxy.client_arch(), proxy.boot_profile());
    }
    Append(m, std::move(step));
  } else if (event.has_tftp_transfer()) {
    const v1::TftpTransfer& x = event.tftp_transfer();
    BootStep step;
    step.time_ns = t;
    step.kind = BootStep::Kind::kTftp;
    step.outcome = TftpOutcomeName(x.outcome());
    step.what = x.file_truncated() ? absl::StrCat(x.file(), "...") : x.file();
    step.status = x.error_code();
    step.bytes = x.bytes();
    step.size = x.size();
    step.duration_us = x.duration_us();
    step.detail = x.detail();
    Append(MachineFor(x.client_address(), t), std::move(step));
  } else if (event.has_http_transfer()) {
    const v1::HttpTransfer& x = event.http_transfer();
    BootStep step;
    step.time_ns = t;
    step.kind = BootStep::Kind::kHttp;
    step.outcome = HttpOutcomeName(x.outcome());
    step.what = x.path_truncated() ? absl::StrCat(x.path(), "...") : x.path();
    step.status = x.status();
    step.bytes = x.bytes();
    step.size = x.length();
    step.duration_us = x.duration_us();
    if (x.error() != 0) step.detail = std::strerror(static_cast<int>(x.error()));
    Append(MachineFor(x.client_address(), t), std::move(step));
  }
}

std::string BootLog::Boot(BootMachine& m, bool has_arch, uint32_t arch_number,
                          uint32_t profile_index) {
  // The machine keeps its last boot lease's: the DHCP client of the
  // kernel it booted (no option 93, no boot options) changes neither.
  std::string arch = has_arch ? ClientArchName(arch_number) : "";
  std::string profile = profile_index == 0 ? ""
                        : profile_index <= profiles_.size()
                            ? profiles_[profile_index - 1]
                            : absl::StrCat("profile-", profile_index);
  std::string text = absl::StrCat(arch.empty() ? "no option 93" : arch, ", ",
                                  profile.empty() ? "no boot profile" : "profile " + profile);
  if (!arch.empty()) m.arch = std::move(arch);
  if (!profile.empty()) m.profile = std::move(profile);
  return text;
}

void BootLog::Remember(uint32_t address, const std::string& client) {
  if (!client.empty()) client_of_address_[address] = client;
}

BootMachine& BootLog::MachineFor(uint32_t address, uint64_t time_ns) {
  auto it = client_of_address_.find(address);
  // A copy: making room may erase the entry.
  std::string key = it != client_of_address_.end() ? it->second : AddressKey(address);
  BootMachine& m = Named(key, time_ns);
  m.address = address;
  return m;
}

BootMachine& BootLog::Named(const std::string& key, uint64_t time_ns) {
  if (!machines_.contains(key) && machines_.size() >= max_machines_) EvictOldest();
  auto [it, inserted] = machines_.try_emplace(key);
  BootMachine& m = it->second;
  if (inserted) {
    if (key[0] != '@') m.client = key;
    m.first_ns = time_ns;
  }
  m.first_ns = std::min(m.first_ns, time_ns);
  m.last_ns = std::max(m.last_ns, time_ns);
  return m;
}

void BootLog::Append(BootMachine& m, BootStep step) {
  if (step.kind == BootStep::Kind::kTftp || step.kind == BootStep::Kind::kHttp) {
    m.bytes += step.bytes;
    if (step.ok()) {
      ++m.files;
    } else if (step.not_found()) {
      ++m.not_found;
    } else {
      ++m.failed;
    }
  }
  // The rings are read one after another, so a step can come after a later
  // one of the same machine (an HTTP request read before the TFTP transfer
  // that preceded it): each goes where its time puts it.
  auto at = m.steps.end();
  while (at != m.steps.begin() && std::prev(at)->time_ns > step.time_ns) --at;
  if (at != m.steps.begin() && step.kind == BootStep::Kind::kHttp && step.status == 206 &&
      step.outcome == "completed") {
    BootStep& before = *std::prev(at);
    if (before.kind == BootStep::Kind::kHttp && before.status == 206 &&
        before.outcome == "completed" && before.what == step.what) {
      ++before.count;
      before.time_ns = step.time_ns;  // not past the step after it
      before.bytes += step.bytes;
      before.size += step.size;
      before.duration_us += step.duration_us;
      return;
    }
  }
  m.steps.insert(at, std::move(step));
  while (m.steps.size() > max_steps_) {
    m.steps.pop_front();
    ++m.steps_dropped;
  }
}

void BootLog::EvictOldest() {
  // A sixteenth of the machines (at least one) at a time: full, the log
  // scans once per that many new machines, not once per machine.
  std::vector<uint64_t> seen;
  seen.reserve(machines_.size());
  for (const auto& [key, m] : machines_) seen.push_back(m.last_ns);
  size_t batch = std::max<size_t>(1, machines_.size() / 16);
  std::nth_element(seen.begin(), seen.begin() + static_cast<ptrdiff_t>(batch - 1), seen.end());
  uint64_t cutoff = seen[batch - 1];
  size_t removed = 0;
  for (auto it = machines_.begin(); it != machines_.end() && removed < batch;) {
    if (it->second.last_ns > cutoff) {
      ++it;
      continue;
    }
    if (auto a = client_of_address_.find(it->second.address);
        a != client_of_address_.end() && a->second == it->first) {
      client_of_address_.erase(a);
    }
    machines_.erase(it++);
    ++removed;
    ++evicted_;
  }
}

std::vector<const BootMachine*> BootLog::Machines() const {
  std::vector<const BootMachine*> out;
  out.reserve(machines_.size());
  for (const auto& [key, m] : machines_) out.push_back(&m);
  std::sort(out.begin(), out.end(), [](const BootMachine* a, const BootMachine* b) {
    return a->last_ns != b->last_ns ? a->last_ns > b->last_ns : a->client < b->client;
  });
  return out;
}

const BootMachine* BootLog::Find(std::string_view text) const {
  auto lookup = [&](const std::string& key) -> const BootMachine* {
    auto it = machines_.find(key);
    return it == machines_.end() ? nullptr : &it->second;
  };
  if (std::optional<net::Ipv4Address> address = net::Ipv4Address::Parse(text)) {
    if (auto it = client_of_address_.find(address->value); it != client_of_address_.end()) {
      if (const BootMachine* m = lookup(it->second)) return m;
    }
    return lookup(AddressKey(address->value));
  }
  if (std::optional<net::MacAddress> mac = net::MacAddress::Parse(text)) {
    return lookup(mac->ToString());
  }
  std::string key(text);
  absl::AsciiStrToLower(&key);
  return lookup(key);
}

HostNames::HostNames(const v1::Config& config) {
  // Client ids first: they win over a MAC, as in the dataplane. Leases
  // keep a client id's first bytes (the rest as a hash), and so do these.
  for (const v1::Host& host : config.hosts()) {
    if (auto id = net::ParseHexBytes(host.client_id())) {
      by_client_.emplace(ClientText(id->substr(0, dhcp::ClientKey::kMaxBytes)), host.name());
    }
  }
  for (const v1::Host& host : config.hosts()) {
    if (auto ip = net::Ipv4Address::Parse(std::string_view(host.ipv4()))) {
      by_address_.emplace(ip->value, host.name());
    }
    if (auto mac = net::MacAddress::Parse(std::string_view(host.mac()))) {
      by_client_.emplace(mac->ToString(), host.name());
    }
  }
}

std::string HostNames::Find(uint32_t address, const std::string& client) const {
  if (auto it = by_address_.find(address); it != by_address_.end()) return it->second;
  if (auto it = by_client_.find(client); it != by_client_.end()) return it->second;
  return "";
}

std::string BootMachineJson(const BootMachine& m, const std::string& host, bool steps) {
  std::string out = absl::StrCat(
      "{\"client\":", JsonString(m.client),
      ",\"address\":", JsonString(m.address ? net::Ipv4Address{m.address}.ToString() : ""),
      ",\"host\":", JsonString(host), ",\"first_ns\":", m.first_ns, ",\"last_ns\":", m.last_ns,
      ",\"leases\":", m.leases, ",\"proxy\":", m.proxy, ",\"files\":", m.files,
      ",\"not_found\":", m.not_found, ",\"failed\":", m.failed, ",\"bytes\":", m.bytes,
      ",\"arch\":", JsonString(m.arch), ",\"profile\":", JsonString(m.profile),
      ",\"steps_dropped\":", m.steps_dropped, ",\"failing\":", m.Failing() ? "true" : "false",
      ",\"last\":", m.steps.empty() ? "null" : StepJson(m.steps.back()));
  if (steps) {
    absl::StrAppend(&out, ",\"steps\":[");
    for (size_t i = 0; i < m.steps.size(); ++i) {
      absl::StrAppend(&out, i ? "," : "", StepJson(m.steps[i]));
    }
    absl::StrAppend(&out, "]");
  }
  return out + "}";
}

}  // namespace stampede::control
