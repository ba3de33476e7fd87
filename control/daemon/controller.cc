#include "control/daemon/controller.h"

#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "control/api/json.h"
#include "control/catalog/tftp_root.h"
#include "control/config/compile.h"
#include "control/config/loader.h"
#include "control/log.h"
#include "dataplane/dhcp/journal.h"
#include "dataplane/net/address.h"
#include "dataplane/policy/reader.h"
#include "stampede/v1/event.pb.h"

namespace stampede::control {
namespace {

using api::HttpResponse;
using api::JsonString;

// What changes the TFTP catalog: files appearing, going, renamed, written,
// touched or chmod-ed; folders likewise, and the watched folder itself.
constexpr uint32_t kTftpWatchMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                    IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |
                                    IN_ONLYDIR | IN_MASK_ADD;

// systemd's readiness protocol (sd_notify(3)) without libsystemd: one
// datagram to $NOTIFY_SOCKET; nothing when not started by systemd.
void Notify(const std::string& state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  size_t length = std::strlen(path);
  if (length >= sizeof(address.sun_path)) return;
  std::memcpy(address.sun_path, path, length);
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&address),
         static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length));
  close(fd);
}

HttpResponse Json(int status, std::string body) {
  return {status, "application/json", std::move(body) + "\n"};
}

HttpResponse Error(int status, const std::string& message) {
  return Json(status, absl::StrCat("{\"error\":", JsonString(message), "}"));
}

std::string LeaseClient(const dhcp::Lease& lease) {
  return ClientText(
      std::string(reinterpret_cast<const char*>(lease.client.bytes.data()), lease.client.length));
}

// Control reads this many events per ring per pass of its loop (every
// 100 ms at most): a whole ring's worth for the busy producers.
constexpr size_t kServiceEventsPerPass = 1024;
constexpr size_t kDhcpEventsPerPass = policy::kEventSlots;
constexpr size_t kHttpEventsPerPass = policy::kEventSlots;
constexpr size_t kTftpEventsPerPass = policy::kEventSlots;

// A TFTP transfer's event detail, in the shape of the HTTP access log's.
std::string TftpDetail(const v1::TftpTransfer& t) {
  double ms = static_cast<double>(t.duration_us()) / 1e3;
  std::string detail = absl::StrFormat(
      "client=%s:%u file=%s%s outcome=%s bytes=%u size=%u ms=%.0f blksize=%u windowsize=%u",
      net::Ipv4Address{t.client_address()}.ToString(), t.client_port(),
      t.file().empty() ? "-" : t.file(), t.file_truncated() ? "..." : "",
      TftpOutcomeName(t.outcome()), t.bytes(), t.size(), ms, t.block_size(), t.window_size());
  if (t.retransmits() != 0) absl::StrAppend(&detail, " retransmits=", t.retransmits());
  if (t.outcome() != v1::TftpTransfer::COMPLETED && t.outcome() != v1::TftpTransfer::UNANSWERED) {
    absl::StrAppend(&detail, " error=", t.error_code(), " message=", Quote(t.detail()));
  }
  return detail;
}

std::string TftpJson(const v1::TftpTransfer& t) {
  return absl::StrCat(
      "{\"client\":",
      JsonString(
          absl::StrCat(net::Ipv4Address{t.client_address()}.ToString(), ":", t.client_port())),
      ",\"file\":", JsonString(t.file()),
      ",\"file_truncated\":", t.file_truncated() ? "true" : "false",
      ",\"outcome\":", JsonString(TftpOutcomeName(t.outcome())), ",\"error_code\":", t.error_code(),
      ",\"detail\":", JsonString(t.detail()), ",\"bytes\":", t.bytes(), ",\"size\":", t.size(),
      ",\"duration_us\":", t.duration_us(), ",\"block_size\":", t.block_size(),
      ",\"window_size\":", t.window_size(), ",\"retransmits\":", t.retransmits(), "}");
}

std::string ClientAddress(const v1::HttpTransfer& t) {
  return absl::StrCat(net::Ipv4Address{t.client_address()}.ToString(), ":", t.client_port());
}

// The access log's line (docs/http.md), as an event's detail.
std::string TransferDetail(const v1::HttpTransfer& t) {
  double ms = static_cast<double>(t.duration_us()) / 1e3;
  double mb_per_s = ms > 0 ? static_cast<double>(t.bytes()) / 1e3 / ms : 0;
  std::string detail = absl::StrFormat(
      "client=%s method=%s path=%s%s status=%u bytes=%u ms=%.3f mb_per_s=%.1f", ClientAddress(t),
      t.method().empty() ? "-" : t.method(), t.path().empty() ? "-" : t.path(),
      t.path_truncated() ? "..." : "", t.status(), t.bytes(), ms, mb_per_s);
  if (t.range()) absl::StrAppend(&detail, " range=", t.range_first(), "-", t.range_last());
  if (t.outcome() != v1::HttpTransfer::COMPLETED) {
    absl::StrAppend(&detail, " outcome=", HttpOutcomeName(t.outcome()));
  }
  if (t.error() != 0) absl::StrAppend(&detail, " error=", Quote(std::strerror(t.error())));
  return detail;
}

