// Reads the operator's config file into the stampede.v1.Config proto. YAML
// (and JSON, read by the same YAML parser) is mapped onto the proto by field
// name, so the proto is the schema; protobuf text format is read by protobuf.
// Every error names file:line:column and the field path.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "stampede/v1/config.pb.h"

namespace stampede::config {

enum class Format { kYaml, kJson, kText };

// Where a field's value stands in the file, for semantic errors.
struct Location {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
};

struct LoadedConfig {
  v1::Config config;
  std::string file;
  // Field path ("dhcp.subnets[0].pools[1].first") -> where it was written.
  std::map<std::string, Location> locations;

  // "file:line:column" of `path`, or of its closest written parent.
  std::string Where(const std::string& path) const;
};

// By extension: .json -> kJson, .textproto/.txtpb/.pbtxt -> kText, else kYaml.
Format FormatOf(std::string_view file);

absl::StatusOr<LoadedConfig> ParseConfig(std::string_view text, std::string_view file,
                                         Format format);
absl::StatusOr<LoadedConfig> LoadConfigFile(const std::string& path);

}  // namespace stampede::config
