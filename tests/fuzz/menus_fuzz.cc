// libFuzzer target: the input is a version file read from an image, and,
// split at its first NUL, a menu entry's title and command line. What
// detection keeps of a version file must be bounded safe text; a rendered
// menu must have as many lines whatever the title and command line hold (no
// line injected), iPXE titles must not expand settings, and labels must stay
// in [A-Za-z0-9_.-].
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "control/catalog/detect.h"
#include "control/catalog/menus.h"

namespace {

using namespace stampede::catalog;  // NOLINT: a fuzz target's one namespace

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckVersionText(std::string_view text) {
  Check(text.size() <= kMaxVersionLength);
  for (char c : text) {
    Check((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          std::string_view(" ._+~:()/,-").find(c) != std::string_view::npos);
  }
}

void CheckVersionFiles(std::string_view input) {
  for (VersionFormat format :
       {VersionFormat::kNone, VersionFormat::kDiskInfo, VersionFormat::kTreeinfo,
        VersionFormat::kDiscinfo, VersionFormat::kFirstLine, VersionFormat::kAfterMarker}) {
    VersionInfo info = ParseVersionFile(format, input, "Memtest86+ v");
    CheckVersionText(info.distro);
    CheckVersionText(info.version);
  }
  // Every family's version file holding the input.
  const std::vector<std::vector<std::string>> listings = {
      {"install.amd/vmlinuz", "install.amd/initrd.gz", ".disk/info"},
      {"casper/vmlinuz", "casper/initrd", "casper/x.squashfs", ".disk/info"},
      {"images/pxeboot/vmlinuz", "images/pxeboot/initrd.img", ".treeinfo", "repodata/repomd.xml"},
      {"images/pxeboot/vmlinuz", "images/pxeboot/initrd.img", "images/install.img", ".discinfo"},
      {"arch/boot/x86_64/vmlinuz-linux", "arch/boot/x86_64/initramfs-linux.img", "arch/version"},
      {"EFI/BOOT/BOOTX64.EFI"},
  };
  for (const std::vector<std::string>& paths : listings) {
    ImageListing image{"fuzz", paths, [&](std::string_view, size_t max_bytes) {
                         return std::optional<std::string>(input.substr(0, max_bytes));
                       }};
    BootRecipe recipe = Detect(image);
    CheckVersionText(recipe.version);
    if (recipe.family != "generic") CheckVersionText(recipe.distro);
  }
}

size_t Lines(std::string_view text) { return std::count(text.begin(), text.end(), '\n'); }

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  for (size_t end; (end = text.find('\n')) != std::string_view::npos; text.remove_prefix(end + 1)) {
    lines.push_back(text.substr(0, end));
  }
  lines.push_back(text);
  return lines;
}

Menu TwoEntries(std::string_view id, std::string_view title, std::string_view cmdline) {
  Menu menu;
  menu.title = "Boot";
  menu.timeout_seconds = 5;
  menu.entries.push_back({std::string(id),
                          std::string(title),
                          "images/a/vmlinuz",
                          "images/a/vmlinuz",
                          {"images/a/initrd"},
                          std::string(cmdline),
                          ""});
  menu.entries.push_back({"b", "B", "", "images/b/x.efi", {}, "", ""});
  menu.default_id = std::string(id);
  return menu;
}

void CheckMenus(std::string_view input) {
  size_t nul = input.find('\0');
  std::string_view title = input.substr(0, nul);
  std::string_view cmdline = nul == std::string_view::npos ? "" : input.substr(nul + 1);
  Menu fuzzed = TwoEntries(title, title, cmdline);
  Menu plain = TwoEntries("a", "A", "quiet");

  std::string pxelinux = RenderPxelinux(fuzzed);
  Check(Lines(pxelinux) == Lines(RenderPxelinux(plain)));
  for (std::string_view line : SplitLines(pxelinux)) {
    if (line.starts_with("LABEL ") || line.starts_with("DEFAULT ")) {
      for (char c : line.substr(line.find(' ') + 1)) {
        Check((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-');
      }
    }
  }
  Check(Lines(RenderGrub(fuzzed, "198.18.0.1")) == Lines(RenderGrub(plain, "198.18.0.1")));

  std::vector<std::string> skipped;
  std::string ipxe = RenderIpxe(fuzzed, "198.18.0.1", &skipped);
  if (skipped.empty()) Check(Lines(ipxe) == Lines(RenderIpxe(plain, "198.18.0.1")));
  for (std::string_view line : SplitLines(ipxe)) {
    if (line.starts_with("menu") || line.starts_with("item ")) {
      Check(line.find("${") == std::string_view::npos);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckVersionFiles(input);
  CheckMenus(input);
  return 0;
}
