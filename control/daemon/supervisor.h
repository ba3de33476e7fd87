// Starts stampede-dataplane and keeps it running: restarts it with
// exponential backoff when it dies, and adopts one already running (after
// the control plane itself was restarted) instead of starting a second.
// The dataplane outlives a killed control plane: it keeps serving the last
// policy, and the next control plane finds it through the pid file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace stampede::control {

// Restart delays: 1 s doubling to 30 s (systemd's RestartSec scale); a
// dataplane that stayed up kStableRun resets the delay.
inline constexpr std::chrono::milliseconds kFirstRestartDelay{1000};
inline constexpr std::chrono::milliseconds kMaxRestartDelay{30000};
inline constexpr std::chrono::seconds kStableRun{60};
// How long a stop waits for the dataplane to return its mbufs and exit.
inline constexpr std::chrono::seconds kStopTimeout{15};

class Supervisor {
 public:
  using Clock = std::chrono::steady_clock;

  // `argv[0]` is the dataplane binary; `pid_file` records the running pid.
  Supervisor(std::vector<std::string> argv, std::string pid_file);
  ~Supervisor();

  // Adopts a running dataplane named in the pid file, or starts one.
  void Start();
  // The descriptor that becomes readable when the dataplane exits; -1 when
  // none runs.
  int exit_fd() const { return pidfd_; }
  // Call when exit_fd() is readable: records the exit, schedules a restart.
  void OnExit();
  // Call on SIGCHLD: notices the exit when no pidfd could be opened.
  void OnSigchld();
  // Starts the dataplane when a scheduled restart is due.
  void Tick(Clock::time_point now);
  // SIGTERM, then SIGKILL after kStopTimeout; no restart afterwards.
  void Stop();
  // Stops the running dataplane as Stop() does and starts it again at once
  // (with the current command line); for settings that need a restart.
  void Restart();
  // The command line changed (new dataplane settings in the config): takes
  // effect at the next start; reported as pending.
  void SetArgv(std::vector<std::string> argv);

  pid_t pid() const { return pid_; }
  uint64_t restarts() const { return restarts_; }
  bool restart_pending() const { return restart_pending_; }
  bool settings_changed() const { return settings_changed_; }
  const std::string& last_exit() const { return last_exit_; }

 private:
  void Spawn();
  bool Adopt();
  void Terminate();
  void WritePidFile(pid_t pid);
  // The dataplane has exited (a child is reaped, its status kept).
  bool Gone();
  bool WaitGone(std::chrono::milliseconds timeout);
  void Watch(pid_t pid);

  std::vector<std::string> argv_;
  std::string pid_file_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool child_ = false;  // ours to reap (not adopted)
  std::optional<int> reaped_status_;
  bool stopping_ = false;
  bool restart_pending_ = false;
  bool settings_changed_ = false;
  Clock::time_point started_at_{};
  Clock::time_point restart_at_{};
  std::chrono::milliseconds delay_ = kFirstRestartDelay;
  uint64_t restarts_ = 0;
  std::string last_exit_;
};

}  // namespace stampede::control
