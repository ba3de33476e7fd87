#include "dataplane/http/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <rte_rcu_qsbr.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dataplane/http/response.h"

namespace stampede::http {
namespace {

using port::LogLevel;

// A head, then bytes of the next request a client pipelined behind it.
constexpr size_t kInputCapacity = kMaxRequestHead + 1024;
// Completions handled per pass of the loop: the rest waits for the next.
constexpr unsigned kCqeBatch = 256;
constexpr unsigned kCqeBatchesPerPass = 16;
// How long the loop sleeps in the kernel when nothing completes: the bound
// on noticing a stop, a policy change or a timeout.
constexpr int64_t kWaitNanos = 100'000'000;
constexpr uint64_t kTimeoutCheckMillis = 100;
// A failed bind or accept is tried again after this.
constexpr uint64_t kRetryMillis = 1000;
// At stop, connections get this long to wind down.
constexpr uint64_t kDrainMillis = 2000;
// Buffers and pipes kept for the next transfer.
constexpr size_t kIdlePool = 64;
// splice() calls one pipe -> socket send makes at most before it polls.
constexpr int kMaxSpliceOutTurns = 64;
// The request target as logged, at most.
constexpr size_t kLoggedTarget = 256;
static_assert(kMaxHttpTransferEventBytes <= policy::kMaxEventBytes,
              "an HTTP transfer event must fit one event record");

enum Wait : int { kNoWait, kHeadWait, kIdleWait, kSendWait, kLingerWait };

uint64_t Clock(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

std::string AddressText(uint32_t address) {
  in_addr a{htonl(address)};
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a, text, sizeof(text));
  return text;
}

// A listening socket on address:port (IP_FREEBIND: the TAP may come up
// after us); the fd or -errno.
int ListenOn(uint32_t address, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
      listen(fd, kListenBacklog) != 0) {
    int error = errno;
    close(fd);
    return -error;
  }
  return fd;
}

// The target as one log token: bytes outside printable ASCII, quotes and
// backslashes percent-encoded, bounded.
std::string LoggedTarget(std::string_view target) {
  if (target.empty()) return "-";
  std::string out;
  for (char c : target.substr(0, kLoggedTarget)) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      absl::StrAppendFormat(&out, "%%%02X", u);
    } else {
      out += c;
    }
  }
  if (target.size() > kLoggedTarget) out += "...";
  return out;
}

}  // namespace

struct HttpServer::Connection {
  uint32_t slot = 0;
  uint32_t generation = 0;
  int fd = -1;
  uint32_t inflight = 0;
  bool closing = false;  // closed once nothing is in flight
  std::string peer;      // "198.18.0.2:40000"
  uint32_t peer_address = 0;
  uint16_t peer_port = 0;
  uint32_t requests = 0;
  // Request bytes; `consumed` of them are the head being answered.
  std::unique_ptr<char[]> in;
  size_t in_len = 0;
  size_t consumed = 0;
  // The answer in progress.
  bool answering = false;
  bool keep_alive = false;
  std::string out;  // head and text body
  size_t out_sent = 0;
  size_t head_size = 0;
  size_t head_sent = 0;
  uint64_t body_sent = 0;
  // File bytes still to send: from `file_pos` of `file_fd` (the registry's).
  int file_fd = -1;
  uint64_t file_pos = 0;
  uint64_t remaining = 0;
  std::unique_ptr<std::byte[]> buffer;  // read mode
  size_t buffer_len = 0;
  size_t buffer_sent = 0;
  int pipe_r = -1, pipe_w = -1;  // splice mode
  size_t pipe_fill = 0;
  // Timeouts.
  int wait = kNoWait;
  uint64_t deadline_ms = 0;
  size_t lingered = 0;
  // For the access line.
  std::string method;
  std::string target;
  int status = 0;
  uint64_t body_length = 0;  // planned
  bool ranged = false;       // a 206 of [range_first, range_last]
  uint64_t range_first = 0;
  uint64_t range_last = 0;
  uint64_t started_ns = 0;
  int error = 0;  // -errno of the operation that ended the response early
};

HttpServer::HttpServer(HttpServerConfig config, HttpCounters& counters)
    : config_(std::move(config)), counters_(counters) {
  run_nonce_ = Clock(CLOCK_REALTIME) ^ (static_cast<uint64_t>(getpid()) << 48);
}

