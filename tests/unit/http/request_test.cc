#include "dataplane/http/request.h"

#include <string>

#include "gtest/gtest.h"

namespace stampede::http {
namespace {

TEST(RequestTest, ParsesARequestWithQueryAndHeaders) {
  ParseResult r = ParseRequestHead(
      "GET /events?since=12&limit=5&x=a%20b+c HTTP/1.1\r\nHost: s\r\nX-Thing:  v  \r\n\r\n");
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.target, "/events?since=12&limit=5&x=a%20b+c");
  EXPECT_EQ(r.request.path, "/events");
  EXPECT_EQ(r.request.query.at("since"), "12");
  EXPECT_EQ(r.request.query.at("limit"), "5");
  EXPECT_EQ(r.request.query.at("x"), "a b c");
  EXPECT_EQ(r.request.Header("x-thing"), "v");
  EXPECT_EQ(r.request.Header("absent"), "");
  EXPECT_EQ(r.request.content_length, 0u);
  EXPECT_EQ(r.request.version_minor, 1);
}

TEST(RequestTest, WaitsForTheWholeHead) {
  std::string head = "POST /reload HTTP/1.0\r\nContent-Length: 3\r\n\r\n";
  for (size_t n = 0; n < head.size(); ++n) {
    EXPECT_EQ(ParseRequestHead(head.substr(0, n)).state, ParseState::kIncomplete) << n;
  }
  ParseResult r = ParseRequestHead(head + "abc");
  ASSERT_EQ(r.state, ParseState::kComplete);
  EXPECT_EQ(r.request.content_length, 3u);
  EXPECT_EQ(r.request.head_length, head.size());
  EXPECT_EQ(r.request.version_minor, 0);
  EXPECT_TRUE(r.request.has_body());
}

TEST(RequestTest, ReadsBareLineFeedsAndSkipsLeadingEmptyLines) {
  ParseResult r = ParseRequestHead("\r\n\nGET /a HTTP/1.1\nHost: x\n\nGET /b");
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.request.path, "/a");
  EXPECT_EQ(r.request.Header("host"), "x");
  EXPECT_EQ(r.request.head_length, std::string("\r\n\nGET /a HTTP/1.1\nHost: x\n\n").size());
}

TEST(RequestTest, TakesTheAbsoluteForm) {
  ParseResult r = ParseRequestHead("GET http://198.18.0.1:8080/images/a.iso HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.request.path, "/images/a.iso");
  r = ParseRequestHead("GET HTTP://host HTTP/1.1\r\n\r\n");
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.request.path, "/");
}

TEST(RequestTest, JoinsRepeatedFields) {
  ParseResult r =
      ParseRequestHead("GET / HTTP/1.1\r\nConnection: keep-alive\r\nconnection: Close\r\n\r\n");
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.request.Header("connection"), "keep-alive, Close");
  EXPECT_FALSE(r.request.WantsKeepAlive());
}

struct KeepAlive {
  std::string request;
  bool keep_alive;
};

class KeepAliveTest : public ::testing::TestWithParam<KeepAlive> {};