std::string TransferJson(const v1::HttpTransfer& t) {
  return absl::StrCat(
      "{\"client\":", JsonString(ClientAddress(t)), ",\"method\":", JsonString(t.method()),
      ",\"path\":", JsonString(t.path()),
      ",\"path_truncated\":", t.path_truncated() ? "true" : "false", ",\"status\":", t.status(),
      ",\"bytes\":", t.bytes(), ",\"length\":", t.length(), ",\"duration_us\":", t.duration_us(),
      ",\"range\":",
      t.range() ? absl::StrCat("[", t.range_first(), ",", t.range_last(), "]") : "null",
      ",\"outcome\":", JsonString(HttpOutcomeName(t.outcome())),
      ",\"error\":", JsonString(t.error() != 0 ? std::strerror(t.error()) : ""), "}");
}

std::string EventJson(const LoggedEvent& e) {
  return absl::StrCat("{\"seq\":", e.seq, ",\"time_ns\":", e.time_ns,
                      ",\"source\":", JsonString(e.source), ",\"kind\":", JsonString(e.kind),
                      ",\"generation\":", e.generation, ",\"detail\":", JsonString(e.detail),
                      e.http ? absl::StrCat(",\"http\":", TransferJson(*e.http)) : "",
                      e.tftp ? absl::StrCat(",\"tftp\":", TftpJson(*e.tftp)) : "", "}");
}

std::string RingDropsJson(const policy::StatusSnapshot& s) {
  std::string out = "{";
  for (uint32_t ring = 0; ring < policy::kEventRings; ++ring) {
    absl::StrAppend(&out, ring ? "," : "", "\"",
                    policy::EventRingName(static_cast<policy::EventRing>(ring)),
                    "\":", s.ring_events_dropped[ring]);
  }
  return absl::StrCat(out, ",\"tftp\":", s.tftp_events_dropped, "}");
}

}  // namespace

std::vector<std::string> DataplaneArgv(const v1::Config& config, const std::string& binary,
                                       const std::string& instance,
                                       const std::string& lease_journal) {
  const v1::Dataplane& d = config.dataplane();
  std::vector<std::string> argv = {binary, absl::StrCat("--port=", d.port()),
                                   absl::StrCat("--instance=", instance),
                                   absl::StrCat("--lease_journal=", lease_journal),
                                   absl::StrCat("--file_prefix=stampede-", instance)};
  if (!d.lcores().empty()) argv.push_back(absl::StrCat("--lcores=", d.lcores()));
  if (d.memory_mb() != 0) argv.push_back(absl::StrCat("--memory_mb=", d.memory_mb()));
  if (!d.huge_pages().empty()) argv.push_back(absl::StrCat("--huge_pages=", d.huge_pages()));
  if (!d.mac().empty()) argv.push_back(absl::StrCat("--mac=", d.mac()));
  if (!d.ipv4().empty()) argv.push_back(absl::StrCat("--ipv4=", absl::StrJoin(d.ipv4(), ",")));
  if (!d.exception_iface().empty()) {
    argv.push_back(absl::StrCat("--exception_iface=", d.exception_iface()));
  }
  if (d.idle_sleep_us() != 0) argv.push_back(absl::StrCat("--idle_sleep_us=", d.idle_sleep_us()));
  return argv;
}

Controller::Controller(ControlOptions options) : options_(std::move(options)) {}

Controller::~Controller() {
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (signal_fd_ >= 0) close(signal_fd_);
}

absl::Status Controller::Start() {
  started_ns_ = WallNs();
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGHUP, SIGTERM, SIGINT, SIGCHLD}) sigaddset(&signals, s);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  signal_fd_ = signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (signal_fd_ < 0 || inotify_fd_ < 0) {
    return absl::InternalError(absl::StrCat("signalfd/inotify: ", std::strerror(errno)));
  }

  absl::StatusOr<publish::Publisher> publisher =
      publish::Publisher::Open(policy::RegionPath(options_.instance));
  if (!publisher.ok()) return publisher.status();
  publisher_.emplace(*std::move(publisher));

  ReloadResult first = Reload("start");
  if (!first.ok) return absl::InvalidArgumentError(first.error);
  // A restarted control plane publishes even an unchanged policy, so a
  // dataplane that refused the last one (or a fresh one) gets it again.
  if (!first.published) {
    std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(published_bytes_.data()),
                                     published_bytes_.size());
    absl::StatusOr<uint64_t> generation = publisher_->Publish(bytes);
    if (!generation.ok()) return generation.status();
  }
  // A restarted control plane still knows whose address is whose (the
  // journal's bound leases): stampede boots names the machines by them.
  if (access(options_.lease_journal.c_str(), R_OK) == 0) {
    uint64_t skipped_bytes = 0;
    for (const dhcp::Lease& lease : JournalLeases(skipped_bytes)) {
      if (lease.state != dhcp::LeaseState::kDeclined) {
        boots_.Remember(lease.address, LeaseClient(lease));
      }
    }
  }

  std::error_code ignored;
  std::filesystem::create_directories(options_.run_dir, ignored);
  if (options_.supervise) {
    supervisor_ = std::make_unique<Supervisor>(
        DataplaneArgv(*config_, options_.dataplane_binary, options_.instance,
                      options_.lease_journal),
        absl::StrCat(options_.run_dir, "/", options_.instance, "-dataplane.pid"));
    supervisor_->Start();
  }
  absl::StatusOr<std::unique_ptr<api::HttpServer>> server =
      api::HttpServer::Listen(options_.api_socket, options_.api_listen,
                              [this](const api::HttpRequest& request, const std::string& body) {
                                return HandleApi(request, body);
                              });
  if (!server.ok()) return server.status();
  server_ = *std::move(server);
  Log(Level::kInfo,
      absl::StrCat("event=ready instance=", options_.instance,
                   " generation=", publisher_->generation(), " api_socket=",
                   options_.api_socket.empty() ? "none" : options_.api_socket, " api_listen=",
                   options_.api_listen.empty()
                       ? "none"
                       : absl::StrCat(options_.api_listen, " port=", server_->tcp_port()),
                   " supervise=", options_.supervise ? "yes" : "no"));
  Notify("READY=1");
  return absl::OkStatus();
}

