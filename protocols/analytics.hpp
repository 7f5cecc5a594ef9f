#pragma once
// Shop analytics (API.md "Shop analytics"): delivered orders only, this shop's lines only.

#include <cstdint>
#include <string>
#include <vector>

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