TEST_P(KeepAliveTest, FollowsRfc9112) {
  ParseResult r = ParseRequestHead(GetParam().request);
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.request.WantsKeepAlive(), GetParam().keep_alive) << GetParam().request;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, KeepAliveTest,
    ::testing::Values(KeepAlive{"GET / HTTP/1.1\r\n\r\n", true},
                      KeepAlive{"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
                      KeepAlive{"GET / HTTP/1.1\r\nConnection: TE, CLOSE \r\n\r\n", false},
                      KeepAlive{"GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", true},
                      KeepAlive{"GET / HTTP/1.0\r\n\r\n", false},
                      KeepAlive{"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
                      KeepAlive{"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", false}));

TEST(RequestTest, HasTokenIgnoresCaseAndSpace) {
  EXPECT_TRUE(HasToken("a, b ,\tC", "c"));
  EXPECT_TRUE(HasToken("close", "close"));
  EXPECT_FALSE(HasToken("", "close"));
  EXPECT_FALSE(HasToken("closer, x", "close"));
}

TEST(RequestTest, LimitsAreTheCallers) {
  RequestLimits limits;
  limits.max_body = 4;
  EXPECT_EQ(ParseRequestHead("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", limits).status, 413);
  EXPECT_EQ(ParseRequestHead("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n", limits).state,
            ParseState::kComplete);
  limits.max_target = 8;
  EXPECT_EQ(ParseRequestHead("GET /123456789 HTTP/1.1\r\n\r\n", limits).status, 414);
  EXPECT_EQ(ParseRequestHead("GET /1234567 HTTP/1.1\r\n\r\n", limits).state, ParseState::kComplete);
}

TEST(RequestTest, HeadOfExactlyTheLimitIsTaken) {
  std::string start = "GET / HTTP/1.1\r\nX: ";
  std::string head = start + std::string(kMaxRequestHead - start.size() - 4, 'a') + "\r\n\r\n";
  ASSERT_EQ(head.size(), kMaxRequestHead);
  EXPECT_EQ(ParseRequestHead(head).state, ParseState::kComplete);
  std::string over = start + std::string(kMaxRequestHead - start.size() - 3, 'a') + "\r\n\r\n";
  EXPECT_EQ(ParseRequestHead(over).status, 431);
}

struct Bad {
  std::string request;
  int status;
};

constexpr char kNulInField[] = "GET / HTTP/1.1\r\nA: b\0c\r\n\r\n";

class RequestBadTest : public ::testing::TestWithParam<Bad> {};

TEST_P(RequestBadTest, AnswersWithTheRightStatus) {
  RequestLimits limits;
  limits.max_body = 4096;
  ParseResult r = ParseRequestHead(GetParam().request, limits);
  ASSERT_EQ(r.state, ParseState::kError) << GetParam().request;
  EXPECT_EQ(r.status, GetParam().status) << r.error;
  EXPECT_FALSE(r.error.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RequestBadTest,
    ::testing::Values(
        Bad{"GET\r\n\r\n", 400}, Bad{"GET / HTTP/1.1 extra\r\n\r\n", 400},
        Bad{"GET  / HTTP/1.1\r\n\r\n", 400}, Bad{" / HTTP/1.1\r\n\r\n", 400},
        Bad{"G(T / HTTP/1.1\r\n\r\n", 400}, Bad{"GET / HTTP/2.0\r\n\r\n", 505},
        Bad{"GET / HTTP/1.2\r\n\r\n", 505}, Bad{"GET / FTP/1.0\r\n\r\n", 400},
        Bad{"GET / HTTP/1\r\n\r\n", 400}, Bad{"GET / http/1.1\r\n\r\n", 400},
        Bad{"GET status HTTP/1.1\r\n\r\n", 400}, Bad{"GET * HTTP/1.1\r\n\r\n", 400},
        Bad{"GET http://host?x HTTP/1.1\r\n\r\n", 400}, Bad{"GET /%zz HTTP/1.1\r\n\r\n", 400},
        Bad{"GET /%4 HTTP/1.1\r\n\r\n", 400}, Bad{"GET /%00 HTTP/1.1\r\n\r\n", 400},
        Bad{"GET /a\x01 HTTP/1.1\r\n\r\n", 400}, Bad{"GET /a\x7f HTTP/1.1\r\n\r\n", 400},
        Bad{"GET /?a=%g0 HTTP/1.1\r\n\r\n", 400}, Bad{"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\n: v\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\nName : v\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400}, Bad{"GET /\r HTTP/1.1\r\n\r\n", 400},
        Bad{std::string(kNulInField, sizeof(kNulInField) - 1), 400},
        Bad{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n", 413},
        Bad{"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
        Bad{"GET /" + std::string(kMaxRequestTarget, 'a') + " HTTP/1.1\r\n\r\n", 414},
        Bad{"GET /" + std::string(kMaxRequestTarget + 100, 'a'), 414},
        Bad{"GET / HTTP/1.1\r\nX: " + std::string(kMaxRequestHead, 'a') + "\r\n\r\n", 431},
        Bad{"GET / HTTP/1.1\r\nX: " + std::string(kMaxRequestHead, 'a'), 431}));

}  // namespace
}  // namespace stampede::http