HttpServer::~HttpServer() {
  if (ring_ready_) io_uring_queue_exit(&ring_);
  for (auto& slot : slots_) {
    if (slot->fd >= 0) close(slot->fd);
    ReleaseTransfer(*slot);
  }
  for (const Listener& l : listeners_) {
    if (l.fd >= 0) close(l.fd);
  }
  for (auto [r, w] : idle_pipes_) {
    close(r);
    close(w);
  }
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(HttpServerConfig config,
                                                               HttpCounters& counters) {
  if (config.files == nullptr || config.policy == nullptr) {
    return absl::InvalidArgumentError("HTTP server: no file registry or policy");
  }
  if (!config.log) config.log = port::Log;
  if (config.chunk_bytes == 0) {
    config.chunk_bytes = config.mode == BodyMode::kSplice ? kDefaultPipeBytes : kDefaultBufferBytes;
  }
  // A head goes out with the first file bytes in read mode.
  config.chunk_bytes = std::max(config.chunk_bytes, kMinChunkBytes);
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(config), counters));
  // The thread that runs it submits: it enables the ring (single issuer,
  // task work run when it waits).
  io_uring_params params{};
  params.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                 IORING_SETUP_CQSIZE;
  params.cq_entries = server->config_.ring_entries * 4;
  int rc = io_uring_queue_init_params(server->config_.ring_entries, &server->ring_, &params);
  if (rc == -EINVAL) {  // a kernel before 6.1: no deferred task work
    params = {};
    params.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_CQSIZE;
    params.cq_entries = server->config_.ring_entries * 4;
    rc = io_uring_queue_init_params(server->config_.ring_entries, &server->ring_, &params);
  }
  if (rc < 0) {
    return absl::InternalError(absl::StrCat("HTTP server: io_uring setup: ", strerror(-rc)));
  }
  server->ring_ready_ = true;
  return server;
}

void HttpServer::Log(LogLevel level, std::string_view line) const { config_.log(level, line); }

uint64_t HttpServer::NowMs() const { return Clock(CLOCK_MONOTONIC_COARSE) / 1'000'000; }

std::string_view HttpServer::Date() {
  auto second = static_cast<int64_t>(Clock(CLOCK_REALTIME) / 1'000'000'000);
  if (second != date_second_) {
    date_second_ = second;
    FormatHttpDate(second, date_);
  }
  return std::string_view(date_, kHttpDateLength);
}

uint64_t HttpServer::UserData(uint32_t slot, uint32_t generation, Op op) {
  return uint64_t{slot} << 32 | uint64_t{generation & 0xffffff} << 8 | static_cast<uint8_t>(op);
}

io_uring_sqe* HttpServer::Sqe(uint64_t user_data) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {  // the ring's submission queue is full: hand it over
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  if (sqe != nullptr) io_uring_sqe_set_data64(sqe, user_data);
  return sqe;
}

void HttpServer::Run(const std::atomic<bool>& stop) {
  // liburing 2.3 declares io_uring_enable_rings() but its library lacks it.
  if (syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) <
      0) {
    Log(LogLevel::kError,
        absl::StrCat("event=http_failed error=\"io_uring enable: ", strerror(errno), "\""));
    return;
  }
  if (config_.qsbr != nullptr) rte_rcu_qsbr_thread_register(config_.qsbr, config_.qsbr_thread);
  while (!stop.load(std::memory_order_relaxed)) {
    // An RCU reader only while it looks at the policy: offline while it
    // sleeps in the kernel, so it never holds back the policy service.
    if (config_.qsbr != nullptr) rte_rcu_qsbr_thread_online(config_.qsbr, config_.qsbr_thread);
    tables_ = config_.policy->load(std::memory_order_acquire);
    ApplyPolicy();
    Reap();
    if (uint64_t now = NowMs(); now >= next_timeout_check_ms_) {
      next_timeout_check_ms_ = now + kTimeoutCheckMillis;
      CheckTimeouts();
      if (rebind_at_ms_ != 0 && now >= rebind_at_ms_) Rebind();
    }
    ArmListeners();
    tables_ = nullptr;
    if (config_.qsbr != nullptr) rte_rcu_qsbr_thread_offline(config_.qsbr, config_.qsbr_thread);
    __kernel_timespec wait{0, kWaitNanos};
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &wait, nullptr);
  }
  Drain();
  if (config_.qsbr != nullptr) rte_rcu_qsbr_thread_unregister(config_.qsbr, config_.qsbr_thread);
}

void HttpServer::ApplyPolicy() {
  if (tables_ == nullptr || tables_->generation == applied_generation_) return;
  applied_generation_ = tables_->generation;
  uint32_t limit = tables_->policy.limits().max_http_connections();
  max_connections_ = limit > 0 ? limit : kDefaultMaxConnections;
  uint32_t port = tables_->policy.http_port();
  if (port > 65535) port = 0;
  if (port != wanted_port_) {
    wanted_port_ = static_cast<uint16_t>(port);
    Rebind();
  }
}

