#include "control/catalog/detect.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace stampede::catalog {

const std::vector<Signature>& Signatures() {
  // The unattended parameters these installers read are in UnattendedArgs().
  static const auto* const kTable = new std::vector<Signature>{
      {
          .family = "debian-installer",
          .distro = "Debian",
          .require = {"install.amd/*|install.386/*"},
          .kernel = "install.amd/vmlinuz|install.386/vmlinuz",
          .initrds = {{"{dir}/initrd.gz"}},
          .version = {{".disk/info", VersionFormat::kDiskInfo}},
          .unattended = Unattended::kPreseed,
          .note = "the CD installer's initrd looks for its CD and stops without one; "
                  "network installs want Debian's netboot mini.iso (debian-netboot)",
      },
      {
          .family = "debian-netboot",
          .distro = "Debian",
          .require = {"linux|debian-installer/amd64/linux|debian-installer/i386/linux"},
          .kernel = "linux|debian-installer/amd64/linux|debian-installer/i386/linux",
          .initrds = {{"{dir}/initrd.gz"}},
          .version = {{".disk/info", VersionFormat::kDiskInfo}},
          .unattended = Unattended::kPreseed,
      },
      {
          .family = "debian-live",
          .distro = "Debian Live",
          .require = {"live/filesystem.squashfs"},
          .kernel = "live/vmlinuz|live/vmlinuz-*",
          .initrds = {{"live/initrd.img-{*}|live/initrd.img|live/initrd*"}},
          .version = {{".disk/info", VersionFormat::kDiskInfo}},
          .cmdline =
              "boot=live components fetch=http://{server}/images/{name}/live/filesystem.squashfs",
      },
      {
          .family = "ubuntu",
          .distro = "Ubuntu",
          .require = {"casper/*.squashfs"},
          .kernel = "casper/vmlinuz|casper/vmlinuz.efi",
          .initrds = {{"casper/initrd|casper/initrd.lz|casper/initrd.gz|casper/initrd*"}},
          .version = {{".disk/info", VersionFormat::kDiskInfo}},
          // cloud-init reads url= as its own config URL: without
          // cloud-config-url it downloads the whole ISO a second time.
          .cmdline = "ip=dhcp cloud-config-url=/dev/null url=http://{server}/images/{name}.iso",
          .unattended = Unattended::kAutoinstall,
      },
      {
          .family = "anaconda",
          .distro = "Fedora/RHEL",
          .require = {"images/pxeboot/vmlinuz", ".treeinfo|.discinfo",
                      "repodata/repomd.xml|*/repodata/repomd.xml"},
          .kernel = "images/pxeboot/vmlinuz",
          .initrds = {{"images/pxeboot/initrd.img"}},
          .version = {{".treeinfo", VersionFormat::kTreeinfo},
                      {".discinfo", VersionFormat::kDiscinfo}},
          .cmdline = "inst.repo=http://{server}/images/{name}/",
          .unattended = Unattended::kKickstart,
      },
      {
          .family = "anaconda-netinst",
          .distro = "Fedora/RHEL",
          .require = {"images/pxeboot/vmlinuz", "images/install.img", ".treeinfo|.discinfo"},
          .kernel = "images/pxeboot/vmlinuz",
          .initrds = {{"images/pxeboot/initrd.img"}},
          .version = {{".treeinfo", VersionFormat::kTreeinfo},
                      {".discinfo", VersionFormat::kDiscinfo}},
          .cmdline = "inst.stage2=http://{server}/images/{name}/",
          .unattended = Unattended::kKickstart,
          .note = "no package repository on the image: packages come from the "
                  "distribution's mirrors unless the kickstart or inst.repo says otherwise",
      },
      {
          .family = "fedora-live",
          .distro = "Fedora Live",
          .require = {"images/pxeboot/vmlinuz", "LiveOS/squashfs.img"},
          .kernel = "images/pxeboot/vmlinuz",
          .initrds = {{"images/pxeboot/initrd.img"}},
          .version = {{".treeinfo", VersionFormat::kTreeinfo},
                      {".discinfo", VersionFormat::kDiscinfo}},
          .cmdline = "root=live:http://{server}/images/{name}/LiveOS/squashfs.img "
                     "rd.live.image ip=dhcp",
      },
      {
          .family = "arch",
          .distro = "Arch Linux",
          .require = {"arch/boot/x86_64/*|arch/version"},
          .kernel = "arch/boot/x86_64/vmlinuz-linux|arch/boot/x86_64/vmlinuz-*",
          .initrds = {{"arch/boot/intel-ucode.img", true},
                      {"arch/boot/amd-ucode.img", true},
                      {"arch/boot/x86_64/initramfs-{*}.img|arch/boot/x86_64/initramfs-linux.img"}},
          .version = {{"arch/version", VersionFormat::kFirstLine}},
          .cmdline = "archisobasedir=arch archiso_http_srv=http://{server}/images/{name}/ ip=dhcp",
      },
      {
          .family = "systemrescue",
          .distro = "SystemRescue",
          .require = {"sysresccd/boot/*|sysresccd/VERSION"},
          .kernel = "sysresccd/boot/x86_64/vmlinuz",
          .initrds = {{"sysresccd/boot/intel_ucode.img|sysresccd/boot/intel-ucode.img", true},
                      {"sysresccd/boot/amd_ucode.img|sysresccd/boot/amd-ucode.img", true},
                      {"sysresccd/boot/x86_64/sysresccd.img"}},
          .version = {{"sysresccd/VERSION", VersionFormat::kFirstLine}},
          .cmdline =
              "archisobasedir=sysresccd archiso_http_srv=http://{server}/images/{name}/ ip=dhcp",
      },
      {
          // Its ISO (Debian's /usr/lib/memtest86+/memtest86+x64.iso, and
          // upstream's) holds only the EFI binary, as EFI/BOOT/BOOTX64.EFI;
          // the marker tells it from any other UEFI-bootable image.
          .family = "memtest86+",
          .distro = "Memtest86+",
          .kernel = "boot/memtest*.bin|memtest*.bin",
          .efi_kernel = "boot/memtest*.efi|memtest*.efi|EFI/BOOT/BOOTX64.EFI",
          .marker = "Memtest86+",
          .version = {{"{kernel}", VersionFormat::kAfterMarker, "Memtest86+ v"}},
          .note = "BIOS loaders boot its .bin, UEFI loaders its .efi; an image "
                  "with one of them boots on that firmware only",
      },
  };
  return *kTable;
}

