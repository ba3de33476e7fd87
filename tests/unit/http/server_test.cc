// The io_uring HTTP server on loopback, in both body modes: whole files,
// ranges, keep-alive and pipelining, errors, the connection limit, timeouts,
// a policy swapped under a running transfer and a port change.
#include "dataplane/http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/io/file_registry.h"
#include "dataplane/policy/status_region.h"
#include "dataplane/policy/tables.h"
#include "gtest/gtest.h"
#include "stampede/v1/event.pb.h"

namespace stampede::http {
namespace {

constexpr uint32_t kLoopback = 0x7f000001;
constexpr auto kWait = std::chrono::seconds(10);

// A port nobody listens on now (the kernel's pick, released).
uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(kLoopback);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  socklen_t length = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &length);
  close(fd);
  return ntohs(sa.sin_port);
}

// Polls `done` until it holds or kWait passes.
template <typename F>
bool WaitFor(F done) {
  auto deadline = std::chrono::steady_clock::now() + kWait;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

struct Response {
  int status = 0;
  std::map<std::string, std::string> fields;  // names lower-cased
  std::string body;
};

class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(kLoopback);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  void Send(std::string_view bytes) {
    ASSERT_EQ(send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // One response; `head_only` for HEAD (no body whatever Content-Length says).
  Response Read(bool head_only = false, size_t max_body = SIZE_MAX) {
    Response r;
    size_t end;
    while ((end = buffered_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return r;
    }
    std::string head = buffered_.substr(0, end + 2);
    buffered_.erase(0, end + 4);
    r.status = std::stoi(head.substr(9, 3));
    size_t pos = head.find("\r\n") + 2;
    while (pos < head.size()) {
      size_t eol = head.find("\r\n", pos);
      std::string field = head.substr(pos, eol - pos);
      size_t colon = field.find(": ");
      std::string name = field.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(c));
      r.fields[name] = field.substr(colon + 2);
      pos = eol + 2;
    }
    if (head_only || r.status == 304 || !r.fields.contains("content-length")) return r;
    size_t length = std::min<size_t>(std::stoull(r.fields["content-length"]), max_body);
    while (buffered_.size() < length) {
      if (!Fill()) break;
    }
    r.body = buffered_.substr(0, length);
    buffered_.erase(0, r.body.size());
    return r;
  }
  // Exactly `n` more bytes (fewer if the connection ends first).
  std::string ReadBytes(size_t n) {
    while (buffered_.size() < n) {
      if (!Fill()) break;
    }
    std::string out = buffered_.substr(0, n);
    buffered_.erase(0, out.size());
    return out;
  }
  // True when the server closed the connection (EOF, or a reset).
  bool Closed() {
    while (true) {
      char c[4096];
      ssize_t n = recv(fd_, c, sizeof(c), 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
      if (n < 0) return false;  // timed out: still open
    }
  }

 private:
  bool Fill() {
    char chunk[65536];
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffered_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  int fd_;
  bool connected_ = false;
  std::string buffered_;
};

std::string Get(std::string_view path, std::string_view fields = "") {
  return std::string("GET ") + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" +
         std::string(fields) + "\r\n";
}

class ServerTest : public ::testing::TestWithParam<BodyMode> {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    dir_ = std::filesystem::temp_directory_path() /
           ("stampede-http-test-" + std::to_string(getpid()) + "-" +
            std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(dir_);
    std::mt19937 random(7);
    for (auto [name, size] : std::vector<std::pair<std::string, size_t>>{
             {"a.bin", 300'000}, {"big.bin", 8 << 20}, {"empty", 0}, {"image.iso", 100'000}}) {
      std::string bytes(size, '\0');
      for (char& c : bytes) c = static_cast<char>(random());
      std::ofstream(dir_ / name, std::ios::binary) << bytes;
      contents_[name] = bytes;
    }
    port_ = FreePort();
  }

  void TearDown() override {
    Stop();
    std::filesystem::remove_all(dir_);
  }

  v1::CatalogFile File(const std::string& path, const std::string& name, uint64_t offset = 0,
                       uint64_t length = UINT64_MAX) {
    v1::CatalogFile file;
    file.set_path(path);
    file.set_source((dir_ / name).string());
    struct stat st {};
    stat(file.source().c_str(), &st);
    policy::SetFileIdentity(st, file);
    file.set_offset(offset);
    file.set_length(length == UINT64_MAX ? static_cast<uint64_t>(st.st_size) - offset : length);
    return file;
  }

  // Publishes a policy with these catalog files (sorted by path), as the
  // policy service would: tables built, files opened, pointer swapped.
  void Publish(std::vector<v1::CatalogFile> files, uint16_t port, uint32_t max_connections = 0) {
    v1::BootPolicy policy;
    policy.mutable_dhcp()->set_mode(v1::CompiledDhcp::PROXY);
    policy.mutable_tftp()->set_max_blksize(1468);
    policy.mutable_tftp()->set_max_windowsize(16);
    policy.set_http_port(port);
    policy.mutable_limits()->set_max_http_connections(max_connections);
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.path() < b.path(); });
    for (const v1::CatalogFile& f : files) *policy.mutable_tftp()->add_files() = f;
    std::string bytes = policy.SerializeAsString();
    absl::StatusOr<std::unique_ptr<policy::PolicyTables>> tables = policy::BuildTables(
        {reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()}, ++generation_);
    ASSERT_TRUE(tables.ok()) << tables.status();
    for (const v1::CatalogFile& f : (*tables)->policy.tftp().files()) {
      std::string why;
      (*tables)->file_ids.push_back(registry_.Open(f, why));
      ASSERT_NE((*tables)->file_ids.back(), io::FileRegistry::kNoFile) << why;
    }
    // No RCU here: every policy lives until the server stopped.
    published_.push_back(*std::move(tables));
    current_.store(published_.back().get(), std::memory_order_release);
  }

  void PublishDefault(uint32_t max_connections = 0) {
    Publish({File("a.bin", "a.bin"), File("dir/big.bin", "big.bin"), File("empty", "empty"),
             File("images/image.iso", "image.iso"),
             File("images/image/inside.txt", "image.iso", 4096, 1000)},
            port_, max_connections);
  }

  // Small chunks by default, so files take many; `mode_default_chunk` keeps
  // the server's own size for the mode.
  void Start(HttpServerConfig config = {}, bool mode_default_chunk = false) {
    config.addresses = {kLoopback};
    config.policy = &current_;
    config.files = &registry_;
    config.mode = GetParam();
    if (!mode_default_chunk) config.chunk_bytes = 64 * 1024;
    config.log = [this](port::LogLevel, std::string_view line) {
      std::lock_guard<std::mutex> lock(log_mutex_);
      log_.emplace_back(line);
    };
    absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Create(config, counters_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    thread_ = std::thread([this] { server_->Run(stop_); });
    ASSERT_TRUE(WaitFor([&] { return counters_.listening_port.load() == port_; }));
  }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lock(log_mutex_);
    return log_;
  }

  // The server's end of `client`'s connection (the server runs in this
  // process): its TCP_NOTSENT_LOWAT, or -1 when no descriptor is that end.
  int ServerSideLowat(const Client& client) {
    sockaddr_in mine{};
    socklen_t length = sizeof(mine);
    if (getsockname(client.fd(), reinterpret_cast<sockaddr*>(&mine), &length) != 0) return -1;
    for (int fd = 0; fd < 4096; ++fd) {
      sockaddr_in local{}, peer{};
      socklen_t l = sizeof(local), p = sizeof(peer);
      if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &l) != 0 ||
          local.sin_family != AF_INET || ntohs(local.sin_port) != port_ ||
          getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &p) != 0 ||
          peer.sin_port != mine.sin_port) {
        continue;
      }
      int lowat = -1;
      socklen_t size = sizeof(lowat);
      return getsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, &size) == 0 ? lowat : -1;
    }
    return -1;
  }

  // dir/big.bin whole, then bytes first..last of it, on `client`.
  void ExpectBigFileWholeAndRange(Client& client, size_t first, size_t last) {
    client.Send(Get("/dir/big.bin"));
    Response r = client.Read();
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(r.body == contents_["big.bin"]) << r.body.size() << " bytes";
    client.Send(Get("/dir/big.bin",
                    "Range: bytes=" + std::to_string(first) + "-" + std::to_string(last) + "\r\n"));
    r = client.Read();
    ASSERT_EQ(r.status, 206);
    EXPECT_TRUE(r.body == contents_["big.bin"].substr(first, last - first + 1))
        << r.body.size() << " bytes";
  }

  std::filesystem::path dir_;
  std::map<std::string, std::string> contents_;
  uint16_t port_ = 0;
  uint64_t generation_ = 0;
  io::FileRegistry registry_;
  policy::PolicyPointer current_{nullptr};
  std::vector<std::unique_ptr<policy::PolicyTables>> published_;
  HttpCounters counters_;
  std::unique_ptr<HttpServer> server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex log_mutex_;
  std::vector<std::string> log_;
};