// Listens on the wanted port first, then lets the old listeners go (their
// accepts cancelled): connections already open carry on either way.
void HttpServer::Rebind() {
  rebind_at_ms_ = 0;
  std::vector<int> fresh;
  if (wanted_port_ != 0) {
    std::vector<uint32_t> addresses = config_.addresses;
    if (addresses.empty()) addresses.push_back(INADDR_ANY);
    for (uint32_t address : addresses) {
      int fd = ListenOn(address, wanted_port_);
      if (fd < 0) {
        for (int f : fresh) close(f);
        Bump(counters_.listen_errors);
        rebind_at_ms_ = NowMs() + kRetryMillis;
        Log(LogLevel::kError,
            absl::StrCat("event=http_listen_failed address=", AddressText(address), " port=",
                         wanted_port_, " error=\"", strerror(-fd), "\" retry_ms=", kRetryMillis));
        return;
      }
      fresh.push_back(fd);
    }
  }
  for (size_t i = 0; i < listeners_.size(); ++i) {
    Listener& l = listeners_[i];
    if (l.fd < 0 || l.retired) continue;
    l.retired = true;
    if (!l.armed) {
      close(l.fd);
      l.fd = -1;
    } else if (io_uring_sqe* sqe = Sqe(UserData(0, 0, Op::kCancel))) {
      io_uring_prep_cancel64(sqe, UserData(static_cast<uint32_t>(i), 0, Op::kAccept), 0);
    }
  }
  for (int fd : fresh) {
    auto free_entry = std::find_if(listeners_.begin(), listeners_.end(),
                                   [](const Listener& l) { return l.fd < 0; });
    Listener fresh_listener{fd, wanted_port_, false, false};
    if (free_entry != listeners_.end()) {
      *free_entry = fresh_listener;
    } else {
      listeners_.push_back(fresh_listener);
    }
  }
  counters_.listening_port.store(wanted_port_, std::memory_order_relaxed);
  std::string addresses;
  for (uint32_t address : config_.addresses) {
    absl::StrAppend(&addresses, addresses.empty() ? "" : ",", AddressText(address));
  }
  Log(LogLevel::kInfo,
      wanted_port_ == 0
          ? std::string("event=http_off reason=\"the policy sets no port\"")
          : absl::StrCat("event=http_listening port=", wanted_port_,
                         " addresses=", addresses.empty() ? "any" : addresses,
                         " mode=", config_.mode == BodyMode::kSplice ? "splice" : "read",
                         " chunk_kb=", config_.chunk_bytes / 1024,
                         " notsent_lowat_kb=", config_.notsent_lowat_bytes / 1024,
                         " max_connections=", max_connections_));
}

void HttpServer::ArmListeners() {
  if (stopping_ || NowMs() < accept_retry_at_ms_) return;
  for (size_t i = 0; i < listeners_.size(); ++i) {
    Listener& l = listeners_[i];
    if (l.fd < 0 || l.retired || l.armed) continue;
    io_uring_sqe* sqe = Sqe(UserData(static_cast<uint32_t>(i), 0, Op::kAccept));
    if (sqe == nullptr) return;
    // Non-blocking sockets: a splice to one returns rather than hold an
    // io_uring worker while a client is slow (send and recv poll either way).
    io_uring_prep_multishot_accept(sqe, l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    l.armed = true;
  }
}

void HttpServer::Reap() {
  struct Completion {
    uint64_t user_data;
    int result;
    uint32_t flags;
  };
  Completion done[kCqeBatch];
  io_uring_cqe* cqes[kCqeBatch];
  for (unsigned batch = 0; batch < kCqeBatchesPerPass; ++batch) {
    unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, kCqeBatch);
    if (n == 0) return;
    // Copied out first: handling one may submit, and the ring moves on.
    for (unsigned i = 0; i < n; ++i) done[i] = {cqes[i]->user_data, cqes[i]->res, cqes[i]->flags};
    io_uring_cq_advance(&ring_, n);
    for (unsigned i = 0; i < n; ++i) {
      auto op = static_cast<Op>(done[i].user_data & 0xff);
      auto slot = static_cast<uint32_t>(done[i].user_data >> 32);
      auto generation = static_cast<uint32_t>(done[i].user_data >> 8) & 0xffffff;
      if (op == Op::kCancel) continue;
      if (op == Op::kAccept) {
        io_uring_cqe cqe{};
        cqe.res = done[i].result;
        cqe.flags = done[i].flags;
        if (slot < listeners_.size()) OnAccept(slot, cqe);
        continue;
      }
      if (slot >= slots_.size()) continue;
      Connection& c = *slots_[slot];
      if ((c.generation & 0xffffff) != generation || c.fd < 0) continue;
      OnCompletion(c, op, done[i].result);
    }
  }
}

void HttpServer::OnAccept(uint32_t index, const io_uring_cqe& cqe) {
  Listener& l = listeners_[index];
  if (!(cqe.flags & IORING_CQE_F_MORE)) {
    l.armed = false;
    if (l.retired) {
      close(l.fd);
      l.fd = -1;
    }
  }
  if (cqe.res < 0) {
    if (cqe.res != -ECANCELED) {
      // Out of descriptors or memory: the listener sits out a while.
      Bump(counters_.accept_errors);
      accept_retry_at_ms_ = NowMs() + kTimeoutCheckMillis;
    }
    return;
  }
  if (stopping_ || open_ >= max_connections_) {
    Refuse(cqe.res);
  } else {
    Open(cqe.res);
  }
}

