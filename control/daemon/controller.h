// stampede-control's core: loads, validates and compiles the config,
// publishes the BootPolicy, watches the config file, the images folder and
// the TFTP root, reads the dataplane's events and counters, supervises the
// dataplane when asked, and serves the HTTP/JSON API. One thread, one poll
// loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "control/api/server.h"
#include "control/catalog/images.h"
#include "control/daemon/boot_log.h"
#include "control/daemon/event_log.h"
#include "control/daemon/supervisor.h"
#include "control/publish/publisher.h"
#include "dataplane/dhcp/leases.h"
#include "dataplane/policy/status_region.h"
#include "stampede/v1/config.pb.h"

namespace stampede::control {

struct ControlOptions {
  std::string config_path;
  std::string instance = "default";
  std::string api_socket;  // empty: none
  std::string api_listen;  // "127.0.0.1:9147"; empty: none
  std::string run_dir = "/run/stampede";
  bool supervise = false;  // start and keep the dataplane running
  std::string dataplane_binary;
  // The dataplane's lease journal (read for `stampede leases`).
  std::string lease_journal;
};

// A config change is picked up this long after the last write to it, so an
// editor's several writes make one reload.
inline constexpr std::chrono::milliseconds kReloadDebounce{200};
// The dataplane's service thread beats every 20 ms; this long without a beat
// and it is reported dead.
inline constexpr std::chrono::milliseconds kHeartbeatTimeout{2000};
inline constexpr std::chrono::milliseconds kLoopTick{100};
// Folders of the TFTP root watched for changes (inotify watches are a
// per-user kernel resource); changes deeper in a bigger root need a reload.
inline constexpr size_t kMaxTftpWatches = 4096;
// Compile warnings logged per reload; the rest are counted.
inline constexpr size_t kMaxLoggedWarnings = 20;

struct ReloadResult {
  bool ok = false;
  bool published = false;  // false when the compiled policy was unchanged
  uint64_t generation = 0;
  std::string error;
};

// The dataplane's command line for a config (flags of stampede-dataplane).
std::vector<std::string> DataplaneArgv(const v1::Config& config, const std::string& binary,
                                       const std::string& instance,
                                       const std::string& lease_journal);

class Controller {
 public:
  explicit Controller(ControlOptions options);
  ~Controller();

  // Opens the region, loads and publishes the config (an invalid config at
  // start is an error), starts the API and, when supervising, the dataplane.
  absl::Status Start();
  // The poll loop; returns the exit code after SIGTERM/SIGINT.
  int Run();

  ReloadResult Reload(const std::string& why);

 private:
  api::HttpResponse HandleApi(const api::HttpRequest& request, const std::string& body);
  std::string StatusJson();
  std::string EventsJson(uint64_t since, size_t limit);
  api::HttpResponse LeasesJson();
  // The lease journal's leases now (bound and declined); `skipped_bytes`:
  // its torn tail.
  std::vector<dhcp::Lease> JournalLeases(uint64_t& skipped_bytes) const;
  // GET /boots (every machine's summary) and /boots?client=MAC|ADDRESS (one
  // machine with its steps).
  api::HttpResponse BootsJson(const api::HttpRequest& request) const;
  std::string ImagesJson() const;
  std::string Metrics();
  void ServerMetrics(std::string& out, const char* server, const char* what, const char* doc,
                     const std::vector<std::string>& names, const std::vector<uint64_t>& values,
                     size_t gauges);
  void PollDataplane();
  void UpdateWatches();
  // Watches `root` and its folders (bounded), unwatches folders no longer
  // in it. Called before the root is catalogued, so a change made after the
  // scan always makes another reload.
  void UpdateTftpWatches(const std::string& root);
  void LogWarnings(const std::string& why, const std::vector<std::string>& warnings);
  // Drains inotify; returns why to reload ("config_changed",
  // "images_changed", "tftp_changed", "inotify_overflow") or "" when nothing
  // relevant changed.
  std::string HandleInotify();
  bool DataplaneAlive(const policy::StatusSnapshot& s) const;

  ControlOptions options_;
  std::optional<publish::Publisher> publisher_;
  std::string published_bytes_;
  std::optional<v1::Config> config_;
  std::string images_folder_;
  std::optional<policy::StatusReader> status_;
  EventLog events_;
  BootLog boots_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<api::HttpServer> server_;
  int inotify_fd_ = -1;
  int signal_fd_ = -1;
  int config_watch_ = -1;
  int images_watch_ = -1;
  std::set<int> tftp_watches_;
  bool tftp_watches_truncated_ = false;
  // Of the last config compiled: files in its TFTP catalog, warnings.
  size_t tftp_files_ = 0;
  // The images folder as last compiled (for `stampede images`).
  std::vector<catalog::ImageStatus> images_;
  size_t compile_warnings_ = 0;
  std::optional<std::chrono::steady_clock::time_point> reload_at_;
  std::string reload_reason_;
  uint64_t reloads_ok_ = 0;
  uint64_t reloads_failed_ = 0;
  ReloadResult last_reload_;
  std::string last_reload_reason_;
  uint64_t last_reload_ns_ = 0;
  uint64_t started_ns_ = 0;
};

}  // namespace stampede::control
