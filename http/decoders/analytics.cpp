#include "http/decoders/analytics.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "protocols/clock.hpp"
#include "protocols/errors.hpp"

namespace wassally::http {

analytics_query decode_analytics_query(const std::map<std::string, std::string>& query,
                                       const std::string& kind) {
  std::map<std::string, std::string> problems;
  analytics_query q;
  q.kind = kind;
  auto get = [&](const char* name) {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  };
  for (auto [name, out] : {std::pair<const char*, std::string*>{"from", &q.from},
                           std::pair<const char*, std::string*>{"to", &q.to}}) {
    auto v = get(name);
    if (v.empty()) continue;
    if (v.size() != 10 || !service_clock::parse_iso(v))
      problems[name] = "a date YYYY-MM-DD";
    else
      *out = v;
  }
  if (auto e = misordered_period(q.from, q.to))
    for (auto& [field, what] : e->fields) problems[field] = what;
  q.granularity = get("granularity");
  if (q.granularity.empty()) q.granularity = "month";
  if (q.granularity != "month" && q.granularity != "year")
    problems["granularity"] = "month or year";
  auto tz = get("tz");
  if (!tz.empty()) {
    bool ok = tz.size() <= 64 && std::all_of(tz.begin(), tz.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' ||
                       c == '+' || c == '-';
              });
    if (!ok)
      problems["tz"] = "an IANA time zone such as Africa/Cairo";
    else
      q.tz = tz;
  }
  auto limit = get("limit");
  if (!limit.empty()) {
    if (limit.size() > 3 || limit.find_first_not_of("0123456789") != std::string::npos ||
        std::stoll(limit) < 1 || std::stoll(limit) > 100)
      problems["limit"] = "a whole number from 1 to 100";
    else
      q.limit = std::stoll(limit);
  }
  if (!problems.empty()) throw api_exception(errors::validation(problems));
  return q;
}

}  // namespace wassally::http