// Over the limit: a 503 if the socket takes it at once, then closed.
void HttpServer::Refuse(int fd) {
  Bump(counters_.connections_refused);
  Bump(counters_.responses_5xx);
  ResponsePlan plan = PlanClosingResponse(503, Date());
  std::string bytes = plan.head + plan.body;
  ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)n;  // best effort: the client may have gone already
  close(fd);
}

void HttpServer::Open(int fd) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.push_back(std::make_unique<Connection>());
    slots_.back()->slot = slot;
    slots_.back()->in = std::make_unique<char[]>(kInputCapacity);
  }
  Connection& c = *slots_[slot];
  c.fd = fd;
  c.inflight = 0;
  c.closing = false;
  c.requests = 0;
  c.in_len = c.consumed = 0;
  c.answering = false;
  int one = 1;
  // Heads and last chunks go out at once; MSG_MORE/SPLICE_F_MORE batch the rest.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (config_.notsent_lowat_bytes > 0) {
    int lowat = static_cast<int>(config_.notsent_lowat_bytes);
    setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
  }
  sockaddr_in peer{};
  socklen_t length = sizeof(peer);
  bool named = getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) == 0;
  c.peer_address = named ? ntohl(peer.sin_addr.s_addr) : 0;
  c.peer_port = named ? ntohs(peer.sin_port) : 0;
  c.peer = named ? absl::StrCat(AddressText(c.peer_address), ":", c.peer_port) : "-";
  ++open_;
  Bump(counters_.connections_accepted);
  counters_.connections_open.store(open_, std::memory_order_relaxed);
  Deadline(c, kHeadWait, config_.header_timeout_ms);
  ReadMore(c);
}

void HttpServer::Deadline(Connection& c, int wait, uint32_t millis) {
  c.wait = wait;
  c.deadline_ms = NowMs() + millis;
}

bool HttpServer::Submit(Connection& c, Op op, io_uring_sqe*& sqe) {
  sqe = Sqe(UserData(c.slot, c.generation, op));
  if (sqe == nullptr) {
    Log(LogLevel::kError, "event=http_ring_full detail=\"connection closed\"");
    Abort(c, Outcome::kAborted);
    return false;
  }
  ++c.inflight;
  return true;
}

void HttpServer::ReadMore(Connection& c) {
  io_uring_sqe* sqe;
  if (!Submit(c, Op::kRecv, sqe)) return;
  io_uring_prep_recv(sqe, c.fd, c.in.get() + c.in_len, kInputCapacity - c.in_len, 0);
}

void HttpServer::OnCompletion(Connection& c, Op op, int result) {
  --c.inflight;
  if (c.closing) {
    if (c.inflight == 0) Close(c);
    return;
  }
  if (stopping_) {
    Abort(c, Outcome::kAborted);
    return;
  }
  switch (op) {
    case Op::kRecv:
      return OnRecv(c, result);
    case Op::kSend:
      return OnSentOut(c, result);
    case Op::kSendBuffer:
      return OnSentBuffer(c, result);
    case Op::kRead:
      return OnRead(c, result);
    case Op::kSpliceIn:
      return OnSplicedIn(c, result);
    case Op::kPollOut:
      if (result < 0) c.error = result;
      return result < 0 ? Abort(c, Outcome::kAborted) : SpliceOut(c);
    case Op::kLinger:
      return OnLinger(c, result);
    case Op::kAccept:
    case Op::kCancel:
      return;
  }
}

void HttpServer::OnRecv(Connection& c, int result) {
  if (result == -EAGAIN || result == -EINTR) return ReadMore(c);
  if (result <= 0) {  // the client closed (or reset) between requests
    c.wait = kNoWait;
    return Abort(c, Outcome::kAborted);
  }
  c.in_len += static_cast<size_t>(result);
  HandleBuffered(c);
}

void HttpServer::HandleBuffered(Connection& c) {
  ParseResult parsed = ParseRequestHead(std::string_view(c.in.get(), c.in_len));
  if (parsed.state == ParseState::kIncomplete) {
    // The header timeout runs from a request's first byte.
    if (c.wait != kHeadWait) Deadline(c, kHeadWait, config_.header_timeout_ms);
    if (c.in_len == kInputCapacity) return AnswerError(c, 431);
    return ReadMore(c);
  }
  if (parsed.state == ParseState::kError) {
    Bump(counters_.parse_errors);
    Bump(counters_.requests);
    return AnswerError(c, parsed.status);
  }
  Answer(c, parsed.request);
}