namespace {

constexpr absl::string_view kGenericFamily = "generic";

// Debian's Abseil has its own string_view; the API speaks std::string_view.
absl::string_view Av(std::string_view text) { return absl::string_view(text.data(), text.size()); }
std::string_view Sv(absl::string_view text) { return std::string_view(text.data(), text.size()); }

char Lower(char c) { return absl::ascii_tolower(static_cast<unsigned char>(c)); }

// Matches `pattern` against all of `path`. When `capture` is given, the
// first `*` stores what it matched there.
bool Glob(absl::string_view pattern, absl::string_view path,
          std::optional<absl::string_view>* capture) {
  while (!pattern.empty()) {
    char c = pattern.front();
    if (c == '*') {
      pattern.remove_prefix(1);
      size_t longest = std::min(path.find('/'), path.size());
      for (size_t length = 0; length <= longest; ++length) {
        if (Glob(pattern, path.substr(length), nullptr)) {
          if (capture != nullptr) *capture = path.substr(0, length);
          return true;
        }
      }
      return false;
    }
    if (path.empty()) return false;
    if (c == '?') {
      if (path.front() == '/') return false;
    } else {
      if (c == '\\' && pattern.size() > 1) {
        pattern.remove_prefix(1);
        c = pattern.front();
      }
      if (Lower(c) != Lower(path.front())) return false;
    }
    pattern.remove_prefix(1);
    path.remove_prefix(1);
  }
  return path.empty();
}

// `pattern`'s alternatives, split at every '|' not escaped.
std::vector<absl::string_view> Alternatives(absl::string_view pattern) {
  std::vector<absl::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      ++i;
    } else if (pattern[i] == '|') {
      out.push_back(pattern.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(pattern.substr(start));
  return out;
}

std::string EscapeGlob(absl::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (c == '*' || c == '?' || c == '\\' || c == '|') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// What the kernel found lets initrd and version patterns say.
struct KernelContext {
  std::optional<std::string> dir;      // {dir}
  std::optional<std::string> capture;  // {*}
};

// `alternative` with {dir} and {*} filled; nullopt when it names one the
// kernel did not give.
std::optional<std::string> Substitute(absl::string_view alternative, const KernelContext& context) {
  std::string out;
  while (!alternative.empty()) {
    if (absl::ConsumePrefix(&alternative, "{dir}/")) {  // "" for the root, not "/"
      if (!context.dir) return std::nullopt;
      if (!context.dir->empty()) absl::StrAppend(&out, EscapeGlob(*context.dir), "/");
    } else if (absl::ConsumePrefix(&alternative, "{dir}")) {
      if (!context.dir) return std::nullopt;
      absl::StrAppend(&out, EscapeGlob(*context.dir));
    } else if (absl::ConsumePrefix(&alternative, "{*}")) {
      if (!context.capture) return std::nullopt;
      absl::StrAppend(&out, EscapeGlob(*context.capture));
    } else {
      out.push_back(alternative.front());
      alternative.remove_prefix(1);
    }
  }
  return out;
}

struct Found {
  std::string path;
  std::optional<std::string> capture;
};

// The lower-cased literal text `pattern` starts with, before any wildcard.
std::string LiteralPrefix(absl::string_view pattern) {
  std::string prefix;
  for (size_t i = 0; i < pattern.size() && pattern[i] != '*' && pattern[i] != '?'; ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) ++i;
    prefix.push_back(Lower(pattern[i]));
  }
  return prefix;
}

// The listing's paths in a fixed order (ignoring case, then as spelled), so
// the pick among several matches does not depend on the listing's order, and
// a pattern only looks at the paths starting with its literal prefix.
class SortedPaths {
 public:
  explicit SortedPaths(const std::vector<std::string>& paths) {
    for (const std::string& path : paths) {
      if (!path.empty() && path.size() <= kMaxMatchedPathLength) {
        keyed_.emplace_back(absl::AsciiStrToLower(path), path);
      }
    }
    std::sort(keyed_.begin(), keyed_.end());
  }

  std::optional<Found> Find(absl::string_view pattern, const KernelContext& context = {}) const {
    for (absl::string_view alternative : Alternatives(pattern)) {
      std::optional<std::string> filled = Substitute(alternative, context);
      if (!filled) continue;
      std::string prefix = LiteralPrefix(*filled);
      auto it = std::lower_bound(
          keyed_.begin(), keyed_.end(), prefix,
          [](const Keyed& key, const std::string& value) { return key.first < value; });
      for (; it != keyed_.end() && absl::StartsWith(it->first, prefix); ++it) {
        std::optional<absl::string_view> capture;
        if (Glob(*filled, it->second, &capture)) {
          Found found{std::string(it->second), std::nullopt};
          if (capture) found.capture = std::string(*capture);
          return found;
        }
      }
    }
    return std::nullopt;
  }

 private:
  using Keyed = std::pair<std::string, absl::string_view>;  // lower-cased, as spelled
  std::vector<Keyed> keyed_;
};

std::optional<std::string> ReadSmall(const ImageListing& image, absl::string_view path,
                                     size_t max_bytes) {
  if (!image.read_small) return std::nullopt;
  std::optional<std::string> text = image.read_small(Sv(path), max_bytes);
  if (text && text->size() > max_bytes) text->resize(max_bytes);  // the callback is trusted less
  return text;
}

bool SafeVersionChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view(" ._+~:()/,-").find(c) != absl::string_view::npos;
}

// Safe characters only, runs of blanks as one space, trimmed, bounded.
std::string Clean(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else if (SafeVersionChar(c)) {
      out.push_back(c);
    }
    if (out.size() >= kMaxVersionLength) break;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

absl::string_view FirstLine(absl::string_view text) {
  return text.substr(0, std::min(text.find_first_of("\r\n"), text.size()));
}

// "Ubuntu-Server 24.04 LTS" -> {"Ubuntu-Server", "24.04 LTS"}.
VersionInfo SplitNameVersion(absl::string_view line) {
  line = line.substr(0, std::min(line.find('"'), line.size()));
  std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
  auto first_digit = std::find_if(words.begin(), words.end(), [](absl::string_view word) {
    return absl::ascii_isdigit(static_cast<unsigned char>(word.front()));
  });
  VersionInfo info;
  info.distro = Clean(absl::StrJoin(words.begin(), first_digit, " "));
  info.version = Clean(absl::StrJoin(first_digit, words.end(), " "));
  return info;
}

VersionInfo ParseTreeinfo(absl::string_view text) {
  std::map<std::string, std::string> values;  // "section.key"
  std::string section;
  for (absl::string_view line : absl::StrSplit(text, absl::ByAnyChar("\r\n"))) {
    line = absl::StripAsciiWhitespace(line);
    if (line.size() >= 2 && line.front() == '[' && line.back() == ']') {
      section = absl::AsciiStrToLower(line.substr(1, line.size() - 2));
      continue;
    }
    size_t equals = line.find('=');
    if (equals == absl::string_view::npos) continue;
    std::string key = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line.substr(0, equals)));
    values.try_emplace(absl::StrCat(section, ".", key),
                       absl::StripAsciiWhitespace(line.substr(equals + 1)));
  }
  auto first = [&](std::initializer_list<absl::string_view> keys) {
    for (absl::string_view key : keys) {
      auto it = values.find(std::string(key));
      if (it != values.end() && !Clean(it->second).empty()) return Clean(it->second);
    }
    return std::string();
  };
  return {first({"release.name", "product.name", "general.family", "general.name"}),
          first({"release.version", "product.version", "general.version"})};
}

