// `stampede check FILE`: load, validate, and summarise a config.
#pragma once

#include <ostream>
#include <string>

namespace stampede::cli {

// Writes the summary to `out` and the problems to `err`; returns the exit
// status: 0 valid, 1 invalid.
int Check(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace stampede::cli