std::optional<FileInfo> HttpServer::Lookup(std::string_view path, uint32_t client) const {
  if (tables_ == nullptr) return std::nullopt;
  std::optional<uint32_t> index = tables_->FindFileIndex(path);
  // grub/grub.cfg, boot.ipxe...: the menu of the profile the client's lease gave.
  if (index) index = tables_->ForClient(*index, client, config_.clients);
  if (!index || *index >= tables_->file_ids.size()) return std::nullopt;
  uint32_t id = tables_->file_ids[*index];
  // A file that changed since control catalogued it is not served.
  if (id == io::FileRegistry::kNoFile) return std::nullopt;
  const v1::CatalogFile& file = tables_->policy.tftp().files(static_cast<int>(*index));
  FileInfo info;
  info.length = file.length();
  info.handle = id;
  info.source_offset = file.offset();
  if (file.source().empty()) {  // generated bytes: menus, scripts
    info.etag = GeneratedEtag(run_nonce_, id, file.length());
    info.content_type = "text/plain";
  } else {
    info.mtime_ns = file.mtime_ns();
    info.etag =
        FileEtag(file.device(), file.inode(), file.mtime_ns(), file.offset(), file.length());
    info.content_type = ContentTypeFor(file.path());
  }
  return info;
}

void HttpServer::Answer(Connection& c, const HttpRequest& request) {
  Bump(counters_.requests);
  if (c.requests++ > 0) Bump(counters_.keepalive_requests);
  c.consumed = request.head_length;
  c.method = request.method;
  c.target = request.target;
  c.started_ns = Clock(CLOCK_MONOTONIC);
  if (tables_ == nullptr) return StartResponse(c, PlanClosingResponse(503, Date()));
  StartResponse(
      c, PlanFileResponse(
             request, [this, &c](std::string_view path) { return Lookup(path, c.peer_address); },
             Date()));
}

void HttpServer::AnswerError(Connection& c, int status) {
  c.consumed = c.in_len;  // a head that cannot be read: nothing after it can be
  c.method.clear();       // logged as "-"
  c.target.clear();
  c.started_ns = Clock(CLOCK_MONOTONIC);
  StartResponse(c, PlanClosingResponse(status, Date()));
}

void HttpServer::StartResponse(Connection& c, ResponsePlan plan) {
  c.answering = true;
  c.error = 0;
  c.status = plan.status;
  c.keep_alive = plan.keep_alive && !stopping_;
  c.head_size = plan.head.size();
  c.head_sent = 0;
  c.body_sent = 0;
  c.out = std::move(plan.head);
  c.out += plan.body;
  c.out_sent = 0;
  c.body_length = plan.file ? plan.body_length : plan.body.size();
  c.ranged = false;
  switch (plan.status / 100) {
    case 2:
      Bump(counters_.responses_2xx);
      break;
    case 3:
      Bump(counters_.responses_3xx);
      break;
    case 4:
      Bump(counters_.responses_4xx);
      break;
    default:
      Bump(counters_.responses_5xx);
  }
  if (plan.status == 206) {
    Bump(counters_.partial_responses);
    c.ranged = true;
    c.range_first = plan.body_first;
    c.range_last = plan.body_first + plan.body_length - 1;
  }
  if (plan.status == 304) Bump(counters_.not_modified);
  if (plan.status == 404) Bump(counters_.not_found);
  if (plan.status == 416) Bump(counters_.range_refused);
  Deadline(c, kSendWait, config_.send_timeout_ms);
  c.remaining = 0;
  if (!plan.file) return SendOut(c);
  c.file_fd = config_.files->fd(plan.file->handle);
  c.file_pos = plan.file->source_offset + plan.body_first;
  c.remaining = plan.body_length;
  if (config_.mode == BodyMode::kRead) {
    if (!idle_buffers_.empty()) {
      c.buffer = std::move(idle_buffers_.back());
      idle_buffers_.pop_back();
    } else {
      c.buffer = std::make_unique<std::byte[]>(config_.chunk_bytes);
    }
    // The head goes out with the first file bytes, in one send.
    std::memcpy(c.buffer.get(), c.out.data(), c.out.size());
    c.buffer_len = c.out.size();
    c.buffer_sent = 0;
    return StartRead(c);
  }
  if (c.pipe_r < 0) {
    if (!idle_pipes_.empty()) {
      std::tie(c.pipe_r, c.pipe_w) = idle_pipes_.back();
      idle_pipes_.pop_back();
    } else {
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) != 0) {
        Log(LogLevel::kError, absl::StrCat("event=http_pipe_failed error=\"", strerror(errno),
                                           "\" detail=\"connection closed\""));
        return Abort(c, Outcome::kAborted);
      }
      c.pipe_r = fds[0];
      c.pipe_w = fds[1];
      // Refused over /proc/sys/fs/pipe-max-size without CAP_SYS_RESOURCE, or
      // past the user's pipe pages: the pipe works, in smaller steps.
      if (fcntl(c.pipe_w, F_SETPIPE_SZ, static_cast<int>(config_.chunk_bytes)) < 0 &&
          !pipe_size_logged_) {
        pipe_size_logged_ = true;
        int error = errno;
        int size = fcntl(c.pipe_w, F_GETPIPE_SZ);
        Log(LogLevel::kWarning,
            absl::StrCat("event=http_pipe_size_refused chunk_kb=", config_.chunk_bytes / 1024,
                         " pipe_kb=", std::max(size, 0) / 1024, " error=\"", strerror(error),
                         "\""));
      }
    }
  }
  c.pipe_fill = 0;
  SendOut(c);
}

