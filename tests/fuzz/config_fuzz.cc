// libFuzzer target: arbitrary bytes as a config file in each accepted format,
// loaded and validated. The loader must refuse bad input with an error, never
// crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/config/loader.h"
#include "control/config/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using stampede::config::Format;
  for (Format format : {Format::kYaml, Format::kJson, Format::kText}) {
    absl::StatusOr<stampede::config::LoadedConfig> loaded =
        stampede::config::ParseConfig(text, "fuzz", format);
    if (loaded.ok()) stampede::config::Validate(*loaded);
  }
  return 0;
}
