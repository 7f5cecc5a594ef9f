#pragma once
// SQL of shop analytics, read from the rollups written at delivery (sales_daily, sales_hourly,
// shop_orders_daily, shop_orders_hourly) — never from the order lines.

#include "protocols/analytics.hpp"
#include "protocols/persistence.hpp"

namespace wassally::analytics_sql {

/// The figures `q` asks for → analytics_reply. An unknown time zone is 400 on `tz`.
db_command run(const analytics_query& q);

/// The same figures from the raw order lines (for the benchmark's reference and for tests
/// that check the rollups agree with the lines).
db_command run_from_lines(const analytics_query& q);

}  // namespace wassally::analytics_sql
