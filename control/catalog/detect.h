// Distro detection: what an ISO image is, from its list of files and a few
// small files inside it, and how to network-boot it (kernel, initrds, command
// line). Data-driven: one Signature per distro family in Signatures().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "stampede/v1/config.pb.h"

namespace stampede::catalog {

// Version files are untrusted: at most this much of one is read (a RHEL
// .treeinfo is about 3 KiB).
inline constexpr size_t kMaxVersionFileBytes = 16 * 1024;
// Bytes of a kernel searched for a Signature::marker (memtest86+ names itself
// at byte 1120 of its binaries).
inline constexpr size_t kMaxMarkerBytes = 4096;
// A version or distro name read from an image keeps at most this many
// characters, all of them in [A-Za-z0-9 ._+~:()/,-].
inline constexpr size_t kMaxVersionLength = 64;
// Paths longer than this are never matched (ISO 9660 paths stay far below).
inline constexpr size_t kMaxMatchedPathLength = 1024;

// What detection looks at: the image's files, paths relative to its root
// ("casper/vmlinuz", or "CASPER/VMLINUZ" for plain ISO 9660 names; symlinks
// count as files), and a way to read the first `max_bytes` of one of them
// (nullopt when it cannot be read).
struct ImageListing {
  std::string name;  // the image's name (file name less ".iso")
  std::vector<std::string> paths;
  std::function<std::optional<std::string>(std::string_view path, size_t max_bytes)> read_small;
};

// How to boot an image. Paths are relative to the image's root and spelled
// as in the listing. The command line holds `{server}` and `{name}` until
// FillPlaceholders().
struct BootRecipe {
  std::string family;   // Signature::family, or "generic"
  std::string distro;   // "Ubuntu-Server", "Rocky Linux" (from the version file, else the table)
  std::string version;  // "24.04 LTS", "9.3"; "" when unknown
  // What BIOS loaders (PXELINUX, iPXE on BIOS) boot and what UEFI loaders
  // (GRUB, iPXE on UEFI) boot: the same file for Linux kernels (an EFI-stub
  // bzImage boots both ways); "" when the image has nothing for that
  // firmware (memtest86+'s ISO carries only its EFI binary).
  std::string kernel;
  std::string efi_kernel;
  std::vector<std::string> initrds;  // in load order (microcode first)
  std::string cmdline;
  // Boot the whole ISO instead (iPXE `sanboot` over HTTP): nothing matched.
  bool sanboot = false;
  // Why: which signature matched and on what, or why none did.
  std::string why;
};

// How a version file says what the image is.
enum class VersionFormat {
  kNone,
  // Debian/Ubuntu .disk/info: `Ubuntu-Server 24.04 LTS "Noble Numbat" - ...`:
  // the name up to the first word starting with a digit, the version from it
  // to the first quote.
  kDiskInfo,
  // Anaconda .treeinfo (INI): [release] name/version, else [product], else
  // [general] family/version.
  kTreeinfo,
  // Anaconda .discinfo: line 2 ("9.3", or a name and a version).
  kDiscinfo,
  // The first line is the version (archiso's arch/version: "2024.05.01").
  kFirstLine,
  // The version follows VersionSource::marker ("Memtest86+ v6.10").
  kAfterMarker,
};

// Which answer-file parameter an image's installer takes (BootProfile's
// preseed, kickstart, autoinstall).
enum class Unattended { kNone, kPreseed, kKickstart, kAutoinstall };

// One initrd: `pattern` as in Signature, `optional` ones are loaded when
// present (microcode).
struct InitrdRule {
  std::string_view pattern;
  bool optional = false;
};

// Where the version is: a file (pattern as in Signature) read as `format`;
// `marker` is for kAfterMarker.
struct VersionSource {
  std::string_view pattern;
  VersionFormat format = VersionFormat::kNone;
  std::string_view marker;
};

// One distro family. Patterns are globs over the listing's paths, matched
// ignoring ASCII case: `*` is any run of characters but '/', `?` one such
// character, `\` makes the next character literal, and `a|b` tries
// alternatives in order (the first one matching a path wins; among several
// paths matching one alternative, the first in sorted order). In initrd and
// version patterns `{dir}` is the folder of the kernel found and `{*}` what
// the kernel pattern's first `*` matched; a version pattern of `{kernel}` is
// the kernel itself.
struct Signature {
  std::string_view family;  // "ubuntu"
  std::string_view distro;  // name when no version file says better
  // Every one must match a path for the image to be of this family.
  std::vector<std::string_view> require;
  std::string_view kernel;
  // When not empty, UEFI loaders get this file and `kernel` is for BIOS only;
  // at least one of the two must be found.
  std::string_view efi_kernel;
  std::vector<InitrdRule> initrds;
  // When not empty, every kernel found must contain it in its first
  // kMaxMarkerBytes.
  std::string_view marker;
  // Tried in order; the first file found that names a version wins.
  std::vector<VersionSource> version;
  // Kernel command line; `{server}` and `{name}` filled by FillPlaceholders.
  std::string_view cmdline;
  Unattended unattended = Unattended::kNone;
  // A caveat repeated in BootRecipe::why.
  std::string_view note;
};

// The families stampede recognises, most specific first (docs/images.md).
const std::vector<Signature>& Signatures();

// The first signature of `table` that the image matches, else the generic
// recipe (sanboot of the whole ISO) with `why` naming the families whose
// `require` matched and what was missing.
BootRecipe Detect(const ImageListing& image, std::span<const Signature> table);
BootRecipe Detect(const ImageListing& image);

// A version file's text read as `format`: {distro, version}, each cleaned to
// kMaxVersionLength safe characters; empty when not found. `marker` is for
// kAfterMarker.
struct VersionInfo {
  std::string distro;
  std::string version;
};
VersionInfo ParseVersionFile(VersionFormat format, std::string_view text,
                             std::string_view marker = {});

// `pattern` (one alternative, no `|`) against `path`, ignoring ASCII case.
bool MatchGlob(std::string_view pattern, std::string_view path);

// The profile's choices over the detected recipe: kernel and initrds
// replace; cmdline replaces, or appends when it starts with "+"; preseed,
// kickstart or autoinstall add the parameter the family's installer reads.
// Errors: an answer file for an image whose installer does not take it, more
// than one answer file, an answer-file URL with spaces, a command line or
// initrds for an image booted whole without a kernel.
absl::StatusOr<BootRecipe> ApplyOverrides(BootRecipe recipe, const v1::BootProfile& profile);

// Fills `{server}` (an HTTP authority, see HttpAuthority) and `{name}` (the
// image's name, percent-encoded) in the command line.
BootRecipe FillPlaceholders(BootRecipe recipe, std::string_view server,
                            std::string_view image_name);

// "198.18.0.1" for port 80, "198.18.0.1:8080" otherwise.
std::string HttpAuthority(std::string_view ipv4, uint32_t port);

// RFC 3986 percent-encoding of everything but unreserved characters and, when
// `keep_slash`, '/'.
std::string PercentEncode(std::string_view text, bool keep_slash);

}  // namespace stampede::catalog
