// stampede-control: the control plane process. Compiles the config into the
// BootPolicy the dataplane runs, republishes it when the config or the images
// change, serves the operator API, and (with --supervise) keeps
// stampede-dataplane running. `stampede serve` runs it that way.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "control/daemon/controller.h"
#include "control/log.h"

ABSL_FLAG(std::string, config, "/etc/stampede/stampede.yaml",
          "The config file (YAML, JSON or protobuf text)");
ABSL_FLAG(std::string, instance, "default", "Instance name; must match the dataplane's --instance");
ABSL_FLAG(std::string, run_dir, "/run/stampede", "Sockets and pid files");
ABSL_FLAG(std::string, api_socket, "",
          "Unix socket of the API; default <run_dir>/<instance>.sock; 'none' disables it");
ABSL_FLAG(std::string, api_listen, "127.0.0.1:9147",
          "Local TCP address of the API and /metrics; empty disables it");
ABSL_FLAG(bool, supervise, false, "Start stampede-dataplane and restart it when it dies");
ABSL_FLAG(std::string, lease_journal, "",
          "The dataplane's lease journal; default /var/lib/stampede/<instance>/leases.journal");
ABSL_FLAG(std::string, dataplane_binary, "",
          "The dataplane binary; default stampede-dataplane beside this one");

namespace {

std::string BesideThisBinary(const std::string& name) {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) return name;
  // In the build tree the dataplane lives in ../dataplane/.
  for (const std::filesystem::path& candidate :
       {self.parent_path() / name, self.parent_path().parent_path() / "dataplane" / name}) {
    if (std::filesystem::exists(candidate)) return candidate.string();
  }
  return (self.parent_path() / name).string();
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("stampede-control --config FILE [--supervise] [flags]");
  absl::ParseCommandLine(argc, argv);
  stampede::control::ControlOptions options;
  options.config_path = std::filesystem::absolute(absl::GetFlag(FLAGS_config)).string();
  options.instance = absl::GetFlag(FLAGS_instance);
  options.run_dir = absl::GetFlag(FLAGS_run_dir);
  std::string socket = absl::GetFlag(FLAGS_api_socket);
  options.api_socket = socket == "none" ? ""
                       : socket.empty()
                           ? absl::StrCat(options.run_dir, "/", options.instance, ".sock")
                           : socket;
  options.api_listen = absl::GetFlag(FLAGS_api_listen);
  options.supervise = absl::GetFlag(FLAGS_supervise);
  options.dataplane_binary = absl::GetFlag(FLAGS_dataplane_binary);
  options.lease_journal = absl::GetFlag(FLAGS_lease_journal);
  if (options.lease_journal.empty()) {
    options.lease_journal = absl::StrCat("/var/lib/stampede/", options.instance, "/leases.journal");
  }
  if (options.dataplane_binary.empty()) {
    options.dataplane_binary = BesideThisBinary("stampede-dataplane");
  }
  std::error_code ignored;
  std::filesystem::create_directories(options.run_dir, ignored);

  stampede::control::Controller controller(options);
  if (absl::Status status = controller.Start(); !status.ok()) {
    stampede::control::Log(stampede::control::Level::kError,
                           absl::StrCat("event=start_failed error=",
                                        stampede::control::Quote(std::string(status.message()))));
    return 1;
  }
  return controller.Run();
}