VersionInfo ParseDiscinfo(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (lines.size() < 2) return {};
  return SplitNameVersion(absl::StripAsciiWhitespace(lines[1]));
}

VersionInfo ParseAfterMarker(absl::string_view text, absl::string_view marker) {
  if (marker.empty()) return {};
  size_t at = text.find(marker);
  if (at == absl::string_view::npos) return {};
  absl::string_view rest = text.substr(at + marker.size());
  size_t end = 0;
  while (end < rest.size() && end < kMaxVersionLength &&
         (absl::ascii_isalnum(static_cast<unsigned char>(rest[end])) ||
          absl::string_view(".+~-").find(rest[end]) != absl::string_view::npos)) {
    ++end;
  }
  return {"", Clean(rest.substr(0, end))};
}

// One signature tried on one image.
struct Attempt {
  bool evidence = false;  // its `require` all matched
  std::optional<BootRecipe> recipe;
  std::string missing;  // why not, when evidence
};

std::string DirOf(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? "" : path.substr(0, slash));
}

bool HasMarker(const ImageListing& image, const std::string& path, absl::string_view marker) {
  std::optional<std::string> head = ReadSmall(image, path, kMaxMarkerBytes);
  return head && absl::StrContains(*head, marker);
}

void ReadVersion(const Signature& signature, const ImageListing& image, const SortedPaths& paths,
                 const KernelContext& context, const std::string& kernel, BootRecipe& recipe) {
  for (const VersionSource& source : signature.version) {
    std::optional<std::string> path;
    if (source.pattern == "{kernel}") {
      path = kernel;
    } else if (std::optional<Found> found = paths.Find(Av(source.pattern), context)) {
      path = found->path;
    }
    if (!path) continue;
    std::optional<std::string> text = ReadSmall(image, *path, kMaxVersionFileBytes);
    if (!text) continue;
    VersionInfo info = ParseVersionFile(source.format, *text, source.marker);
    if (info.version.empty()) continue;
    recipe.version = info.version;
    if (!info.distro.empty()) recipe.distro = info.distro;
    absl::StrAppend(&recipe.why, " (version from ", *path, ")");
    return;
  }
}

