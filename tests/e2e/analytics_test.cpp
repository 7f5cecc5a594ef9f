// API.md "Shop analytics" end to end on a known data set delivered at chosen instants (the
// service's test clock sets delivery time), including a month boundary that a time zone moves.
#include <boost/test/unit_test.hpp>

#include "tests/e2e/orders_support.hpp"

using namespace wassally::test;
using nlohmann::json;

namespace {

struct analytics_world : orders_world {
  analytics_world() : orders_world(settings{{"WASSALLY_TEST_CLOCK", "true"}}) {}

  shop_handle a = shop();
  shop_handle b = shop();
  int64_t p1 =
      product(a, {{"name", "Coffee"}, {"price", "10"}, {"cost_price", "6"}, {"stock", 100}});
  int64_t p2 = product(a, {{"name", "Tea"}, {"price", "5"}, {"cost_price", "2"}, {"stock", 100}});
  int64_t p3 = product(a, {{"name", "Cake"}, {"price", "20"}, {"stock", 100}});
  int64_t q1 = product(b, {{"name", "Bread"}, {"price", "3"}, {"cost_price", "1"}, {"stock", 100}});
  header_map cust = customer().second;
  header_map crew = make_crew();

  header_map make_crew() {
    auto name = "acrew" + unique_suffix();
    auto r = client.post_json(
        "/api/v1/staff/crews",
        {{"username", name}, {"password", "crew-pass-1"}, {"phone_number", unique_phone()}}, staff);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    auto auth = login(name, "crew-pass-1");
    BOOST_REQUIRE(client.put_json("/api/v1/crew/status", {{"status", "available"}}, auth).status ==
                  200);
    return auth;
  }

  void set_clock(const std::string& now) {
    auto r = client.request(
        "PUT", "/api/v1/test/clock", json{{"now", now}}.dump(),
        {{"Content-Type", "application/json"}, {"Authorization", staff["Authorization"]}});
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  }

  /// Places `items` and has the crew deliver it at `at`.
  void deliver_at(const std::string& at, json items) {
    set_clock(at);
    auto placed = place(cust, std::move(items));
    BOOST_REQUIRE_MESSAGE(placed.status == 201, placed.body);
    auto path = "/api/v1/orders/" + std::to_string(placed.json()["id"].get<int64_t>());
    BOOST_REQUIRE(client.post_json(path + "/accept", json::object(), crew).status == 200);
    BOOST_REQUIRE(client.post_json(path + "/pickup", json::object(), crew).status == 200);
    auto d = client.post_json(path + "/deliver", {{"code", placed.json()["code"]}}, crew);
    BOOST_REQUIRE_MESSAGE(d.status == 200, d.body);
  }

