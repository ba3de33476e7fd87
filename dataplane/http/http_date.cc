#include "dataplane/http/http_date.h"

#include <algorithm>
#include <cstring>

namespace stampede::http {
namespace {

constexpr std::string_view kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr int64_t kSecondsPerDay = 86400;
// 9999-12-31T23:59:59Z: four-digit years only.
constexpr int64_t kMaxUnixSeconds = 253402300799;

struct Civil {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
};

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
int64_t DaysFromCivil(Civil c) {
  int64_t y = c.year - (c.month <= 2 ? 1 : 0);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t mp = (c.month + 9) % 12;
  int64_t doy = (153 * mp + 2) / 5 + c.day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Civil CivilFromDays(int64_t z) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

void Put2(char* p, int64_t v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

std::optional<int> Number(std::string_view s) {
  int value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

std::string_view FormatHttpDate(int64_t unix_seconds, char (&out)[kHttpDateLength + 1]) {
  int64_t t = std::clamp<int64_t>(unix_seconds, 0, kMaxUnixSeconds);
  int64_t days = t / kSecondsPerDay, seconds = t % kSecondsPerDay;
  Civil c = CivilFromDays(days);
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  std::memcpy(out, "Xxx, 00 Xxx 0000 00:00:00 GMT", kHttpDateLength + 1);
  std::memcpy(out, kDays[days % 7].data(), 3);
  Put2(out + 5, c.day);
  std::memcpy(out + 8, kMonths[c.month - 1].data(), 3);
  Put2(out + 12, c.year / 100);
  Put2(out + 14, c.year % 100);
  Put2(out + 17, seconds / 3600);
  Put2(out + 20, seconds / 60 % 60);
  Put2(out + 23, seconds % 60);
  return std::string_view(out, kHttpDateLength);
}

std::optional<int64_t> ParseHttpDate(std::string_view text) {
  if (text.size() != kHttpDateLength || text.substr(3, 2) != ", " || text[7] != ' ' ||
      text[11] != ' ' || text[16] != ' ' || text[19] != ':' || text[22] != ':' ||
      text.substr(25) != " GMT") {
    return std::nullopt;
  }
  auto month = std::find(std::begin(kMonths), std::end(kMonths), text.substr(8, 3));
  std::optional<int> day = Number(text.substr(5, 2)), year = Number(text.substr(12, 4)),
                     hour = Number(text.substr(17, 2)), minute = Number(text.substr(20, 2)),
                     second = Number(text.substr(23, 2));
  if (month == std::end(kMonths) || !day || !year || !hour || !minute || !second || *day < 1 ||
      *day > 31 || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  int month_number = static_cast<int>(month - std::begin(kMonths)) + 1;
  int64_t days = DaysFromCivil({*year, month_number, *day});
  // A day past its month's end ("31 Feb") does not round-trip: refused.
  Civil back = CivilFromDays(days);
  if (back.month != month_number || back.day != *day) return std::nullopt;
  if (std::find(std::begin(kDays), std::end(kDays), text.substr(0, 3)) == std::end(kDays)) {
    return std::nullopt;
  }
  return days * kSecondsPerDay + *hour * 3600 + *minute * 60 + std::min(*second, 59);
}

}  // namespace stampede::http