TEST_P(ServerTest, ServesWholeFilesRangesAndHead) {
  PublishDefault();
  Start();
  Client client(port_);
  ASSERT_TRUE(client.connected());
  for (const char* name : {"a.bin", "dir/big.bin"}) {
    client.Send(Get(std::string("/") + name));
    Response r = client.Read();
    ASSERT_EQ(r.status, 200) << name;
    std::string file = std::filesystem::path(name).filename();
    EXPECT_TRUE(r.body == contents_[file]) << name << ": " << r.body.size() << " bytes";
    EXPECT_EQ(r.fields["accept-ranges"], "bytes");
    EXPECT_EQ(r.fields["connection"], "keep-alive");
    EXPECT_FALSE(r.fields["etag"].empty());
    EXPECT_FALSE(r.fields["last-modified"].empty());
  }
  client.Send(Get("/a.bin", "Range: bytes=1000-1999\r\n"));
  Response r = client.Read();
  ASSERT_EQ(r.status, 206);
  EXPECT_EQ(r.fields["content-range"], "bytes 1000-1999/300000");
  EXPECT_TRUE(r.body == contents_["a.bin"].substr(1000, 1000));
  client.Send(Get("/images/image/inside.txt"));
  r = client.Read();
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == contents_["image.iso"].substr(4096, 1000));
  EXPECT_EQ(r.fields["content-type"], "text/plain");
  client.Send("HEAD /images/image.iso HTTP/1.1\r\nHost: t\r\n\r\n");
  r = client.Read(true);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.fields["content-length"], "100000");
  EXPECT_EQ(r.fields["content-type"], "application/x-iso9660-image");
  client.Send(Get("/empty"));
  r = client.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.fields["content-length"], "0");
  client.Send(Get("/a.bin", "If-None-Match: " + r.fields["etag"] + "\r\n"));
  EXPECT_EQ(client.Read().status, 200);  // another file's tag
  client.Send(Get("/empty", "If-None-Match: " + r.fields["etag"] + "\r\n"));
  EXPECT_EQ(client.Read().status, 304);
  client.Send(Get("/nope"));
  EXPECT_EQ(client.Read().status, 404);
  client.Send(Get("/a.bin", "Range: bytes=300000-\r\n"));
  r = client.Read();
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.fields["content-range"], "bytes */300000");
  // Everything above on one connection.
  EXPECT_EQ(counters_.connections_accepted.load(), 1u);
  EXPECT_EQ(counters_.requests.load(), 10u);
  EXPECT_EQ(counters_.keepalive_requests.load(), 9u);
  EXPECT_EQ(counters_.partial_responses.load(), 1u);
  EXPECT_EQ(counters_.not_modified.load(), 1u);
  EXPECT_EQ(counters_.not_found.load(), 1u);
  EXPECT_EQ(counters_.range_refused.load(), 1u);
  EXPECT_GE(counters_.bytes_sent.load(), 300'000u + (8u << 20) + 1000 + 1000);
  std::vector<std::string> log = Log();
  EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const std::string& line) {
    return line.starts_with("event=http_access client=127.0.0.1:") &&
           line.find(" method=GET path=/a.bin status=206 bytes=1000 ") != std::string::npos &&
           line.find(" range=1000-1999") != std::string::npos;
  })) << log.size();
}

