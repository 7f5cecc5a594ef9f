#include "persistence/analytics.hpp"

#include <caf/make_message.hpp>
#include <mutex>
#include <pqxx/pqxx>
#include <set>

#include "protocols/errors.hpp"

namespace wassally::analytics_sql {
namespace {

money read_money(const pqxx::field& f) { return money::parse(f.as<std::string>()).value(); }
quantity read_quantity(const pqxx::field& f) {
  return quantity::parse(f.as<std::string>()).value();
}

/// The time zone, checked against PostgreSQL's list (read once per process: the view is slow),
/// quoted for SQL.
std::string zone(pqxx::dbtransaction& tx, const std::string& tz) {
  static std::mutex mutex;
  static std::set<std::string> known;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (known.empty())
      for (auto r : tx.exec("SELECT name FROM pg_timezone_names"))
        known.insert(r[0].as<std::string>());
    if (!known.count(tz))
      throw api_exception(errors::validation("tz", "not a known IANA time zone"));
  }
  return tx.quote(tz);
}

/// `ranges(label, a, b)`: periods of `unit` ("month"/"year"/"day") between the local dates
/// `from` and `to` (inclusive) in zone `z`, as UTC instants [a, b); then `bounds` adds the whole
/// UTC days inside each range, [fa, fb).
std::string ranges_sql(const std::string& from, const std::string& to, const std::string& unit,
                       const std::string& label_format, const std::string& z) {
  return "WITH ranges AS (SELECT to_char(p, '" + label_format +
         "') AS label, greatest(p, f::timestamp) AT TIME ZONE " + z +
         " AS a, least(p + interval '1 " + unit +
         "', t::timestamp + interval '1 day') AT TIME ZONE " + z + " AS b FROM (SELECT " + from +
         "::date AS f, " + to + "::date AS t) params, generate_series(date_trunc('" + unit +
         "', f::timestamp), date_trunc('" + unit + "', t::timestamp), interval '1 " + unit +
         "') p), "
         "edges AS (SELECT label, a, b, CASE WHEN date_trunc('day', a AT TIME ZONE 'UTC') AT TIME "
         "ZONE 'UTC' = a THEN a ELSE (date_trunc('day', a AT TIME ZONE 'UTC') + interval '1 day') "
         "AT TIME ZONE 'UTC' END AS fa, date_trunc('day', b AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' "
         "AS fb FROM ranges), "
         "bounds AS (SELECT label, a, b, least(fa, b) AS fa, greatest(fb, least(fa, b)) AS fb "
         "FROM edges) ";
}

/// Product sums per range: whole UTC days from sales_daily, the edges from sales_hourly.
std::string product_lines_sql(int64_t shop) {
  auto s = std::to_string(shop);
  return ", lines AS ("
         "SELECT r.label, d.product_id, d.quantity, d.revenue, d.cost FROM bounds r JOIN "
         "sales_daily d ON d.shop_id = " +
         s +
         " AND d.day >= (r.fa AT TIME ZONE 'UTC')::date AND d.day < (r.fb AT TIME ZONE "
         "'UTC')::date "
         "UNION ALL SELECT r.label, h.product_id, h.quantity, h.revenue, h.cost FROM bounds r JOIN "
         "sales_hourly h ON h.shop_id = " +
         s +
         " AND h.hour >= r.a AND h.hour < r.fa "
         "UNION ALL SELECT r.label, h.product_id, h.quantity, h.revenue, h.cost FROM bounds r JOIN "
         "sales_hourly h ON h.shop_id = " +
         s + " AND h.hour >= r.fb AND h.hour < r.b) ";
}

std::string order_counts_sql(int64_t shop) {
  auto s = std::to_string(shop);
  return ", counts AS ("
         "SELECT r.label, d.orders FROM bounds r JOIN shop_orders_daily d ON d.shop_id = " +
         s +
         " AND d.day >= (r.fa AT TIME ZONE 'UTC')::date AND d.day < (r.fb AT TIME ZONE "
         "'UTC')::date "
         "UNION ALL SELECT r.label, h.orders FROM bounds r JOIN shop_orders_hourly h ON "
         "h.shop_id = " +
         s +
         " AND h.hour >= r.a AND h.hour < r.fa "
         "UNION ALL SELECT r.label, h.orders FROM bounds r JOIN shop_orders_hourly h ON "
         "h.shop_id = " +
         s + " AND h.hour >= r.fb AND h.hour < r.b) ";
}

/// The same sums from the raw lines of delivered orders (the reference).
std::string raw_lines_sql(int64_t shop) {
  auto s = std::to_string(shop);
  return ", lines AS (SELECT r.label, i.product_id, i.quantity, i.line_total AS revenue, "
         "round(i.unit_cost * i.quantity, 2) AS cost, i.order_id FROM bounds r JOIN orders o ON "
         "o.status = 'delivered' AND o.delivered_at >= r.a AND o.delivered_at < r.b JOIN "
         "order_items i ON i.order_id = o.id AND i.shop_id = " +
         s +
         "), counts AS (SELECT label, count(DISTINCT order_id) AS orders FROM lines GROUP BY "
         "label) ";
}

struct span {
  std::string from, to;  // quoted SQL date literals
};

/// Today's date (YYYY-MM-DD) in zone `z` on the service clock of `q`.
std::string local_today(pqxx::dbtransaction& tx, const analytics_query& q, const std::string& z) {
  return tx
      .exec("SELECT (to_timestamp(" + std::to_string(q.now_unix) + ") AT TIME ZONE " + z +
            ")::date::text")[0][0]
      .as<std::string>();
}

/// The period of `q` (defaults and checks: resolve_period), quoted for SQL.
span resolve(pqxx::dbtransaction& tx, const analytics_query& q, const std::string& z) {
  auto period = resolve_period(q, local_today(tx, q, z));
  if (!period) throw api_exception(from_caf_error(period.error()));
  return {tx.quote(period->from), tx.quote(period->to)};
}

analytics_reply compute(pqxx::dbtransaction& tx, const analytics_query& q, bool from_lines) {
  auto z = zone(tx, q.tz);
  analytics_reply out;
  auto lines_sql = [&](int64_t shop) {
    return from_lines ? raw_lines_sql(shop) : product_lines_sql(shop) + order_counts_sql(shop);
  };
  if (q.kind == "sales") {
    auto sp = resolve(tx, q, z);
    bool yearly = q.granularity == "year";
    auto sql =
        ranges_sql(sp.from, sp.to, yearly ? "year" : "month", yearly ? "YYYY" : "YYYY-MM", z) +
        lines_sql(q.shop_id) +
        "SELECT r.label, coalesce((SELECT sum(orders) FROM counts c WHERE c.label = r.label), 0),"
        " coalesce(sum(l.quantity), 0)::text, coalesce(sum(l.revenue), 0)::numeric(16,2)::text,"
        " coalesce(sum(l.cost), 0)::numeric(16,2)::text FROM ranges r LEFT JOIN lines l ON"
        " l.label = r.label GROUP BY r.label ORDER BY r.label";
    auto rows = tx.exec(sql);
    for (auto r : rows)
      out.periods.push_back({r[0].as<std::string>(), r[1].as<int64_t>(), read_quantity(r[2]),
                             read_money(r[3]), read_money(r[4])});
    return out;
  }
  auto top_sql = [&](const std::string& from, const std::string& to, int64_t limit) {
    return ranges_sql(from, to, "year", "YYYY", z)  // labels do not matter: all is summed
           + lines_sql(q.shop_id) +
           "SELECT l.product_id, p.name, sum(l.quantity)::text, sum(l.revenue)::numeric(16,2)::text"
           " FROM lines l JOIN products p ON p.id = l.product_id GROUP BY l.product_id, p.name"
           " ORDER BY sum(l.quantity) DESC, sum(l.revenue) DESC, l.product_id LIMIT " +
           std::to_string(limit);
  };
  auto read_products = [&](const pqxx::result& rows) {
    std::vector<product_sales> v;
    for (auto r : rows)
      v.push_back(
          {r[0].as<int64_t>(), r[1].as<std::string>(), read_quantity(r[2]), read_money(r[3])});
    return v;
  };
  if (q.kind == "top-products") {
    auto sp = resolve(tx, q, z);
    out.products = read_products(tx.exec(top_sql(sp.from, sp.to, q.limit)));
    return out;
  }
  // summary: today, this month, this year (in the zone), and this month's top product.
  auto today = local_today(tx, q, z);
  auto t = tx.quote(today);
  auto month_start = tx.quote(today.substr(0, 8) + "01");
  auto year_start = tx.quote(today.substr(0, 5) + "01-01");
  auto total = [&](const std::string& from, bool orders) {
    auto sql = ranges_sql(from, t, "year", "YYYY", z) + lines_sql(q.shop_id) +
               (orders ? "SELECT coalesce(sum(orders), 0)::text FROM counts"
                       : "SELECT coalesce(sum(revenue), 0)::numeric(16,2)::text FROM lines");
    return tx.exec(sql)[0][0].as<std::string>();
  };
  out.orders_today = std::stoll(total(t, true));
  out.revenue_today = money::parse(total(t, false)).value();
  out.revenue_month = money::parse(total(month_start, false)).value();
  out.revenue_year = money::parse(total(year_start, false)).value();
  auto top = read_products(tx.exec(top_sql(month_start, t, 1)));
  if (!top.empty()) {
    out.has_top_product = true;
    out.top_product = top.front();
  }
  return out;
}

}  // namespace

db_command run(const analytics_query& q) {
  return {"analytics." + q.kind, false,
          [q](pqxx::dbtransaction& tx) { return caf::make_message(compute(tx, q, false)); },
          caf::make_message(q)};
}

db_command run_from_lines(const analytics_query& q) {
  return {"analytics.lines." + q.kind, false,
          [q](pqxx::dbtransaction& tx) { return caf::make_message(compute(tx, q, true)); },
          caf::make_message(q)};
}

}  // namespace wassally::analytics_sql
