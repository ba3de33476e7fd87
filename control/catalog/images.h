// The images folder's catalog: every ISO image in it read in place (no
// mount, no extraction), its files listed as extents of the image file
// under images/<name>/<path>, the whole image as images/<name>.iso, and for
// each image whether it is served and why not.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "control/catalog/detect.h"
#include "control/catalog/iso9660.h"
#include "stampede/v1/policy.pb.h"

namespace stampede::catalog {

// Images read from one folder; more are left out (and said so).
inline constexpr size_t kMaxImages = 256;
// Warnings kept per image for `stampede images`; the count has them all.
inline constexpr size_t kMaxImageWarningsKept = 20;

struct ImageStatus {
  std::string name;  // the file name less ".iso"
  std::string path;  // absolute
  bool served = false;
  std::string error;  // why it is not served (the image is unreadable or not ISO 9660)
  std::string volume_id;
  std::string names_from;  // "rock_ridge", "joliet" or "iso9660"
  size_t files = 0;        // catalogued under images/<name>/
  size_t warnings = 0;
  std::vector<std::string> first_warnings;
  std::vector<BootImage> boot_images;
  // Every file's path inside the image (what distro detection looks at).
  std::vector<std::string> paths;
  // What the image is and how it boots (control/catalog/detect.h), with
  // {server} and {name} still in its command line.
  BootRecipe recipe;
};

struct ImagesScan {
  std::vector<v1::CatalogFile> files;  // sorted by path, unique
  std::vector<ImageStatus> images;     // sorted by name
};

// Reads every *.iso (any case) in `folder` (not its subfolders). A missing
// or unreadable folder is an error; a bad image is reported in its status
// and never stops the others. A file whose extents are not one contiguous
// run of the image (a multi-extent file written in pieces), and a name the
// dataplane could not be asked for exactly (tftp::NormalisePath changes or
// refuses it), are left out with a warning. Rock Ridge symlinks to files
// are served with their target's bytes; symlinks to folders are not
// followed (images often link a folder to itself).
absl::StatusOr<ImagesScan> ScanImages(const std::string& folder);

}  // namespace stampede::catalog
