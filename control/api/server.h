// A small HTTP/1.1 server for the control API on a unix socket and a local
// TCP address, driven by the control plane's poll loop (no threads): one
// request per connection (Connection: close), bounded heads and bodies,
// a connection limit and an idle timeout so a stuck client costs nothing.
#pragma once

#include <poll.h>

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/http/request.h"

namespace stampede::api {

// The one HTTP/1.x request parser, shared with the dataplane's file server.
using HttpRequest = http::HttpRequest;

// A request body (POST /reload sends none) is bounded too.
inline constexpr size_t kMaxRequestBody = 4096;
inline constexpr size_t kMaxConnections = 64;
inline constexpr std::chrono::seconds kIdleTimeout{10};
// How long listeners sit out after accept() ran out of descriptors.
inline constexpr std::chrono::milliseconds kAcceptPause{100};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

using Handler = std::function<HttpResponse(const HttpRequest&, const std::string& body)>;

class HttpServer {
 public:
  // Listens on `unix_path` (replacing a stale socket file; mode 0660) and on
  // `tcp_address` ("127.0.0.1:9147"); either may be empty.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Listen(const std::string& unix_path,
                                                            const std::string& tcp_address,
                                                            Handler handler);
  ~HttpServer();

  // Appends the descriptors to poll; then Handle() with the poll results.
  void Collect(std::vector<pollfd>& fds) const;
  void Handle(std::span<const pollfd> fds);
  // The TCP port actually bound (for ":0" in tests).
  int tcp_port() const { return tcp_port_; }

 private:
  struct Connection {
    int fd;
    std::string in;
    std::string out;
    size_t written = 0;
    std::chrono::steady_clock::time_point last_activity;
    bool responding = false;
  };
  explicit HttpServer(Handler handler) : handler_(std::move(handler)) {}
  void Accept(int listener);
  // False when the connection is finished (close it).
  bool Read(Connection& c);
  bool Write(Connection& c);
  void Respond(Connection& c, const HttpResponse& response, bool head_only);

  Handler handler_;
  std::vector<int> listeners_;
  std::string unix_path_;
  int tcp_port_ = 0;
  std::vector<Connection> connections_;
  std::chrono::steady_clock::time_point accept_paused_until_{};
};

}  // namespace stampede::api
