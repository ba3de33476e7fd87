// The CLI's client of the stampede-control API: one HTTP/1.1 request over
// the unix socket (a path) or TCP ("127.0.0.1:9147"), answer read to EOF.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace stampede::cli {

inline constexpr char kDefaultApi[] = "/run/stampede/default.sock";

struct ApiResponse {
  int status = 0;
  std::string body;
};

// `endpoint`: a unix socket path (starts with '/') or IPv4:port.
absl::StatusOr<ApiResponse> CallApi(const std::string& endpoint, const std::string& method,
                                    const std::string& target, int timeout_ms = 10000);

}  // namespace stampede::cli