Attempt Try(const Signature& signature, const ImageListing& image, const SortedPaths& paths) {
  Attempt attempt;
  for (std::string_view require : signature.require) {
    if (!paths.Find(Av(require))) return attempt;
  }
  attempt.evidence = !signature.require.empty();

  std::optional<Found> kernel, efi_kernel;
  if (!signature.kernel.empty()) kernel = paths.Find(Av(signature.kernel));
  efi_kernel = signature.efi_kernel.empty() ? kernel : paths.Find(Av(signature.efi_kernel));
  const std::optional<Found>& any_kernel = kernel ? kernel : efi_kernel;
  if (!any_kernel) {
    attempt.missing =
        absl::StrCat("no kernel matching ", Av(signature.kernel),
                     signature.efi_kernel.empty() ? "" : " or ", Av(signature.efi_kernel));
    return attempt;
  }
  if (!signature.marker.empty()) {
    for (const std::optional<Found>& found : {kernel, efi_kernel}) {
      if (found && !HasMarker(image, found->path, Av(signature.marker))) {
        attempt.missing = absl::StrCat(found->path, " does not say \"", Av(signature.marker), "\"");
        return attempt;
      }
    }
  }
  KernelContext context{DirOf(any_kernel->path), any_kernel->capture};

  BootRecipe recipe;
  recipe.family = std::string(signature.family);
  recipe.distro = std::string(signature.distro);
  if (kernel) recipe.kernel = kernel->path;
  if (efi_kernel) recipe.efi_kernel = efi_kernel->path;
  for (const InitrdRule& rule : signature.initrds) {
    std::optional<Found> initrd = paths.Find(Av(rule.pattern), context);
    if (initrd) {
      recipe.initrds.push_back(initrd->path);
    } else if (!rule.optional) {
      attempt.missing =
          absl::StrCat("found ", any_kernel->path, " but no initrd matching ", Av(rule.pattern));
      return attempt;
    }
  }
  recipe.cmdline = std::string(signature.cmdline);

  std::vector<std::string> files;
  if (kernel) files.push_back(kernel->path);
  if (efi_kernel && (!kernel || efi_kernel->path != kernel->path)) {
    files.push_back(absl::StrCat(efi_kernel->path, " (UEFI)"));
  }
  files.insert(files.end(), recipe.initrds.begin(), recipe.initrds.end());
  recipe.why = absl::StrCat(Av(signature.family), ": ", absl::StrJoin(files, ", "));
  ReadVersion(signature, image, paths, context, any_kernel->path, recipe);
  if (!signature.note.empty()) absl::StrAppend(&recipe.why, "; note: ", Av(signature.note));
  attempt.recipe = std::move(recipe);
  return attempt;
}

