// The optional HTTP phase of the storm: after its TFTP files a client fetches
// URLs over the kernel's TCP stack (the generator's clients have no TCP of
// their own), one keep-alive connection per client, a bounded number of
// clients at once. Plain non-blocking sockets and epoll, polled from the
// generator's loop without blocking it.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "perf/stormgen/report.h"

namespace stampede::stormgen {

class HttpFetcher {
 public:
  // `server` is "IP[:port]"; `paths` the paths each client GETs in order.
  HttpFetcher(sockaddr_in server, std::string host, std::vector<std::string> paths,
              uint32_t concurrency, int64_t timeout_ns);
  HttpFetcher(const HttpFetcher&) = delete;
  HttpFetcher& operator=(const HttpFetcher&) = delete;
  ~HttpFetcher();

  // Queues a client's GETs; they start when a connection slot is free.
  void Enqueue(uint32_t client, int64_t now);
  // Moves every connection along without blocking; returns the clients
  // whose GETs all ended (done or failed) during this call.
  std::vector<uint32_t> Poll(int64_t now);
  bool idle() const { return active_ == 0 && queue_.empty(); }
  // Every GET so far, by client (one Sample per path, in order).
  const std::vector<Sample>& samples() const { return samples_; }
  // The client (as given to Enqueue) of each sample.
  const std::vector<uint32_t>& owners() const { return owners_; }

 private:
  struct Connection {
    int fd = -1;
    uint32_t client = 0;
    size_t path = 0;  // the GET in flight
    bool connected = false;
    bool close_after = false;  // the server closes after this response (HTTP/1.0, close)
    std::string in;            // response bytes not yet consumed
    int64_t body_left = -1;    // -1: still reading the head
    int64_t deadline_ns = 0;
    size_t sample = 0;  // index into samples_
  };

  size_t NewSample(uint32_t client, int64_t now);
  void StartNext(int64_t now, std::vector<uint32_t>& ended);
  // Opens the connection for `c`'s next GET; false when it cannot.
  bool Connect(Connection& c, uint32_t slot);
  void SendGet(Connection& c, int64_t now);
  void OnEvent(Connection& c, int64_t now, std::vector<uint32_t>& ended);
  bool Consume(Connection& c, int64_t now);  // false: the connection failed
  void End(Connection& c, const char* failure, int64_t now, std::vector<uint32_t>& ended);

  sockaddr_in server_;
  std::string host_;
  std::vector<std::string> paths_;
  int64_t timeout_ns_;
  int epoll_ = -1;
  std::vector<Connection> slots_;
  std::vector<uint32_t> free_;
  std::deque<uint32_t> queue_;
  uint32_t active_ = 0;
  std::vector<Sample> samples_;
  std::vector<uint32_t> owners_;
};

}  // namespace stampede::stormgen