// A pipe of 1 MiB (references to cached pages), a buffer of 256 KiB (bytes
// of ours); the kernel grants the pipe's size, and whole files and a range
// across a chunk's end come through.
TEST_P(ServerTest, EachModeHasItsOwnDefaultChunk) {
  PublishDefault();
  Start({}, true);
  std::string chunk = GetParam() == BodyMode::kSplice ? " chunk_kb=1024 " : " chunk_kb=256 ";
  std::vector<std::string> log = Log();
  EXPECT_TRUE(std::any_of(log.begin(), log.end(), [&](const std::string& line) {
    return line.starts_with("event=http_listening ") && line.find(chunk) != std::string::npos;
  })) << chunk;
  Client client(port_);
  ExpectBigFileWholeAndRange(client, 1048000, 3146000);  // across a pipe's end
  log = Log();
  EXPECT_TRUE(std::none_of(log.begin(), log.end(), [](const std::string& line) {
    return line.starts_with("event=http_pipe_size_refused");
  }));
}

// Every connection keeps at most 256 KiB waiting unsent by default (and the
// server says so when it listens).
TEST_P(ServerTest, ConnectionsHoldLittleUnsent) {
  PublishDefault();
  Start();
  std::vector<std::string> log = Log();
  EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const std::string& line) {
    return line.starts_with("event=http_listening ") &&
           line.find(" notsent_lowat_kb=256 ") != std::string::npos;
  }));
  Client client(port_);
  ExpectBigFileWholeAndRange(client, 0, 4 << 20);
  EXPECT_EQ(ServerSideLowat(client), 256 * 1024);
}

