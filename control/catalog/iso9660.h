// Reads an ISO 9660 image (ECMA-119, with Rock Ridge, Joliet and El Torito)
// into byte extents of the image file, so its files are served straight out
// of the image without mounting it. The image is untrusted input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stampede::catalog {

// Reads `out.size()` bytes at `offset` of the image; false on I/O error or
// past the end. ReadIso never asks for bytes past `image_size`.
using ReadAt = std::function<bool(uint64_t offset, std::span<std::byte> out)>;

// ECMA-119 6.1.2: a logical sector is 2048 bytes; the volume descriptor set
// starts at sector 16 (ECMA-119 6.2.1).
inline constexpr uint64_t kIsoSectorSize = 2048;
inline constexpr uint64_t kIsoFirstDescriptorSector = 16;

// Files and symlinks kept from one image; the rest are left out (and a
// warning says so): the catalog travels in the policy.
inline constexpr size_t kMaxIsoFiles = 1'000'000;
// Folders deeper than this are not read (Rock Ridge images may nest beyond
// ECMA-119's 8 levels; 64 is far past any real tree).
inline constexpr int kMaxIsoDepth = 64;
// Directory and continuation-area bytes read in all: about 500 bytes for
// each of kMaxIsoFiles records with long Rock Ridge entries.
inline constexpr uint64_t kMaxIsoDirectoryBytes = uint64_t{512} << 20;
// SUSP 5.1: continuation areas chained from one directory record.
inline constexpr int kMaxIsoContinuationHops = 16;
// Warnings kept; one last warning counts the rest.
inline constexpr size_t kMaxIsoWarnings = 1000;

struct IsoLimits {
  size_t max_files = kMaxIsoFiles;
  int max_depth = kMaxIsoDepth;
  uint64_t max_directory_bytes = kMaxIsoDirectoryBytes;
  int max_continuation_hops = kMaxIsoContinuationHops;
  size_t max_warnings = kMaxIsoWarnings;
};

// Bytes of the image file.
struct Extent {
  uint64_t offset;
  uint64_t length;
  bool operator==(const Extent&) const = default;
};

// A regular file: its bytes are its extents' bytes in order (several for an
// ECMA-119 multi-extent file), `size` their sum; an empty file has none.
struct IsoFile {
  std::string path;
  std::vector<Extent> extents;
  uint64_t size = 0;
  int64_t mtime_s = 0;  // Rock Ridge TF modify time, else the record's; 0 when unset
};

// A Rock Ridge symlink whose target was resolved inside the image: `target`
// is the path (same form as IsoFile::path, "." for the root) of the file or
// folder it leads to after following every symlink on the way. Absolute
// targets are read from the image's root; symlinks that lead out of the
// image, nowhere, or round in circles are left out with a warning.
struct IsoSymlink {
  std::string path;
  std::string target;
  bool operator==(const IsoSymlink&) const = default;
};

// An El Torito boot entry marked bootable.
struct BootImage {
  enum class Platform { kBios, kEfi, kOther };
  Platform platform = Platform::kOther;
  uint64_t offset = 0;  // load RBA * 2048
  // Sector count * 512 for no emulation (the floppy's size for floppy
  // emulation); for an EFI image with a sector count of 0 or 1, the size of
  // the file at the same place when there is one.
  uint64_t length = 0;
  std::string path;  // the file whose first extent starts at `offset`; "" when none
};

struct IsoImage {
  std::string volume_id;  // the primary volume descriptor's, trailing spaces trimmed
  // Sorted by path. Paths are relative to the image's root, '/'-separated,
  // with no empty, "." or ".." part. Plain ISO 9660 names are kept as stored
  // (upper case for most writers), less the ";1" version and a trailing dot.
  std::vector<IsoFile> files;
  std::vector<IsoSymlink> symlinks;    // sorted by path
  std::vector<BootImage> boot_images;  // in boot catalog order
  std::string names_from;              // "rock_ridge", "joliet" or "iso9660"
  // What was left out or looked wrong, "path: what" where there is a path.
  std::vector<std::string> warnings;
};

// Reads the volume descriptors from sector 16, the directory tree of the
// best naming scheme (Rock Ridge > Joliet > ISO 9660) and the El Torito boot
// catalog. Hidden files are kept; associated files (resource forks),
// folders, device files and zisofs-compressed files are not listed. An image
// that is not ISO 9660, or whose primary volume descriptor or root folder is
// unusable, is an error; a failed read is an error; anything wrong further
// down is a warning and leaves out what it concerns.
absl::StatusOr<IsoImage> ReadIso(uint64_t image_size, const ReadAt& read,
                                 const IsoLimits& limits = {});

// Opens `path` (a file or block device) and reads it with pread().
absl::StatusOr<IsoImage> ReadIsoFile(const std::string& path, const IsoLimits& limits = {});

}  // namespace stampede::catalog
