#include "control/api/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "dataplane/http/response.h"

namespace stampede::api {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::StatusOr<int> ListenUnix(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": unix socket path too long"));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  unlink(path.c_str());  // a stale socket from a killed control plane
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      chmod(path.c_str(), 0660) != 0 || listen(fd, 64) != 0) {
    absl::Status status = Errno(path);
    close(fd);
    return status;
  }
  return fd;
}

absl::StatusOr<int> ListenTcp(const std::string& text, int& bound_port) {
  size_t colon = text.rfind(':');
  int port = 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  if (colon == std::string::npos || !absl::SimpleAtoi(text.substr(colon + 1), &port) || port < 0 ||
      port > 65535 || inet_pton(AF_INET, text.substr(0, colon).c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("API address '", text, "' is not IPv4:port like 127.0.0.1:9147"));
  }
  address.sin_port = htons(static_cast<uint16_t>(port));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Errno("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(fd, 64) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    absl::Status status = Errno(text);
    close(fd);
    return status;
  }
  bound_port = ntohs(address.sin_port);
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Listen(const std::string& unix_path,
                                                               const std::string& tcp_address,
                                                               Handler handler) {
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(handler)));
  if (!unix_path.empty()) {
    absl::StatusOr<int> fd = ListenUnix(unix_path);
    if (!fd.ok()) return fd.status();
    server->listeners_.push_back(*fd);
    server->unix_path_ = unix_path;
  }
  if (!tcp_address.empty()) {
    absl::StatusOr<int> fd = ListenTcp(tcp_address, server->tcp_port_);
    if (!fd.ok()) return fd.status();
    server->listeners_.push_back(*fd);
  }
  return server;
}

HttpServer::~HttpServer() {
  for (int fd : listeners_) close(fd);
  for (const Connection& c : connections_) close(c.fd);
  if (!unix_path_.empty()) unlink(unix_path_.c_str());
}

void HttpServer::Collect(std::vector<pollfd>& fds) const {
  // Out of descriptors: listeners stay readable, so they sit out a while
  // rather than spin the loop.
  if (std::chrono::steady_clock::now() >= accept_paused_until_) {
    for (int fd : listeners_) fds.push_back({fd, POLLIN, 0});
  }
  for (const Connection& c : connections_) {
    fds.push_back({c.fd, static_cast<short>(c.responding ? POLLOUT : POLLIN), 0});
  }
}

void HttpServer::Handle(std::span<const pollfd> fds) {
  auto revents = [&](int fd) -> short {
    for (const pollfd& p : fds) {
      if (p.fd == fd) return p.revents;
    }
    return 0;
  };
  for (int listener : listeners_) {
    if (revents(listener) & POLLIN) Accept(listener);
  }
  auto now = std::chrono::steady_clock::now();
  std::erase_if(connections_, [&](Connection& c) {
    short events = revents(c.fd);
    bool keep = true;
    if (events & (POLLERR | POLLNVAL)) {
      keep = false;
    } else if (c.responding && (events & POLLOUT)) {
      keep = Write(c);
    } else if (!c.responding && (events & (POLLIN | POLLHUP))) {
      keep = Read(c);
    } else if (now - c.last_activity > kIdleTimeout) {
      keep = false;
    }
    if (!keep) close(c.fd);
    return !keep;
  });
}

void HttpServer::Accept(int listener) {
  for (int i = 0; i < 16; ++i) {  // bounded: the rest waits for the next poll
    int fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        accept_paused_until_ = std::chrono::steady_clock::now() + kAcceptPause;
      }
      return;
    }
    if (connections_.size() >= kMaxConnections) {
      close(fd);
      continue;
    }
    connections_.push_back({fd, "", "", 0, std::chrono::steady_clock::now(), false});
  }
}

bool HttpServer::Read(Connection& c) {
  char buffer[4096];
  ssize_t n = read(c.fd, buffer, sizeof(buffer));
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  if (n == 0) return false;
  c.in.append(buffer, static_cast<size_t>(n));
  c.last_activity = std::chrono::steady_clock::now();
  http::RequestLimits limits;
  limits.max_body = kMaxRequestBody;
  http::ParseResult parsed = http::ParseRequestHead(c.in, limits);
  if (parsed.state == http::ParseState::kIncomplete) return true;
  if (parsed.state == http::ParseState::kError) {
    Respond(
        c,
        {parsed.status, "application/json", absl::StrCat("{\"error\":\"", parsed.error, "\"}\n")},
        false);
    return Write(c);
  }
  const HttpRequest& request = parsed.request;
  if (c.in.size() < request.head_length + request.content_length) return true;
  std::string body = c.in.substr(request.head_length, request.content_length);
  HttpResponse response = handler_(request, body);
  // HEAD: the same head as GET (Content-Length included), no body.
  Respond(c, response, request.method == "HEAD");
  return Write(c);
}

void HttpServer::Respond(Connection& c, const HttpResponse& response, bool head_only) {
  c.out = absl::StrCat(
      "HTTP/1.1 ", response.status, " ", std::string(http::ReasonPhrase(response.status)),
      "\r\nContent-Type: ", response.content_type, "\r\nContent-Length: ", response.body.size(),
      "\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n", head_only ? "" : response.body);
  c.responding = true;
}

bool HttpServer::Write(Connection& c) {
  while (c.written < c.out.size()) {
    ssize_t n = send(c.fd, c.out.data() + c.written, c.out.size() - c.written, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    c.written += static_cast<size_t>(n);
    c.last_activity = std::chrono::steady_clock::now();
  }
  return false;  // everything sent: close
}

}  // namespace stampede::api
