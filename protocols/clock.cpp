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
}  // namespace

int64_t now() { return wall() + offset.load(); }
void set_now(int64_t unix_seconds) { offset = unix_seconds - wall(); }
void reset() { offset = 0; }

std::optional<int64_t> parse_iso(const std::string& s) {
  bool date_only = s.size() == 10;
  if (!(date_only || s.size() == 20)) return std::nullopt;
  if (!digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' || !digits(s, 8, 2))
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = std::stoi(s.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(s.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(s.substr(8, 2));
  if (!date_only) {
    if (s[10] != 'T' || !digits(s, 11, 2) || s[13] != ':' || !digits(s, 14, 2) || s[16] != ':' ||
        !digits(s, 17, 2) || s[19] != 'Z')
      return std::nullopt;
    tm.tm_hour = std::stoi(s.substr(11, 2));
    tm.tm_min = std::stoi(s.substr(14, 2));
    tm.tm_sec = std::stoi(s.substr(17, 2));
  }
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
    return std::nullopt;
  auto mday = tm.tm_mday;
  auto t = timegm(&tm);
  if (tm.tm_mday != mday) return std::nullopt;  // e.g. February 30th rolled over
  return static_cast<int64_t>(t);
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
