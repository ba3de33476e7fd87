// The dataplane's HTTP/1.1 file server: one thread, one io_uring. It listens
// on the kernel's TCP stack at the appliance's addresses (the exception
// path's TAP holds them), with multishot accept, and serves the policy's
// catalog (the one TFTP serves) to GET and HEAD: file bytes either read into
// a per-transfer buffer and sent, or spliced file -> pipe -> socket without
// a copy. The thread reads the policy as an RCU reader of its own, and
// reports every response it finishes to the control plane as an event on
// the status region's HTTP ring.
#pragma once

#include <liburing.h>
#include <netinet/in.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/http/counters.h"
#include "dataplane/http/file_response.h"
#include "dataplane/http/http_date.h"
#include "dataplane/http/request.h"
#include "dataplane/http/transfer_event.h"
#include "dataplane/io/file_registry.h"
#include "dataplane/policy/service.h"
#include "dataplane/policy/status_region.h"
#include "dataplane/port/log.h"

struct rte_rcu_qsbr;

namespace stampede::http {

// How file bytes reach the socket.
enum class BodyMode {
  kRead,    // IORING_OP_READ into a buffer, then IORING_OP_SEND of it
  kSplice,  // IORING_OP_SPLICE file -> pipe -> socket (no copy through memory we own)
};

// Used when the policy sets none (control's default, limits.max_http_connections).
inline constexpr uint32_t kDefaultMaxConnections = 4096;
// After a response that ends the connection, what the client still sends is
// read and dropped for this long (at most kLingerBytes) so its last request
// bytes do not turn our close into a reset that destroys the response
// (nginx's lingering_close).
inline constexpr uint32_t kLingerMillis = 2000;
inline constexpr uint32_t kLingerBytes = 64 * 1024;
// The smallest read buffer or pipe per transfer: a response head and some.
inline constexpr uint32_t kMinChunkBytes = 16 * 1024;
// The defaults per mode. A pipe holds references to page-cache pages, not
// bytes of ours, so it can be bigger than a buffer: 1 MiB (the largest an
// unprivileged process may ask for) makes a quarter of the worker hops and
// pipe -> socket splices per GB that 256 KiB makes (performance.md).
inline constexpr uint32_t kDefaultPipeBytes = 1024 * 1024;
inline constexpr uint32_t kDefaultBufferBytes = 256 * 1024;
// TCP_NOTSENT_LOWAT on every connection: a socket takes more only when less
// than this is waiting unsent, so the server thread sends in smaller steps
// and more of the sending runs on its CPU, not in the ACKs' softirq on the
// clients' (performance.md: at 64 connections, a quarter less host CPU per GB).
inline constexpr uint32_t kDefaultNotsentLowatBytes = 256 * 1024;
// listen(2) backlog: the kernel caps it at net.core.somaxconn.
inline constexpr int kListenBacklog = 4096;

struct HttpServerConfig {
  // IPv4 addresses (host order) to listen on; empty: every address.
  std::vector<uint32_t> addresses;
  // The policy and its RCU state: this thread registers as `qsbr_thread`
  // (a slot of its own). `qsbr` null: no RCU (the caller keeps the tables alive).
  const policy::PolicyPointer* policy = nullptr;
  rte_rcu_qsbr* qsbr = nullptr;
  uint32_t qsbr_thread = 0;
  // Open catalog files; ids from the policy's file_ids. The registry keeps
  // every file it opened until the process ends, so a transfer keeps its
  // bytes when a newer policy drops or replaces the file.
  const io::FileRegistry* files = nullptr;
  BodyMode mode = BodyMode::kSplice;
  // The pipe (splice) or buffer (read) per transfer; 0: that mode's default.
  uint32_t chunk_bytes = 0;
  uint32_t notsent_lowat_bytes = kDefaultNotsentLowatBytes;  // 0: the kernel's (no limit)
  uint32_t header_timeout_ms = 10'000;
  uint32_t idle_timeout_ms = 30'000;
  // nginx's send_timeout: long enough to ride out TCP's backed-off retransmissions.
  uint32_t send_timeout_ms = 60'000;
  uint32_t ring_entries = 1024;
  // Where log lines go (access lines at kInfo); default port::Log.
  std::function<void(port::LogLevel, std::string_view)> log;
  bool access_log = true;
  // Where finished responses go as stampede.v1.HttpTransfer events (the
  // EventRing::kHttp ring, this thread its only producer; a full ring drops
  // and counts); null: nowhere. The access log does not depend on it.
  policy::StatusWriter* events = nullptr;
  // Leased addresses' profiles, for the files answered per client (null:
  // everyone gets the catalog's file).
  const policy::ClientDirectory* clients = nullptr;
};

class HttpServer {
 public:
  // Sets up the ring (started disabled: the serving thread owns it).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(HttpServerConfig config,
                                                            HttpCounters& counters);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves until `stop`, then closes every connection (bounded) and returns.
  void Run(const std::atomic<bool>& stop);

