#include "control/catalog/iso9660.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <deque>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace stampede::catalog {
namespace {

using Bytes = std::span<const std::byte>;

// ECMA-119 8.1.1: volume descriptor types (El Torito 2.0 names type 0).
constexpr uint8_t kBootRecord = 0;
constexpr uint8_t kPrimary = 1;
constexpr uint8_t kSupplementary = 2;
constexpr uint8_t kPartition = 3;
constexpr uint8_t kTerminator = 255;
// Descriptors read from sector 16 before giving up on a terminator; real
// images have three to five.
constexpr int kMaxVolumeDescriptors = 64;
// ECMA-119 8.4 (and 8.5 for supplementary descriptors): field offsets.
constexpr size_t kVdIdentifier = 1;
constexpr size_t kVdVolumeId = 40;
constexpr size_t kVdVolumeIdLength = 32;
constexpr size_t kVdEscapes = 88;
constexpr size_t kVdBlockSize = 128;
constexpr size_t kVdRootRecord = 156;
constexpr size_t kRootRecordLength = 34;
// ECMA-119 9.1: directory record fields.
constexpr size_t kDrEarLength = 1;
constexpr size_t kDrExtent = 2;
constexpr size_t kDrDataLength = 10;
constexpr size_t kDrDate = 18;
constexpr size_t kDrFlags = 25;
constexpr size_t kDrUnitSize = 26;
constexpr size_t kDrGapSize = 27;
constexpr size_t kDrIdLength = 32;
constexpr size_t kDrId = 33;
constexpr size_t kMinRecordLength = 34;
// ECMA-119 9.1.6: file flags.
constexpr uint8_t kFlagDirectory = 0x02;
constexpr uint8_t kFlagAssociated = 0x04;
constexpr uint8_t kFlagMultiExtent = 0x80;
// Directory bytes read at once.
constexpr uint64_t kDirectoryChunk = 32 * kIsoSectorSize;
// RRIP names and Linux agree on 255-byte names and 4096-byte paths; longer
// ones are left out (they would not fit a request line either).
constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxPathLength = 4096;
// Path bytes kept in all (files, folders, symlinks): bounds memory when an
// image nests long names deep.
constexpr uint64_t kMaxPathBytes = uint64_t{256} << 20;
// Symlinks followed while resolving one (Linux's MAXSYMLINKS), and path
// parts walked while resolving all of them.
constexpr int kMaxSymlinkHops = 40;
constexpr uint64_t kMaxResolveSteps = 16'000'000;
// POSIX file types in RRIP PX modes (RRIP 4.1.1).
constexpr uint32_t kModeTypeMask = 0170000;
constexpr uint32_t kModeRegular = 0100000;
constexpr uint32_t kModeDirectory = 0040000;
constexpr uint32_t kModeSymlink = 0120000;
// El Torito 1.0, 2.0: the boot record names the catalog's sector; 2.1-2.4:
// 32-byte catalog entries.
constexpr std::string_view kElToritoId = "EL TORITO SPECIFICATION";
constexpr size_t kBootSystemId = 7;
constexpr size_t kBootCatalogPointer = 0x47;
constexpr size_t kCatalogEntry = 32;
constexpr uint64_t kMaxCatalogBytes = 4 * kIsoSectorSize;
constexpr size_t kMaxBootImages = 64;
constexpr uint8_t kBootable = 0x88;
constexpr uint8_t kSectionHeader = 0x90;
constexpr uint8_t kFinalSectionHeader = 0x91;
constexpr uint8_t kSectionExtension = 0x44;
constexpr uint8_t kExtensionFollows = 0x20;
constexpr uint8_t kPlatformBios = 0x00;
constexpr uint8_t kPlatformEfi = 0xEF;
constexpr uint64_t kVirtualSector = 512;  // El Torito 2.2: sector count unit

uint8_t U8(Bytes b, size_t i) { return static_cast<uint8_t>(b[i]); }
uint16_t Le16(Bytes b, size_t i) { return static_cast<uint16_t>(U8(b, i) | U8(b, i + 1) << 8); }
uint16_t Be16(Bytes b, size_t i) { return static_cast<uint16_t>(U8(b, i) << 8 | U8(b, i + 1)); }
uint32_t Le32(Bytes b, size_t i) {
  return uint32_t{U8(b, i)} | uint32_t{U8(b, i + 1)} << 8 | uint32_t{U8(b, i + 2)} << 16 |
         uint32_t{U8(b, i + 3)} << 24;
}
std::string_view Chars(Bytes b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

// For warnings: the path as the image has it, control bytes escaped.
std::string Shown(absl::string_view path) { return absl::StrCat("/", absl::CHexEscape(path)); }

std::string Joined(absl::string_view parent, absl::string_view name) {
  return parent.empty() ? std::string(name) : absl::StrCat(parent, "/", name);
}

// Bounds-checked reads; every read ReadIso makes goes through here.
class Reader {
 public:
  Reader(uint64_t size, const ReadAt& read) : size_(size), read_(read) {}
  uint64_t size() const { return size_; }
  bool Contains(uint64_t offset, uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }
  absl::Status Read(uint64_t offset, std::span<std::byte> out) const {
    if (!Contains(offset, out.size())) {
      return absl::OutOfRangeError(absl::StrCat("read of ", out.size(), " bytes at byte ", offset,
                                                " is past the image's end (", size_, " bytes)"));
    }
    if (!read_(offset, out)) {
      return absl::DataLossError(
          absl::StrCat("read of ", out.size(), " bytes at byte ", offset, " failed"));
    }
    return absl::OkStatus();
  }

 private:
  uint64_t size_;
  const ReadAt& read_;
};

// ECMA-119 9.1.5 / 9.4.5: a date of 7 bytes, years from 1900 and an offset
// from GMT in 15-minute steps. 0 when unset or out of range.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int64_t UnixTime(int64_t year, unsigned month, unsigned day, unsigned hour, unsigned minute,
                 unsigned second, int gmt_offset_quarters) {
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return 0;
  }
  if (gmt_offset_quarters < -48 || gmt_offset_quarters > 52) gmt_offset_quarters = 0;
  return DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second -
         int64_t{gmt_offset_quarters} * 900;
}

