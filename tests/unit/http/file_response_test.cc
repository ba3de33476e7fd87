#include "dataplane/http/file_response.h"

#include <map>
#include <string>

#include "dataplane/http/http_date.h"
#include "gtest/gtest.h"

namespace stampede::http {
namespace {

constexpr std::string_view kNow = "Mon, 01 Jan 2024 00:00:00 GMT";
constexpr int64_t kMtime = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
constexpr uint64_t kIsoSize = uint64_t{5} << 30;

std::optional<FileInfo> Catalog(std::string_view path) {
  static const std::map<std::string, FileInfo, std::less<>> files = {
      {"a.bin", {10000, kMtime * 1'000'000'000 + 5, "\"e1\"", "application/octet-stream", 1, 0}},
      {"empty", {0, kMtime * 1'000'000'000, "\"e2\"", "application/octet-stream", 2, 0}},
      {"images/x.iso", {kIsoSize, kMtime * 1'000'000'000, "\"e3\"", "x", 3, 0}},
      {"images/x/casper/vmlinuz", {300, kMtime * 1'000'000'000, "\"e4\"", "y", 3, 8192}},
      {"boot.ipxe", {40, 0, "\"g1\"", "text/plain", 4, 0}},
  };
  auto it = files.find(path);
  if (it == files.end()) return std::nullopt;
  return it->second;
}

// The plan's head read back as fields (names lower-cased) and status.
std::map<std::string, std::string> Fields(const ResponsePlan& plan) {
  std::map<std::string, std::string> fields;
  std::string_view head = plan.head;
  EXPECT_TRUE(head.ends_with("\r\n\r\n")) << head;
  head.remove_prefix(head.find("\r\n") + 2);
  while (!head.starts_with("\r\n")) {
    size_t eol = head.find("\r\n");
    std::string_view field = head.substr(0, eol);
    size_t colon = field.find(": ");
    std::string name(field.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(c));
    fields[name] = std::string(field.substr(colon + 2));
    head.remove_prefix(eol + 2);
  }
  return fields;
}

ResponsePlan Plan(const std::string& request) {
  ParseResult parsed = ParseRequestHead(request);
  EXPECT_EQ(parsed.state, ParseState::kComplete) << request << ": " << parsed.error;
  return PlanFileResponse(parsed.request, Catalog, kNow);
}

std::string Get(std::string_view path, std::string_view fields = "") {
  return std::string("GET ") + std::string(path) + " HTTP/1.1\r\nHost: a\r\n" +
         std::string(fields) + "\r\n";
}

struct Case {
  std::string name;
  std::string request;
  int status;
  bool keep_alive;
  uint64_t body_first = 0;
  uint64_t body_length = 0;  // file bytes to send; 0: none
  std::string content_range = "";
};

class PlanTest : public ::testing::TestWithParam<Case> {};

TEST_P(PlanTest, Answers) {
  const Case& c = GetParam();
  ResponsePlan plan = Plan(c.request);
  std::map<std::string, std::string> fields = Fields(plan);
  EXPECT_EQ(plan.status, c.status) << plan.head;
  EXPECT_EQ(plan.head.substr(0, 12), "HTTP/1.1 " + std::to_string(c.status));
  EXPECT_EQ(plan.keep_alive, c.keep_alive);
  EXPECT_EQ(fields["connection"], c.keep_alive ? "keep-alive" : "close");
  EXPECT_EQ(fields["server"], "stampede");
  EXPECT_EQ(fields["date"], kNow);
  EXPECT_EQ(plan.file.has_value(), c.body_length > 0);
  if (plan.file) {
    EXPECT_EQ(plan.body_first, c.body_first);
    EXPECT_EQ(plan.body_length, c.body_length);
    EXPECT_EQ(fields["content-length"], std::to_string(c.body_length));
    EXPECT_TRUE(plan.body.empty());
  }
  EXPECT_EQ(fields["content-range"], c.content_range);
  if (c.status >= 400 && !c.request.starts_with("HEAD")) {
    EXPECT_EQ(plan.body.substr(0, 3), std::to_string(c.status));
    EXPECT_EQ(fields["content-length"], std::to_string(plan.body.size()));
  }
  if (c.status == 405) {
    EXPECT_EQ(fields["allow"], "GET, HEAD");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PlanTest,
    ::testing::Values(
        Case{"whole", Get("/a.bin"), 200, true, 0, 10000},
        Case{"head", "HEAD /a.bin HTTP/1.1\r\nHost: a\r\n\r\n", 200, true},
        Case{"head_ignores_range", "HEAD /a.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\n\r\n",
             200, true},
        Case{"start", Get("/a.bin", "Range: bytes=0-99\r\n"), 206, true, 0, 100,
             "bytes 0-99/10000"},
        Case{"middle", Get("/a.bin", "Range: bytes=5000-5999\r\n"), 206, true, 5000, 1000,
             "bytes 5000-5999/10000"},
        Case{"end", Get("/a.bin", "Range: bytes=-100\r\n"), 206, true, 9900, 100,
             "bytes 9900-9999/10000"},
        Case{"open_end", Get("/a.bin", "Range: bytes=9999-\r\n"), 206, true, 9999, 1,
             "bytes 9999-9999/10000"},
        Case{"past_end", Get("/a.bin", "Range: bytes=10000-\r\n"), 416, true, 0, 0,
             "bytes */10000"},
        Case{"bad_range", Get("/a.bin", "Range: bytes=9-1\r\n"), 416, true, 0, 0, "bytes */10000"},
        Case{"multi_range", Get("/a.bin", "Range: bytes=0-1,5-6\r\n"), 200, true, 0, 10000},
        Case{"other_unit", Get("/a.bin", "Range: lines=0-1\r\n"), 200, true, 0, 10000},
        Case{"beyond_4g", Get("/images/x.iso", "Range: bytes=4294967296-4294967299\r\n"), 206, true,
             4294967296, 4, "bytes 4294967296-4294967299/5368709120"},
        Case{"extent", Get("/images/x/casper/vmlinuz"), 200, true, 0, 300},
        Case{"empty", Get("/empty"), 200, true},
        Case{"empty_range", Get("/empty", "Range: bytes=0-\r\n"), 416, true, 0, 0, "bytes */0"},
        Case{"post", "POST /a.bin HTTP/1.1\r\nHost: a\r\n\r\n", 405, true},
        Case{"post_body", "POST /a.bin HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", 405,
             false},
        Case{"put", "PUT /a.bin HTTP/1.1\r\nHost: a\r\n\r\n", 405, true},
        Case{"lower_case_get", "get /a.bin HTTP/1.1\r\nHost: a\r\n\r\n", 405, true},
        Case{"get_with_body", "GET /a.bin HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n", 200,
             false, 0, 10000},
        Case{"missing", Get("/nope"), 404, true},
        Case{"missing_head", "HEAD /nope HTTP/1.1\r\nHost: a\r\n\r\n", 404, true},
        Case{"root", Get("/"), 404, true}, Case{"dots_only", Get("/./"), 404, true},
        Case{"too_long_for_a_catalog", Get("/" + std::string(300, 'a')), 404, true},
        Case{"climbs", Get("/../etc/passwd"), 400, false},
        Case{"climbs_encoded", Get("/images/%2e%2e/%2e%2e/etc/passwd"), 400, false},
        Case{"climbs_backslash", Get("/images\\..\\x"), 400, false},
        Case{"control", Get("/a%01b"), 400, false},
        Case{"normalised", Get("//./a.bin?x=1"), 200, true, 0, 10000},
        Case{"backslash", Get("/images\\x.iso", "Range: bytes=0-0\r\n"), 206, true, 0, 1,
             "bytes 0-0/5368709120"},
        Case{"absolute_form", "GET http://h/a.bin HTTP/1.1\r\nHost: h\r\n\r\n", 200, true, 0,
             10000},
        Case{"no_host", "GET /a.bin HTTP/1.1\r\n\r\n", 400, false},
        Case{"http10", "GET /a.bin HTTP/1.0\r\n\r\n", 200, false, 0, 10000},
        Case{"http10_keep_alive", "GET /a.bin HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200,
             true, 0, 10000},
        Case{"close", Get("/a.bin", "Connection: close\r\n"), 200, false, 0, 10000},
        Case{"none_match", Get("/a.bin", "If-None-Match: \"e1\"\r\n"), 304, true},
        Case{"none_match_weak", Get("/a.bin", "If-None-Match: W/\"e1\"\r\n"), 304, true},
        Case{"none_match_list", Get("/a.bin", "If-None-Match: \"x\", \"e1\"\r\n"), 304, true},
        Case{"none_match_star", Get("/a.bin", "If-None-Match: *\r\n"), 304, true},
        Case{"none_match_other", Get("/a.bin", "If-None-Match: \"e9\"\r\n"), 200, true, 0, 10000},
        Case{"none_match_head", "HEAD /a.bin HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"e1\"\r\n\r\n",
             304, true},
        Case{"modified_since_same",
             Get("/a.bin", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"), 304, true},
        Case{"modified_since_later",
             Get("/a.bin", "If-Modified-Since: Sun, 06 Nov 1994 08:49:38 GMT\r\n"), 304, true},
        Case{"modified_since_earlier",
             Get("/a.bin", "If-Modified-Since: Sun, 06 Nov 1994 08:49:36 GMT\r\n"), 200, true, 0,
             10000},
        Case{"modified_since_garbage", Get("/a.bin", "If-Modified-Since: yesterday\r\n"), 200, true,
             0, 10000},
        Case{"none_match_wins",
             Get("/a.bin",
                 "If-None-Match: \"e9\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"),
             200, true, 0, 10000},
        Case{"generated_ignores_modified_since",
             Get("/boot.ipxe", "If-Modified-Since: Sun, 06 Nov 2094 08:49:37 GMT\r\n"), 200, true,
             0, 40},
        Case{"if_range_etag", Get("/a.bin", "Range: bytes=0-9\r\nIf-Range: \"e1\"\r\n"), 206, true,
             0, 10, "bytes 0-9/10000"},
        Case{"if_range_stale", Get("/a.bin", "Range: bytes=0-9\r\nIf-Range: \"e0\"\r\n"), 200, true,
             0, 10000},
        Case{"if_range_weak", Get("/a.bin", "Range: bytes=0-9\r\nIf-Range: W/\"e1\"\r\n"), 200,
             true, 0, 10000},
        Case{"if_range_date",
             Get("/a.bin", "Range: bytes=0-9\r\nIf-Range: Sun, 06 Nov 1994 08:49:37 GMT\r\n"), 206,
             true, 0, 10, "bytes 0-9/10000"},
        Case{"if_range_other_date",
             Get("/a.bin", "Range: bytes=0-9\r\nIf-Range: Sun, 06 Nov 1994 08:49:38 GMT\r\n"), 200,
             true, 0, 10000}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(PlanTest, ValidatorsAndTypes) {
  ResponsePlan plan = Plan(Get("/a.bin"));
  std::map<std::string, std::string> fields = Fields(plan);
  EXPECT_EQ(fields["etag"], "\"e1\"");
  EXPECT_EQ(fields["last-modified"], "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(fields["accept-ranges"], "bytes");
  EXPECT_EQ(fields["content-type"], "application/octet-stream");
  ASSERT_TRUE(plan.file);
  EXPECT_EQ(plan.file->handle, 1u);

  fields = Fields(Plan(Get("/boot.ipxe")));
  EXPECT_FALSE(fields.contains("last-modified"));
  EXPECT_EQ(fields["content-type"], "text/plain");

  fields = Fields(Plan(Get("/a.bin", "If-None-Match: \"e1\"\r\n")));
  EXPECT_EQ(fields["etag"], "\"e1\"");
  EXPECT_FALSE(fields.contains("content-length"));
  EXPECT_FALSE(fields.contains("last-modified"));

  plan = Plan(Get("/images/x/casper/vmlinuz"));
  ASSERT_TRUE(plan.file);
  EXPECT_EQ(plan.file->source_offset, 8192u);
}

TEST(PlanTest, HeadAnswersHaveNoBody) {
  for (std::string path : {"/a.bin", "/nope", "/../x"}) {
    ResponsePlan plan = Plan("HEAD " + path + " HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_TRUE(plan.body.empty()) << path;
    EXPECT_FALSE(plan.file) << path;
  }
}

TEST(PlanTest, LooksUpTheNormalisedPath) {
  std::string seen;
  ParseResult parsed = ParseRequestHead(Get("/images//x/./casper/vmlinuz"));
  PlanFileResponse(
      parsed.request,
      [&](std::string_view path) {
        seen = std::string(path);
        return std::optional<FileInfo>();
      },
      kNow);
  EXPECT_EQ(seen, "images/x/casper/vmlinuz");
}

TEST(PlanTest, ClosingResponses) {
  for (int status : {400, 408, 414, 431, 501, 503, 505}) {
    ResponsePlan plan = PlanClosingResponse(status, kNow);
    EXPECT_EQ(plan.status, status);
    EXPECT_FALSE(plan.keep_alive);
    EXPECT_EQ(Fields(plan)["connection"], "close");
    EXPECT_EQ(Fields(plan)["content-length"], std::to_string(plan.body.size()));
  }
}

TEST(CatalogPathTest, ClassifiesWhatTftpRefuses) {
  EXPECT_EQ(ToCatalogPath("/a/b").path, "a/b");
  EXPECT_EQ(ToCatalogPath("/a/b").status, 0);
  EXPECT_EQ(ToCatalogPath("/").status, 404);
  EXPECT_EQ(ToCatalogPath("").status, 404);
  EXPECT_EQ(ToCatalogPath("/././/").status, 404);
  EXPECT_EQ(ToCatalogPath("/" + std::string(256, 'x')).status, 404);
  EXPECT_EQ(ToCatalogPath("/a/../b").status, 400);
  EXPECT_EQ(ToCatalogPath("/..").status, 400);
  EXPECT_EQ(ToCatalogPath("/a\\..").status, 400);
  EXPECT_EQ(ToCatalogPath("/a\tb").status, 400);
  EXPECT_EQ(ToCatalogPath("/..a").status, 0);  // a name, not a climb
}

}  // namespace
}  // namespace stampede::http