void HttpServer::SendOut(Connection& c) {
  io_uring_sqe* sqe;
  if (!Submit(c, Op::kSend, sqe)) return;
  // Spliced file bytes follow: the head waits for them (one segment).
  int more = c.remaining > 0 ? MSG_MORE : 0;
  io_uring_prep_send(sqe, c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent,
                     MSG_NOSIGNAL | more);
}

// Counts a send's bytes (head first, then body); false when the client is gone.
bool HttpServer::Account(Connection& c, int result) {
  if (result <= 0) {
    c.error = result;
    Abort(c, Outcome::kAborted);
    return false;
  }
  auto n = static_cast<size_t>(result);
  size_t head = std::min(n, c.head_size - c.head_sent);
  c.head_sent += head;
  c.body_sent += n - head;
  Bump(counters_.head_bytes_sent, head);
  Bump(counters_.bytes_sent, n - head);
  Deadline(c, kSendWait, config_.send_timeout_ms);  // progress
  return true;
}

void HttpServer::OnSentOut(Connection& c, int result) {
  if (result == -EAGAIN || result == -EINTR) return SendOut(c);
  if (!Account(c, result)) return;
  c.out_sent += static_cast<size_t>(result);
  if (c.out_sent < c.out.size()) return SendOut(c);
  if (c.remaining > 0) return SpliceIn(c);
  Finish(c);
}

void HttpServer::StartRead(Connection& c) {
  io_uring_sqe* sqe;
  if (!Submit(c, Op::kRead, sqe)) return;
  auto size =
      static_cast<unsigned>(std::min<uint64_t>(config_.chunk_bytes - c.buffer_len, c.remaining));
  io_uring_prep_read(sqe, c.file_fd, c.buffer.get() + c.buffer_len, size, c.file_pos);
}

void HttpServer::OnRead(Connection& c, int result) {
  if (result <= 0) {  // an error, or the file is shorter than catalogued
    c.error = result;
    Bump(counters_.read_errors);
    return Abort(c, Outcome::kReadError);
  }
  auto n = static_cast<uint64_t>(result);
  c.buffer_len += n;
  c.file_pos += n;
  c.remaining -= std::min(n, c.remaining);
  SendBuffer(c);
}

void HttpServer::SendBuffer(Connection& c) {
  io_uring_sqe* sqe;
  if (!Submit(c, Op::kSendBuffer, sqe)) return;
  int more = c.remaining > 0 ? MSG_MORE : 0;
  // No MSG_WAITALL: a send completes with what the socket took, so a slow
  // client's progress is seen (and its send timeout restarted) chunk or not.
  io_uring_prep_send(sqe, c.fd, c.buffer.get() + c.buffer_sent, c.buffer_len - c.buffer_sent,
                     MSG_NOSIGNAL | more);
}

void HttpServer::OnSentBuffer(Connection& c, int result) {
  if (result == -EAGAIN || result == -EINTR) return SendBuffer(c);
  if (!Account(c, result)) return;
  c.buffer_sent += static_cast<size_t>(result);
  if (c.buffer_sent < c.buffer_len) return SendBuffer(c);
  c.buffer_len = c.buffer_sent = 0;
  if (c.remaining > 0) return StartRead(c);
  Finish(c);
}

void HttpServer::SpliceIn(Connection& c) {
  io_uring_sqe* sqe;
  if (!Submit(c, Op::kSpliceIn, sqe)) return;
  auto size = static_cast<unsigned>(std::min<uint64_t>(config_.chunk_bytes, c.remaining));
  io_uring_prep_splice(sqe, c.file_fd, static_cast<int64_t>(c.file_pos), c.pipe_w, -1, size,
                       SPLICE_F_MOVE);
}

void HttpServer::OnSplicedIn(Connection& c, int result) {
  if (result <= 0) {
    c.error = result;
    Bump(counters_.read_errors);
    return Abort(c, Outcome::kReadError);
  }
  auto n = static_cast<uint64_t>(result);
  c.file_pos += n;
  c.remaining -= std::min(n, c.remaining);
  c.pipe_fill = n;
  SpliceOut(c);
}

void HttpServer::SpliceOut(Connection& c) {
  // Called here, not through the ring: io_uring hands every splice to one of
  // its worker threads, and this half never blocks (the socket is
  // non-blocking, the pipe holds what it sends). A full send buffer answers
  // EAGAIN and the connection waits for room in a poll.
  unsigned flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | (c.remaining > 0 ? SPLICE_F_MORE : 0);
  // Each turn moves bytes or ends the loop; the bound only guards that.
  for (int turn = 0; c.pipe_fill > 0 && turn < kMaxSpliceOutTurns; ++turn) {
    ssize_t n = splice(c.pipe_r, nullptr, c.fd, nullptr, c.pipe_fill, flags);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return PollOut(c);
    if (!Account(c, n < 0 ? -errno : static_cast<int>(n))) return;
    c.pipe_fill -= static_cast<size_t>(n);
  }
  if (c.pipe_fill > 0) return PollOut(c);
  if (c.remaining > 0) return SpliceIn(c);
  Finish(c);
}

