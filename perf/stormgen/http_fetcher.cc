#include "perf/stormgen/http_fetcher.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace stampede::stormgen {
namespace {

constexpr size_t kMaxHead = 16 * 1024;  // a response head larger than this is refused
constexpr int kEventsPerPoll = 64;

}  // namespace

HttpFetcher::HttpFetcher(sockaddr_in server, std::string host, std::vector<std::string> paths,
                         uint32_t concurrency, int64_t timeout_ns)
    : server_(server),
      host_(std::move(host)),
      paths_(std::move(paths)),
      timeout_ns_(timeout_ns),
      slots_(std::max<uint32_t>(concurrency, 1)) {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  for (uint32_t i = static_cast<uint32_t>(slots_.size()); i > 0; --i) free_.push_back(i - 1);
}

HttpFetcher::~HttpFetcher() {
  for (Connection& c : slots_) {
    if (c.fd >= 0) close(c.fd);
  }
  if (epoll_ >= 0) close(epoll_);
}

void HttpFetcher::Enqueue(uint32_t client, int64_t /*now*/) { queue_.push_back(client); }

size_t HttpFetcher::NewSample(uint32_t client, int64_t now) {
  samples_.push_back(Sample{now});
  owners_.push_back(client);
  return samples_.size() - 1;
}

void HttpFetcher::StartNext(int64_t now, std::vector<uint32_t>& ended) {
  while (!queue_.empty() && !free_.empty()) {
    uint32_t slot = free_.back();
    free_.pop_back();
    Connection& c = slots_[slot];
    c = Connection{};
    c.client = queue_.front();
    queue_.pop_front();
    ++active_;
    c.sample = NewSample(c.client, now);
    c.deadline_ns = now + timeout_ns_;
    if (!Connect(c, slot)) End(c, "http: connect failed", now, ended);
  }
}

bool HttpFetcher::Connect(Connection& c, uint32_t slot) {
  c.connected = false;
  c.close_after = false;
  c.in.clear();
  c.body_left = -1;
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) return false;
  if (connect(c.fd, reinterpret_cast<const sockaddr*>(&server_), sizeof(server_)) != 0 &&
      errno != EINPROGRESS) {
    return false;
  }
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT;
  event.data.u32 = slot;
  return epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &event) == 0;
}

void HttpFetcher::SendGet(Connection& c, int64_t now) {
  std::string get = absl::StrCat("GET ", paths_[c.path], " HTTP/1.1\r\nHost: ", host_,
                                 "\r\nUser-Agent: stormgen\r\n\r\n");
  samples_[c.sample].start_ns = now;
  // A request this small fits an empty socket buffer whole.
  if (send(c.fd, get.data(), get.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(get.size())) {
    c.body_left = -2;
  }
  c.deadline_ns = now + timeout_ns_;
}

bool HttpFetcher::Consume(Connection& c, int64_t now) {
  while (true) {
    if (c.body_left < 0) {
      size_t end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) return c.in.size() <= kMaxHead;
      absl::string_view head(c.in.data(), end);
      Sample& s = samples_[c.sample];
      int64_t length = -1;
      bool ok_status =
          absl::StartsWith(head, "HTTP/1.1 200") || absl::StartsWith(head, "HTTP/1.0 200");
      c.close_after = absl::StartsWith(head, "HTTP/1.0");
      for (absl::string_view line : absl::StrSplit(head, "\r\n")) {
        std::string lower = absl::AsciiStrToLower(line);
        if (absl::StartsWith(lower, "connection:")) {
          c.close_after = lower.find("close") != std::string::npos;
        }
        if (absl::StartsWith(lower, "content-length:")) {
          int64_t value = 0;
          if (absl::SimpleAtoi(absl::StripAsciiWhitespace(absl::string_view(lower).substr(15)),
                               &value)) {
            length = value;
          }
        }
      }
      if (!ok_status || length < 0) {
        s.failure = ok_status ? "http: no Content-Length" : "http: status not 200";
        return false;
      }
      c.in.erase(0, end + 4);
      c.body_left = length;
    }
    int64_t take = std::min<int64_t>(c.body_left, static_cast<int64_t>(c.in.size()));
    c.body_left -= take;
    samples_[c.sample].bytes += static_cast<uint64_t>(take);
    c.in.erase(0, static_cast<size_t>(take));
    if (c.body_left > 0) return true;
    Sample& s = samples_[c.sample];
    s.end_ns = now;
    s.ok = true;
    if (++c.path == paths_.size()) return true;
    c.sample = NewSample(c.client, now);
    c.body_left = -1;
    if (c.close_after) {
      // The server ends the connection: the next GET gets a new one.
      close(c.fd);
      c.fd = -1;
      return Connect(c, static_cast<uint32_t>(&c - slots_.data()));
    }
    SendGet(c, now);
  }
}

void HttpFetcher::OnEvent(Connection& c, int64_t now, std::vector<uint32_t>& ended) {
  if (!c.connected) {
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return End(c, "http: connect failed", now, ended);
    c.connected = true;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u32 = static_cast<uint32_t>(&c - slots_.data());
    epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &event);
    SendGet(c, now);
    if (c.body_left == -2) return End(c, "http: send failed", now, ended);
    return;
  }
  char buffer[64 * 1024];
  for (int round = 0; round < 16; ++round) {
    ssize_t n = recv(c.fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) return End(c, "http: connection closed", now, ended);
    // Body bytes are counted, not kept: only the head is buffered.
    c.in.append(buffer, static_cast<size_t>(n));
    if (!Consume(c, now)) return End(c, nullptr, now, ended);
    if (!c.connected) return;  // reconnected for the next GET
    if (c.body_left == -2) return End(c, "http: send failed", now, ended);
    if (c.path == paths_.size()) return End(c, nullptr, now, ended);
  }
}

void HttpFetcher::End(Connection& c, const char* failure, int64_t now,
                      std::vector<uint32_t>& ended) {
  if (c.fd >= 0) {
    close(c.fd);  // leaves the epoll set
    c.fd = -1;
  }
  Sample& s = samples_[c.sample];
  if (!s.ok && s.failure.empty()) s.failure = failure ? failure : "http: failed";
  if (!s.ok) s.end_ns = now;
  ended.push_back(c.client);
  free_.push_back(static_cast<uint32_t>(&c - slots_.data()));
  --active_;
}

std::vector<uint32_t> HttpFetcher::Poll(int64_t now) {
  std::vector<uint32_t> ended;
  StartNext(now, ended);
  if (active_ == 0) return ended;
  epoll_event events[kEventsPerPoll];
  int n = epoll_wait(epoll_, events, kEventsPerPoll, 0);
  for (int i = 0; i < n; ++i) {
    Connection& c = slots_[events[i].data.u32];
    if (c.fd >= 0) OnEvent(c, now, ended);
  }
  for (Connection& c : slots_) {
    if (c.fd >= 0 && now > c.deadline_ns) End(c, "http: timed out", now, ended);
  }
  StartNext(now, ended);
  return ended;
}

}  // namespace stampede::stormgen
