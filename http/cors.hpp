#pragma once
// Cross-origin requests from browsers (API.md "Browsers"): dashboards served from another
// origin call the API with `Authorization`, which browsers allow only when the answers say so.
// Origins listed in `cors_allowed_origins` get Access-Control-Allow-Origin on every answer and
// their preflights answered; any other origin gets no CORS header at all (its request is still
// answered normally: refusing is the browser's job). No cookies are used, so credentials are
// never allowed, and `*` may be configured.

#include <map>
#include <set>
#include <string>
#include <vector>

namespace wassally::http {

struct cors_policy {
  /// Exact origins (`scheme://host[:port]`); "*" admits every origin.
  std::set<std::string> origins;
  int max_age_s = 600;

  /// From the `cors_allowed_origins` setting: origins separated by commas or blanks.
  static cors_policy parse(const std::string& setting, int max_age_s);
  bool enabled() const { return !origins.empty(); }
  bool allows(const std::string& origin) const;

  /// Headers for an answer to a request that came with `origin` (empty: none sent): the
  /// allowing ones for a listed origin, and `Vary: Origin` whenever the answer depends on it.
  std::map<std::string, std::string> answer_headers(const std::string& origin) const;
  /// Headers of the 204 to a preflight for a path whose routes have `methods`.
  std::map<std::string, std::string> preflight_headers(
      const std::string& origin, const std::vector<std::string>& methods) const;
};

/// `headers` with `more` added; two Vary headers become one list.
void merge_headers(std::map<std::string, std::string>& headers,
                   const std::map<std::string, std::string>& more);

}  // namespace wassally::http