// 0 leaves the kernel's default (no limit).
TEST_P(ServerTest, NoUnsentLimitWhenOff) {
  PublishDefault();
  HttpServerConfig config;
  config.notsent_lowat_bytes = 0;
  Start(config);
  Client client(port_);
  client.Send(Get("/a.bin"));
  ASSERT_EQ(client.Read().status, 200);
  EXPECT_EQ(ServerSideLowat(client), 0);
}

TEST_P(ServerTest, AnswersPipelinedRequestsInOrder) {
  PublishDefault();
  Start();
  Client client(port_);
  client.Send(Get("/a.bin", "Range: bytes=0-9\r\n") + Get("/nope") +
              Get("/a.bin", "Range: bytes=-5\r\n") +
              "GET /a.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\nRange: bytes=5-5\r\n\r\n");
  Response r = client.Read();
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, contents_["a.bin"].substr(0, 10));
  EXPECT_EQ(client.Read().status, 404);
  r = client.Read();
  EXPECT_EQ(r.body, contents_["a.bin"].substr(300'000 - 5));
  r = client.Read();
  EXPECT_EQ(r.fields["connection"], "close");
  EXPECT_EQ(r.body, contents_["a.bin"].substr(5, 1));
  EXPECT_TRUE(client.Closed());
}

TEST_P(ServerTest, RefusesMalformedRequestsAndCloses) {
  PublishDefault();
  Start();
  for (auto [request, status] : std::vector<std::pair<std::string, int>>{
           {"GARBAGE\r\n\r\n", 400},
           {"GET / HTTP/3.0\r\n\r\n", 505},
           {"GET /" + std::string(5000, 'x') + " HTTP/1.1\r\n\r\n", 414},
           {"GET / HTTP/1.1\r\nX: " + std::string(9000, 'x') + "\r\n\r\n", 431},
           {"GET /../a.bin HTTP/1.1\r\nHost: t\r\n\r\n", 400},
           {"GET /a.bin HTTP/1.1\r\n\r\n", 400},
       }) {
    Client client(port_);
    client.Send(request);
    Response r = client.Read();
    EXPECT_EQ(r.status, status) << request.substr(0, 40);
    EXPECT_EQ(r.fields["connection"], "close");
    EXPECT_TRUE(client.Closed()) << request.substr(0, 40);
  }
  EXPECT_EQ(counters_.parse_errors.load(), 4u);
  EXPECT_EQ(counters_.responses_4xx.load(), 5u);
  EXPECT_EQ(counters_.responses_5xx.load(), 1u);
  // A POST with a body: 405, then the connection ends once the body is read.
  Client post(port_);
  post.Send("POST /a.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n");
  post.Send(std::string(100000, 'x'));
  Response r = post.Read();
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.fields["allow"], "GET, HEAD");
  EXPECT_TRUE(post.Closed());
}

