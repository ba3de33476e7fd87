#include "control/catalog/images.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "dataplane/policy/tables.h"
#include "dataplane/tftp/message.h"

namespace stampede::catalog {
namespace {

struct Identity {
  std::string source;  // the real path
  struct stat st {};
};

std::optional<Identity> Stat(const std::filesystem::path& path, std::string& error) {
  char* real = realpath(path.c_str(), nullptr);
  if (real == nullptr) {
    error = strerror(errno);
    return std::nullopt;
  }
  Identity id;
  id.source = real;
  free(real);
  if (stat(id.source.c_str(), &id.st) != 0) {
    error = strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(id.st.st_mode)) {
    error = "not a regular file";
    return std::nullopt;
  }
  return id;
}

v1::CatalogFile Entry(const std::string& path, const Identity& image, uint64_t offset,
                      uint64_t length) {
  v1::CatalogFile file;
  file.set_path(path);
  file.set_source(image.source);
  file.set_offset(offset);
  file.set_length(length);
  policy::SetFileIdentity(image.st, file);
  return file;
}

// One run of the image, or nullopt when the extents leave gaps.
std::optional<Extent> Contiguous(const IsoFile& file) {
  if (file.extents.empty()) return Extent{0, 0};
  Extent run = file.extents.front();
  for (size_t i = 1; i < file.extents.size(); ++i) {
    if (file.extents[i].offset != run.offset + run.length) return std::nullopt;
    run.length += file.extents[i].length;
  }
  return run;
}

void Warn(ImageStatus& status, std::string warning) {
  ++status.warnings;
  if (status.first_warnings.size() < kMaxImageWarningsKept) {
    status.first_warnings.push_back(std::move(warning));
  }
}

// Catalogues one image into `files`; fills `status`.
void CatalogueImage(const std::filesystem::path& path, ImageStatus& status,
                    std::vector<v1::CatalogFile>& files) {
  std::string error;
  std::optional<Identity> id = Stat(path, error);
  if (!id) {
    status.error = error;
    return;
  }
  absl::StatusOr<IsoImage> image = ReadIsoFile(id->source);
  if (!image.ok()) {
    status.error = std::string(image.status().message());
    return;
  }
  status.served = true;
  status.volume_id = image->volume_id;
  status.names_from = image->names_from;
  status.boot_images = image->boot_images;
  for (const std::string& warning : image->warnings) Warn(status, warning);
  std::string prefix = absl::StrCat("images/", status.name, "/");
  files.push_back(Entry(absl::StrCat("images/", status.name, ".iso"), *id, 0,
                        static_cast<uint64_t>(id->st.st_size)));
  std::map<std::string, Extent> by_path;
  for (const IsoFile& file : image->files) {
    std::optional<Extent> run = Contiguous(file);
    if (!run) {
      Warn(status, absl::StrCat(file.path, ": its extents are not contiguous: not served"));
      continue;
    }
    by_path[file.path] = *run;
  }
  for (const IsoSymlink& link : image->symlinks) {
    auto target = by_path.find(link.target);
    if (target == by_path.end()) continue;  // a folder (or nothing): not followed
    by_path.emplace(link.path, target->second);
  }
  // Detection reads a few small files (version files, a memtest binary's
  // banner) out of the image through their extents.
  ImageListing listing{status.name, {}, nullptr};
  int fd = open(id->source.c_str(), O_RDONLY | O_CLOEXEC);
  listing.read_small = [&](std::string_view inside,
                           size_t max_bytes) -> std::optional<std::string> {
    auto found = by_path.find(std::string(inside));
    if (fd < 0 || found == by_path.end()) return std::nullopt;
    std::string bytes(std::min<uint64_t>(found->second.length, max_bytes), '\0');
    ssize_t n = pread(fd, bytes.data(), bytes.size(), static_cast<off_t>(found->second.offset));
    if (n < 0) return std::nullopt;
    bytes.resize(static_cast<size_t>(n));
    return bytes;
  };
  for (const auto& [inside, run] : by_path) listing.paths.push_back(inside);
  status.recipe = Detect(listing);
  if (fd >= 0) close(fd);
  for (const auto& [inside, run] : by_path) {
    std::string catalogued = prefix + inside;
    std::optional<std::string> normal = tftp::NormalisePath(catalogued);
    if (!normal || *normal != catalogued) {
      Warn(status, absl::StrCat(inside, ": no request can name it exactly: not served"));
      continue;
    }
    status.paths.push_back(inside);
    files.push_back(Entry(catalogued, *id, run.offset, run.length));
    ++status.files;
  }
}

}  // namespace

absl::StatusOr<ImagesScan> ScanImages(const std::string& folder) {
  std::error_code error;
  std::filesystem::directory_iterator it(folder, error);
  if (error)
    return absl::NotFoundError(absl::StrCat("'", folder, "' cannot be read: ", error.message()));
  std::vector<std::filesystem::path> isos;
  for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (error) break;
    std::string extension = absl::AsciiStrToLower(it->path().extension().string());
    if (extension == ".iso") isos.push_back(it->path());
  }
  std::sort(isos.begin(), isos.end());
  ImagesScan scan;
  for (const std::filesystem::path& path : isos) {
    ImageStatus status;
    status.name = path.stem().string();
    status.path = path.string();
    if (scan.images.size() == kMaxImages) {
      status.error = absl::StrCat("more than ", kMaxImages, " images in the folder");
    } else {
      CatalogueImage(path, status, scan.files);
    }
    scan.images.push_back(std::move(status));
  }
  std::sort(scan.files.begin(), scan.files.end(),
            [](const v1::CatalogFile& a, const v1::CatalogFile& b) { return a.path() < b.path(); });
  // Two images whose names differ only past the stem ("a.iso", "a.ISO")
  // would collide: the first keeps the path.
  scan.files.erase(std::unique(scan.files.begin(), scan.files.end(),
                               [](const v1::CatalogFile& a, const v1::CatalogFile& b) {
                                 return a.path() == b.path();
                               }),
                   scan.files.end());
  return scan;
}

}  // namespace stampede::catalog
