// `stampede check FILE`: load, validate, and summarise a config.
#pragma once

#include <ostream>
#include <string>

namespace stampede::cli {

// Writes the summary to `out` and the problems to `err`; returns the exit
// status: 0 valid, 1 invalid. With `show` (a catalog path such as
// "pxelinux.cfg/default"), writes instead what a client asking for it gets:
// a generated file's bytes, or where a served file's bytes come from; 1
// when the catalog has no such path.
int Check(const std::string& path, std::ostream& out, std::ostream& err,
          const std::string& show = "");

}  // namespace stampede::cli