void HttpServer::PollOut(Connection& c) {
  io_uring_sqe* sqe;
  if (!Submit(c, Op::kPollOut, sqe)) return;
  io_uring_prep_poll_add(sqe, c.fd, POLLOUT);
}

void HttpServer::Finish(Connection& c) {
  if (c.file_fd >= 0) Bump(counters_.transfers_completed);
  Report(c, Outcome::kComplete);
  c.answering = false;
  ReleaseTransfer(c);
  c.in_len -= c.consumed;
  std::memmove(c.in.get(), c.in.get() + c.consumed, c.in_len);
  c.consumed = 0;
  if (!c.keep_alive) return Linger(c);
  if (c.in_len > 0) return HandleBuffered(c);  // pipelined
  Deadline(c, kIdleWait, config_.idle_timeout_ms);
  ReadMore(c);
}

// RFC 9112 §9.6: a server closing after a response first stops sending,
// then reads what the client still sends for a while, so its unread bytes
// do not make the close a reset that destroys the response in flight.
void HttpServer::Linger(Connection& c) {
  shutdown(c.fd, SHUT_WR);
  c.lingered = 0;
  Deadline(c, kLingerWait, kLingerMillis);
  io_uring_sqe* sqe;
  if (!Submit(c, Op::kLinger, sqe)) return;
  io_uring_prep_recv(sqe, c.fd, c.in.get(), kInputCapacity, 0);
}

void HttpServer::OnLinger(Connection& c, int result) {
  c.lingered += result > 0 ? static_cast<size_t>(result) : 0;
  if (result <= 0 || c.lingered > kLingerBytes) {
    c.wait = kNoWait;
    return Abort(c, Outcome::kComplete);
  }
  io_uring_sqe* sqe;
  if (!Submit(c, Op::kLinger, sqe)) return;
  io_uring_prep_recv(sqe, c.fd, c.in.get(), kInputCapacity, 0);
}

void HttpServer::CheckTimeouts() {
  uint64_t now = NowMs();
  for (auto& slot : slots_) {
    Connection& c = *slot;
    if (c.fd < 0 || c.closing || c.wait == kNoWait || now < c.deadline_ms) continue;
    switch (c.wait) {
      case kHeadWait:
        Bump(counters_.timeouts_header);
        break;
      case kIdleWait:
        Bump(counters_.timeouts_idle);
        break;
      case kSendWait:
        Bump(counters_.timeouts_send);
        break;
      default:
        break;
    }
    Abort(c, c.wait == kSendWait ? Outcome::kTimeout : Outcome::kComplete);
  }
}

// Ends a connection: what is in flight is cancelled (the socket shut down
// wakes a recv, send or splice); the descriptors close once it all returned,
// never before (a queued operation may not have looked its file up yet).
void HttpServer::Abort(Connection& c, Outcome outcome) {
  if (c.answering) {
    if (outcome != Outcome::kComplete) Bump(counters_.transfers_aborted);
    Report(c, outcome);
    c.answering = false;
  }
  c.closing = true;
  c.wait = kNoWait;
  if (c.inflight == 0) return Close(c);
  shutdown(c.fd, SHUT_RDWR);
  if (io_uring_sqe* sqe = Sqe(UserData(0, 0, Op::kCancel))) {
    io_uring_prep_cancel_fd(sqe, c.fd, IORING_ASYNC_CANCEL_ALL);
  }
}

void HttpServer::Close(Connection& c) {
  close(c.fd);
  c.fd = -1;
  c.closing = false;
  c.wait = kNoWait;
  c.generation = (c.generation + 1) & 0xffffff;
  ReleaseTransfer(c);
  if (c.pipe_r >= 0) {
    // A connection's pipe is kept for its next transfer; at its end, for
    // another's, if empty. Asked of the pipe, not of pipe_fill: a splice
    // into it that completes after an abort (a disk slower than the send
    // timeout) leaves bytes no count here knows of, which the next transfer
    // would send before its own.
    int unread = -1;
    if (idle_pipes_.size() < kIdlePool && ioctl(c.pipe_r, FIONREAD, &unread) == 0 && unread == 0) {
      idle_pipes_.emplace_back(c.pipe_r, c.pipe_w);
    } else {
      close(c.pipe_r);
      close(c.pipe_w);
    }
    c.pipe_r = c.pipe_w = -1;
  }
  free_.push_back(c.slot);
  --open_;
  Bump(counters_.connections_closed);
  counters_.connections_open.store(open_, std::memory_order_relaxed);
}

void HttpServer::ReleaseTransfer(Connection& c) {
  c.file_fd = -1;
  c.remaining = 0;
  if (c.buffer) {
    if (idle_buffers_.size() < kIdlePool) idle_buffers_.push_back(std::move(c.buffer));
    c.buffer.reset();
  }
  c.buffer_len = c.buffer_sent = 0;
}