int64_t ShortTime(Bytes b) {
  if (b.size() < 7) return 0;
  return UnixTime(1900 + U8(b, 0), U8(b, 1), U8(b, 2), U8(b, 3), U8(b, 4), U8(b, 5),
                  static_cast<int8_t>(U8(b, 6)));
}

// ECMA-119 8.4.26.1: "YYYYMMDDHHMMSScc" and the GMT offset byte.
int64_t LongTime(Bytes b) {
  if (b.size() < 17) return 0;
  unsigned digits[16];
  for (size_t i = 0; i < 16; ++i) {
    uint8_t c = U8(b, i);
    if (c < '0' || c > '9') return 0;
    digits[i] = c - '0';
  }
  auto number = [&](size_t from, size_t count) {
    unsigned n = 0;
    for (size_t i = from; i < from + count; ++i) n = n * 10 + digits[i];
    return n;
  };
  unsigned year = number(0, 4);
  if (year == 0) return 0;
  return UnixTime(year, number(4, 2), number(6, 2), number(8, 2), number(10, 2), number(12, 2),
                  static_cast<int8_t>(U8(b, 16)));
}

// ECMA-119 7.5.1: "NAME.EXT;VERSION"; the version and an empty extension's
// dot are not part of the name.
std::string WithoutVersion(std::string name) {
  size_t semi = name.rfind(';');
  if (semi != std::string::npos &&
      std::all_of(name.begin() + static_cast<ptrdiff_t>(semi) + 1, name.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    name.resize(semi);
  }
  return name;
}

std::string PlainName(Bytes id) {
  std::string name = WithoutVersion(std::string(Chars(id)));
  if (name.size() > 1 && name.back() == '.') name.pop_back();
  return name;
}

void AppendUtf8(uint32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | c >> 6);
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | c >> 12);
    out += static_cast<char>(0x80 | (c >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | c >> 18);
    out += static_cast<char>(0x80 | (c >> 12 & 0x3F));
    out += static_cast<char>(0x80 | (c >> 6 & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Joliet: UCS-2 big endian (surrogate pairs, which some writers emit, are
// decoded; a lone surrogate becomes U+FFFD), then the ";1" version dropped.
std::optional<std::string> JolietName(Bytes id) {
  if (id.size() % 2 != 0) return std::nullopt;
  std::string name;
  for (size_t i = 0; i < id.size(); i += 2) {
    uint32_t c = Be16(id, i);
    if (c >= 0xD800 && c < 0xDC00 && i + 3 < id.size()) {
      uint32_t low = Be16(id, i + 2);
      if (low >= 0xDC00 && low < 0xE000) {
        AppendUtf8(0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00), name);
        i += 2;
        continue;
      }
    }
    AppendUtf8(c >= 0xD800 && c < 0xE000 ? 0xFFFD : c, name);
  }
  return WithoutVersion(std::move(name));
}

// "" when `name` can be a path part; else why not.
std::string WhyNotAName(absl::string_view name) {
  if (name.empty()) return "empty name";
  if (name == "." || name == "..") return absl::StrCat("name '", name, "'");
  if (name.size() > kMaxNameLength) {
    return absl::StrCat("name of ", name.size(), " bytes (longest kept: ", kMaxNameLength, ")");
  }
  if (name.find('/') != absl::string_view::npos) return "name with a '/'";
  if (name.find('\0') != absl::string_view::npos) return "name with a NUL byte";
  return "";
}

// ECMA-119 9.1: one directory record.
struct Record {
  uint32_t extent = 0;  // logical block of the extended attribute record or data
  uint8_t ear_blocks = 0;
  uint32_t data_length = 0;
  uint8_t flags = 0;
  uint8_t unit_size = 0;
  uint8_t gap_size = 0;
  Bytes date;
  Bytes id;
  Bytes system_use;

  bool IsDotOrDotDot() const { return id.size() == 1 && U8(id, 0) <= 1; }
  bool IsDirectory() const { return flags & kFlagDirectory; }
  // ECMA-119 6.5.2: the data follows the extended attribute record.
  uint64_t DataOffset(uint32_t block_size) const {
    return (uint64_t{extent} + ear_blocks) * block_size;
  }
};

// `bytes` is exactly the record (its length byte says how long). nullopt and
// `why` when malformed.
std::optional<Record> ParseRecord(Bytes bytes, std::string& why) {
  if (bytes.size() < kMinRecordLength) {
    why = absl::StrCat("directory record of ", bytes.size(), " bytes (34 at least)");
    return std::nullopt;
  }
  size_t id_length = U8(bytes, kDrIdLength);
  if (id_length == 0 || kDrId + id_length > bytes.size()) {
    why = absl::StrCat("name of ", id_length, " bytes in a directory record of ", bytes.size());
    return std::nullopt;
  }
  Record r;
  r.ear_blocks = U8(bytes, kDrEarLength);
  r.extent = Le32(bytes, kDrExtent);
  r.data_length = Le32(bytes, kDrDataLength);
  r.date = bytes.subspan(kDrDate, 7);
  r.flags = U8(bytes, kDrFlags);
  r.unit_size = U8(bytes, kDrUnitSize);
  r.gap_size = U8(bytes, kDrGapSize);
  r.id = bytes.subspan(kDrId, id_length);
  // ECMA-119 9.1.12: a padding byte makes the system use area start even.
  size_t system_use = kDrId + id_length + (id_length % 2 == 0 ? 1 : 0);
  if (system_use < bytes.size()) r.system_use = bytes.subspan(system_use);
  return r;
}

// What SUSP (IEEE P1281) and RRIP (IEEE P1282) entries of one record say.
struct SystemUse {
  uint8_t skip = 0;             // SUSP 5.3 SP's LEN_SKP
  bool rrip_extension = false;  // SUSP 5.5 ER naming RRIP
  bool any_rrip = false;
  bool has_name = false;  // RRIP 4.1.4 NM
  bool name_not_usable = false;
  std::string name;
  std::optional<uint32_t> mode;  // RRIP 4.1.1 PX
  bool has_link = false;         // RRIP 4.1.3 SL
  bool link_absolute = false;
  bool link_host = false;
  bool link_part_continues = false;
  size_t link_bytes = 0;
  std::vector<std::string> link_parts;
  std::optional<uint32_t> child_link;  // RRIP 4.1.5.1 CL
  bool relocated = false;              // RRIP 4.1.5.3 RE
  std::optional<int64_t> mtime;        // RRIP 4.1.6 TF
  bool zisofs = false;                 // AAIP/zisofs ZF: the extent is compressed
};

struct Continuation {
  uint32_t block;
  uint32_t offset;
  uint32_t length;
};

void ParseSymlinkParts(Bytes data, SystemUse& su) {
  // RRIP 4.1.3.1: component records: flags, length, content.
  size_t pos = 0;
  while (data.size() - pos >= 2) {
    uint8_t flags = U8(data, pos);
    size_t length = U8(data, pos + 1);
    if (length > data.size() - pos - 2) break;
    std::string_view content = Chars(data.subspan(pos + 2, length));
    pos += 2 + length;
    su.link_bytes += length + 1;
    if (flags & 0x08 || flags & 0x10) {  // ROOT, VOLROOT
      su.link_absolute = true;
      su.link_parts.clear();
      su.link_part_continues = false;
      continue;
    }
    if (flags & 0x20) su.link_host = true;
    std::string_view part = flags & 0x02 ? "." : flags & 0x04 ? ".." : content;
    if (su.link_part_continues && !su.link_parts.empty()) {
      su.link_parts.back() += part;
    } else {
      su.link_parts.emplace_back(part);
    }
    su.link_part_continues = flags & 0x01;
  }
}

void ParseTimes(Bytes e, SystemUse& su) {
  // RRIP 4.1.6: flags then the stamps present, in bit order; bit 1 MODIFY.
  uint8_t flags = U8(e, 4);
  size_t size = flags & 0x80 ? 17 : 7;
  size_t pos = 5;
  for (int bit = 0; bit < 7; ++bit) {
    if (!(flags & 1 << bit)) continue;
    if (pos + size > e.size()) return;
    if (bit == 1) {
      Bytes stamp = e.subspan(pos, size);
      su.mtime = size == 17 ? LongTime(stamp) : ShortTime(stamp);
    }
    pos += size;
  }
}

// Reads the entries of one system use (or continuation) area into `su`;
// returns the continuation area it points to, if any.
std::optional<Continuation> ParseEntries(Bytes area, SystemUse& su) {
  std::optional<Continuation> next;
  size_t pos = 0;
  while (area.size() - pos >= 4) {
    size_t length = U8(area, pos + 2);
    if (length < 4 || length > area.size() - pos) break;  // padding, or not SUSP
    Bytes e = area.subspan(pos, length);
    pos += length;
    std::string_view sig = Chars(e.first(2));
    if (sig == "CE" && length >= 28) {
      next = Continuation{Le32(e, 4), Le32(e, 12), Le32(e, 20)};
    } else if (sig == "ST") {
      break;
    } else if (sig == "SP" && length >= 7 && U8(e, 4) == 0xBE && U8(e, 5) == 0xEF) {
      su.skip = U8(e, 6);
    } else if (sig == "ER" && length >= 8) {
      size_t id_length = U8(e, 4);
      if (8 + id_length <= length) {
        std::string_view id = Chars(e.subspan(8, id_length));
        if (id == "RRIP_1991A" || id == "IEEE_P1282" || id == "IEEE_1282") {
          su.rrip_extension = true;
        }
      }
    } else if (sig == "PX" && length >= 36) {
      su.any_rrip = true;
      su.mode = Le32(e, 4);
    } else if (sig == "NM" && length >= 5) {
      su.any_rrip = true;
      su.has_name = true;
      if (U8(e, 4) & 0x26) su.name_not_usable = true;  // CURRENT, PARENT, HOST
      if (su.name.size() <= kMaxNameLength) su.name += Chars(e.subspan(5));
    } else if (sig == "SL" && length >= 5) {
      su.any_rrip = true;
      su.has_link = true;
      ParseSymlinkParts(e.subspan(5), su);
    } else if (sig == "TF" && length >= 5) {
      su.any_rrip = true;
      ParseTimes(e, su);
    } else if (sig == "CL" && length >= 12) {
      su.child_link = Le32(e, 4);
    } else if (sig == "RE") {
      su.relocated = true;
    } else if (sig == "ZF") {
      su.zisofs = true;
    } else if (sig == "RR") {
      su.any_rrip = true;
    }
  }
  return next;
}

enum class Names { kRockRidge, kJoliet, kPlain };

const char* NamesFrom(Names names) {
  switch (names) {
    case Names::kRockRidge:
      return "rock_ridge";
    case Names::kJoliet:
      return "joliet";
    case Names::kPlain:
      break;
  }
  return "iso9660";
}

// A volume descriptor's tree: its root folder and block size.
struct Volume {
  uint32_t block_size = 0;
  uint64_t root_offset = 0;
  uint64_t root_size = 0;
};

struct Descriptors {
  std::optional<Volume> primary;
  std::optional<Volume> joliet;
  std::optional<uint32_t> boot_catalog;
  std::string volume_id;
};

struct FolderToRead {
  std::string path;
  uint64_t offset;
  uint64_t size;
  int depth;
};

// A multi-extent file being gathered from consecutive records.
struct PendingFile {
  std::string path;
  std::string raw_id;
  std::vector<Extent> extents;
  int64_t mtime_s = 0;
};

struct RawSymlink {
  std::string path;
  std::string folder;
  std::vector<std::string> parts;
  bool absolute = false;
  bool host = false;
};

enum class Kind { kFile, kFolder, kSymlink };

struct Node {
  Kind kind;
  size_t symlink = 0;  // index into the raw symlinks when kSymlink
};

class IsoReader {
 public:
  IsoReader(const Reader& reader, const IsoLimits& limits) : reader_(reader), limits_(limits) {}

  absl::StatusOr<IsoImage> Run();

 private:
  void Warn(absl::string_view path, absl::string_view what);
  bool ReadOrStop(uint64_t offset, std::span<std::byte> out);
  bool Charge(uint64_t bytes);
  absl::StatusOr<Descriptors> ReadDescriptors();
  absl::Status OnDescriptor(Bytes vd, uint64_t number, Descriptors& d);
  absl::Status ReadVolume(Bytes descriptor, Volume& volume) const;
  bool HasRockRidge(const Volume& volume);
  void ReadSystemUse(Bytes area, absl::string_view path, SystemUse& su);
  bool ReadContinuation(const Continuation& ce, absl::string_view path,
                        std::vector<std::byte>& out);
  void Walk(uint64_t root_offset, uint64_t root_size);
  void ReadFolder(const FolderToRead& folder);
  void ReadSector(const FolderToRead& folder, Bytes sector, uint64_t at);
  void OnRecord(const FolderToRead& folder, const Record& record);
  bool ContinuePending(const Record& record);
  std::optional<std::string> PathOf(const FolderToRead& folder, const Record& record,
                                    SystemUse& su);
  void OnSymlink(const FolderToRead& folder, std::string path, SystemUse& su);
  void OnFile(std::string path, const Record& record, const SystemUse& su);
  void OnFolder(const FolderToRead& parent, std::string path, const Record& record,
                const SystemUse& su);
  bool AddNode(const std::string& path, Node node);
  void FinishFile(PendingFile file);
  void DropPending(absl::string_view why);
  void ResolveSymlinks();
  std::optional<std::string> Resolve(const RawSymlink& link, std::string& why);
  void ReadBootCatalog(uint32_t sector);
  void AddBootImage(uint8_t platform, Bytes entry);
  const IsoFile* FileStartingAt(uint64_t offset);

  const Reader& reader_;
  const IsoLimits& limits_;
  IsoImage image_;
  absl::Status io_error_;
  bool stopped_ = false;
  size_t warnings_left_out_ = 0;
  Names names_ = Names::kPlain;
  uint32_t block_size_ = kIsoSectorSize;
  uint8_t skip_ = 0;
  uint64_t directory_bytes_ = 0;
  uint64_t path_bytes_ = 0;
  uint64_t resolve_steps_ = 0;
  absl::flat_hash_set<uint64_t> folders_seen_;
  absl::flat_hash_map<std::string, Node> nodes_;
  std::vector<RawSymlink> raw_symlinks_;
  std::optional<PendingFile> pending_;
  std::vector<FolderToRead> to_read_;
  // The last continuation block read: records of one folder mostly share it.
  uint64_t cached_block_ = UINT64_MAX;
  std::vector<std::byte> cache_;
  absl::flat_hash_map<uint64_t, size_t> file_at_;  // first extent -> first file by path
};

void IsoReader::Warn(absl::string_view path, absl::string_view what) {
  if (image_.warnings.size() >= limits_.max_warnings) {
    ++warnings_left_out_;
    return;
  }
  image_.warnings.push_back(absl::StrCat(Shown(path), ": ", what));
}

bool IsoReader::ReadOrStop(uint64_t offset, std::span<std::byte> out) {
  absl::Status status = reader_.Read(offset, out);
  if (status.ok()) return true;
  if (io_error_.ok()) io_error_ = std::move(status);
  stopped_ = true;
  return false;
}

// Counts directory bytes read; false (once warned) when over the limit.
bool IsoReader::Charge(uint64_t bytes) {
  if (bytes >
      limits_.max_directory_bytes - std::min(directory_bytes_, limits_.max_directory_bytes)) {
    Warn("", absl::StrCat("more than ", limits_.max_directory_bytes,
                          " bytes of directories; the rest of the tree is left out"));
    stopped_ = true;
    return false;
  }
  directory_bytes_ += bytes;
  return true;
}

absl::Status IsoReader::ReadVolume(Bytes vd, Volume& volume) const {
  uint32_t block_size = Le16(vd, kVdBlockSize);
  if (block_size != 512 && block_size != 1024 && block_size != 2048) {
    return absl::InvalidArgumentError(
        absl::StrCat("logical block size ", block_size, " (ECMA-119 6.1.2: 512, 1024 or 2048)"));
  }
  // ECMA-119 8.4.18: the root's record is always 34 bytes here.
  std::string why;
  std::optional<Record> record = ParseRecord(vd.subspan(kVdRootRecord, kRootRecordLength), why);
  if (!record || !record->IsDirectory()) {
    return absl::InvalidArgumentError("root directory record is not a directory's");
  }
  volume.block_size = block_size;
  volume.root_offset = record->DataOffset(block_size);
  volume.root_size = record->data_length;
  if (!reader_.Contains(volume.root_offset, volume.root_size) || volume.root_size == 0) {
    return absl::InvalidArgumentError(absl::StrCat("root folder (", volume.root_size,
                                                   " bytes at byte ", volume.root_offset,
                                                   ") is not inside the image"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Descriptors> IsoReader::ReadDescriptors() {
  Descriptors d;
  std::vector<std::byte> sector(kIsoSectorSize);
  bool terminated = false;
  bool ended = false;  // the set ended early, and a warning said so
  for (int i = 0; i < kMaxVolumeDescriptors && !terminated && !ended; ++i) {
    uint64_t number = kIsoFirstDescriptorSector + static_cast<uint64_t>(i);
    uint64_t offset = number * kIsoSectorSize;
    if (!reader_.Contains(offset, kIsoSectorSize)) {
      if (i == 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "not an ISO 9660 image: ", reader_.size(),
            " bytes end before the volume descriptor at sector 16 (byte ", offset, ") does"));
      }
      Warn("", absl::StrCat("volume descriptors run to the image's end at sector ", number,
                            " without a terminator"));
      ended = true;
      break;
    }
    if (absl::Status status = reader_.Read(offset, sector); !status.ok()) return status;
    Bytes vd = sector;
    if (Chars(vd.subspan(kVdIdentifier, 5)) != "CD001") {
      if (i == 0) {
        return absl::InvalidArgumentError(
            "not an ISO 9660 image: sector 16 is not a volume descriptor (no \"CD001\")");
      }
      Warn("", absl::StrCat("sector ", number,
                            " is not a volume descriptor and no terminator came before it"));
      ended = true;
      break;
    }
    terminated = U8(vd, 0) == kTerminator;
    if (absl::Status status = OnDescriptor(vd, number, d); !status.ok()) return status;
  }
  if (!terminated && !ended && d.primary) {
    Warn("", absl::StrCat("no volume descriptor terminator in ", kMaxVolumeDescriptors,
                          " sectors from sector 16"));
  }
  if (!d.primary) {
    return absl::InvalidArgumentError("no primary volume descriptor from sector 16 on");
  }
  return d;
}

absl::Status IsoReader::OnDescriptor(Bytes vd, uint64_t number, Descriptors& d) {
  switch (U8(vd, 0)) {
    case kPrimary:
      if (d.primary) break;
      d.primary.emplace();
      if (absl::Status status = ReadVolume(vd, *d.primary); !status.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("primary volume descriptor (sector ", number, "): ", status.message()));
      }
      d.volume_id = std::string(Chars(vd.subspan(kVdVolumeId, kVdVolumeIdLength)));
      d.volume_id.erase(d.volume_id.find_last_not_of(std::string_view(" \0", 2)) + 1);
      break;
    case kSupplementary: {
      // Joliet: escape sequence %/@, %/C or %/E (UCS-2 levels 1-3).
      std::string_view escapes = Chars(vd.subspan(kVdEscapes, 3));
      if (d.joliet || (escapes != "%/@" && escapes != "%/C" && escapes != "%/E")) break;
      Volume joliet;
      if (absl::Status status = ReadVolume(vd, joliet); !status.ok()) {
        Warn("", absl::StrCat("Joliet volume descriptor (sector ", number, "): ", status.message(),
                              "; Joliet names not used"));
      } else {
        d.joliet = joliet;
      }
      break;
    }
    case kBootRecord:
      if (!d.boot_catalog && Chars(vd.subspan(kBootSystemId, kElToritoId.size())) == kElToritoId) {
        d.boot_catalog = Le32(vd, kBootCatalogPointer);
      }
      break;
    case kPartition:
    case kTerminator:
      break;
    default:
      Warn("", absl::StrCat("volume descriptor at sector ", number, " has unknown type ", U8(vd, 0),
                            "; skipped"));
  }
  return absl::OkStatus();
}

bool IsoReader::ReadContinuation(const Continuation& ce, absl::string_view path,
                                 std::vector<std::byte>& out) {
  // SUSP 5.1: a continuation area lies inside one logical block.
  if (ce.length == 0) return false;
  if (ce.offset >= block_size_ || ce.length > block_size_ - ce.offset) {
    Warn(path, absl::StrCat("continuation area (", ce.length, " bytes at ", ce.offset,
                            ") runs past its block; ignored"));
    return false;
  }
  uint64_t block = uint64_t{ce.block} * block_size_;
  if (!reader_.Contains(block + ce.offset, ce.length)) {
    Warn(path, absl::StrCat("continuation area at byte ", block + ce.offset,
                            " is outside the image; ignored"));
    return false;
  }
  if (!Charge(ce.length)) return false;
  Bytes area;
  if (reader_.Contains(block, block_size_)) {
    if (cached_block_ != block) {
      cache_.resize(block_size_);
      cached_block_ = UINT64_MAX;
      if (!ReadOrStop(block, cache_)) return false;
      cached_block_ = block;
    }
    area = Bytes(cache_).subspan(ce.offset, ce.length);
    out.assign(area.begin(), area.end());
    return true;
  }
  out.resize(ce.length);
  return ReadOrStop(block + ce.offset, out);
}

void IsoReader::ReadSystemUse(Bytes area, absl::string_view path, SystemUse& su) {
  std::vector<std::byte> continuation;
  for (int hops = 0;; ++hops) {
    std::optional<Continuation> ce = ParseEntries(area, su);
    if (!ce) return;
    if (hops >= limits_.max_continuation_hops) {
      Warn(path, absl::StrCat("more than ", limits_.max_continuation_hops,
                              " continuation areas; the rest are ignored"));
      return;
    }
    if (!ReadContinuation(*ce, path, continuation)) return;
    area = continuation;
  }
}

// Rock Ridge is used when the root's "." record starts with SUSP's SP entry
// and an ER entry or RRIP entries follow (RRIP 1.09 images have no ER).
bool IsoReader::HasRockRidge(const Volume& volume) {
  std::vector<std::byte> sector(std::min<uint64_t>(volume.root_size, kIsoSectorSize));
  if (!Charge(sector.size()) || !ReadOrStop(volume.root_offset, sector)) return false;
  Bytes bytes = sector;
  if (U8(bytes, 0) > bytes.size()) return false;
  std::string why;
  std::optional<Record> dot = ParseRecord(bytes.first(U8(bytes, 0)), why);
  if (!dot || !dot->IsDotOrDotDot() || dot->system_use.size() < 7) return false;
  Bytes sp = dot->system_use;
  if (Chars(sp.first(2)) != "SP" || U8(sp, 2) < 7 || U8(sp, 4) != 0xBE || U8(sp, 5) != 0xEF) {
    return false;
  }
  SystemUse su;
  ReadSystemUse(dot->system_use, "", su);
  skip_ = su.skip;
  return su.rrip_extension || su.any_rrip;
}

absl::StatusOr<IsoImage> IsoReader::Run() {
  absl::StatusOr<Descriptors> d = ReadDescriptors();
  if (!d.ok()) return d.status();
  image_.volume_id = d->volume_id;
  Volume tree = *d->primary;
  block_size_ = tree.block_size;
  if (HasRockRidge(tree)) {
    names_ = Names::kRockRidge;
  } else if (d->joliet) {
    names_ = Names::kJoliet;
    tree = *d->joliet;
    block_size_ = tree.block_size;
  }
  if (!io_error_.ok()) return io_error_;
  image_.names_from = NamesFrom(names_);
  Walk(tree.root_offset, tree.root_size);
  if (!io_error_.ok()) return io_error_;
  std::sort(image_.files.begin(), image_.files.end(),
            [](const IsoFile& a, const IsoFile& b) { return a.path < b.path; });
  ResolveSymlinks();
  if (d->boot_catalog) ReadBootCatalog(*d->boot_catalog);
  if (!io_error_.ok()) return io_error_;
  if (warnings_left_out_ > 0) {
    image_.warnings.push_back(absl::StrCat(warnings_left_out_, " more warnings left out"));
  }
  return std::move(image_);
}

void IsoReader::Walk(uint64_t root_offset, uint64_t root_size) {
  folders_seen_.insert(root_offset);
  nodes_.emplace("", Node{Kind::kFolder});
  to_read_.push_back(FolderToRead{"", root_offset, root_size, 0});
  while (!to_read_.empty() && !stopped_) {
    FolderToRead folder = std::move(to_read_.back());
    to_read_.pop_back();
    ReadFolder(folder);
  }
}

void IsoReader::ReadFolder(const FolderToRead& folder) {
  // ECMA-119 6.8.1.1: records never cross the end of a logical sector (of
  // the volume: a folder in 512-byte blocks may start inside one). Chunks
  // end at sector ends.
  std::vector<std::byte> chunk;
  for (uint64_t done = 0; done < folder.size && !stopped_;) {
    uint64_t start = folder.offset + done;
    uint64_t length = std::min(folder.size - done, kDirectoryChunk - start % kIsoSectorSize);
    if (!Charge(length)) return;
    chunk.resize(length);
    if (!ReadOrStop(start, chunk)) return;
    for (uint64_t at = 0; at < length && !stopped_;) {
      uint64_t piece = std::min(kIsoSectorSize - (start + at) % kIsoSectorSize, length - at);
      ReadSector(folder, Bytes(chunk).subspan(at, piece), done + at);
      at += piece;
    }
    done += length;
  }
  if (pending_) DropPending("the folder ends before its last part");
}

void IsoReader::ReadSector(const FolderToRead& folder, Bytes sector, uint64_t at) {
  size_t pos = 0;
  while (pos < sector.size() && !stopped_) {
    size_t length = U8(sector, pos);
    if (length == 0) return;  // the rest of the sector is unused
    if (length > sector.size() - pos || length < kMinRecordLength) {
      // Where the next record starts is anybody's guess.
      Warn(folder.path,
           absl::StrCat("directory record of ", length, " bytes at byte ", at + pos,
                        " of the folder ",
                        length < kMinRecordLength ? "(34 at least)" : "runs past its sector",
                        "; rest of the sector skipped"));
      return;
    }
    std::string why;
    std::optional<Record> record = ParseRecord(sector.subspan(pos, length), why);
    if (!record) {
      Warn(folder.path, absl::StrCat(why, " at byte ", at + pos, " of the folder; skipped"));
    } else {
      OnRecord(folder, *record);
    }
    pos += length;
  }
}

void IsoReader::DropPending(absl::string_view why) {
  Warn(pending_->path, absl::StrCat("multi-extent file left out: ", why));
  pending_.reset();
}

void IsoReader::OnRecord(const FolderToRead& folder, const Record& record) {
  if (record.IsDotOrDotDot() || record.flags & kFlagAssociated) return;
  if (pending_ && ContinuePending(record)) return;
  SystemUse su;
  std::optional<std::string> path = PathOf(folder, record, su);
  if (!path) return;
  if (su.child_link || record.IsDirectory()) {
    OnFolder(folder, std::move(*path), record, su);
    return;
  }
  uint32_t type = su.mode.value_or(kModeRegular) & kModeTypeMask;
  if (su.has_link || type == kModeSymlink) {
    OnSymlink(folder, std::move(*path), su);
  } else if (type != kModeRegular && type != kModeDirectory) {
    Warn(*path, absl::StrFormat("not a regular file (mode 0%o); left out", type));
  } else {
    OnFile(std::move(*path), record, su);
  }
}

// ECMA-119 6.5.1: consecutive records of one name, all but the last flagged
// multi-extent, are one file. False when `record` is not the next part.
bool IsoReader::ContinuePending(const Record& record) {
  if (Chars(record.id) != pending_->raw_id || record.IsDirectory()) {
    DropPending("a record of another name comes before its last part");
    return false;
  }
  pending_->extents.push_back(Extent{record.DataOffset(block_size_), record.data_length});
  if (!(record.flags & kFlagMultiExtent)) {
    PendingFile file = std::move(*pending_);
    pending_.reset();
    FinishFile(std::move(file));
  }
  return true;
}

// The record's path by the naming scheme in use (its SUSP entries into
// `su` for Rock Ridge); nullopt when it is left out.
std::optional<std::string> IsoReader::PathOf(const FolderToRead& folder, const Record& record,
                                             SystemUse& su) {
  std::string name;
  if (names_ == Names::kRockRidge) {
    Bytes area = record.system_use.subspan(std::min<size_t>(skip_, record.system_use.size()));
    ReadSystemUse(area, Joined(folder.path, PlainName(record.id)), su);
    if (stopped_ || su.relocated) return std::nullopt;  // RRIP 4.1.5.3: reached through CL
    name = su.name_not_usable ? "." : su.has_name ? su.name : PlainName(record.id);
  } else if (names_ == Names::kJoliet) {
    std::optional<std::string> joliet = JolietName(record.id);
    if (!joliet) {
      Warn(folder.path, "Joliet name of an odd number of bytes; left out");
      return std::nullopt;
    }
    name = std::move(*joliet);
  } else {
    name = PlainName(record.id);
  }
  if (std::string why = WhyNotAName(name); !why.empty()) {
    Warn(Joined(folder.path, name), absl::StrCat(why, "; left out"));
    return std::nullopt;
  }
  std::string path = Joined(folder.path, name);
  if (path.size() > kMaxPathLength) {
    Warn(path.substr(0, 64), absl::StrCat("path of ", path.size(),
                                          " bytes (longest kept: ", kMaxPathLength, "); left out"));
    return std::nullopt;
  }
  return path;
}

void IsoReader::OnSymlink(const FolderToRead& folder, std::string path, SystemUse& su) {
  if (!su.has_link || su.link_bytes > kMaxPathLength) {
    Warn(path, "symlink without a usable target (SL); left out");
    return;
  }
  if (!AddNode(path, Node{Kind::kSymlink, raw_symlinks_.size()})) return;
  raw_symlinks_.push_back(RawSymlink{std::move(path), folder.path, std::move(su.link_parts),
                                     su.link_absolute, su.link_host});
}

void IsoReader::OnFile(std::string path, const Record& record, const SystemUse& su) {
  if (su.zisofs) {
    Warn(path, "zisofs-compressed (ZF): its extents hold compressed bytes; left out");
    return;
  }
  if (record.unit_size != 0 || record.gap_size != 0) {
    Warn(path, "interleaved file (ECMA-119 6.4.3); left out");
    return;
  }
  PendingFile file{std::move(path),
                   std::string(Chars(record.id)),
                   {Extent{record.DataOffset(block_size_), record.data_length}},
                   su.mtime.value_or(ShortTime(record.date))};
  if (record.flags & kFlagMultiExtent) {
    pending_ = std::move(file);
  } else {
    FinishFile(std::move(file));
  }
}

void IsoReader::OnFolder(const FolderToRead& parent, std::string path, const Record& record,
                         const SystemUse& su) {
  uint64_t offset = record.DataOffset(block_size_);
  uint64_t size = record.data_length;
  if (su.child_link) {
    // RRIP 4.1.5.1: the folder was moved; its "." record gives its size.
    offset = uint64_t{*su.child_link} * block_size_;
    std::vector<std::byte> head(kMinRecordLength);
    if (!reader_.Contains(offset, head.size())) {
      Warn(path, absl::StrCat("relocated folder at byte ", offset, " is outside the image"));
      return;
    }
    if (!Charge(head.size()) || !ReadOrStop(offset, head)) return;
    std::string why;
    std::optional<Record> dot = ParseRecord(Bytes(head).first(kMinRecordLength), why);
    if (!dot || !dot->IsDotOrDotDot() || !dot->IsDirectory()) {
      Warn(path, "relocated folder (CL) does not start with a '.' record; left out");
      return;
    }
    offset = dot->DataOffset(block_size_);
    size = dot->data_length;
  }
  if (!AddNode(path, Node{Kind::kFolder})) return;
  if (size == 0) return;
  if (parent.depth + 1 > limits_.max_depth) {
    Warn(path, absl::StrCat("folder deeper than ", limits_.max_depth, " levels; not read"));
    return;
  }
  if (!reader_.Contains(offset, size)) {
    Warn(path, absl::StrCat("folder extent (", size, " bytes at byte ", offset,
                            ") ends past the image (", reader_.size(), " bytes); not read"));
    return;
  }
  if (!folders_seen_.insert(offset).second) {
    Warn(path, absl::StrCat("folder at byte ", offset,
                            " was read before (a folder loop); not read again"));
    return;
  }
  to_read_.push_back(FolderToRead{std::move(path), offset, size, parent.depth + 1});
}

// Files and symlinks count against max_files; folders (which a file usually
// fills) against twice that.
bool IsoReader::AddNode(const std::string& path, Node node) {
  bool full = node.kind == Kind::kFolder
                  ? nodes_.size() > 2 * limits_.max_files
                  : image_.files.size() + raw_symlinks_.size() >= limits_.max_files;
  if (full || path_bytes_ + path.size() > kMaxPathBytes) {
    Warn("", absl::StrCat("more than ", limits_.max_files, " files (or ", kMaxPathBytes,
                          " bytes of paths); the rest of the image is left out"));
    stopped_ = true;
    return false;
  }
  if (!nodes_.emplace(path, node).second) {
    Warn(path, "a second entry of the same name; left out");
    return false;
  }
  path_bytes_ += path.size();
  return true;
}

void IsoReader::FinishFile(PendingFile file) {
  std::vector<Extent> extents;
  uint64_t size = 0;
  for (const Extent& e : file.extents) {
    if (e.length == 0) continue;
    if (!reader_.Contains(e.offset, e.length)) {
      Warn(file.path, absl::StrCat("extent of ", e.length, " bytes at byte ", e.offset,
                                   " ends past the image (", reader_.size(), " bytes); left out"));
      return;
    }
    extents.push_back(e);
    size += e.length;
  }
  std::vector<Extent> sorted = extents;
  std::sort(sorted.begin(), sorted.end(),
            [](const Extent& a, const Extent& b) { return a.offset < b.offset; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i - 1].offset + sorted[i - 1].length > sorted[i].offset) {
      Warn(file.path, absl::StrCat("extents overlap at byte ", sorted[i].offset, "; left out"));
      return;
    }
  }
  if (!AddNode(file.path, Node{Kind::kFile})) return;
  image_.files.push_back(IsoFile{std::move(file.path), std::move(extents), size, file.mtime_s});
}

std::optional<std::string> IsoReader::Resolve(const RawSymlink& link, std::string& why) {
  std::string current = link.absolute ? "" : link.folder;
  std::deque<std::string> todo(link.parts.begin(), link.parts.end());
  if (link.host) {
    why = "names another host";
    return std::nullopt;
  }
  if (link.parts.empty() && !link.absolute) {
    why = "is empty";
    return std::nullopt;
  }
  int hops = 0;
  while (!todo.empty()) {
    if (++resolve_steps_ > kMaxResolveSteps) {
      why = "left unresolved: too much work resolving symlinks";
      return std::nullopt;
    }
    std::string part = std::move(todo.front());
    todo.pop_front();
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (current.empty()) {
        why = "climbs above the image's root";
        return std::nullopt;
      }
      size_t slash = current.rfind('/');
      current.resize(slash == std::string::npos ? 0 : slash);
      continue;
    }
    std::string next = Joined(current, part);
    if (next.size() > kMaxPathLength) {
      why = "leads to too long a path";
      return std::nullopt;
    }
    auto it = nodes_.find(next);
    if (it == nodes_.end()) {
      why = absl::StrCat("leads to ", Shown(next), ", which is not in the image");
      return std::nullopt;
    }
    if (it->second.kind == Kind::kFile && !todo.empty()) {
      why = absl::StrCat("goes through ", Shown(next), ", a file");
      return std::nullopt;
    }
    if (it->second.kind != Kind::kSymlink) {
      current = std::move(next);
      continue;
    }
    const RawSymlink& via = raw_symlinks_[it->second.symlink];
    if (++hops > kMaxSymlinkHops || via.host) {
      why = hops > kMaxSymlinkHops ? "goes round symlinks in circles" : "names another host";
      return std::nullopt;
    }
    if (via.absolute) current.clear();
    todo.insert(todo.begin(), via.parts.begin(), via.parts.end());
  }
  return current.empty() ? "." : current;
}

void IsoReader::ResolveSymlinks() {
  for (const RawSymlink& link : raw_symlinks_) {
    std::string why;
    std::optional<std::string> target = Resolve(link, why);
    std::string shown = absl::StrCat(link.absolute ? "/" : "", absl::StrJoin(link.parts, "/"));
    if (!target) {
      Warn(link.path,
           absl::StrCat("symlink to '", absl::CHexEscape(shown), "' ", why, "; left out"));
      continue;
    }
    image_.symlinks.push_back(IsoSymlink{link.path, std::move(*target)});
  }
  std::sort(image_.symlinks.begin(), image_.symlinks.end(),
            [](const IsoSymlink& a, const IsoSymlink& b) { return a.path < b.path; });
}

const IsoFile* IsoReader::FileStartingAt(uint64_t offset) {
  if (file_at_.empty()) {
    for (size_t i = 0; i < image_.files.size(); ++i) {
      if (!image_.files[i].extents.empty()) {
        file_at_.emplace(image_.files[i].extents.front().offset, i);
      }
    }
  }
  auto it = file_at_.find(offset);
  return it == file_at_.end() ? nullptr : &image_.files[it->second];
}

void IsoReader::AddBootImage(uint8_t platform, Bytes entry) {
  if (U8(entry, 0) != kBootable) return;
  if (image_.boot_images.size() >= kMaxBootImages) {
    Warn("",
         absl::StrCat("boot catalog lists more than ", kMaxBootImages, " images; rest left out"));
    return;
  }
  BootImage boot;
  boot.platform = platform == kPlatformBios  ? BootImage::Platform::kBios
                  : platform == kPlatformEfi ? BootImage::Platform::kEfi
                                             : BootImage::Platform::kOther;
  uint32_t rba = Le32(entry, 8);
  uint16_t sectors = Le16(entry, 6);
  boot.offset = uint64_t{rba} * kIsoSectorSize;
  // El Torito 2.2 media type: 1-3 are 1.2, 1.44 and 2.88 MB floppies.
  static constexpr uint64_t kFloppyBytes[] = {0, 1'228'800, 1'474'560, 2'949'120};
  uint8_t media = U8(entry, 1) & 0x0F;
  boot.length = media >= 1 && media <= 3 ? kFloppyBytes[media] : sectors * kVirtualSector;
  if (const IsoFile* file = FileStartingAt(boot.offset)) {
    boot.path = file->path;
    // xorriso and others write 0 or 1 for EFI images and leave the real size
    // to the file.
    if (boot.platform == BootImage::Platform::kEfi && sectors <= 1) boot.length = file->size;
  }
  std::string where = absl::StrCat("boot image at sector ", rba);
  if (boot.length == 0) {
    Warn("", absl::StrCat(where, " has no length; left out"));
    return;
  }
  if (!reader_.Contains(boot.offset, boot.length)) {
    Warn("", absl::StrCat(where, " (", boot.length, " bytes) ends past the image; left out"));
    return;
  }
  image_.boot_images.push_back(std::move(boot));
}

void IsoReader::ReadBootCatalog(uint32_t sector) {
  uint64_t offset = uint64_t{sector} * kIsoSectorSize;
  if (!reader_.Contains(offset, 2 * kCatalogEntry)) {
    Warn("", absl::StrCat("El Torito boot catalog at sector ", sector,
                          " is outside the image; no boot images"));
    return;
  }
  std::vector<std::byte> bytes(std::min(kMaxCatalogBytes, reader_.size() - offset));
  if (!ReadOrStop(offset, bytes)) return;
  Bytes catalog = bytes;
  // El Torito 2.1: the validation entry: header 1, key bytes 55 AA, and its
  // 16-bit words summing to zero.
  Bytes validation = catalog.first(kCatalogEntry);
  uint16_t sum = 0;
  for (size_t i = 0; i < kCatalogEntry; i += 2)
    sum = static_cast<uint16_t>(sum + Le16(validation, i));
  if (U8(validation, 0) != 1 || U8(validation, 30) != 0x55 || U8(validation, 31) != 0xAA ||
      sum != 0) {
    Warn("", absl::StrCat("El Torito boot catalog at sector ", sector,
                          " has a bad validation entry (header, key bytes or checksum); "
                          "no boot images"));
    return;
  }
  size_t entries = catalog.size() / kCatalogEntry;
  auto entry = [&](size_t i) { return catalog.subspan(i * kCatalogEntry, kCatalogEntry); };
  AddBootImage(U8(validation, 1), entry(1));  // 2.2: the initial/default entry
  // 2.3-2.5: section headers, each followed by its section entries (and
  // their extension entries).
  for (size_t i = 2; i < entries;) {
    Bytes header = entry(i++);
    uint8_t indicator = U8(header, 0);
    if (indicator != kSectionHeader && indicator != kFinalSectionHeader) break;
    uint8_t platform = U8(header, 1);
    for (uint16_t n = Le16(header, 2); n > 0 && i < entries; --n) {
      Bytes section = entry(i++);
      AddBootImage(platform, section);
      bool more = U8(section, 1) & kExtensionFollows;
      while (more && i < entries && U8(entry(i), 0) == kSectionExtension) {
        more = U8(entry(i++), 1) & kExtensionFollows;
      }
    }
    if (indicator == kFinalSectionHeader) break;
  }
}

}  // namespace

absl::StatusOr<IsoImage> ReadIso(uint64_t image_size, const ReadAt& read, const IsoLimits& limits) {
  Reader reader(image_size, read);
  return IsoReader(reader, limits).Run();
}

absl::StatusOr<IsoImage> ReadIsoFile(const std::string& path, const IsoLimits& limits) {
  auto failed = [&](absl::string_view what) {
    int error = errno;
    return absl::ErrnoToStatus(error, absl::StrCat(path, ": ", what));
  };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failed("cannot open");
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) return failed("cannot stat");
  uint64_t size = 0;
  if (S_ISREG(st.st_mode)) {
    size = static_cast<uint64_t>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    off_t end = lseek(fd, 0, SEEK_END);
    if (end < 0) return failed("cannot find the device's size");
    size = static_cast<uint64_t>(end);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a file or block device"));
  }
  ReadAt read = [fd](uint64_t offset, std::span<std::byte> out) {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n =
          pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  };
  absl::StatusOr<IsoImage> image = ReadIso(size, read, limits);
  if (!image.ok()) {
    return absl::Status(image.status().code(), absl::StrCat(path, ": ", image.status().message()));
  }
  return image;
}

}  // namespace stampede::catalog
