// stampede: the operator's command line.
#include <iostream>
#include <string>

#include "control/cli/check.h"

namespace {

constexpr char kUsage[] =
    "usage: stampede check FILE   validate a config (YAML, JSON or protobuf text) and\n"
    "                             print what it sets up; exit 0 valid, 1 invalid\n";

}  // namespace

int main(int argc, char** argv) {
  std::string command = argc > 1 ? argv[1] : "";
  if (command == "check" && argc == 3) return stampede::cli::Check(argv[2], std::cout, std::cerr);
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << kUsage;
  return 2;
}
