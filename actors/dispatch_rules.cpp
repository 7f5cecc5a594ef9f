#include "actors/dispatch_rules.hpp"

#include <algorithm>
#include <climits>

namespace wassally::dispatch_rules {

namespace {
int64_t ms(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(s).count();
}
}  // namespace

double radius_km(const dispatch_options& d, int64_t pending_since_s, int64_t now_ms) {
  double r = d.radius_km;
  auto every = d.widen_every.count();
  if (every > 0) {
    auto waited = std::max<int64_t>(0, now_ms / 1000 - pending_since_s);
    r += d.radius_step_km * static_cast<double>(waited / every);
  }
  return std::min(r, std::max(d.radius_km, d.max_radius_km));
}

bool refused_recently(const dispatch_options& d, const refusals& r, int64_t crew_id,
                      int64_t now_ms) {
  for (auto& [crew, at] : r)
    if (crew == crew_id && now_ms < at + ms(d.reoffer_after)) return true;
  return false;
}

int64_t next_chance_ms(const dispatch_options& d, int64_t pending_since_s, const refusals& r,
                       int64_t now_ms) {
  int64_t next = LLONG_MAX;
  auto every = d.widen_every.count();
  if (every > 0 && d.radius_step_km > 0 &&
      radius_km(d, pending_since_s, now_ms) < std::max(d.radius_km, d.max_radius_km)) {
    auto steps = std::max<int64_t>(0, now_ms / 1000 - pending_since_s) / every + 1;
    next = (pending_since_s + steps * every) * 1000;
  }
  for (auto& [crew, at] : r)
    if (at + ms(d.reoffer_after) > now_ms) next = std::min(next, at + ms(d.reoffer_after));
  return next;
}

bool position_fresh(const dispatch_options& d, int64_t seen_unix, int64_t now_ms) {
  if (d.crew_stale_after.count() == 0) return true;
  return seen_unix > 0 && now_ms / 1000 - seen_unix <= d.crew_stale_after.count();
}

bool offered_before(const candidate& a, const candidate& b) {
  if (a.km != b.km) return a.km < b.km;
  if (a.held != b.held) return a.held < b.held;
  if (a.idle_since_ms != b.idle_since_ms) return a.idle_since_ms < b.idle_since_ms;
  return a.crew_id < b.crew_id;
}

}  // namespace wassally::dispatch_rules