ReloadResult Controller::Reload(const std::string& why) {
  ReloadResult result;
  UpdateWatches();  // a lost config-directory watch comes back even if the file is bad
  absl::StatusOr<config::LoadedConfig> loaded = config::LoadConfigFile(options_.config_path);
  if (loaded.ok()) UpdateTftpWatches(loaded->config.tftp().root());
  std::vector<std::string> warnings;
  std::vector<catalog::ImageStatus> images;
  absl::StatusOr<v1::BootPolicy> policy = loaded.ok()
                                              ? config::Compile(*loaded, &warnings, &images)
                                              : absl::StatusOr<v1::BootPolicy>(loaded.status());
  LogWarnings(why, warnings);
  last_reload_reason_ = why;
  last_reload_ns_ = WallNs();
  if (!policy.ok()) {
    result.error = std::string(policy.status().message());
    ++reloads_failed_;
    last_reload_ = result;
    Log(Level::kError, absl::StrCat("event=config_rejected reason=", why, " kept_generation=",
                                    publisher_->generation(), " error=", Quote(result.error)));
    events_.Add({0, 0, "control", "config_rejected", publisher_->generation(), result.error});
    return result;
  }
  config_ = loaded->config;
  tftp_files_ = static_cast<size_t>(policy->tftp().files_size());
  images_ = std::move(images);
  compile_warnings_ = warnings.size();
  UpdateWatches();
  if (supervisor_) {
    supervisor_->SetArgv(DataplaneArgv(*config_, options_.dataplane_binary, options_.instance,
                                       options_.lease_journal));
  }
  std::string bytes = policy->SerializeAsString();
  result.ok = true;
  ++reloads_ok_;
  if (bytes == published_bytes_) {
    result.generation = publisher_->generation();
    last_reload_ = result;
    Log(Level::kInfo,
        absl::StrCat("event=config_unchanged reason=", why, " generation=", result.generation));
    return result;
  }
  absl::StatusOr<uint64_t> generation =
      publisher_->Publish({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()});
  if (!generation.ok()) {
    result.ok = false;
    result.error = std::string(generation.status().message());
    --reloads_ok_;
    ++reloads_failed_;
    last_reload_ = result;
    Log(Level::kError, absl::StrCat("event=publish_failed error=", Quote(result.error)));
    return result;
  }
  published_bytes_ = std::move(bytes);
  // A lease event names its profile by its index in this policy.
  std::vector<std::string> names;
  for (const v1::CompiledProfile& profile : policy->profiles()) names.push_back(profile.name());
  boots_.SetProfiles(std::move(names));
  result.published = true;
  result.generation = *generation;
  last_reload_ = result;
  Log(Level::kInfo, absl::StrCat("event=policy_published reason=", why, " generation=", *generation,
                                 " bytes=", published_bytes_.size()));
  events_.Add({0, 0, "control", "policy_published", *generation, why});
  return result;
}

void Controller::UpdateWatches() {
  if (config_watch_ < 0) {
    // The directory, not the file: editors and config management replace
    // the file by rename, which a watch on the file itself would lose.
    std::string dir = std::filesystem::path(options_.config_path).parent_path().string();
    config_watch_ = inotify_add_watch(inotify_fd_, dir.empty() ? "." : dir.c_str(),
                                      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE);
  }
  std::string folder = config_ ? config_->images().folder() : "";
  if (folder == images_folder_ && (images_watch_ >= 0 || folder.empty())) return;
  // The images folder may be the config's directory (same watch descriptor):
  // removing it would lose the config watch too.
  if (images_watch_ >= 0 && images_watch_ != config_watch_ &&
      !tftp_watches_.contains(images_watch_)) {
    inotify_rm_watch(inotify_fd_, images_watch_);
  }
  images_watch_ = -1;
  images_folder_ = folder;
  if (folder.empty()) return;
  images_watch_ =
      inotify_add_watch(inotify_fd_, folder.c_str(),
                        IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE);
  if (images_watch_ < 0) {
    Log(Level::kWarning, absl::StrCat("event=images_folder_unwatched folder=", Quote(folder),
                                      " error=", Quote(std::strerror(errno))));
  }
}

