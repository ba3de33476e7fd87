// Boot menus for the loaders stampede hands out: PXELINUX (BIOS), GRUB
// (UEFI) and iPXE, and the names PXELINUX asks for its config under. Pure
// functions from a Menu to file contents; what comes from config or images
// is escaped, so no title or command line can add a line or a command.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "control/catalog/detect.h"

namespace stampede::catalog {

// syslinux's TIMEOUT is in tenths of a second and at most 35996 (doc/syslinux.txt):
// menu timeouts are capped there for every loader.
inline constexpr uint32_t kMaxMenuTimeoutSeconds = 3599;
// PXELINUX's menu module, looked up beside pxelinux.0 on the TFTP root; from
// Debian's syslinux-common: /usr/lib/syslinux/modules/bios/menu.c32 (it needs
// ldlinux.c32 and libutil.c32 from the same folder).
inline constexpr std::string_view kPxelinuxMenuModule = "menu.c32";
inline constexpr std::string_view kPxelinuxConfigFolder = "pxelinux.cfg";

// One bootable choice. Files are served paths: the TFTP path, and the HTTP
// URL's path ("images/ubuntu/casper/vmlinuz" is
// http://<server>/images/ubuntu/casper/vmlinuz).
struct MenuEntry {
  std::string id;  // PXELINUX/iPXE label and GRUB --id, made safe and unique
  std::string title;
  std::string kernel;      // for BIOS loaders; "" when it has none
  std::string efi_kernel;  // for UEFI loaders; "" when it has none
  std::vector<std::string> initrds;
  std::string cmdline;
  // An ISO booted whole (iPXE sanboot over HTTP): kernel and initrds unused.
  std::string sanboot;
};

struct Menu {
  std::string title;
  std::vector<MenuEntry> entries;
  // The entry booted when the timeout runs out; "" or unknown: the first.
  std::string default_id;
  // 0: boot the default at once, no menu shown.
  uint32_t timeout_seconds = 0;
};

// The entry booting `recipe` (filled) of image `image_name`: its files under
// images/<name>/, a generic image as images/<name>.iso. An empty `title`
// becomes the distro and version, else the image's name.
MenuEntry EntryForImage(const BootRecipe& recipe, std::string_view image_name, std::string_view id,
                        std::string_view title = {});

// For a host whose profile sets next_boot: the same menu, booting that entry
// at once. NotFound when the menu has no entry `entry_id`.
absl::StatusOr<Menu> WithNextBoot(Menu menu, std::string_view entry_id);

// The files PXELINUX asks for, in order (syslinux doc/pxelinux.txt): the
// client UUID when it has one, "01-" and the MAC (lower-case hex, dashes),
// the IPv4 address (host order) as 8 upper-case hex digits then shorter
// prefixes down to 1, and "default"; all under pxelinux.cfg/.
std::vector<std::string> PxelinuxConfigNames(
    const std::array<uint8_t, 6>& mac, uint32_t ipv4,
    const std::optional<std::array<uint8_t, 16>>& uuid = std::nullopt);

// The renderers leave out entries their loader cannot boot and say why in
// `skipped` ("id: why") when given: PXELINUX boots `kernel` over TFTP (paths
// with blanks or commas cannot be written there) and cannot sanboot; GRUB
// boots `efi_kernel` over HTTP and cannot sanboot; iPXE boots everything,
// checking the firmware where an entry has only one of the kernels. A menu
// with nothing left boots the next device.

// pxelinux.cfg/<name>: UI menu.c32 with TIMEOUT and DEFAULT; LINUX (not
// KERNEL: PXELINUX would take a ".bin" kernel for a boot sector) and APPEND
// initrd=... for each entry.
std::string RenderPxelinux(const Menu& menu, std::vector<std::string>* skipped = nullptr);

// grub.cfg for GRUB on UEFI, fetching over HTTP from `http_server` (an HTTP
// authority, see HttpAuthority): GRUB's TFTP asks for 1024-byte blocks one
// at a time, far slower for a 100 MB initrd.
std::string RenderGrub(const Menu& menu, std::string_view http_server,
                       std::vector<std::string>* skipped = nullptr);

// An iPXE script: menu/item/choose, kernel/initrd/boot and sanboot over HTTP
// from `http_server`. iPXE expands ${...} in command lines (its settings),
// never in titles.
std::string RenderIpxe(const Menu& menu, std::string_view http_server,
                       std::vector<std::string>* skipped = nullptr);

}  // namespace stampede::catalog