void HttpServer::Report(const Connection& c, Outcome outcome) {
  uint64_t now_ns = Clock(CLOCK_MONOTONIC);
  LogAccess(c, outcome, now_ns);
  PushTransfer(c, outcome, now_ns);
}

void HttpServer::LogAccess(const Connection& c, Outcome outcome, uint64_t now_ns) {
  if (!config_.access_log) return;
  double ms = static_cast<double>(now_ns - c.started_ns) / 1e6;
  double mb_per_s = ms > 0 ? static_cast<double>(c.body_sent) / 1e3 / ms : 0;
  std::string line = absl::StrFormat(
      "event=http_access client=%s method=%s path=%s status=%d bytes=%u ms=%.3f mb_per_s=%.1f",
      c.peer, LoggedTarget(c.method), LoggedTarget(c.target), c.status, c.body_sent, ms, mb_per_s);
  if (c.ranged) absl::StrAppend(&line, " range=", c.range_first, "-", c.range_last);
  switch (outcome) {
    case Outcome::kComplete:
      break;
    case Outcome::kAborted:
      line += " outcome=aborted";
      break;
    case Outcome::kTimeout:
      line += " outcome=timeout";
      break;
    case Outcome::kReadError:
      line += " outcome=read_error";
      break;
  }
  if (outcome != Outcome::kComplete && c.error < 0) {
    absl::StrAppend(&line, " error=\"", strerror(-c.error), "\"");
  } else if (outcome == Outcome::kReadError) {
    line += " error=\"the file is shorter than catalogued\"";
  }
  Log(LogLevel::kInfo, line);
}

// No allocation: the event is encoded on the stack and copied into the ring.
void HttpServer::PushTransfer(const Connection& c, Outcome outcome, uint64_t now_ns) {
  if (config_.events == nullptr) return;
  TransferReport r;
  r.time_ns = Clock(CLOCK_REALTIME);
  r.client_address = c.peer_address;
  r.client_port = c.peer_port;
  r.method = c.method;
  r.target = c.target;
  r.status = static_cast<uint32_t>(c.status);
  r.bytes = c.body_sent;
  r.length = c.body_length;
  r.duration_us = (now_ns - c.started_ns) / 1000;
  r.range = c.ranged;
  r.range_first = c.ranged ? c.range_first : 0;
  r.range_last = c.ranged ? c.range_last : 0;
  switch (outcome) {
    case Outcome::kComplete:
      r.outcome = TransferOutcome::kCompleted;
      break;
    case Outcome::kAborted:
      r.outcome = TransferOutcome::kAborted;
      break;
    case Outcome::kTimeout:
      r.outcome = TransferOutcome::kTimedOut;
      break;
    case Outcome::kReadError:
      r.outcome = TransferOutcome::kReadError;
      break;
  }
  r.error = outcome != Outcome::kComplete && c.error < 0 ? static_cast<uint32_t>(-c.error) : 0;
  std::byte event[kMaxHttpTransferEventBytes];
  size_t n = EncodeHttpTransferEvent(r, event);
  config_.events->Push({event, n}, policy::EventRing::kHttp);  // a full ring counts, never waits
}

void HttpServer::Drain() {
  stopping_ = true;
  for (size_t i = 0; i < listeners_.size(); ++i) {
    Listener& l = listeners_[i];
    if (l.fd < 0) continue;
    l.retired = true;
    if (!l.armed) {
      close(l.fd);
      l.fd = -1;
    } else if (io_uring_sqe* sqe = Sqe(UserData(0, 0, Op::kCancel))) {
      io_uring_prep_cancel64(sqe, UserData(static_cast<uint32_t>(i), 0, Op::kAccept), 0);
    }
  }
  for (auto& slot : slots_) {
    if (slot->fd >= 0 && !slot->closing) Abort(*slot, Outcome::kAborted);
  }
  uint64_t deadline = NowMs() + kDrainMillis;
  auto busy = [this] {
    return open_ > 0 || std::any_of(listeners_.begin(), listeners_.end(),
                                    [](const Listener& l) { return l.fd >= 0; });
  };
  while (busy() && NowMs() < deadline) {
    __kernel_timespec wait{0, kWaitNanos};
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &wait, nullptr);
    Reap();
  }
  // What did not return in time goes with the ring (the kernel cancels it
  // and waits), before the descriptors it may use are closed.
  io_uring_queue_exit(&ring_);
  ring_ready_ = false;
  for (auto& slot : slots_) {
    if (slot->fd >= 0) {
      slot->inflight = 0;
      Close(*slot);
    }
  }
  for (Listener& l : listeners_) {
    if (l.fd >= 0) close(l.fd);
    l.fd = -1;
  }
  counters_.listening_port.store(0, std::memory_order_relaxed);
  Log(LogLevel::kInfo, "event=http_stopped");
}

}  // namespace stampede::http