void Controller::UpdateTftpWatches(const std::string& root) {
  std::set<int> watched;
  bool truncated = false;
  // The same folder watched twice is one descriptor (IN_MASK_ADD keeps the
  // config and images watches' events if it is one of theirs).
  auto watch = [&](const std::string& folder, uint32_t flags) {
    if (watched.size() >= kMaxTftpWatches) {
      truncated = true;
      return false;
    }
    int wd = inotify_add_watch(inotify_fd_, folder.c_str(), kTftpWatchMask | flags);
    if (wd >= 0) watched.insert(wd);
    return wd >= 0;
  };
  if (!root.empty() && watch(root, 0)) {
    namespace fs = std::filesystem;
    std::error_code error;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, error);
    size_t entries = 0;
    for (; !error && it != fs::recursive_directory_iterator() && !truncated; it.increment(error)) {
      if (++entries > catalog::kMaxTftpRootEntries) {
        truncated = true;
        break;
      }
      std::error_code ignored;
      // Symlinked folders are not walked: those the catalog follows are
      // inside the root, so watched where they are.
      if (it->is_symlink(ignored) || !it->is_directory(ignored)) continue;
      if (it.depth() + 1 > catalog::kMaxTftpRootDepth) {  // the catalog does not read it
        it.disable_recursion_pending();
        continue;
      }
      watch(it->path().string(), IN_DONT_FOLLOW);
    }
  }
  for (int wd : tftp_watches_) {
    if (!watched.contains(wd) && wd != config_watch_ && wd != images_watch_) {
      inotify_rm_watch(inotify_fd_, wd);
    }
  }
  tftp_watches_ = std::move(watched);
  if (truncated && !tftp_watches_truncated_) {
    Log(Level::kWarning, absl::StrCat("event=tftp_root_partly_watched root=", Quote(root),
                                      " watched_folders=", tftp_watches_.size(),
                                      " detail=\"changes in other folders need a reload\""));
  }
  tftp_watches_truncated_ = truncated;
}

void Controller::LogWarnings(const std::string& why, const std::vector<std::string>& warnings) {
  for (size_t i = 0; i < warnings.size() && i < kMaxLoggedWarnings; ++i) {
    Log(Level::kWarning,
        absl::StrCat("event=config_warning reason=", why, " warning=", Quote(warnings[i])));
  }
  if (warnings.size() > kMaxLoggedWarnings) {
    Log(Level::kWarning, absl::StrCat("event=config_warnings_not_logged reason=", why,
                                      " count=", warnings.size() - kMaxLoggedWarnings));
  }
}

