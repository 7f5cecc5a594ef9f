#pragma once
// Shop analytics (API.md "Shop analytics"): delivered orders only, this shop's lines only.

#include <caf/expected.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocols/errors.hpp"
#include "protocols/fields.hpp"
#include "protocols/money.hpp"
#include "protocols/shops.hpp"

namespace wassally {

/// To a shop actor (which checks that the caller owns the shop or is staff).
struct analytics_query {
  caller who;
  int64_t shop_id = 0;
  std::string kind;         // "top-products", "sales", "summary"
  std::string from;         // YYYY-MM-DD, inclusive; empty: the default range
  std::string to;           // YYYY-MM-DD, inclusive; empty: today
  std::string granularity;  // sales: "month" or "year"
  std::string tz = "UTC";   // IANA name
  int64_t limit = 10;
  int64_t now_unix = 0;  // "today" (the service clock)
  WASSALLY_FIELDS(analytics_query, who, shop_id, kind, from, to, granularity, tz, limit, now_unix)
};

/// The dates an analytics query covers, both inclusive, as PostgreSQL writes a date.
struct analytics_period {
  std::string from;
  std::string to;
};

/// The validation error (on "from") of explicit dates `from` after `to` (both YYYY-MM-DD); none
/// when either is empty or they are in order.
std::optional<api_error> misordered_period(const std::string& from, const std::string& to);

/// The period `q` covers on the local date `today` (YYYY-MM-DD in the query's zone), with the
/// defaults of API.md: `to` today; `from` the first day of the month 11 months before `to`'s
/// (granularity "month", top products), or of the year 4 years before `to`'s (granularity
/// "year"). The validation error (on "from") when `from` is after `to` or more than 100 years
/// before it.
caf::expected<analytics_period> resolve_period(const analytics_query& q, const std::string& today);

struct sales_period {
  std::string period;  // "2026-11" or "2026"
  int64_t orders = 0;
  quantity amount;
  money revenue;
  money cost;
  WASSALLY_FIELDS(sales_period, period, orders, amount, revenue, cost)
};

struct product_sales {
  int64_t product_id = 0;
  std::string name;
  quantity amount;
  money revenue;
  WASSALLY_FIELDS(product_sales, product_id, name, amount, revenue)
};

struct analytics_reply {
  std::vector<sales_period> periods;
  std::vector<product_sales> products;
  int64_t orders_today = 0;
  money revenue_today;
  money revenue_month;
  money revenue_year;
  bool has_top_product = false;
  product_sales top_product;
  WASSALLY_FIELDS(analytics_reply, periods, products, orders_today, revenue_today, revenue_month,
                  revenue_year, has_top_product, top_product)
};

}  // namespace wassally