const Signature* FindSignature(absl::string_view family) {
  for (const Signature& signature : Signatures()) {
    if (Av(signature.family) == family) return &signature;
  }
  return nullptr;
}

absl::string_view UnattendedField(Unattended kind) {
  switch (kind) {
    case Unattended::kPreseed:
      return "preseed";
    case Unattended::kKickstart:
      return "kickstart";
    case Unattended::kAutoinstall:
      return "autoinstall";
    case Unattended::kNone:
      break;
  }
  return "";
}

// The command-line words an installer reads its answer file from.
std::string UnattendedArgs(Unattended kind, absl::string_view value) {
  switch (kind) {
    case Unattended::kPreseed:
      return absl::StrCat("auto=true priority=critical url=", value);
    case Unattended::kKickstart:
      return absl::StrCat("inst.ks=", value);
    case Unattended::kAutoinstall:
      if (value == "true") return "autoinstall";
      return absl::StrCat("autoinstall ds=nocloud-net;s=", value);
    case Unattended::kNone:
      break;
  }
  return "";
}

void AppendWords(std::string& cmdline, absl::string_view words) {
  words = absl::StripAsciiWhitespace(words);
  if (words.empty()) return;
  if (!cmdline.empty()) cmdline.push_back(' ');
  absl::StrAppend(&cmdline, words);
}

bool HasBlankOrControl(absl::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) == 0x7f;
  });
}

}  // namespace

bool MatchGlob(std::string_view pattern, std::string_view path) {
  return Glob(Av(pattern), Av(path), nullptr);
}

VersionInfo ParseVersionFile(VersionFormat format, std::string_view whole_text,
                             std::string_view marker) {
  absl::string_view text = Av(whole_text).substr(0, kMaxVersionFileBytes);
  switch (format) {
    case VersionFormat::kDiskInfo:
      return SplitNameVersion(FirstLine(text));
    case VersionFormat::kTreeinfo:
      return ParseTreeinfo(text);
    case VersionFormat::kDiscinfo:
      return ParseDiscinfo(text);
    case VersionFormat::kFirstLine:
      return {"", Clean(absl::StripAsciiWhitespace(FirstLine(text)))};
    case VersionFormat::kAfterMarker:
      return ParseAfterMarker(text, Av(marker));
    case VersionFormat::kNone:
      break;
  }
  return {};
}

