#include "control/daemon/supervisor.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "control/log.h"

namespace stampede::control {
namespace {

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// The pid is a dataplane (not a recycled pid of something else).
bool IsDataplane(pid_t pid) {
  std::error_code error;
  std::filesystem::path exe =
      std::filesystem::read_symlink(absl::StrCat("/proc/", pid, "/exe"), error);
  return !error && exe.filename().string().starts_with("stampede-dataplane");
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit_code=", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("signal=", strsignal(WTERMSIG(status)));
  return "unknown";
}

}  // namespace

Supervisor::Supervisor(std::vector<std::string> argv, std::string pid_file)
    : argv_(std::move(argv)), pid_file_(std::move(pid_file)) {}

Supervisor::~Supervisor() {
  if (pidfd_ >= 0) close(pidfd_);
}

void Supervisor::Start() {
  if (Adopt()) return;
  Spawn();
}

bool Supervisor::Adopt() {
  std::ifstream in(pid_file_);
  std::string text;
  int pid = 0;
  if (!std::getline(in, text) || !absl::SimpleAtoi(text, &pid) || pid <= 1) return false;
  if (!IsDataplane(pid)) return false;
  int fd = PidfdOpen(pid);
  if (fd < 0) return false;
  pid_ = pid;
  pidfd_ = fd;
  child_ = false;
  started_at_ = Clock::now();
  Log(Level::kInfo, absl::StrCat("event=dataplane_adopted pid=", pid));
  return true;
}

void Supervisor::Spawn() {
  std::vector<char*> args;
  for (std::string& arg : argv_) args.push_back(arg.data());
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    Log(Level::kError, absl::StrCat("event=dataplane_spawn_failed error=", Quote(strerror(errno))));
    restart_pending_ = true;
    restart_at_ = Clock::now() + delay_;
    return;
  }
  if (pid == 0) {
    // Its own session: a terminal's ^C or a kill of control's group leaves it
    // running; control stops it explicitly.
    setsid();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  child_ = true;
  Watch(pid);
  WritePidFile(pid);
  Log(Level::kInfo, absl::StrCat("event=dataplane_started pid=", pid,
                                 " args=", Quote(absl::StrJoin(argv_, " "))));
}

void Supervisor::WritePidFile(pid_t pid) {
  std::string temporary = pid_file_ + ".new";
  std::ofstream(temporary) << pid << "\n";
  std::error_code error;
  std::filesystem::rename(temporary, pid_file_, error);
  if (error) {
    // Supervision goes on; only adoption by a restarted control plane is lost.
    Log(Level::kWarning, absl::StrCat("event=pid_file_unwritten path=", Quote(pid_file_),
                                      " error=", Quote(error.message())));
  }
}

void Supervisor::Watch(pid_t pid) {
  pid_ = pid;
  reaped_status_.reset();
  pidfd_ = PidfdOpen(pid);
  if (pidfd_ < 0) {
    Log(Level::kWarning, absl::StrCat("event=pidfd_unavailable pid=", pid,
                                      " error=", Quote(strerror(errno)), " fallback=SIGCHLD"));
  }
  started_at_ = Clock::now();
  restart_pending_ = false;
  settings_changed_ = false;
}

bool Supervisor::Gone() {
  if (pid_ < 0) return true;
  if (child_) {
    if (reaped_status_) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_status_ = status;
      return true;
    }
    return false;
  }
  return kill(pid_, 0) != 0 && errno == ESRCH;
}

void Supervisor::OnSigchld() {
  if (pid_ >= 0 && pidfd_ < 0 && Gone()) OnExit();
}

bool Supervisor::WaitGone(std::chrono::milliseconds timeout) {
  if (pidfd_ >= 0) {
    pollfd p{pidfd_, POLLIN, 0};
    return poll(&p, 1, static_cast<int>(timeout.count())) > 0;
  }
  // No pidfd: check every 20 ms, bounded by `timeout`.
  for (auto waited = std::chrono::milliseconds(0); waited < timeout;
       waited += std::chrono::milliseconds(20)) {
    if (Gone()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Gone();
}

void Supervisor::OnExit() {
  if (pid_ < 0) return;
  std::string how = "exited";
  if (child_ && Gone() && reaped_status_) how = DescribeExit(*reaped_status_);
  if (pidfd_ >= 0) close(pidfd_);
  pidfd_ = -1;
  last_exit_ = how;
  Log(stopping_ ? Level::kInfo : Level::kError,
      absl::StrCat("event=dataplane_exited pid=", pid_, " ", how));
  pid_ = -1;
  if (stopping_) return;
  if (Clock::now() - started_at_ > kStableRun) delay_ = kFirstRestartDelay;
  restart_pending_ = true;
  restart_at_ = Clock::now() + delay_;
  Log(Level::kInfo, absl::StrCat("event=dataplane_restart_scheduled in_ms=", delay_.count()));
  delay_ = std::min(delay_ * 2, kMaxRestartDelay);
}

void Supervisor::Tick(Clock::time_point now) {
  if (!restart_pending_ || stopping_ || now < restart_at_) return;
  ++restarts_;
  Spawn();
}

void Supervisor::Stop() {
  stopping_ = true;
  restart_pending_ = false;
  Terminate();
  std::error_code ignored;  // already gone is fine
  std::filesystem::remove(pid_file_, ignored);
}

void Supervisor::Restart() {
  stopping_ = true;
  Terminate();
  stopping_ = false;
  Spawn();
}

void Supervisor::Terminate() {
  if (pid_ < 0) return;
  kill(pid_, SIGTERM);
  if (!WaitGone(kStopTimeout)) {
    Log(Level::kError, absl::StrCat("event=dataplane_stop_timeout pid=", pid_, " action=SIGKILL"));
    kill(pid_, SIGKILL);
    WaitGone(std::chrono::milliseconds(5000));
  }
  OnExit();
}

void Supervisor::SetArgv(std::vector<std::string> argv) {
  if (argv == argv_) return;
  argv_ = std::move(argv);
  if (pid_ >= 0) {
    settings_changed_ = true;
    Log(Level::kWarning,
        "event=dataplane_settings_changed detail=\"port, cores, memory or addresses changed: "
        "they take effect when the dataplane restarts (stampede restart-dataplane)\"");
  }
}

}  // namespace stampede::control
