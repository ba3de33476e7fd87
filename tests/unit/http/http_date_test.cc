#include "dataplane/http/http_date.h"

#include <string>

#include "gtest/gtest.h"

namespace stampede::http {
namespace {

TEST(HttpDateTest, FormatsImfFixdate) {
  char out[kHttpDateLength + 1];
  // RFC 9110 §5.6.7's example.
  EXPECT_EQ(FormatHttpDate(784111777, out), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(FormatHttpDate(0, out), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(FormatHttpDate(951782400, out), "Tue, 29 Feb 2000 00:00:00 GMT");
  EXPECT_EQ(FormatHttpDate(4102444799, out), "Thu, 31 Dec 2099 23:59:59 GMT");
  EXPECT_EQ(FormatHttpDate(-5, out), "Thu, 01 Jan 1970 00:00:00 GMT");  // clamped
}

TEST(HttpDateTest, RoundTrips) {
  char out[kHttpDateLength + 1];
  for (int64_t t = 0; t < 4102444800; t += 86400 * 37 + 3671) {
    std::optional<int64_t> back = ParseHttpDate(FormatHttpDate(t, out));
    ASSERT_TRUE(back) << out;
    EXPECT_EQ(*back, t) << out;
  }
}

TEST(HttpDateTest, RefusesWhatIsNotImfFixdate) {
  for (std::string text : {"", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
                           "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 GMT ",
                           "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nox 1994 08:49:37 GMT",
                           "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
                           "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:49:37 GMT",
                           "Sun, 06 Nov 19a4 08:49:37 GMT", "Sun, 06 Nov 1994 08-49-37 GMT"}) {
    EXPECT_FALSE(ParseHttpDate(text)) << text;
  }
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  // Valid, if odd: before 1970 (an If-Modified-Since that old is simply older).
  std::optional<int64_t> old = ParseHttpDate("Sun, 05 Nov 0997 08:49:37 GMT");
  ASSERT_TRUE(old);
  EXPECT_LT(*old, 0);
}

}  // namespace
}  // namespace stampede::http
