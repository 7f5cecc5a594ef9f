#include "protocols/clock.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace wassally::service_clock {
namespace {
std::atomic<int64_t> offset{0};

int64_t wall() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool digits(const std::string& s, std::size_t pos, std::size_t n) {
  for (std::size_t i = pos; i < pos + n; ++i)
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
  return true;
}

bool leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}
}  // namespace

int64_t now() { return wall() + offset.load(); }
void set_now(int64_t unix_seconds) { offset = unix_seconds - wall(); }
void reset() { offset = 0; }

std::optional<int64_t> parse_iso(const std::string& s) {
  // date: YYYY-MM-DD; date-time: date 'T' HH:MM:SS [.fraction] ('Z' | ±HH:MM | ±HHMM).
  if (s.size() < 10 || !digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' ||
      !digits(s, 8, 2))
    return std::nullopt;
  auto number = [&](std::size_t pos, std::size_t n) {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  int year = number(0, 4);
  int month = number(5, 2);
  int day = number(8, 2);
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
  int64_t seconds = days_from_civil(year, month, day) * 86400;
  if (s.size() == 10) return seconds;
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2) || s[13] != ':' ||
      !digits(s, 14, 2) || s[16] != ':' || !digits(s, 17, 2))
    return std::nullopt;
  int hour = number(11, 2);
  int minute = number(14, 2);
  int second = number(17, 2);
  if (hour > 23 || minute > 59 || second > 59) return std::nullopt;
  seconds += hour * 3600 + minute * 60 + second;
  std::size_t i = 19;
  if (s[i] == '.') {  // fractional seconds: at least one digit, truncated to whole seconds
    std::size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return std::nullopt;
  }
  if (i >= s.size()) return std::nullopt;  // no zone: local time is not accepted
  if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.size()) {
    // UTC
  } else if (s[i] == '+' || s[i] == '-') {
    std::size_t rest = s.size() - i - 1;
    bool extended = rest == 5 && digits(s, i + 1, 2) && s[i + 3] == ':' && digits(s, i + 4, 2);
    bool basic = rest == 4 && digits(s, i + 1, 4);
    if (!extended && !basic) return std::nullopt;
    int off_hour = number(i + 1, 2);
    int off_minute = number(i + (extended ? 4 : 3), 2);
    if (off_hour > 23 || off_minute > 59) return std::nullopt;
    int64_t offset_seconds = off_hour * 3600 + off_minute * 60;
    // Local time = UTC + offset.
    seconds += s[i] == '+' ? -offset_seconds : offset_seconds;
  } else {
    return std::nullopt;
  }
  // Only instants that format back to a four-digit year.
  if (seconds < days_from_civil(0, 1, 1) * 86400 || seconds >= days_from_civil(10000, 1, 1) * 86400)
    return std::nullopt;
  return seconds;
}

std::string format_iso(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

}  // namespace wassally::service_clock