TEST_P(ServerTest, Http10ClosesUnlessAskedToKeepAlive) {
  PublishDefault();
  Start();
  Client one(port_);
  one.Send("GET /a.bin HTTP/1.0\r\n\r\n");
  Response r = one.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), 300'000u);
  EXPECT_TRUE(one.Closed());
  Client two(port_);
  two.Send("GET /a.bin HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(two.Read().fields["connection"], "keep-alive");
  two.Send("HEAD /a.bin HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(two.Read(true).status, 200);
}

TEST_P(ServerTest, RefusesConnectionsOverTheLimit) {
  PublishDefault(2);
  Start();
  Client a(port_), b(port_);
  a.Send(Get("/empty"));
  b.Send(Get("/empty"));
  ASSERT_EQ(a.Read().status, 200);
  ASSERT_EQ(b.Read().status, 200);
  Client c(port_);
  EXPECT_EQ(c.Read().status, 503);
  EXPECT_TRUE(c.Closed());
  EXPECT_EQ(counters_.connections_refused.load(), 1u);
  EXPECT_EQ(counters_.connections_open.load(), 2u);
}

TEST_P(ServerTest, TimesOutSlowHeadsAndIdleConnections) {
  PublishDefault();
  HttpServerConfig config;
  config.header_timeout_ms = 300;
  config.idle_timeout_ms = 300;
  Start(config);
  Client slow(port_), idle(port_);
  slow.Send("GET /a.bin HTTP/1.1\r\n");  // and nothing more
  idle.Send(Get("/empty"));
  EXPECT_EQ(idle.Read().status, 200);
  EXPECT_TRUE(slow.Closed());
  EXPECT_TRUE(idle.Closed());
  EXPECT_TRUE(WaitFor([&] { return counters_.connections_open.load() == 0; }));
  EXPECT_EQ(counters_.timeouts_header.load(), 1u);
  EXPECT_EQ(counters_.timeouts_idle.load(), 1u);
}

TEST_P(ServerTest, TimesOutAStalledReceiver) {
  PublishDefault();
  HttpServerConfig config;
  config.send_timeout_ms = 300;
  Start(config);
  Client stalled(port_);
  int small = 4096;
  setsockopt(stalled.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  stalled.Send(Get("/dir/big.bin"));  // 8 MiB never read
  EXPECT_TRUE(WaitFor([&] { return counters_.timeouts_send.load() == 1; }));
  EXPECT_TRUE(WaitFor([&] { return counters_.connections_open.load() == 0; }));
  EXPECT_EQ(counters_.transfers_aborted.load(), 1u);
  std::vector<std::string> log = Log();
  EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const std::string& line) {
    return line.find("path=/dir/big.bin status=200") != std::string::npos &&
           line.ends_with("outcome=timeout");
  }));
}

