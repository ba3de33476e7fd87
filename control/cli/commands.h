// The CLI's commands that talk to a running stampede-control: status,
// reload, events, restart-dataplane. Each returns the process exit status.
#pragma once

#include <ostream>
#include <string>

namespace stampede::cli {

int Status(const std::string& api, bool json, std::ostream& out, std::ostream& err);
// Exit 0 when the config was valid (published or unchanged), 1 when refused.
int Reload(const std::string& api, std::ostream& out, std::ostream& err);
// Prints events from `since`; with `follow`, keeps printing new ones until
// interrupted.
int Events(const std::string& api, uint64_t since, bool follow, std::ostream& out,
           std::ostream& err);
// The leases the dataplane holds (from its journal), one per line.
int Leases(const std::string& api, bool json, std::ostream& out, std::ostream& err);

// Each machine's boot as the dataplane saw it, most recent first (with
// `failed`, only those with no file yet or whose last transfer failed);
// with `machine` (a MAC, client id or address) that machine's steps.
int Boots(const std::string& api, const std::string& machine, bool json, bool failed,
          std::ostream& out, std::ostream& err);
// The images folder: each image, whether it is served, why not, its warnings.
int Images(const std::string& api, bool json, std::ostream& out, std::ostream& err);
int RestartDataplane(const std::string& api, std::ostream& out, std::ostream& err);

}  // namespace stampede::cli
