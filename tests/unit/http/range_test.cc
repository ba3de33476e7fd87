#include "dataplane/http/range.h"

#include <string>

#include "gtest/gtest.h"

namespace stampede::http {
namespace {

using Kind = ByteRange::Kind;

struct Case {
  std::string value;
  uint64_t size;
  Kind kind;
  uint64_t first = 0;
  uint64_t last = 0;
};

class RangeTest : public ::testing::TestWithParam<Case> {};

TEST_P(RangeTest, Resolves) {
  const Case& c = GetParam();
  ByteRange r = ResolveRange(c.value, c.size);
  ASSERT_EQ(r.kind, c.kind) << "'" << c.value << "' of " << c.size;
  if (r.kind == Kind::kSatisfiable) {
    EXPECT_EQ(r.first, c.first) << c.value;
    EXPECT_EQ(r.last, c.last) << c.value;
    EXPECT_EQ(r.length(), c.last - c.first + 1);
  }
}

constexpr uint64_t kBig = uint64_t{5} << 30;  // past 32 bits

INSTANTIATE_TEST_SUITE_P(
    Cases, RangeTest,
    ::testing::Values(
        // RFC 9110 §14.1.2's examples on a 10000-byte representation.
        Case{"bytes=0-499", 10000, Kind::kSatisfiable, 0, 499},
        Case{"bytes=500-999", 10000, Kind::kSatisfiable, 500, 999},
        Case{"bytes=-500", 10000, Kind::kSatisfiable, 9500, 9999},
        Case{"bytes=9500-", 10000, Kind::kSatisfiable, 9500, 9999},
        // Edges: one byte at each end, a last past the end, a suffix longer
        // than the whole, the whole by several spellings.
        Case{"bytes=0-0", 10000, Kind::kSatisfiable, 0, 0},
        Case{"bytes=9999-9999", 10000, Kind::kSatisfiable, 9999, 9999},
        Case{"bytes=-1", 10000, Kind::kSatisfiable, 9999, 9999},
        Case{"bytes=9000-20000", 10000, Kind::kSatisfiable, 9000, 9999},
        Case{"bytes=-20000", 10000, Kind::kSatisfiable, 0, 9999},
        Case{"bytes=0-", 10000, Kind::kSatisfiable, 0, 9999},
        Case{"bytes=0-18446744073709551615", 10000, Kind::kSatisfiable, 0, 9999},
        Case{"bytes=0-99999999999999999999999", 10000, Kind::kSatisfiable, 0, 9999},
        Case{"Bytes = 5-6", 10000, Kind::kSatisfiable, 5, 6},
        Case{"bytes= 5-6 ,", 10000, Kind::kSatisfiable, 5, 6},
        Case{"bytes=, 5-6", 10000, Kind::kSatisfiable, 5, 6},
        // Sizes past 4 GiB.
        Case{"bytes=4294967296-4294967300", kBig, Kind::kSatisfiable, 4294967296, 4294967300},
        Case{"bytes=-10", kBig, Kind::kSatisfiable, kBig - 10, kBig - 1},
        // Unsatisfiable (416): starts at or past the end, empty suffix,
        // anything of an empty representation.
        Case{"bytes=10000-", 10000, Kind::kUnsatisfiable},
        Case{"bytes=10000-10001", 10000, Kind::kUnsatisfiable},
        Case{"bytes=99999999999999999999999-", 10000, Kind::kUnsatisfiable},
        Case{"bytes=-0", 10000, Kind::kUnsatisfiable}, Case{"bytes=0-", 0, Kind::kUnsatisfiable},
        Case{"bytes=-5", 0, Kind::kUnsatisfiable},
        // Invalid (refused like nginx: 416).
        Case{"bytes=", 10000, Kind::kUnsatisfiable}, Case{"bytes=,", 10000, Kind::kUnsatisfiable},
        Case{"bytes=abc", 10000, Kind::kUnsatisfiable},
        Case{"bytes=5", 10000, Kind::kUnsatisfiable}, Case{"bytes=-", 10000, Kind::kUnsatisfiable},
        Case{"bytes=5-2", 10000, Kind::kUnsatisfiable},
        Case{"bytes=1-2-3", 10000, Kind::kUnsatisfiable},
        Case{"bytes=+1-2", 10000, Kind::kUnsatisfiable},
        Case{"bytes=0x10-20", 10000, Kind::kUnsatisfiable},
        Case{"bytes=0-1,x", 10000, Kind::kUnsatisfiable},
        // Several ranges: the whole (200); another unit: ignored.
        Case{"bytes=0-1,5-6", 10000, Kind::kNone}, Case{"bytes=0-1, -5, 100-", 10000, Kind::kNone},
        Case{"bytes=0-1,20000-", 10000, Kind::kNone}, Case{"items=0-1", 10000, Kind::kNone},
        Case{"0-1", 10000, Kind::kNone}, Case{"", 10000, Kind::kNone}));

}  // namespace
}  // namespace stampede::http