// A transfer that started keeps its bytes when the next policy drops the
// file; new requests see the new catalog.
TEST_P(ServerTest, RunningTransferOutlivesItsPolicy) {
  PublishDefault();
  Start();
  Client client(port_);
  client.Send(Get("/dir/big.bin"));
  Response head_and_some = client.Read(false, 1000);
  ASSERT_EQ(head_and_some.status, 200);
  Publish({File("a.bin", "a.bin")}, port_);
  ASSERT_TRUE(WaitFor([&] {
    Client other(port_);
    other.Send(Get("/dir/big.bin"));
    return other.Read(true).status == 404;
  }));
  std::string rest = client.ReadBytes((8u << 20) - head_and_some.body.size());
  EXPECT_TRUE(head_and_some.body + rest == contents_["big.bin"]);
}

// A reader slower than the file: the server waits for room in the socket
// again and again, chunk after chunk, and the bytes still arrive whole and
// in order, for a whole file and for a range that starts and ends inside
// pages.
TEST_P(ServerTest, SlowReaderGetsEveryByteInOrder) {
  PublishDefault();
  Start();
  Client client(port_);
  ASSERT_TRUE(client.connected());
  int small = 16 * 1024;
  setsockopt(client.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  ExpectBigFileWholeAndRange(client, 12345, 5000001);
}

// Clients that reset in the middle of a big file leave nothing behind in
// the pipes or buffers that later transfers reuse (HttpServer::Close):
// every next response has exactly its file's bytes.
TEST_P(ServerTest, AbortedTransfersLeaveNoBytesBehind) {
  PublishDefault();
  Start();
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    {
      Client gone(port_);
      ASSERT_TRUE(gone.connected());
      // A small window: the server cannot queue all 8 MiB before the reset.
      int small = 64 * 1024;
      setsockopt(gone.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
      gone.Send(Get("/dir/big.bin"));
      ASSERT_EQ(gone.Read(false, 100'000).status, 200);
      linger reset{1, 0};  // close sends a reset
      setsockopt(gone.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    }
    // Closed on the server's side too: its pipe or buffer is back in the pool.
    ASSERT_TRUE(WaitFor([&] { return counters_.connections_open.load() == 0; })) << round;
    Client next(port_);
    next.Send(Get("/a.bin"));
    Response r = next.Read();
    ASSERT_EQ(r.status, 200);
    ASSERT_TRUE(r.body == contents_["a.bin"]) << "round " << round << ": " << r.body.size();
  }
  EXPECT_EQ(counters_.transfers_aborted.load(), static_cast<uint64_t>(kRounds));
}

TEST_P(ServerTest, MovesToTheNewPortKeepingConnections) {
  PublishDefault();
  Start();
  Client before(port_);
  before.Send(Get("/empty"));
  ASSERT_EQ(before.Read().status, 200);
  uint16_t old_port = port_;
  port_ = FreePort();
  PublishDefault();
  ASSERT_TRUE(WaitFor([&] { return counters_.listening_port.load() == port_; }));
  Client after(port_);
  after.Send(Get("/empty"));
  EXPECT_EQ(after.Read().status, 200);
  before.Send(Get("/empty"));  // the old connection still works
  EXPECT_EQ(before.Read().status, 200);
  EXPECT_TRUE(WaitFor([&] { return !Client(old_port).connected(); }));
}

// With the status region: counters in its HTTP block, one HttpTransfer event
// per response on its HTTP ring, as control reads them.
class RegionServerTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    size_t size = policy::StatusRegionSize(1);
    memory_.reset(static_cast<std::byte*>(::operator new (size, std::align_val_t{64})));
    writer_.emplace(policy::StatusWriter::Over({memory_.get(), size}, 1));
    absl::StatusOr<policy::StatusReader> reader =
        policy::StatusReader::Attach({memory_.get(), size});
    ASSERT_TRUE(reader.ok()) << reader.status();
    reader_.emplace(*std::move(reader));
  }
  void TearDown() override {
    ServerTest::TearDown();
    reader_.reset();
    writer_.reset();
  }

  void StartWithRegion(HttpServerConfig config = {}) {
    config.events = &*writer_;
    config.addresses = {kLoopback};
    config.policy = &current_;
    config.files = &registry_;
    config.mode = GetParam();
    config.chunk_bytes = 64 * 1024;
    config.access_log = false;  // the events do not depend on it
    absl::StatusOr<std::unique_ptr<HttpServer>> server =
        HttpServer::Create(config, writer_->http_counters());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    thread_ = std::thread([this] { server_->Run(stop_); });
    ASSERT_TRUE(WaitFor([&] { return Http("listening_port") == port_; }));
  }

  uint64_t Http(const std::string& name) {
    std::vector<std::string> names = policy::HttpCounterNames();
    std::vector<uint64_t> values = reader_->HttpCounterValues();
    auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? ~uint64_t{0} : values[static_cast<size_t>(it - names.begin())];
  }

  // Polls the HTTP ring until `n` events arrived (bounded).
  std::vector<v1::HttpTransfer> Transfers(size_t n) {
    std::vector<v1::HttpTransfer> out;
    WaitFor([&] {
      for (const std::vector<std::byte>& bytes :
           reader_->PopEvents(1000, policy::EventRing::kHttp)) {
        v1::Event event;
        EXPECT_TRUE(event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
        EXPECT_TRUE(event.has_http_transfer());
        EXPECT_GT(event.time_ns(), 1'600'000'000'000'000'000u);
        out.push_back(event.http_transfer());
      }
      return out.size() >= n;
    });
    return out;
  }

  struct AlignedDelete {
    void operator()(std::byte* p) const { ::operator delete (p, std::align_val_t{64}); }
  };
  std::unique_ptr<std::byte, AlignedDelete> memory_;
  std::optional<policy::StatusWriter> writer_;
  std::optional<policy::StatusReader> reader_;
};

TEST_P(RegionServerTest, ReportsEveryResponseAsAnEventAndCountsInTheRegion) {
  PublishDefault();
  StartWithRegion();
  {
    Client client(port_);
    ASSERT_TRUE(client.connected());
    client.Send(Get("/a.bin"));
    ASSERT_EQ(client.Read().status, 200);
    client.Send(Get("/a.bin", "Range: bytes=1000-1999\r\n"));
    ASSERT_EQ(client.Read().status, 206);
    client.Send(Get("/nope?q=%20x"));
    ASSERT_EQ(client.Read().status, 404);
    client.Send("HEAD /images/image.iso HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_EQ(client.Read(true).status, 200);
  }  // closed between requests: no event of its own
  std::vector<v1::HttpTransfer> t = Transfers(4);
  ASSERT_EQ(t.size(), 4u);
  for (const v1::HttpTransfer& one : t) {
    EXPECT_EQ(one.client_address(), kLoopback);
    EXPECT_NE(one.client_port(), 0u);
    EXPECT_EQ(one.outcome(), v1::HttpTransfer::COMPLETED);
    EXPECT_EQ(one.error(), 0u);
  }
  EXPECT_EQ(t[0].method(), "GET");
  EXPECT_EQ(t[0].path(), "/a.bin");
  EXPECT_EQ(t[0].status(), 200u);
  EXPECT_EQ(t[0].bytes(), 300'000u);
  EXPECT_EQ(t[0].length(), 300'000u);
  EXPECT_FALSE(t[0].range());
  EXPECT_EQ(t[1].status(), 206u);
  EXPECT_EQ(t[1].bytes(), 1000u);
  EXPECT_TRUE(t[1].range());
  EXPECT_EQ(t[1].range_first(), 1000u);
  EXPECT_EQ(t[1].range_last(), 1999u);
  EXPECT_EQ(t[2].path(), "/nope?q=%20x");
  EXPECT_EQ(t[2].status(), 404u);
  EXPECT_EQ(t[2].bytes(), t[2].length());  // the error text
  EXPECT_EQ(t[3].method(), "HEAD");
  EXPECT_EQ(t[3].status(), 200u);
  EXPECT_EQ(t[3].bytes(), 0u);
  EXPECT_EQ(t[3].length(), 0u);
  // The same connection's ports.
  EXPECT_EQ(t[0].client_port(), t[3].client_port());
  EXPECT_TRUE(WaitFor([&] { return Http("connections_closed") == 1; }));
  EXPECT_EQ(Http("connections_open"), 0u);
  EXPECT_TRUE(reader_->PopEvents(10, policy::EventRing::kHttp).empty());
  EXPECT_EQ(Http("connections_accepted"), 1u);
  EXPECT_EQ(Http("requests"), 4u);
  EXPECT_EQ(Http("keepalive_requests"), 3u);
  EXPECT_EQ(Http("responses_2xx"), 3u);
  EXPECT_EQ(Http("responses_4xx"), 1u);
  EXPECT_EQ(Http("not_found"), 1u);
  EXPECT_EQ(Http("partial_responses"), 1u);
  EXPECT_EQ(Http("transfers_completed"), 2u);
  EXPECT_EQ(Http("bytes_sent"), 300'000u + 1000u + t[2].bytes());
  EXPECT_EQ(reader_->Snapshot().events_dropped, 0u);
}

TEST_P(RegionServerTest, ReportsAStalledTransferAsTimedOut) {
  PublishDefault();
  HttpServerConfig config;
  config.send_timeout_ms = 300;
  StartWithRegion(config);
  Client stalled(port_);
  int small = 4096;
  setsockopt(stalled.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  stalled.Send(Get("/dir/big.bin"));  // 8 MiB never read
  std::vector<v1::HttpTransfer> t = Transfers(1);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].path(), "/dir/big.bin");
  EXPECT_EQ(t[0].status(), 200u);
  EXPECT_EQ(t[0].outcome(), v1::HttpTransfer::TIMED_OUT);
  EXPECT_EQ(t[0].length(), 8u << 20);
  EXPECT_LT(t[0].bytes(), t[0].length());
  EXPECT_GE(t[0].duration_us(), 300'000u);
  EXPECT_EQ(Http("transfers_aborted"), 1u);
  EXPECT_EQ(Http("timeouts_send"), 1u);
}

// A full ring drops the event and counts it; the server goes on serving.
TEST_P(RegionServerTest, AFullRingDropsAndCounts) {
  PublishDefault();
  for (uint32_t i = 0; i < policy::kEventSlots; ++i) {
    std::byte filler[1] = {std::byte{0}};
    ASSERT_TRUE(writer_->Push(filler, policy::EventRing::kHttp));
  }
  StartWithRegion();
  Client client(port_);
  for (int i = 0; i < 3; ++i) {
    client.Send(Get("/empty"));
    ASSERT_EQ(client.Read().status, 200);
  }
  auto http_drops = [&] {
    return reader_->Snapshot().ring_events_dropped[static_cast<size_t>(policy::EventRing::kHttp)];
  };
  EXPECT_TRUE(WaitFor([&] { return http_drops() == 3; })) << http_drops();
  EXPECT_EQ(reader_->PopEvents(policy::kEventSlots + 1, policy::EventRing::kHttp).size(),
            policy::kEventSlots);
  client.Send(Get("/empty"));
  ASSERT_EQ(client.Read().status, 200);
  std::vector<v1::HttpTransfer> t = Transfers(1);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].path(), "/empty");
}

INSTANTIATE_TEST_SUITE_P(Modes, RegionServerTest,
                         ::testing::Values(BodyMode::kRead, BodyMode::kSplice),
                         [](const ::testing::TestParamInfo<BodyMode>& info) {
                           return info.param == BodyMode::kRead ? "Read" : "Splice";
                         });

INSTANTIATE_TEST_SUITE_P(Modes, ServerTest, ::testing::Values(BodyMode::kRead, BodyMode::kSplice),
                         [](const ::testing::TestParamInfo<BodyMode>& info) {
                           return info.param == BodyMode::kRead ? "Read" : "Splice";
                         });

}  // namespace
}  // namespace stampede::http