std::string Controller::HandleInotify() {
  alignas(inotify_event) char buffer[8192];
  std::string reason;
  std::string name = std::filesystem::path(options_.config_path).filename().string();
  for (int i = 0; i < 64; ++i) {  // bounded: more waits for the next poll
    ssize_t n = read(inotify_fd_, buffer, sizeof(buffer));
    if (n <= 0) break;
    for (ssize_t at = 0; at < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      if (event->wd == images_watch_ && reason.empty()) reason = "images_changed";
      if (tftp_watches_.contains(event->wd) && reason.empty()) reason = "tftp_changed";
      if (event->wd == config_watch_ && event->len > 0 && name == event->name) {
        reason = "config_changed";
      }
      // Events were lost: whatever they were, a reload catches up.
      if ((event->mask & IN_Q_OVERFLOW) && reason.empty()) reason = "inotify_overflow";
      if (event->mask & IN_IGNORED) {
        // The watched directory went away (or was unwatched): watch anew.
        bool config_or_images = event->wd == images_watch_ || event->wd == config_watch_;
        if (event->wd == images_watch_) images_watch_ = -1;
        if (event->wd == config_watch_) config_watch_ = -1;
        tftp_watches_.erase(event->wd);
        if (config_or_images && reason.empty()) reason = "config_changed";
      }
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
  return reason;
}

bool Controller::DataplaneAlive(const policy::StatusSnapshot& s) const {
  uint64_t now = WallNs();
  return s.heartbeat_ns != 0 && now >= s.heartbeat_ns &&
         now - s.heartbeat_ns <
             static_cast<uint64_t>(std::chrono::nanoseconds(kHeartbeatTimeout).count()) &&
         s.pid > 1 && s.pid <= static_cast<uint32_t>(std::numeric_limits<pid_t>::max()) &&
         kill(static_cast<pid_t>(s.pid), 0) == 0;
}

void Controller::PollDataplane() {
  if (!status_ || status_->Stale()) {
    status_.reset();
    absl::StatusOr<policy::StatusReader> reader =
        policy::StatusReader::Open(policy::StatusRegionPath(options_.instance));
    if (!reader.ok()) return;
    status_.emplace(*std::move(reader));
  }
  std::vector<std::vector<std::byte>> records =
      status_->PopEvents(kServiceEventsPerPass, policy::EventRing::kService);
  for (auto [ring, max] : {std::pair{policy::EventRing::kDhcp, kDhcpEventsPerPass},
                           std::pair{policy::EventRing::kHttp, kHttpEventsPerPass}}) {
    for (std::vector<std::byte>& bytes : status_->PopEvents(max, ring)) {
      records.push_back(std::move(bytes));
    }
  }
  for (uint32_t lcore = 0; lcore < status_->lcores(); ++lcore) {
    for (std::vector<std::byte>& bytes : status_->PopTftpEvents(kTftpEventsPerPass, lcore)) {
      records.push_back(std::move(bytes));
    }
  }
  for (const std::vector<std::byte>& bytes : records) {
    v1::Event event;
    if (!event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      Log(Level::kWarning, "event=bad_dataplane_event detail=\"unparsable record skipped\"");
      continue;
    }
    LoggedEvent logged{0, event.time_ns(), "dataplane", "", 0, ""};
    if (event.has_policy_applied()) {
      logged.kind = "policy_applied";
      logged.generation = event.policy_applied().generation();
    } else if (event.has_policy_refused()) {
      logged.kind = "policy_refused";
      logged.generation = event.policy_refused().generation();
      logged.detail = event.policy_refused().reason();
      Log(Level::kError, absl::StrCat("event=dataplane_refused_policy generation=",
                                      logged.generation, " reason=", Quote(logged.detail)));
    } else if (event.has_lease()) {
      const v1::Lease& lease = event.lease();
      logged.kind = absl::StrCat("lease_", LeaseChangeName(lease.change()));
      logged.detail = absl::StrCat(net::Ipv4Address{lease.address()}.ToString(),
                                   " client=", ClientText(lease.client_id()));
    } else if (event.has_proxy_boot()) {
      const v1::ProxyBoot& proxy = event.proxy_boot();
      logged.kind = absl::StrCat("proxy_", ProxyStepName(proxy.step()));
      logged.detail =
          absl::StrCat(proxy.address() != 0 ? net::Ipv4Address{proxy.address()}.ToString() : "-",
                       " client=", ClientText(proxy.client_id()));
    } else if (event.has_pool_exhausted()) {
      logged.kind = "pool_exhausted";
      logged.detail = absl::StrCat(net::Ipv4Address{event.pool_exhausted().network()}.ToString(),
                                   "/", event.pool_exhausted().prefix_length());
      Log(Level::kWarning, absl::StrCat("event=pool_exhausted subnet=", logged.detail));
    } else if (event.has_http_transfer()) {
      // Kept, not logged: the dataplane's access log has a line for each.
      const v1::HttpTransfer& transfer = event.http_transfer();
      logged.kind = transfer.outcome() == v1::HttpTransfer::COMPLETED ? "http_transfer"
                                                                      : "http_transfer_aborted";
      logged.detail = TransferDetail(transfer);
      logged.http = transfer;
    } else if (event.has_tftp_transfer()) {
      // Kept, not logged, as HTTP's: a storm has thousands.
      const v1::TftpTransfer& transfer = event.tftp_transfer();
      logged.kind = transfer.outcome() == v1::TftpTransfer::COMPLETED ? "tftp_transfer"
                    : transfer.outcome() == v1::TftpTransfer::REFUSED ? "tftp_refused"
                                                                      : "tftp_transfer_failed";
      logged.detail = TftpDetail(transfer);
      logged.tftp = transfer;
    } else {
      logged.kind = "unknown";
    }
    boots_.Add(event);
    events_.Add(std::move(logged));
  }
}

int Controller::Run() {
  bool stop = false;
  while (!stop) {
    std::vector<pollfd> fds = {{signal_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    int exit_fd = supervisor_ ? supervisor_->exit_fd() : -1;
    if (exit_fd >= 0) fds.push_back({exit_fd, POLLIN, 0});
    server_->Collect(fds);
    poll(fds.data(), fds.size(), static_cast<int>(kLoopTick.count()));
    auto now = std::chrono::steady_clock::now();

    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
        if (info.ssi_signo == SIGHUP) {
          Notify("RELOADING=1");
          Reload("SIGHUP");
          Notify("READY=1");
        } else if (info.ssi_signo == SIGCHLD) {
          if (supervisor_) supervisor_->OnSigchld();
        } else if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
          Log(Level::kInfo, absl::StrCat("event=stopping signal=", strsignal(info.ssi_signo)));
          stop = true;
        }
      }
    }
    if (fds[1].revents & POLLIN) {
      if (std::string reason = HandleInotify(); !reason.empty()) {
        if (!reload_at_ || reload_reason_ != "config_changed") reload_reason_ = reason;
        reload_at_ = now + kReloadDebounce;
      }
    }
    if (reload_at_ && now >= *reload_at_) {
      reload_at_.reset();
      Reload(reload_reason_);
    }
    if (exit_fd >= 0 && (fds[2].revents & POLLIN)) {
      supervisor_->OnExit();
      events_.Add({0, 0, "control", "dataplane_exited", 0, supervisor_->last_exit()});
    }
    if (supervisor_) supervisor_->Tick(now);
    server_->Handle(fds);
    PollDataplane();
  }
  Notify("STOPPING=1");
  if (supervisor_) supervisor_->Stop();
  server_.reset();
  return 0;
}

api::HttpResponse Controller::HandleApi(const api::HttpRequest& request, const std::string&) {
  const std::string& path = request.path;
  bool get = request.method == "GET" || request.method == "HEAD";
  bool post = request.method == "POST";
  if (path == "/status") return get ? Json(200, StatusJson()) : Error(405, "use GET");
  if (path == "/metrics") {
    if (!get) return Error(405, "use GET");
    return {200, "text/plain; version=0.0.4", Metrics()};
  }
  if (path == "/events") {
    if (!get) return Error(405, "use GET");
    uint64_t since = 0, limit = 1000;
    if (auto it = request.query.find("since");
        it != request.query.end() && !absl::SimpleAtoi(it->second, &since)) {
      return Error(400, "since must be a number");
    }
    if (auto it = request.query.find("limit");
        it != request.query.end() && (!absl::SimpleAtoi(it->second, &limit) || limit == 0)) {
      return Error(400, "limit must be a positive number");
    }
    return Json(200, EventsJson(since, std::min<uint64_t>(limit, kEventLogCapacity)));
  }
  if (path == "/leases") {
    if (!get) return Error(405, "use GET");
    return LeasesJson();
  }
  if (path == "/boots") return get ? BootsJson(request) : Error(405, "use GET");
  if (path == "/images") return get ? Json(200, ImagesJson()) : Error(405, "use GET");
  if (path == "/reload") {
    if (!post) return Error(405, "use POST");
    ReloadResult r = Reload("api");
    return Json(r.ok ? 200 : 422, absl::StrCat("{\"ok\":", r.ok ? "true" : "false",
                                               ",\"published\":", r.published ? "true" : "false",
                                               ",\"generation\":", r.generation,
                                               ",\"error\":", JsonString(r.error), "}"));
  }
  if (path == "/dataplane/restart") {
    if (!post) return Error(405, "use POST");
    if (!supervisor_) {
      return Error(409,
                   "this control plane does not supervise the dataplane (stampede serve does)");
    }
    supervisor_->Restart();
    return Json(200, absl::StrCat("{\"ok\":true,\"pid\":", supervisor_->pid(), "}"));
  }
  if (path == "/") {
    return {
        200, "text/plain",
        "stampede-control API\n  GET  /status\n  GET  /images\n  GET  /events?since=SEQ&limit=N\n"
        "  GET  /leases\n  GET  /boots[?client=MAC|ADDRESS][?failed=1]\n"
        "  POST /reload\n  POST /dataplane/restart\n  GET  /metrics\n"};
  }
  return Error(404, absl::StrCat("no such endpoint: ", path));
}

std::string Controller::StatusJson() {
  policy::StatusSnapshot s;
  bool have_status = status_.has_value();
  if (have_status) s = status_->Snapshot();
  bool alive = have_status && DataplaneAlive(s);
  uint64_t now = WallNs();
  std::string dataplane = absl::StrCat(
      "{\"alive\":", alive ? "true" : "false", ",\"pid\":", s.pid, ",\"heartbeat_age_ms\":",
      s.heartbeat_ns != 0 && now >= s.heartbeat_ns ? (now - s.heartbeat_ns) / 1'000'000 : 0,
      ",\"policy_state\":",
      JsonString(s.policy_state == policy::PolicyState::kServing ? "serving" : "none"),
      ",\"applied_generation\":", s.applied_generation,
      ",\"policies_applied\":", s.policies_applied, ",\"policies_refused\":", s.policies_refused,
      ",\"refused_generation\":", s.refused_generation, ",\"events_dropped\":", s.events_dropped,
      ",\"events_dropped_by_ring\":", RingDropsJson(s), ",\"workers\":", s.lcores,
      ",\"supervised\":", supervisor_ ? "true" : "false",
      ",\"restarts\":", supervisor_ ? supervisor_->restarts() : 0,
      ",\"settings_changed\":", supervisor_ && supervisor_->settings_changed() ? "true" : "false",
      "}");
  std::string counters = "{";
  if (have_status) {
    std::vector<std::string> names = policy::CounterNames();
    std::vector<uint64_t> totals(names.size(), 0);
    for (uint32_t lcore = 0; lcore < status_->lcores(); ++lcore) {
      std::vector<uint64_t> values = status_->CounterValues(lcore);
      for (size_t i = 0; i < values.size() && i < totals.size(); ++i) totals[i] += values[i];
    }
    for (size_t i = 0; i < names.size(); ++i) {
      absl::StrAppend(&counters, i ? "," : "", JsonString(names[i]), ":", totals[i]);
    }
  }
  counters += "}";
  auto named = [](const std::vector<std::string>& names, const std::vector<uint64_t>& values) {
    std::string json = "{";
    for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
      absl::StrAppend(&json, i ? "," : "", JsonString(names[i]), ":", values[i]);
    }
    return json + "}";
  };
  std::string http =
      have_status ? named(policy::HttpCounterNames(), status_->HttpCounterValues()) : "{}";
  std::string dhcp =
      have_status ? named(policy::DhcpCounterNames(), status_->DhcpCounterValues()) : "{}";
  return absl::StrCat(
      "{\"instance\":", JsonString(options_.instance),
      ",\"config\":", JsonString(options_.config_path), ",\"control\":{\"pid\":", getpid(),
      ",\"uptime_s\":", (now - started_ns_) / 1'000'000'000,
      ",\"published_generation\":", publisher_->generation(), ",\"reloads_ok\":", reloads_ok_,
      ",\"reloads_failed\":", reloads_failed_, ",\"tftp\":{\"files\":", tftp_files_,
      ",\"compile_warnings\":", compile_warnings_, ",\"watched_folders\":", tftp_watches_.size(),
      "},\"last_reload\":{\"ok\":", last_reload_.ok ? "true" : "false",
      ",\"reason\":", JsonString(last_reload_reason_), ",\"time_ns\":", last_reload_ns_,
      ",\"error\":", JsonString(last_reload_.error), "}},\"dataplane\":", dataplane,
      ",\"counters\":", counters, ",\"http\":", http, ",\"dhcp\":", dhcp, "}");
}

