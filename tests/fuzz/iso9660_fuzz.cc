// libFuzzer target: the input is an ISO 9660 image from sector 16 on. The
// 32 KiB system area before it holds no metadata (boot code, partition
// tables), so it reads as zeros here and seeds stay small. ReadIso must only
// read inside the image, and what it returns must hold: extents inside the
// image adding up to the size, sorted unique paths without empty, "." or ".."
// parts, symlink targets that are such a path (or "." for the root) and not
// another symlink, boot images inside the image.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <string_view>

#include "control/catalog/iso9660.h"

namespace {

using stampede::catalog::kIsoFirstDescriptorSector;
using stampede::catalog::kIsoSectorSize;

constexpr uint64_t kSystemArea = kIsoFirstDescriptorSector * kIsoSectorSize;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool IsImagePath(std::string_view path) {
  if (path.empty()) return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint64_t image_size = kSystemArea + size;
  stampede::catalog::ReadAt read = [&](uint64_t offset, std::span<std::byte> out) {
    Check(offset <= image_size && out.size() <= image_size - offset);
    for (size_t i = 0; i < out.size(); ++i) {
      uint64_t at = offset + i;
      out[i] = at < kSystemArea ? std::byte{0} : std::byte{data[at - kSystemArea]};
    }
    return true;
  };
  // Small enough that an input re-reading its few sectors in every way it
  // can still finishes in well under libFuzzer's timeout.
  stampede::catalog::IsoLimits limits;
  limits.max_files = 10'000;
  limits.max_directory_bytes = 8 << 20;
  limits.max_warnings = 100;
  absl::StatusOr<stampede::catalog::IsoImage> image = ReadIso(image_size, read, limits);
  if (!image.ok()) return 0;

  Check(image->names_from == "rock_ridge" || image->names_from == "joliet" ||
        image->names_from == "iso9660");
  Check(image->files.size() + image->symlinks.size() <= limits.max_files);
  Check(image->warnings.size() <= limits.max_warnings + 1);
  std::set<std::string> links;
  for (size_t i = 0; i < image->symlinks.size(); ++i) {
    const auto& link = image->symlinks[i];
    Check(IsImagePath(link.path));
    Check(i == 0 || image->symlinks[i - 1].path < link.path);
    Check(link.target == "." || IsImagePath(link.target));
    links.insert(link.path);
  }
  for (const auto& link : image->symlinks) Check(links.count(link.target) == 0);
  for (size_t i = 0; i < image->files.size(); ++i) {
    const auto& file = image->files[i];
    Check(IsImagePath(file.path));
    Check(i == 0 || image->files[i - 1].path < file.path);
    Check(links.count(file.path) == 0);
    uint64_t total = 0;
    for (const auto& extent : file.extents) {
      Check(extent.length > 0);
      Check(extent.offset <= image_size && extent.length <= image_size - extent.offset);
      total += extent.length;
    }
    Check(total == file.size);
  }
  for (const auto& boot : image->boot_images) {
    Check(boot.length > 0);
    Check(boot.offset <= image_size && boot.length <= image_size - boot.offset);
  }
  return 0;
}