 private:
  struct Connection;
  struct Listener {
    int fd = -1;
    uint16_t port = 0;
    bool armed = false;    // a multishot accept is pending
    bool retired = false;  // cancelled: closed at its last completion
  };
  enum class Op : uint8_t {
    kAccept,
    kCancel,
    kRecv,        // request bytes
    kSend,        // the head (and a text body)
    kSendBuffer,  // read mode: head and file bytes from the transfer's buffer
    kRead,        // read mode: file bytes into the buffer
    kSpliceIn,    // splice mode: file -> pipe
    kPollOut,     // splice mode: the socket has room again
    kLinger,      // bytes after a closing response, dropped
  };
  enum class Outcome { kComplete, kAborted, kTimeout, kReadError };

  HttpServer(HttpServerConfig config, HttpCounters& counters);

  // The loop's stages.
  void ApplyPolicy();
  void Rebind();
  void ArmListeners();
  void Reap();
  void CheckTimeouts();
  void Drain();

  io_uring_sqe* Sqe(uint64_t user_data);
  static uint64_t UserData(uint32_t slot, uint32_t generation, Op op);

  void OnAccept(uint32_t listener, const io_uring_cqe& cqe);
  void Open(int fd);
  void Refuse(int fd);
  void OnCompletion(Connection& c, Op op, int result);

  // A connection's life: read a head, answer it, again or close.
  bool Submit(Connection& c, Op op, io_uring_sqe*& sqe);
  void ReadMore(Connection& c);
  void OnRecv(Connection& c, int result);
  void HandleBuffered(Connection& c);
  void Answer(Connection& c, const HttpRequest& request);
  void AnswerError(Connection& c, int status);
  // `client`: the peer's IPv4 address (host order), for per-client files.
  std::optional<FileInfo> Lookup(std::string_view path, uint32_t client) const;
  void StartResponse(Connection& c, ResponsePlan plan);
  void SendOut(Connection& c);
  void OnSentOut(Connection& c, int result);
  void StartRead(Connection& c);
  void OnRead(Connection& c, int result);
  void SendBuffer(Connection& c);
  void OnSentBuffer(Connection& c, int result);
  void SpliceIn(Connection& c);
  void OnSplicedIn(Connection& c, int result);
  void SpliceOut(Connection& c);
  void PollOut(Connection& c);
  bool Account(Connection& c, int result);
  void Finish(Connection& c);
  void Linger(Connection& c);
  void OnLinger(Connection& c, int result);
  void Abort(Connection& c, Outcome outcome);
  void Close(Connection& c);
  void ReleaseTransfer(Connection& c);
  void Deadline(Connection& c, int wait, uint32_t millis);

  // Both reports of a finished response: the access line and the event.
  void Report(const Connection& c, Outcome outcome);
  void LogAccess(const Connection& c, Outcome outcome, uint64_t now_ns);
  void PushTransfer(const Connection& c, Outcome outcome, uint64_t now_ns);
  void Log(port::LogLevel level, std::string_view line) const;
  std::string_view Date();
  uint64_t NowMs() const;

  HttpServerConfig config_;
  HttpCounters& counters_;
  io_uring ring_{};
  bool ring_ready_ = false;
  std::vector<Listener> listeners_;
  uint16_t wanted_port_ = 0;
  uint64_t applied_generation_ = 0;
  uint64_t rebind_at_ms_ = 0;  // a failed bind is tried again from then
  uint32_t max_connections_ = kDefaultMaxConnections;
  bool stopping_ = false;
  // The policy this pass of the loop reads (RCU: between online and
  // offline only); null before the first policy.
  const policy::PolicyTables* tables_ = nullptr;
  uint64_t accept_retry_at_ms_ = 0;
  // Connection slots, reused; `free_` holds the unused ones.
  std::vector<std::unique_ptr<Connection>> slots_;
  std::vector<uint32_t> free_;
  uint32_t open_ = 0;
  // Transfer resources kept for the next transfer (bounded).
  std::vector<std::unique_ptr<std::byte[]>> idle_buffers_;
  std::vector<std::pair<int, int>> idle_pipes_;
  bool pipe_size_logged_ = false;  // a pipe kept smaller than asked, said once
  uint64_t next_timeout_check_ms_ = 0;
  int64_t date_second_ = -1;
  char date_[kHttpDateLength + 1] = {};
  // For generated files' entity tags: distinct per run of the process,
  // since registry ids are.
  uint64_t run_nonce_ = 0;
};

}  // namespace stampede::http