std::vector<dhcp::Lease> Controller::JournalLeases(uint64_t& skipped_bytes) const {
  dhcp::ReplayResult replay = dhcp::ReplayJournal(options_.lease_journal);
  skipped_bytes = replay.skipped_bytes;
  dhcp::LeaseTable table;
  dhcp::Restore(replay.records, WallNs() / 1'000'000, table);
  std::vector<dhcp::Lease> leases;
  table.ForEach([&](const dhcp::Lease& lease) { leases.push_back(lease); });
  return leases;
}

api::HttpResponse Controller::LeasesJson() {
  // The journal is the truth about leases: what it holds is what the
  // dataplane promised (an ACK leaves only once its record is durable).
  // Its base file and the segments beside it (dhcp/journal.h).
  if (access(options_.lease_journal.c_str(), R_OK) != 0)
    return Error(503, absl::StrCat("cannot read the lease journal ", options_.lease_journal));
  uint64_t skipped_bytes = 0;
  std::vector<dhcp::Lease> leases = JournalLeases(skipped_bytes);
  std::sort(leases.begin(), leases.end(),
            [](const dhcp::Lease& a, const dhcp::Lease& b) { return a.address < b.address; });
  // Which host entry of the running config a bound lease is: the one whose
  // fixed address it is, else the one whose MAC holds it.
  HostNames hosts = config_ ? HostNames(*config_) : HostNames();
  std::string out = "{\"leases\":[";
  for (size_t i = 0; i < leases.size(); ++i) {
    const dhcp::Lease& l = leases[i];
    bool bound = l.state != dhcp::LeaseState::kDeclined;
    std::string client = LeaseClient(l);
    std::string host = bound ? hosts.Find(l.address, client) : "";
    absl::StrAppend(
        &out, i ? "," : "", "{\"address\":", JsonString(net::Ipv4Address{l.address}.ToString()),
        ",\"client\":", JsonString(client), ",\"state\":", JsonString(bound ? "bound" : "declined"),
        ",\"expires_unix_ms\":", l.expires_ms, ",\"host\":", JsonString(host), "}");
  }
  absl::StrAppend(&out, "],\"journal\":", JsonString(options_.lease_journal),
                  ",\"tail_skipped_bytes\":", skipped_bytes, "}");
  return Json(200, out);
}

