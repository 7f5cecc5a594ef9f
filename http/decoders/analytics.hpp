#pragma once
// Request decoder of API.md "Shop analytics": the query parameters of every analytics kind.
// Every parameter is checked and every problem named; nothing here decides business outcomes.

#include <map>
#include <string>

#include "protocols/analytics.hpp"

namespace wassally::http {

/// GET /shops/{id}/analytics/{kind}: from, to (YYYY-MM-DD), granularity, tz, limit.
analytics_query decode_analytics_query(const std::map<std::string, std::string>& query,
                                       const std::string& kind);

}  // namespace wassally::http
