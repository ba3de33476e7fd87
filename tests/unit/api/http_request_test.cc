#include "control/api/http_request.h"

#include <string>

#include "gtest/gtest.h"

namespace stampede::api {
namespace {

TEST(HttpRequestTest, ParsesARequestWithQueryAndHeaders) {
  ParseResult r = ParseRequestHead(
      "GET /events?since=12&limit=5&x=a%20b+c HTTP/1.1\r\nHost: s\r\nX-Thing:  v  \r\n\r\n");
  ASSERT_EQ(r.state, ParseState::kComplete) << r.error;
  EXPECT_EQ(r.request.method, "GET");
  EXPECT_EQ(r.request.path, "/events");
  EXPECT_EQ(r.request.query.at("since"), "12");
  EXPECT_EQ(r.request.query.at("limit"), "5");
  EXPECT_EQ(r.request.query.at("x"), "a b c");
  EXPECT_EQ(r.request.headers.at("x-thing"), "v");
  EXPECT_EQ(r.request.content_length, 0u);
}

TEST(HttpRequestTest, WaitsForTheWholeHead) {
  std::string head = "POST /reload HTTP/1.0\r\nContent-Length: 3\r\n\r\n";
  for (size_t n = 0; n < head.size(); ++n) {
    EXPECT_EQ(ParseRequestHead(head.substr(0, n)).state, ParseState::kIncomplete) << n;
  }
  ParseResult r = ParseRequestHead(head + "abc");
  ASSERT_EQ(r.state, ParseState::kComplete);
  EXPECT_EQ(r.request.content_length, 3u);
  EXPECT_EQ(r.request.head_length, head.size());
}

struct Bad {
  std::string request;
  int status;
};

class HttpRequestBadTest : public ::testing::TestWithParam<Bad> {};

TEST_P(HttpRequestBadTest, AnswersWithTheRightStatus) {
  ParseResult r = ParseRequestHead(GetParam().request);
  ASSERT_EQ(r.state, ParseState::kError) << GetParam().request;
  EXPECT_EQ(r.status, GetParam().status) << r.error;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, HttpRequestBadTest,
    ::testing::Values(
        Bad{"GET\r\n\r\n", 400}, Bad{"GET / HTTP/1.1 extra\r\n\r\n", 400},
        Bad{" / HTTP/1.1\r\n\r\n", 400}, Bad{"G(T / HTTP/1.1\r\n\r\n", 400},
        Bad{"GET / HTTP/2.0\r\n\r\n", 505}, Bad{"GET / FTP/1.0\r\n\r\n", 400},
        Bad{"GET status HTTP/1.1\r\n\r\n", 400}, Bad{"GET /%zz HTTP/1.1\r\n\r\n", 400},
        Bad{"GET /%4 HTTP/1.1\r\n\r\n", 400}, Bad{"GET /%00 HTTP/1.1\r\n\r\n", 400},
        Bad{"GET /?a=%g0 HTTP/1.1\r\n\r\n", 400}, Bad{"GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\n: v\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\nBad Name: v\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n", 400},
        Bad{"GET / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n", 413},
        Bad{"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
        Bad{"GET / HTTP/1.1\r\nX: " + std::string(kMaxRequestHead, 'a') + "\r\n\r\n", 431},
        Bad{"GET / HTTP/1.1\r\nX: " + std::string(kMaxRequestHead, 'a'), 431}));

}  // namespace
}  // namespace stampede::api