BootRecipe Detect(const ImageListing& image, std::span<const Signature> table) {
  SortedPaths paths(image.paths);
  std::vector<std::string> misses;
  for (const Signature& signature : table) {
    Attempt attempt = Try(signature, image, paths);
    if (attempt.recipe) return *std::move(attempt.recipe);
    if (attempt.evidence)
      misses.push_back(absl::StrCat(Av(signature.family), ": ", attempt.missing));
  }
  BootRecipe generic;
  generic.family = std::string(kGenericFamily);
  generic.sanboot = true;
  generic.why = misses.empty() ? "generic (sanboot): no signature matched"
                               : absl::StrCat("generic (sanboot): ", absl::StrJoin(misses, "; "));
  return generic;
}

BootRecipe Detect(const ImageListing& image) { return Detect(image, Signatures()); }

absl::StatusOr<BootRecipe> ApplyOverrides(BootRecipe recipe, const v1::BootProfile& profile) {
  std::vector<std::string> changed;
  if (!profile.kernel().empty()) {
    recipe.kernel = recipe.efi_kernel = profile.kernel();
    recipe.sanboot = false;
    changed.push_back("kernel");
  }
  if (recipe.sanboot && (profile.initrds_size() > 0 || !profile.cmdline().empty())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "profile '", profile.name(), "': initrds and cmdline need a kernel, and image '",
        profile.image(), "' is booted whole (", recipe.why, "); set kernel too"));
  }
  if (profile.initrds_size() > 0) {
    recipe.initrds.assign(profile.initrds().begin(), profile.initrds().end());
    changed.push_back("initrds");
  }
  absl::string_view cmdline = profile.cmdline();
  if (absl::ConsumePrefix(&cmdline, "+")) {
    AppendWords(recipe.cmdline, cmdline);
    changed.push_back("cmdline (appended)");
  } else if (!cmdline.empty()) {
    recipe.cmdline = std::string(absl::StripAsciiWhitespace(cmdline));
    changed.push_back("cmdline");
  }

  std::vector<std::pair<Unattended, absl::string_view>> answers;
  if (!profile.preseed().empty()) answers.emplace_back(Unattended::kPreseed, profile.preseed());
  if (!profile.kickstart().empty()) {
    answers.emplace_back(Unattended::kKickstart, profile.kickstart());
  }
  if (!profile.autoinstall().empty()) {
    answers.emplace_back(Unattended::kAutoinstall, profile.autoinstall());
  }
  if (answers.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "profile '", profile.name(), "': set one of preseed, kickstart and autoinstall"));
  }
  if (answers.size() == 1) {
    auto [kind, value] = answers.front();
    const Signature* signature = FindSignature(recipe.family);
    Unattended takes = signature != nullptr ? signature->unattended : Unattended::kNone;
    if (takes != kind) {
      return absl::InvalidArgumentError(absl::StrCat(
          "profile '", profile.name(), "': ", UnattendedField(kind), " is not for ",
          recipe.family.empty() ? "a kernel without an image" : recipe.family,
          takes == Unattended::kNone ? " (it takes no answer file: put the parameter in cmdline)"
                                     : absl::StrCat(" (it takes ", UnattendedField(takes), ")")));
    }
    if (value.empty() || HasBlankOrControl(value)) {
      return absl::InvalidArgumentError(absl::StrCat("profile '", profile.name(),
                                                     "': ", UnattendedField(kind),
                                                     " must be a URL without spaces"));
    }
    AppendWords(recipe.cmdline, UnattendedArgs(kind, value));
    changed.push_back(std::string(UnattendedField(kind)));
  }
  if (!changed.empty()) {
    absl::StrAppend(&recipe.why, "; profile '", profile.name(), "' set ",
                    absl::StrJoin(changed, ", "));
  }
  return recipe;
}

BootRecipe FillPlaceholders(BootRecipe recipe, std::string_view server,
                            std::string_view image_name) {
  std::string name = PercentEncode(image_name, false);
  recipe.cmdline =
      absl::StrReplaceAll(recipe.cmdline, {{"{server}", Av(server)}, {"{name}", name}});
  return recipe;
}

std::string HttpAuthority(std::string_view ipv4, uint32_t port) {
  if (port == 80 || port == 0) return std::string(ipv4);
  return absl::StrCat(Av(ipv4), ":", port);
}

std::string PercentEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (absl::ascii_isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  return out;
}

}  // namespace stampede::catalog
