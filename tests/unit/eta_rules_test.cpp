// The ETA of an order (actors/eta_rules.cpp): distances along one meridian, where the
// great-circle distance is exactly R × Δlatitude in radians (R = 6371.0088 km): 0.1° is
// 11.119505 km, which at route_factor 1.3 and 25 km/h takes 2081.5719 s.
#include <boost/test/unit_test.hpp>

#include "actors/eta_rules.hpp"

using namespace wassally;

namespace {

constexpr int64_t now = 1'800'000'000;
const eta_rules::settings defaults{25, 1.3};

crew_position crew_at(double lat, double lng = 31.0) {
  crew_position p;
  p.known = true;
  p.latitude = lat;
  p.longitude = lng;
  return p;
}

geo_location customer_at(double lat, double lng = 31.0) {
  geo_location g;
  g.latitude = lat;
  g.longitude = lng;
  return g;
}

order_stop stop(int64_t shop, double lat, int64_t preparation_min = 10) {
  return {shop, lat, 31.0, preparation_min};
}

std::optional<int64_t> estimate(const std::string& status, int64_t created_at,
                                const crew_position& crew, const std::vector<order_stop>& stops,
                                const geo_location& customer) {
  return eta_rules::estimate(now, status, created_at, crew, stops, customer, defaults);
}

order_item line(int64_t id, int64_t shop, bool bought) {
  order_item i;
  i.id = id;
  i.shop_id = shop;
  i.is_bought = bought;
  return i;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(eta_rules_suite)

BOOST_AUTO_TEST_CASE(one_shop_then_the_customer) {
  // 0.1° to the shop (prepared long ago), 0.2° on to the customer: 0.3°, 6244.7157 s.
  auto eta = estimate(order_status::assigned, now - 3600, crew_at(30.0), {stop(1, 30.1)},
                      customer_at(30.3));
  BOOST_TEST_REQUIRE(eta.has_value());
  BOOST_TEST(*eta == now + 6245);
}

BOOST_AUTO_TEST_CASE(two_shops_nearest_next) {
  // Shop 1 at 0.2°, shop 2 at 0.1°: nearest next goes to 2, then 1, then the customer at 0.3°
  // (0.3° in all: 6244.7157 s); in the given order it would be 0.2 + 0.1 + 0.2 = 0.5°.
  auto eta = estimate(order_status::assigned, now - 3600, crew_at(30.0),
                      {stop(1, 30.2), stop(2, 30.1)}, customer_at(30.3));
  BOOST_TEST_REQUIRE(eta.has_value());
  BOOST_TEST(*eta == now + 6245);
  // From 30.16 with the customer at 30.0: shop 1 is nearer (0.04°), then shop 2, then the
  // customer: 0.04 + 0.1 + 0.1 = 0.24° (4995.7726 s); shop 2 first would be 0.36°.
  eta = estimate(order_status::assigned, now - 3600, crew_at(30.16), {stop(1, 30.2), stop(2, 30.1)},
                 customer_at(30.0));
  BOOST_TEST_REQUIRE(eta.has_value());
  BOOST_TEST(*eta == now + 4996);
}

BOOST_AUTO_TEST_CASE(the_crew_waits_for_the_preparation) {
  // Placed just now, 60 minutes to prepare: the crew reaches the shop after 2081.6 s but leaves
  // at now + 3600, then 0.1° to the customer: 3600 + 2081.5719 s.
  auto eta =
      estimate(order_status::assigned, now, crew_at(30.0), {stop(1, 30.1, 60)}, customer_at(30.2));
  BOOST_TEST_REQUIRE(eta.has_value());
  BOOST_TEST(*eta == now + 5682);
  // Prepared in time (10 minutes): no wait, 0.2° in all.
  eta =
      estimate(order_status::assigned, now, crew_at(30.0), {stop(1, 30.1, 10)}, customer_at(30.2));
  BOOST_TEST(*eta == now + 4163);  // 4163.1438 s
}

BOOST_AUTO_TEST_CASE(picked_up_goes_straight_to_the_customer) {
  auto eta = estimate(order_status::picked_up, now - 3600, crew_at(30.0), {stop(1, 30.5, 240)},
                      customer_at(30.2));
  BOOST_TEST_REQUIRE(eta.has_value());
  BOOST_TEST(*eta == now + 4163);
  // Where the crew is now counts: at the customer, the eta is now.
  eta = estimate(order_status::picked_up, now - 3600, crew_at(30.2), {}, customer_at(30.2));
  BOOST_TEST(*eta == now);
}

BOOST_AUTO_TEST_CASE(the_settings_scale_the_travel) {
  // route_factor 1, 50 km/h: 0.1° (11.119505 km) takes 800.6046 s.
  auto eta = eta_rules::estimate(now, order_status::picked_up, now, crew_at(30.0), {},
                                 customer_at(30.1), {50, 1.0});
  BOOST_TEST(*eta == now + 801);
}

BOOST_AUTO_TEST_CASE(no_eta_without_a_crew_on_its_way) {
  for (auto status : {order_status::pending, order_status::delivered, order_status::cancelled})
    BOOST_TEST(!estimate(status, now, crew_at(30.0), {stop(1, 30.1)}, customer_at(30.2)));
  BOOST_TEST(
      !estimate(order_status::assigned, now, crew_position{}, {stop(1, 30.1)}, customer_at(30.2)));
  BOOST_TEST(!estimate(order_status::picked_up, now, crew_position{}, {}, customer_at(30.2)));
}

BOOST_AUTO_TEST_CASE(stops_left_are_the_shops_with_lines_not_bought) {
  order_record o;
  o.status = order_status::assigned;
  o.items = {line(1, 100, true), line(2, 200, false), line(3, 100, false), line(4, 300, true)};
  std::vector<order_stop> stops = {stop(100, 30.1), stop(200, 30.2), stop(300, 30.3)};
  auto left = eta_rules::stops_to_visit(o, stops);
  BOOST_TEST_REQUIRE(left.size() == 2u);
  BOOST_TEST(left[0].shop_id == 100);  // one of its lines is still to buy
  BOOST_TEST(left[1].shop_id == 200);
  o.items[2].is_bought = true;
  BOOST_TEST(eta_rules::stops_to_visit(o, stops).size() == 1u);
  o.status = order_status::picked_up;
  BOOST_TEST(eta_rules::stops_to_visit(o, stops).empty());

  // A delivery request: the requesting shop until picked up.
  order_record request;
  request.type = "delivery_request";
  request.requesting_shop_id = 500;
  request.status = order_status::assigned;
  left = eta_rules::stops_to_visit(request, {stop(500, 30.1)});
  BOOST_TEST_REQUIRE(left.size() == 1u);
  BOOST_TEST(left[0].shop_id == 500);
  request.status = order_status::picked_up;
  BOOST_TEST(eta_rules::stops_to_visit(request, {stop(500, 30.1)}).empty());
}

BOOST_AUTO_TEST_CASE(a_change_is_news_from_a_minute_or_to_and_from_null) {
  using eta_rules::worth_announcing;
  BOOST_TEST(!worth_announcing(std::nullopt, std::nullopt));
  BOOST_TEST(worth_announcing(std::nullopt, now));
  BOOST_TEST(worth_announcing(now, std::nullopt));
  BOOST_TEST(!worth_announcing(now, now + 59));
  BOOST_TEST(!worth_announcing(now, now - 59));
  BOOST_TEST(worth_announcing(now, now + 60));
  BOOST_TEST(worth_announcing(now, now - 60));
}

BOOST_AUTO_TEST_SUITE_END()
