#include "control/cli/api_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace stampede::cli {
namespace {

absl::StatusOr<int> Connect(const std::string& endpoint) {
  int fd = -1;
  int result = -1;
  if (!endpoint.empty() && endpoint[0] == '/') {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (endpoint.size() >= sizeof(address.sun_path)) {
      return absl::InvalidArgumentError("socket path too long");
    }
    std::memcpy(address.sun_path, endpoint.c_str(), endpoint.size() + 1);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) result = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  } else {
    size_t colon = endpoint.rfind(':');
    int port = 0;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    if (colon == std::string::npos || !absl::SimpleAtoi(endpoint.substr(colon + 1), &port) ||
        port <= 0 || port > 65535 ||
        inet_pton(AF_INET, endpoint.substr(0, colon).c_str(), &address.sin_addr) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("API endpoint '", endpoint, "' is neither a socket path nor IPv4:port"));
    }
    address.sin_port = htons(static_cast<uint16_t>(port));
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) result = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  }
  if (result != 0) {
    std::string error = std::strerror(errno);
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot reach stampede-control at ", endpoint, ": ", error,
                     " (is it running? the API endpoint is set with --api or STAMPEDE_API)"));
  }
  return fd;
}

}  // namespace

absl::StatusOr<ApiResponse> CallApi(const std::string& endpoint, const std::string& method,
                                    const std::string& target, int timeout_ms) {
  absl::StatusOr<int> fd = Connect(endpoint);
  if (!fd.ok()) return fd.status();
  std::string request = absl::StrCat(method, " ", target,
                                     " HTTP/1.1\r\nHost: stampede\r\nContent-Length: 0\r\n"
                                     "Connection: close\r\n\r\n");
  if (send(*fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(*fd);
    return absl::UnavailableError("sending the request failed");
  }
  std::string answer;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buffer[16384];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{*fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      close(*fd);
      return absl::DeadlineExceededError("stampede-control did not answer in time");
    }
    ssize_t n = read(*fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buffer, static_cast<size_t>(n));
  }
  close(*fd);
  size_t head_end = answer.find("\r\n\r\n");
  ApiResponse response;
  if (head_end == std::string::npos || answer.size() < 12 ||
      !absl::SimpleAtoi(answer.substr(9, 3), &response.status)) {
    return absl::DataLossError("malformed answer from stampede-control");
  }
  response.body = answer.substr(head_end + 4);
  return response;
}

}  // namespace stampede::cli
