#include "dataplane/http/response.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace stampede::http {
namespace {

constexpr std::string_view kDate = "Sun, 06 Nov 1994 08:49:37 GMT";

// A response head read back: status and fields (names lower-cased).
struct ParsedHead {
  int status = 0;
  std::string reason;
  std::map<std::string, std::string> fields;
};

ParsedHead ReadHead(std::string_view head) {
  ParsedHead parsed;
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  EXPECT_TRUE(line.starts_with("HTTP/1.1 "));
  parsed.status = std::stoi(std::string(line.substr(9, 3)));
  parsed.reason = std::string(line.substr(13));
  head.remove_prefix(eol + 2);
  while (!head.starts_with("\r\n")) {
    eol = head.find("\r\n");
    std::string_view field = head.substr(0, eol);
    size_t colon = field.find(": ");
    std::string name(field.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(c));
    EXPECT_FALSE(parsed.fields.contains(name)) << name;
    parsed.fields[name] = std::string(field.substr(colon + 2));
    head.remove_prefix(eol + 2);
  }
  return parsed;
}

TEST(ResponseTest, BuildsA206Head) {
  ResponseHead head;
  head.status = 206;
  head.date = kDate;
  head.content_length = 100;
  head.content_range = ContentRange{false, 5000000000, 5000000099, 6000000000};
  head.content_type = "application/x-iso9660-image";
  head.etag = "\"1-2-3-4-5\"";
  head.last_modified = kDate;
  head.accept_ranges = true;
  head.keep_alive = true;
  EXPECT_EQ(BuildResponseHead(head),
            "HTTP/1.1 206 Partial Content\r\n"
            "Server: stampede\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Content-Type: application/x-iso9660-image\r\n"
            "Content-Length: 100\r\n"
            "Content-Range: bytes 5000000000-5000000099/6000000000\r\n"
            "Accept-Ranges: bytes\r\n"
            "Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "ETag: \"1-2-3-4-5\"\r\n"
            "Connection: keep-alive\r\n\r\n");
}

TEST(ResponseTest, RoundTripsEveryField) {
  for (int status : {200, 206, 304, 400, 404, 405, 414, 416, 431, 501, 503, 505}) {
    for (bool keep_alive : {false, true}) {
      ResponseHead head;
      head.status = status;
      head.date = kDate;
      if (status != 304) head.content_length = static_cast<uint64_t>(status) * 7;
      if (status == 416) head.content_range = ContentRange{true, 0, 0, 1234};
      if (status == 405) head.allow = "GET, HEAD";
      head.keep_alive = keep_alive;
      ParsedHead parsed = ReadHead(BuildResponseHead(head));
      EXPECT_EQ(parsed.status, status);
      EXPECT_EQ(parsed.reason, ReasonPhrase(status));
      EXPECT_NE(parsed.reason, "Unknown");
      EXPECT_EQ(parsed.fields["server"], "stampede");
      EXPECT_EQ(parsed.fields["date"], kDate);
      EXPECT_EQ(parsed.fields["connection"], keep_alive ? "keep-alive" : "close");
      EXPECT_EQ(parsed.fields.contains("content-length"), status != 304);
      if (status != 304) {
        EXPECT_EQ(parsed.fields["content-length"], std::to_string(status * 7));
      }
      if (status == 416) {
        EXPECT_EQ(parsed.fields["content-range"], "bytes */1234");
      }
      if (status == 405) {
        EXPECT_EQ(parsed.fields["allow"], "GET, HEAD");
      }
      EXPECT_FALSE(parsed.fields.contains("etag"));
    }
  }
}

TEST(ResponseTest, ContentTypes) {
  EXPECT_EQ(ContentTypeFor("images/ubuntu.iso"), "application/x-iso9660-image");
  EXPECT_EQ(ContentTypeFor("images/UBUNTU.ISO"), "application/x-iso9660-image");
  EXPECT_EQ(ContentTypeFor("ipxe.efi"), "application/efi");
  EXPECT_EQ(ContentTypeFor("EFI/BOOT/BOOTX64.EFI"), "application/efi");
  EXPECT_EQ(ContentTypeFor("boot.ipxe"), "text/plain");
  EXPECT_EQ(ContentTypeFor("grub/grub.cfg"), "text/plain");
  EXPECT_EQ(ContentTypeFor("pxelinux.cfg/default"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("casper/vmlinuz"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor(".hidden"), "application/octet-stream");
}

TEST(ResponseTest, EntityTagsAreStrongAndDistinct) {
  std::string a = FileEtag(0xfd01, 1234, 1700000000123456789, 0, 100);
  EXPECT_EQ(a, "\"fd01-4d2-17979cfe3d85cd15-0-64\"");
  EXPECT_NE(a, FileEtag(0xfd01, 1234, 1700000000123456789, 2048, 100));  // another extent
  EXPECT_NE(a, FileEtag(0xfd01, 1234, 1700000000123456790, 0, 100));     // touched
  EXPECT_EQ(GeneratedEtag(0xabc, 7, 10), "\"gabc-7-a\"");
  EXPECT_NE(GeneratedEtag(0xabc, 7, 10), GeneratedEtag(0xabd, 7, 10));
}

}  // namespace
}  // namespace stampede::http
