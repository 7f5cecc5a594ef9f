#pragma once
// The service clock: wall time plus an offset that only tests move (enabled by the
// `test_clock` config key), so date-driven behaviour such as offers starting and ending can be
// tested without sleeping.

#include <cstdint>
#include <optional>
#include <string>

namespace wassally::service_clock {

/// Unix seconds now, as the service sees it.
int64_t now();
/// Moves the service clock so that now() returns `unix_seconds`.
void set_now(int64_t unix_seconds);
/// Back to wall time.
void reset();

/// RFC 3339 → unix seconds: "2026-11-24T19:30:00Z", with optional fractional seconds
/// (truncated) and a `±hh:mm` (or `±hhmm`) offset instead of `Z`, converted to UTC
/// ("2026-11-24T21:30:00.123+02:00" is 19:30:00Z); or a date "2026-11-24", meaning midnight
/// UTC. nullopt for anything else, impossible dates and times (month 13, February 30th, hour
/// 24, second 60, offset +24:00) and instants outside the years 0000..9999 UTC.
std::optional<int64_t> parse_iso(const std::string& text);
/// unix seconds → "2026-11-24T19:30:00Z".
std::string format_iso(int64_t unix_seconds);

}  // namespace wassally::service_clock