  json get(const std::string& what, const header_map& who = {}) {
    auto r = client.get("/api/v1/shops/" + std::to_string(a.id) + "/analytics/" + what,
                        who.empty() ? a.owner : who);
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return r.json();
  }
};

json period(const std::string& p, int orders, double qty, const std::string& revenue,
            const std::string& cost, const std::string& profit) {
  return {{"period", p},        {"orders", orders}, {"quantity", qty},
          {"revenue", revenue}, {"cost", cost},     {"profit", profit}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(analytics)

BOOST_AUTO_TEST_CASE(exact_figures_from_a_known_data_set) {
  analytics_world w;
  using L = orders_world;
  w.deliver_at("2026-01-15T10:00:00Z", {L::line(w.p1, 2), L::line(w.q1, 1)});
  // 22:30 UTC on 31 March is 00:30 on 1 April in Cairo (UTC+2).
  w.deliver_at("2026-03-31T22:30:00Z", {L::line(w.p2, 3), L::line(w.p1, 1)});
  w.deliver_at("2026-04-10T12:00:00Z", {L::line(w.p3, 1)});
  // Neither a cancelled nor an undelivered order counts.
  w.set_clock("2026-04-10T13:00:00Z");
  auto cancelled = w.place(w.cust, {L::line(w.p1, 5)});
  BOOST_TEST(w.client
                 .post_json("/api/v1/orders/" +
                                std::to_string(cancelled.json()["id"].get<int64_t>()) + "/cancel",
                            json::object(), w.cust)
                 .status == 200);
  BOOST_TEST(w.place(w.cust, {L::line(w.p2, 7)}).status == 201);
  // Changing a cost later does not change past profit.
  BOOST_TEST(w.client
                 .patch_json("/api/v1/products/" + std::to_string(w.p1), {{"cost_price", "100"}},
                             w.a.owner)
                 .status == 200);
  w.set_clock("2026-04-10T15:00:00Z");

  auto months = w.get("sales?granularity=month&from=2026-01-01&to=2026-05-31");
  json expected = json::array({period("2026-01", 1, 2, "20.00", "12.00", "8.00"),
                               period("2026-02", 0, 0, "0.00", "0.00", "0.00"),
                               period("2026-03", 1, 4, "25.00", "12.00", "13.00"),
                               period("2026-04", 1, 1, "20.00", "0.00", "20.00"),
                               period("2026-05", 0, 0, "0.00", "0.00", "0.00")});
  BOOST_TEST(months == expected, months.dump());

  auto cairo = w.get("sales?granularity=month&from=2026-03-01&to=2026-04-30&tz=Africa/Cairo");
  json expected_cairo = json::array({period("2026-03", 0, 0, "0.00", "0.00", "0.00"),
                                     period("2026-04", 2, 5, "45.00", "12.00", "33.00")});
  BOOST_TEST(cairo == expected_cairo, cairo.dump());

  auto years = w.get("sales?granularity=year&from=2025-01-01&to=2026-12-31");
  json expected_years = json::array({period("2025", 0, 0, "0.00", "0.00", "0.00"),
                                     period("2026", 3, 7, "65.00", "24.00", "41.00")});
  BOOST_TEST(years == expected_years, years.dump());
  // Defaults: the last 12 months up to today (the service clock), every month present.
  auto recent = w.get("sales");
  BOOST_TEST(recent.size() == 12u);
  BOOST_TEST(recent.back()["period"] == "2026-04");
  BOOST_TEST(recent.front()["period"] == "2025-05");
  BOOST_TEST(w.get("sales?granularity=year").size() == 5u);

  auto top = w.get("top-products?from=2026-01-01&to=2026-12-31");
  json expected_top = json::array(
      {{{"product_id", w.p1}, {"name", "Coffee"}, {"quantity", 3}, {"revenue", "30.00"}},
       {{"product_id", w.p2}, {"name", "Tea"}, {"quantity", 3}, {"revenue", "15.00"}},
       {{"product_id", w.p3}, {"name", "Cake"}, {"quantity", 1}, {"revenue", "20.00"}}});
  BOOST_TEST(top == expected_top, top.dump());
  BOOST_TEST(w.get("top-products?from=2026-01-01&to=2026-12-31&limit=1").size() == 1u);
  BOOST_TEST(w.get("top-products?from=2026-04-01&to=2026-04-30&tz=Africa/Cairo").size() == 3u);

  auto summary = w.get("summary");
  json expected_summary = {
      {"orders_today", 1},
      {"revenue_today", "20.00"},
      {"revenue_month", "20.00"},
      {"revenue_year", "65.00"},
      {"top_product", {{"product_id", w.p3}, {"name", "Cake"}, {"quantity", 1}}}};
  BOOST_TEST(summary == expected_summary, summary.dump());
  auto cairo_summary = w.get("summary?tz=Africa/Cairo");
  BOOST_TEST(cairo_summary["revenue_month"] == "45.00");
  // Staff see any shop's figures.
  BOOST_TEST(w.get("summary", w.staff)["revenue_year"] == "65.00");
  // Shop B only counts its own line.
  auto b_years = w.client
                     .get("/api/v1/shops/" + std::to_string(w.b.id) +
                              "/analytics/sales?granularity=year&from=2026-01-01&to=2026-12-31",
                          w.b.owner)
                     .json();
  BOOST_TEST(b_years == json::array({period("2026", 1, 1, "3.00", "1.00", "2.00")}),
             b_years.dump());
}

BOOST_AUTO_TEST_CASE(only_the_owner_and_staff_and_only_valid_parameters) {
  analytics_world w;
  auto base = "/api/v1/shops/" + std::to_string(w.a.id) + "/analytics/";
  for (std::string kind : {"sales", "top-products", "summary"}) {
    expect_error(w.client.get(base + kind, w.b.owner), 403, "forbidden");
    expect_error(w.client.get(base + kind, w.cust), 403, "forbidden");
    expect_error(w.client.get(base + kind, w.crew), 403, "forbidden");
    expect_error(w.client.get(base + kind), 401, "unauthenticated");
  }
  expect_error(w.client.get("/api/v1/shops/987654/analytics/sales", w.staff), 404, "not_found");
  expect_error(w.client.get(base + "sales?granularity=week", w.a.owner), 400, "validation_error",
               "granularity");
  expect_error(w.client.get(base + "sales?from=2026-13-01", w.a.owner), 400, "validation_error",
               "from");
  expect_error(w.client.get(base + "sales?from=2026-05-01&to=2026-04-01", w.a.owner), 400,
               "validation_error", "from");
  expect_error(w.client.get(base + "sales?tz=Mars/Olympus", w.a.owner), 400, "validation_error",
               "tz");
  expect_error(w.client.get(base + "top-products?limit=0", w.a.owner), 400, "validation_error",
               "limit");
  expect_error(w.client.get(base + "sales?from=0001-01-01&to=9999-12-31", w.a.owner), 400,
               "validation_error", "from");
  expect_error(w.client.get(base + "top-products?from=1900-01-01", w.a.owner), 400,
               "validation_error", "from");
  BOOST_TEST(w.client.get(base + "sales?granularity=year&from=1950-01-01&to=2026-12-31", w.a.owner)
                 .json()
                 .size() == 77u);
  // Nothing delivered yet: zeros, not errors.
  auto s = w.client.get(base + "summary", w.a.owner).json();
  BOOST_TEST(s["revenue_year"] == "0.00");
  BOOST_TEST(s["top_product"].is_null());
}

BOOST_AUTO_TEST_SUITE_END()