api::HttpResponse Controller::BootsJson(const api::HttpRequest& request) const {
  HostNames hosts = config_ ? HostNames(*config_) : HostNames();
  auto host_of = [&](const BootMachine& m) { return hosts.Find(m.address, m.client); };
  if (auto it = request.query.find("client"); it != request.query.end()) {
    const BootMachine* m = boots_.Find(it->second);
    if (m == nullptr) return Error(404, absl::StrCat("no boot seen from ", it->second));
    return Json(200, absl::StrCat("{\"machine\":", BootMachineJson(*m, host_of(*m), true), "}"));
  }
  // ?failed=1: only the failing machines (BootMachine::Failing); the counts
  // are of every machine either way.
  auto failed = request.query.find("failed");
  bool failing_only = failed != request.query.end() && failed->second != "0";
  std::string out = "{\"machines\":[";
  uint64_t failing = 0, listed = 0;
  for (const BootMachine* m : boots_.Machines()) {
    bool is_failing = m->Failing();
    failing += is_failing;
    if (failing_only && !is_failing) continue;
    absl::StrAppend(&out, listed++ ? "," : "", BootMachineJson(*m, host_of(*m), false));
  }
  absl::StrAppend(&out, "],\"evicted\":", boots_.evicted(), ",\"total\":", boots_.size(),
                  ",\"failing\":", failing, "}");
  return Json(200, out);
}

namespace {

std::string RecipeJson(const catalog::BootRecipe& r) {
  std::string initrds;
  for (size_t i = 0; i < r.initrds.size(); ++i) {
    absl::StrAppend(&initrds, i ? "," : "", JsonString(r.initrds[i]));
  }
  return absl::StrCat("{\"family\":", JsonString(r.family), ",\"distro\":", JsonString(r.distro),
                      ",\"version\":", JsonString(r.version), ",\"kernel\":", JsonString(r.kernel),
                      ",\"efi_kernel\":", JsonString(r.efi_kernel), ",\"initrds\":[", initrds,
                      "],\"cmdline\":", JsonString(r.cmdline),
                      ",\"sanboot\":", r.sanboot ? "true" : "false", ",\"why\":", JsonString(r.why),
                      "}");
}

}  // namespace

std::string Controller::ImagesJson() const {
  std::string out = absl::StrCat(
      "{\"folder\":", JsonString(config_ ? config_->images().folder() : ""), ",\"images\":[");
  for (size_t i = 0; i < images_.size(); ++i) {
    const catalog::ImageStatus& image = images_[i];
    std::string warnings, boot;
    for (size_t w = 0; w < image.first_warnings.size(); ++w) {
      absl::StrAppend(&warnings, w ? "," : "", JsonString(image.first_warnings[w]));
    }
    for (size_t b = 0; b < image.boot_images.size(); ++b) {
      const catalog::BootImage& entry = image.boot_images[b];
      const char* platform = entry.platform == catalog::BootImage::Platform::kBios  ? "bios"
                             : entry.platform == catalog::BootImage::Platform::kEfi ? "efi"
                                                                                    : "other";
      absl::StrAppend(&boot, b ? "," : "", "{\"platform\":\"", platform,
                      "\",\"path\":", JsonString(entry.path), ",\"bytes\":", entry.length, "}");
    }
    absl::StrAppend(
        &out, i ? "," : "", "{\"name\":", JsonString(image.name),
        ",\"path\":", JsonString(image.path), ",\"served\":", image.served ? "true" : "false",
        ",\"error\":", JsonString(image.error), ",\"volume_id\":", JsonString(image.volume_id),
        ",\"names_from\":", JsonString(image.names_from), ",\"files\":", image.files,
        ",\"warnings\":", image.warnings, ",\"first_warnings\":[", warnings, "],\"boot_images\":[",
        boot, "],\"detected\":", RecipeJson(image.recipe), "}");
  }
  absl::StrAppend(&out, "]}");
  return out;
}

