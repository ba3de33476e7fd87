// The HTTP server's counters: written by its thread only, read by telemetry
// (/stampede/http) from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace stampede::http {

#define STAMPEDE_HTTP_COUNTERS(X)                                                 \
  X(connections_accepted)                                                         \
  X(connections_refused) /* over limits.max_http_connections: 503, closed */      \
  X(connections_closed)                                                           \
  X(requests)           /* complete request heads */                              \
  X(keepalive_requests) /* requests after the first on a connection */            \
  X(responses_2xx)                                                                \
  X(responses_3xx)                                                                \
  X(responses_4xx)                                                                \
  X(responses_5xx)                                                                \
  X(partial_responses) /* 206 */                                                  \
  X(not_modified)      /* 304 */                                                  \
  X(not_found)         /* 404 */                                                  \
  X(range_refused)     /* 416 */                                                  \
  X(parse_errors)      /* heads refused: 400, 414, 431, 501, 505 */               \
  X(bytes_sent)        /* body bytes (file bytes and error texts) */              \
  X(head_bytes_sent)   /* response heads */                                       \
  X(transfers_completed)                                                          \
  X(transfers_aborted) /* the client went away or stalled before the last byte */ \
  X(read_errors)       /* a file read failed or came up short */                  \
  X(timeouts_header)   /* a request head not complete in time */                  \
  X(timeouts_idle)     /* a kept-alive connection without a new request */        \
  X(timeouts_send)     /* no progress sending */                                  \
  X(accept_errors)                                                                \
  X(listen_errors) /* the policy's port could not be bound */

struct alignas(64) HttpCounters {
#define STAMPEDE_HTTP_COUNTER_FIELD(name) std::atomic<uint64_t> name{0};
  STAMPEDE_HTTP_COUNTERS(STAMPEDE_HTTP_COUNTER_FIELD)
#undef STAMPEDE_HTTP_COUNTER_FIELD
  // Gauges.
  std::atomic<uint64_t> connections_open{0};
  std::atomic<uint64_t> listening_port{0};  // 0: not listening (no policy yet)
};

// One writer: a relaxed load and store, no locked instruction.
inline void Bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace stampede::http
