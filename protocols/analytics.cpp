#include "protocols/analytics.hpp"

#include <cstdio>

namespace wassally {
namespace {

int year_of(const std::string& date) { return std::stoi(date.substr(0, 4)); }
int month_of(const std::string& date) { return std::stoi(date.substr(5, 2)); }

/// The first day of `month` in `year` as PostgreSQL's ISO output writes it: years before 1 as
/// "… BC" (year 0 is 1 BC). The SQL reads these dates back, so they must stay in its spelling.
std::string first_day(int year, int month) {
  char text[48];  // room for any int, as the compiler checks
  if (year >= 1)
    std::snprintf(text, sizeof text, "%04d-%02d-01", year, month);
  else
    std::snprintf(text, sizeof text, "%04d-%02d-01 BC", 1 - year, month);
  return text;
}

}  // namespace

std::optional<api_error> misordered_period(const std::string& from, const std::string& to) {
  if (from.empty() || to.empty() || from <= to) return std::nullopt;
  return errors::validation("from", "must not be after to");
}

caf::expected<analytics_period> resolve_period(const analytics_query& q, const std::string& today) {
  analytics_period p{q.from, q.to.empty() ? today : q.to};
  if (p.from.empty()) {
    if (q.granularity == "year") {
      p.from = first_day(year_of(p.to) - 4, 1);
    } else {
      int months = year_of(p.to) * 12 + month_of(p.to) - 1 - 11;
      // Floor division: a month count below zero still names the right year and month.
      int year = months >= 0 ? months / 12 : -((-months + 11) / 12);
      p.from = first_day(year, months - year * 12 + 1);
    }
  }
  if (auto e = misordered_period(p.from, p.to)) return to_caf_error(*e);
  // Bounded before any work: at most 100 years (1,200 monthly periods) per request.
  if (year_of(p.to) - year_of(p.from) > 100)
    return to_caf_error(errors::validation("from", "at most 100 years before to"));
  return p;
}

}  // namespace wassally
