// stampede: the operator's command line.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "control/cli/api_client.h"
#include "control/cli/check.h"
#include "control/cli/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: stampede COMMAND [ARGS] [--api=SOCKET|IP:PORT]\n"
    "  check FILE [PATH]       validate a config (YAML, JSON or protobuf text) and print\n"
    "                          what it sets up; exit 0 valid, 1 invalid; with PATH,\n"
    "                          print what the catalog serves there (a generated menu)\n"
    "  serve --config FILE     run the appliance: stampede-control supervising the\n"
    "                          dataplane (other stampede-control flags pass through)\n"
    "  status [--json]         control and dataplane state, generations, counters;\n"
    "                          exit 3 when the dataplane is not running\n"
    "  reload                  reload the config now; exit 1 if it was refused\n"
    "  leases [--json]          the leases the dataplane holds (from its journal)\n"
    "  boots [--json] [--failed] [MACHINE]\n"
    "                          each machine's boot: leases, TFTP and HTTP fetches;\n"
    "                          --failed: only those with no file yet, or whose last\n"
    "                          transfer failed;\n"
    "                          with MACHINE (a MAC or an address) its steps in order\n"
    "  images [--json]          the images folder: what is served, what is not and why\n"
    "  events [--follow] [--since=SEQ]\n"
    "                          policy and dataplane events, oldest first\n"
    "  restart-dataplane       restart a supervised dataplane (new port/core settings)\n"
    "The API endpoint defaults to $STAMPEDE_API or /run/stampede/default.sock.\n";

int Serve(const std::vector<std::string>& args) {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  std::filesystem::path control = self.parent_path() / "stampede-control";
  if (error || !std::filesystem::exists(control)) {
    std::cerr << "stampede: cannot find stampede-control beside " << self << "\n";
    return 2;
  }
  std::vector<std::string> argv = {control.string(), "--supervise"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (std::string& arg : argv) raw.push_back(arg.data());
  raw.push_back(nullptr);
  execv(raw[0], raw.data());
  std::cerr << "stampede: cannot run " << control << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string command = args.empty() ? "" : args[0];
  if (command == "serve") return Serve({args.begin() + 1, args.end()});

  const char* env = std::getenv("STAMPEDE_API");
  std::string api = env != nullptr && env[0] != '\0' ? env : stampede::cli::kDefaultApi;
  bool json = false, follow = false, failed = false;
  uint64_t since = 0;
  std::vector<std::string> positional;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.starts_with("--api=")) {
      api = arg.substr(6);
    } else if (arg == "--json") {
      json = true;
    } else if (arg == "--failed") {
      failed = true;
    } else if (arg == "--follow" || arg == "-f") {
      follow = true;
    } else if (arg.starts_with("--since=")) {
      if (!absl::SimpleAtoi(arg.substr(8), &since)) {
        std::cerr << "stampede: --since needs a number\n";
        return 2;
      }
    } else {
      positional.push_back(arg);
    }
  }
  if (command == "check" && (positional.size() == 1 || positional.size() == 2)) {
    return stampede::cli::Check(positional[0], std::cout, std::cerr,
                                positional.size() == 2 ? positional[1] : "");
  }
  if (command == "status" && positional.empty()) {
    return stampede::cli::Status(api, json, std::cout, std::cerr);
  }
  if (command == "reload" && positional.empty())
    return stampede::cli::Reload(api, std::cout, std::cerr);
  if (command == "events" && positional.empty()) {
    return stampede::cli::Events(api, since, follow, std::cout, std::cerr);
  }
  if (command == "leases" && positional.empty()) {
    return stampede::cli::Leases(api, json, std::cout, std::cerr);
  }
  if (command == "boots" && positional.size() <= 1) {
    return stampede::cli::Boots(api, positional.empty() ? "" : positional[0], json, failed,
                                std::cout, std::cerr);
  }
  if (command == "images" && positional.empty()) {
    return stampede::cli::Images(api, json, std::cout, std::cerr);
  }
  if (command == "restart-dataplane" && positional.empty()) {
    return stampede::cli::RestartDataplane(api, std::cout, std::cerr);
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << kUsage;
  return 2;
}