std::string Controller::EventsJson(uint64_t since, size_t limit) {
  std::vector<LoggedEvent> events = events_.Since(since, limit);
  std::string out = "{\"events\":[";
  for (size_t i = 0; i < events.size(); ++i)
    absl::StrAppend(&out, i ? "," : "", EventJson(events[i]));
  uint64_t next = events.empty() ? std::max(since, uint64_t{1}) : events.back().seq + 1;
  if (events.empty() && since > events_.next_seq()) next = events_.next_seq();
  absl::StrAppend(&out, "],\"next\":", next, "}");
  return out;
}

std::string Controller::Metrics() {
  std::string out;
  auto metric = [&out](const std::string& name, const std::string& type, const std::string& help) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
  };
  metric("stampede_policy_published_generation", "gauge",
         "Generation of the last policy control published.");
  absl::StrAppend(&out, "stampede_policy_published_generation ", publisher_->generation(), "\n");
  metric("stampede_config_reloads_total", "counter", "Config loads by result.");
  absl::StrAppend(&out, "stampede_config_reloads_total{result=\"ok\"} ", reloads_ok_, "\n",
                  "stampede_config_reloads_total{result=\"error\"} ", reloads_failed_, "\n");
  policy::StatusSnapshot s;
  if (status_) s = status_->Snapshot();
  metric("stampede_dataplane_up", "gauge", "1 when the dataplane's heartbeat is recent.");
  absl::StrAppend(&out, "stampede_dataplane_up ", status_ && DataplaneAlive(s) ? 1 : 0, "\n");
  metric("stampede_policy_applied_generation", "gauge",
         "Generation of the policy the dataplane runs (0: none).");
  absl::StrAppend(&out, "stampede_policy_applied_generation ", s.applied_generation, "\n");
  metric("stampede_policies_total", "counter", "Policies the dataplane applied or refused.");
  absl::StrAppend(&out, "stampede_policies_total{result=\"applied\"} ", s.policies_applied, "\n",
                  "stampede_policies_total{result=\"refused\"} ", s.policies_refused, "\n");
  metric("stampede_events_dropped_total", "counter",
         "Dataplane events lost to a full ring, by ring.");
  for (uint32_t ring = 0; ring < policy::kEventRings; ++ring) {
    absl::StrAppend(&out, "stampede_events_dropped_total{ring=\"",
                    policy::EventRingName(static_cast<policy::EventRing>(ring)), "\"} ",
                    s.ring_events_dropped[ring], "\n");
  }
  absl::StrAppend(&out, "stampede_events_dropped_total{ring=\"tftp\"} ", s.tftp_events_dropped,
                  "\n");
  if (supervisor_) {
    metric("stampede_dataplane_restarts_total", "counter", "Dataplane restarts by control.");
    absl::StrAppend(&out, "stampede_dataplane_restarts_total ", supervisor_->restarts(), "\n");
  }
  if (!status_) return out;
  std::vector<std::string> names = policy::CounterNames();
  std::vector<std::vector<uint64_t>> per_lcore;
  for (uint32_t lcore = 0; lcore < status_->lcores(); ++lcore) {
    per_lcore.push_back(status_->CounterValues(lcore));
  }
  metric("stampede_drops_total", "counter", "Packets dropped, by worker and reason.");
  for (size_t i = 0; i < names.size(); ++i) {
    if (!names[i].starts_with("drop_")) continue;
    for (uint32_t lcore = 0; lcore < per_lcore.size(); ++lcore) {
      absl::StrAppend(&out, "stampede_drops_total{worker=\"", lcore, "\",reason=\"",
                      names[i].substr(5), "\"} ", per_lcore[lcore][i], "\n");
    }
  }
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].starts_with("drop")) continue;
    std::string name = absl::StrCat("stampede_", names[i], "_total");
    metric(name, "counter", absl::StrCat("Dataplane counter ", names[i], ", by worker."));
    for (uint32_t lcore = 0; lcore < per_lcore.size(); ++lcore) {
      absl::StrAppend(&out, name, "{worker=\"", lcore, "\"} ", per_lcore[lcore][i], "\n");
    }
  }
  ServerMetrics(out, "http", "HTTP server", "docs/http.md", policy::HttpCounterNames(),
                status_->HttpCounterValues(), policy::kHttpGauges);
  ServerMetrics(out, "dhcp", "DHCP server", "docs/dhcp.md", policy::DhcpCounterNames(),
                status_->DhcpCounterValues(), 0);
  return out;
}

// A server's block: stampede_<server>_<counter>_total, the last `gauges`
// without _total.
void Controller::ServerMetrics(std::string& out, const char* server, const char* what,
                               const char* doc, const std::vector<std::string>& names,
                               const std::vector<uint64_t>& values, size_t gauges) {
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    bool gauge = i + gauges >= names.size();
    std::string name = absl::StrCat("stampede_", server, "_", names[i], gauge ? "" : "_total");
    absl::StrAppend(&out, "# HELP ", name, " ", what, ": ", names[i],
                    gauge ? ", now" : ", since the dataplane started", " (", doc, ").\n", "# TYPE ",
                    name, " ", gauge ? "gauge" : "counter", "\n", name, " ", values[i], "\n");
  }
}

}  // namespace stampede::control
