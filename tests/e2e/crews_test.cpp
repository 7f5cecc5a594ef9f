// API.md "Delivery crew", delivery requests and "Staff" end to end: the journey of an order
// through a crew, the accept race, limits, reassignment, codes, staff views and streams,
// recovery.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <functional>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <thread>
#include <tuple>

#include "tests/e2e/orders_support.hpp"

using namespace wassally::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct crew_handle {
  int64_t id = 0;
  std::string name;
  header_map auth;
};

crew_handle make_crew(orders_world& w, bool available = true, double lat = 30.05,
                      double lng = 31.23) {
  crew_handle c;
  c.name = "crew" + unique_suffix();
  auto r = w.client.post_json(
      "/api/v1/staff/crews",
      {{"username", c.name}, {"password", "crew-pass-1"}, {"phone_number", unique_phone()}},
      w.staff);
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  BOOST_REQUIRE(r.json()["role"] == "delivery_crew");
  c.id = r.json()["id"];
  c.auth = w.login(c.name, "crew-pass-1");
  if (available) {
    auto s = w.client.put_json("/api/v1/crew/status", {{"status", "available"}}, c.auth);
    BOOST_REQUIRE_MESSAGE(s.status == 200, s.body);
    auto l =
        w.client.put_json("/api/v1/crew/location", {{"latitude", lat}, {"longitude", lng}}, c.auth);
    BOOST_REQUIRE_MESSAGE(l.status == 204, l.body);
  }
  return c;
}

/// A pending order of one product from a fresh shop at (lat, lng).
struct simple_order {
  int64_t id = 0;
  std::string code;
  header_map customer;
  shop_handle shop;
  int64_t product = 0;
};

simple_order make_order(orders_world& w, double lat = 30.05, double lng = 31.23) {
  simple_order o;
  o.shop = w.shop(lat, lng);
  o.product = w.product(o.shop, {{"price", "10"}, {"stock", 100}});
  o.customer = w.customer().second;
  auto r = w.place(o.customer, {orders_world::line(o.product, 1)});
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  o.id = r.json()["id"];
  o.code = r.json()["code"];
  return o;
}

http_response act(orders_world& w, int64_t order, const std::string& action, const header_map& who,
                  json body = json::object()) {
  return w.client.post_json(order_path(order, "/" + action), body, who);
}

/// The value of the sample `name` (with its labels, e.g. `x{a="b"}`) in /metrics; -1 if absent.
double metric(orders_world& w, const std::string& sample) {
  auto body = w.client.get("/metrics").body;
  auto at = body.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + sample.size() + 2));
}

/// The crew's row as PostgreSQL has it: latitude, longitude, last_seen (ISO, "" when null).
std::tuple<double, double, std::string> crew_row(orders_world& w, int64_t crew_id) {
  pqxx::connection db(w.server.database_url());
  pqxx::read_transaction tx(db);
  auto r = tx.exec_params(
      "SELECT coalesce(latitude, -999), coalesce(longitude, -999), coalesce(to_char(last_seen AT"
      " TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '') FROM delivery_crews"
      " WHERE user_id = $1",
      crew_id);
  BOOST_REQUIRE(r.size() == 1u);
  return {r[0][0].as<double>(), r[0][1].as<double>(), r[0][2].as<std::string>()};
}

json staff_crew(orders_world& w, int64_t crew_id) {
  auto crews = w.client.get("/api/v1/staff/crews?page_size=100", w.staff).json();
  for (auto& c : crews["results"])
    if (c["id"] == crew_id) return c;
  BOOST_FAIL("crew " << crew_id << " is not listed: " << crews.dump());
  return {};
}

/// The eta's formula as API.md and the README give it, computed here on its own: great-circle
/// km (haversine, R = 6371.0088 km) × route_factor 1.3 at 25 km/h (the defaults), in seconds.
double travel_s(double lat1, double lng1, double lat2, double lng2) {
  constexpr double rad = M_PI / 180.0;
  double dlat = (lat2 - lat1) * rad, dlng = (lng2 - lng1) * rad;
  double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(lat1 * rad) * std::cos(lat2 * rad) * std::sin(dlng / 2) * std::sin(dlng / 2);
  return 6371.0088 * 2 * std::asin(std::min(1.0, std::sqrt(a))) * 1.3 / 25 * 3600;
}

/// "2026-11-24T19:30:00Z" → unix seconds.
int64_t unix_of(const std::string& iso) {
  std::tm t{};
  BOOST_REQUIRE_MESSAGE(std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%dZ", &t.tm_year, &t.tm_mon,
                                    &t.tm_mday, &t.tm_hour, &t.tm_min, &t.tm_sec) == 6,
                        iso);
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&t));
}

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

/// The next `event: eta` on `stream` within `within` (skipping other events): its eta (unix
/// seconds, or nullopt for null); fails the test when none comes.
std::optional<int64_t> next_eta(sse_stream& stream, std::chrono::milliseconds within) {
  auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    auto e = stream.next(std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now()));
    if (!e) break;
    if (e->event != "eta") continue;
    BOOST_TEST(e->id.empty());  // not a status event: never replayed
    auto data = json::parse(e->data);
    if (data["eta"].is_null()) return std::nullopt;
    return unix_of(data["eta"]);
  }
  BOOST_FAIL("no event: eta within " << within.count() << " ms");
  return std::nullopt;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crew_journey)

BOOST_AUTO_TEST_CASE(an_order_from_three_shops_goes_from_placed_to_delivered) {
  orders_world w;
  std::vector<shop_handle> shops;
  std::vector<int64_t> products;
  for (int i = 0; i < 3; ++i) {
    shops.push_back(w.shop(30.05 + i * 0.01, 31.23));
    products.push_back(w.product(shops.back(), {{"price", "5"}, {"stock", 10}}));
  }
  auto [name, cust] = w.customer();
  auto placed =
      w.place(cust, {orders_world::line(products[0], 1), orders_world::line(products[1], 2),
                     orders_world::line(products[2], 1)});
  BOOST_TEST_REQUIRE(placed.status == 201, placed.body);
  int64_t id = placed.json()["id"];
  std::string code = placed.json()["code"];
  // A far order, to check the nearest-first ordering.
  auto far = make_order(w, 30.50, 31.23);

  auto near_crew = make_crew(w, true, 30.04, 31.23);
  auto mid_crew = make_crew(w, true, 30.20, 31.23);
  auto far_crew = make_crew(w, true, 31.50, 31.23);

  auto pending = w.client.get("/api/v1/crew/orders/pending?radius_km=100", near_crew.auth).json();
  BOOST_TEST_REQUIRE(pending["count"] == 2, pending.dump());
  BOOST_TEST(pending["results"][0]["id"] == id);
  BOOST_TEST(pending["results"][1]["id"] == far.id);
  BOOST_TEST(pending["results"][0]["distance_km"].get<double>() < 1.5);  // its nearest shop
  BOOST_TEST(pending["results"][1]["distance_km"].get<double>() > 40);
  BOOST_TEST(!pending["results"][0].contains("code"));
  BOOST_TEST(pending["results"][0]["items"].size() == 3u);
  // The default radius is 10 km.
  BOOST_TEST(w.client.get("/api/v1/crew/orders/pending", near_crew.auth).json()["count"] == 1);
  BOOST_TEST(w.client.get("/api/v1/crew/orders/pending", far_crew.auth).json()["count"] == 0);
  auto from_mid = w.client.get("/api/v1/crew/orders/pending?radius_km=50", mid_crew.auth).json();
  BOOST_TEST(from_mid["results"][0]["id"] == id);  // 13 km vs 33 km

  sse_stream stream("127.0.0.1", w.server.port(), order_path(id, "/events"), cust);
  BOOST_TEST_REQUIRE(stream.next(5s).has_value());
  auto metrics = w.client.get("/metrics").body;
  BOOST_TEST(metrics.find("\nwassally_dispatch_pending_orders 2\n") != std::string::npos);

  auto accepted = act(w, id, "accept", near_crew.auth);
  BOOST_TEST_REQUIRE(accepted.status == 200, accepted.body);
  BOOST_TEST(accepted.json()["status"] == "assigned");
  BOOST_TEST(accepted.json()["crew_id"] == near_crew.id);
  BOOST_TEST(!accepted.json().contains("code"));
  BOOST_TEST(w.client.get("/metrics").body.find("\nwassally_dispatch_pending_orders 1\n") !=
             std::string::npos);
  // It left the pending list; the crew sees it as its own.
  BOOST_TEST(
      w.client.get("/api/v1/crew/orders/pending?radius_km=100", mid_crew.auth).json()["count"] ==
      1);
  BOOST_TEST(w.client.get(order_path(id), near_crew.auth).status == 200);
  expect_error(w.client.get(order_path(id), mid_crew.auth), 404, "not_found");
  auto mine = w.client.get("/api/v1/crew/orders", near_crew.auth).json();
  BOOST_TEST(mine["count"] == 1);

  auto accepted_order = accepted.json();
  BOOST_TEST_REQUIRE(accepted_order["items"].size() == 3u);
  for (auto& item : accepted_order["items"]) {
    auto bought = act(w, id, "items/" + std::to_string(item["id"].get<int64_t>()) + "/bought",
                      near_crew.auth);
    BOOST_TEST_REQUIRE(bought.status == 200, bought.body);
  }
  auto order_now = w.client.get(order_path(id), cust).json();
  for (auto& item : order_now["items"]) BOOST_TEST(item["is_bought"] == true);
  expect_error(act(w, id, "items/999999/bought", near_crew.auth), 404, "not_found");
  expect_error(act(w, id, "deliver", near_crew.auth, {{"code", code}}), 409, "invalid_transition");

  auto picked = act(w, id, "pickup", near_crew.auth);
  BOOST_TEST_REQUIRE(picked.status == 200, picked.body);
  BOOST_TEST(picked.json()["status"] == "picked_up");
  expect_error(act(w, id, "pickup", near_crew.auth), 409, "invalid_transition");
  auto wrong = act(w, id, "deliver", near_crew.auth, {{"code", "00000000x"}});
  expect_error(wrong, 400, "invalid_code", "code");
  auto delivered = act(w, id, "deliver", near_crew.auth, {{"code", code}});
  BOOST_TEST_REQUIRE(delivered.status == 200, delivered.body);
  BOOST_TEST(delivered.json()["status"] == "delivered");

  auto me = w.client.get("/api/v1/me", near_crew.auth).json();
  BOOST_TEST(me["coins"] == 10);
  BOOST_TEST(me["number_of_deliveries"] == 1);
  std::vector<std::string> seen;
  while (seen.size() < 3) {
    auto e = stream.next(5s);
    BOOST_TEST_REQUIRE(e.has_value());
    if (e->event != "status") continue;  // the crew's position comes too (API.md "Dispatch")
    seen.push_back(json::parse(e->data)["status"]);
    if (seen.back() == "assigned") BOOST_TEST(json::parse(e->data)["crew_id"] == near_crew.id);
  }
  BOOST_TEST((seen == std::vector<std::string>{"assigned", "picked_up", "delivered"}));
  BOOST_TEST(!stream.next(3s).has_value());
  BOOST_TEST(stream.closed());
  auto history = w.client.get(order_path(id, "/history"), cust).json();
  BOOST_TEST(history.size() == 4u);
  BOOST_TEST(history[1]["crew_id"] == near_crew.id);
  // Delivered sales are counted per shop and product for analytics.
  pqxx::connection db(w.server.database_url());
  pqxx::work tx(db);
  BOOST_TEST(tx.exec_params("SELECT sum(quantity)::int FROM sales_daily WHERE product_id = $1",
                            products[1])[0][0]
                 .as<int>() == 2);
}

BOOST_AUTO_TEST_CASE(exactly_one_of_ten_concurrent_accepts_wins_twenty_times_over) {
  orders_world w(settings{{"WASSALLY_CREW_MAX_ORDERS", "100"}, {"WASSALLY_HTTP_THREADS", "4"}});
  std::vector<crew_handle> crews;
  for (int i = 0; i < 10; ++i) crews.push_back(make_crew(w));
  auto s = w.shop();
  auto p = w.product(s, {{"price", "1"}, {"stock", 1000}});
  auto [name, cust] = w.customer();
  std::map<int64_t, int> wins_by_crew;
  for (int round = 0; round < 20; ++round) {
    int64_t id = w.place(cust, {orders_world::line(p, 1)}).json()["id"];
    std::atomic<int> won{0}, lost{0}, other{0};
    std::atomic<int64_t> winner{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (auto& c : crews)
      threads.emplace_back([&, c] {
        auto client = w.server.client();
        while (!go.load()) std::this_thread::yield();
        auto r = client.post_json(order_path(id, "/accept"), json::object(), c.auth);
        if (r.status == 200) {
          ++won;
          winner = c.id;
        } else if (r.status == 409 && r.json()["error"]["code"] == "already_assigned") {
          ++lost;
        } else {
          ++other;
        }
      });
    go = true;
    for (auto& t : threads) t.join();
    BOOST_TEST(won.load() == 1);
    BOOST_TEST(lost.load() == 9);
    BOOST_TEST(other.load() == 0);
    auto o = w.client.get(order_path(id), w.staff).json();
    BOOST_TEST(o["crew_id"] == winner.load());
    ++wins_by_crew[winner.load()];
  }
  // The database agrees: one assignment event per order, each order with its winner.
  pqxx::connection db(w.server.database_url());
  pqxx::work tx(db);
  BOOST_TEST(
      tx.exec("SELECT count(*) FROM order_events WHERE status = 'assigned'")[0][0].as<int>() == 20);
  int held = 0;
  for (auto& c : crews) {
    auto staff_view = w.client.get("/api/v1/crew/orders", c.auth).json();
    held += staff_view["count"].get<int>();
    BOOST_TEST(staff_view["count"].get<int>() == wins_by_crew[c.id]);
  }
  BOOST_TEST(held == 20);
}

BOOST_AUTO_TEST_CASE(crew_limits_offline_crews_and_positions) {
  orders_world w;
  auto crew = make_crew(w, false);
  auto o1 = make_order(w);
  expect_error(w.client.get("/api/v1/crew/orders/pending", crew.auth), 409, "location_required");
  expect_error(act(w, o1.id, "accept", crew.auth), 409, "crew_offline");
  BOOST_TEST(w.client.put_json("/api/v1/crew/status", {{"status", "available"}}, crew.auth)
                 .json()["status"] == "available");
  expect_error(w.client.put_json("/api/v1/crew/status", {{"status", "sleeping"}}, crew.auth), 400,
               "validation_error", "status");
  expect_error(
      w.client.put_json("/api/v1/crew/location", {{"latitude", 91}, {"longitude", 0}}, crew.auth),
      400, "validation_error", "latitude");
  expect_error(w.client.put_json("/api/v1/crew/location", {{"latitude", 1}}, crew.auth), 400,
               "validation_error", "longitude");
  expect_error(w.client.get("/api/v1/crew/orders/pending?radius_km=-3", crew.auth), 400,
               "validation_error", "radius_km");
  BOOST_TEST(act(w, o1.id, "accept", crew.auth).status == 200);
  expect_error(act(w, o1.id, "accept", crew.auth), 409, "already_assigned");
  auto o2 = make_order(w);
  auto o3 = make_order(w);
  auto o4 = make_order(w);
  BOOST_TEST(act(w, o2.id, "accept", crew.auth).status == 200);
  BOOST_TEST(act(w, o3.id, "accept", crew.auth).status == 200);
  expect_error(act(w, o4.id, "accept", crew.auth), 409, "crew_busy");
  // Delivering one frees a slot.
  BOOST_TEST(act(w, o1.id, "pickup", crew.auth).status == 200);
  BOOST_TEST(act(w, o1.id, "deliver", crew.auth, {{"code", o1.code}}).status == 200);
  BOOST_TEST(act(w, o4.id, "accept", crew.auth).status == 200);

  // Only the assigned crew acts on an order.
  auto other = make_crew(w);
  expect_error(act(w, o2.id, "pickup", other.auth), 403, "forbidden");
  expect_error(act(w, o2.id, "deliver", other.auth, {{"code", o2.code}}), 403, "forbidden");
  expect_error(act(w, o2.id, "items/1/bought", other.auth), 403, "forbidden");
  expect_error(act(w, o2.id, "accept", o2.customer), 403, "forbidden");
  // A customer may not cancel an assigned order.
  expect_error(act(w, o2.id, "cancel", o2.customer), 409, "invalid_transition");
  auto staff_crews = w.client.get("/api/v1/staff/crews?status=available", w.staff).json();
  bool found = false;
  for (auto& c : staff_crews["results"])
    if (c["id"] == crew.id) {
      found = true;
      BOOST_TEST(c["current_order_ids"].size() == 3u);
      BOOST_TEST(c["coins"] == 10);
      BOOST_TEST(c["number_of_deliveries"] == 1);
      BOOST_TEST(c["username"] == crew.name);
    }
  BOOST_TEST(found);
  expect_error(w.client.get("/api/v1/staff/crews?status=lost", w.staff), 400, "validation_error",
               "status");
}

BOOST_AUTO_TEST_CASE(wrong_codes_lock_delivery_until_staff_unlocks) {
  orders_world w;
  auto crew = make_crew(w);
  auto o = make_order(w);
  BOOST_TEST(act(w, o.id, "accept", crew.auth).status == 200);
  BOOST_TEST(act(w, o.id, "pickup", crew.auth).status == 200);
  for (int i = 0; i < 5; ++i) {
    auto r = act(w, o.id, "deliver", crew.auth, {{"code", "wrong"}});
    expect_error(r, 400, "invalid_code");
  }
  expect_error(act(w, o.id, "deliver", crew.auth, {{"code", o.code}}), 409, "code_locked");
  expect_error(act(w, o.id, "unlock-code", crew.auth), 403, "forbidden");
  BOOST_TEST(act(w, o.id, "unlock-code", w.staff).status == 200);
  expect_error(act(w, o.id, "deliver", crew.auth, json::object()), 400, "validation_error", "code");
  BOOST_TEST(act(w, o.id, "deliver", crew.auth, {{"code", o.code}}).json()["status"] ==
             "delivered");
}

BOOST_AUTO_TEST_CASE(staff_assign_and_reassign_and_cancel_assigned_orders) {
  orders_world w;
  auto a = make_crew(w);
  auto b = make_crew(w, false);  // offline: staff may still assign
  auto o = make_order(w);
  auto assigned = act(w, o.id, "assign", w.staff, {{"crew_id", a.id}});
  BOOST_TEST_REQUIRE(assigned.status == 200, assigned.body);
  BOOST_TEST(assigned.json()["crew_id"] == a.id);
  BOOST_TEST(assigned.json()["code"] == o.code);  // staff see the code
  expect_error(act(w, o.id, "assign", w.staff, {{"crew_id", a.id}}), 409, "already_assigned");
  auto moved = act(w, o.id, "assign", w.staff, {{"crew_id", b.id}});
  BOOST_TEST_REQUIRE(moved.status == 200, moved.body);
  BOOST_TEST(moved.json()["crew_id"] == b.id);
  expect_error(act(w, o.id, "pickup", a.auth), 403, "forbidden");
  auto crews = w.client.get("/api/v1/staff/crews?page_size=100", w.staff).json();
  for (auto& c : crews["results"]) {
    if (c["id"] == a.id) BOOST_TEST(c["current_order_ids"].empty());
    if (c["id"] == b.id) BOOST_TEST(c["current_order_ids"] == json::array({o.id}));
  }
  auto [n, customer] = w.customer();
  expect_error(act(w, o.id, "assign", w.staff, {{"crew_id", 999999}}), 400, "validation_error",
               "crew_id");
  expect_error(act(w, o.id, "assign", w.staff, json::object()), 400, "validation_error", "crew_id");
  expect_error(act(w, o.id, "assign", customer, {{"crew_id", a.id}}), 403, "forbidden");
  auto history = w.client.get(order_path(o.id, "/history"), w.staff).json();
  BOOST_TEST(history.size() == 3u);
  BOOST_TEST(history[2]["crew_id"] == b.id);

  // Staff cancel an assigned order: the crew no longer holds it, stock comes back.
  auto cancelled = act(w, o.id, "cancel", w.staff);
  BOOST_TEST(cancelled.json()["status"] == "cancelled");
  BOOST_TEST(w.stock(o.shop, o.product) == 100);
  BOOST_TEST(w.client.get("/api/v1/staff/crews?status=offline", w.staff)
                 .json()["results"][0]["current_order_ids"]
                 .empty());
  expect_error(act(w, o.id, "assign", w.staff, {{"crew_id", a.id}}), 409, "invalid_transition");
  // The crew that lost the order has its slot back.
  for (int i = 0; i < 3; ++i) BOOST_TEST(act(w, make_order(w).id, "accept", a.auth).status == 200);
}

BOOST_AUTO_TEST_CASE(a_delivery_request_is_handled_like_any_order) {
  orders_world w;
  auto s = w.shop(30.10, 31.30);
  auto other = w.shop();
  auto crew = make_crew(w, true, 30.10, 31.31);
  json body = {{"receiver_name", "Ali"},
               {"receiver_phone", "+201112223334"},
               {"location", {{"address", "Zamalek"}, {"latitude", 30.06}, {"longitude", 31.22}}},
               {"price", "35.00"},
               {"notes", "fragile"}};
  auto path = "/api/v1/shops/" + std::to_string(s.id) + "/delivery-requests";
  auto r = w.client.post_json(path, body, s.owner);
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  auto o = r.json();
  BOOST_TEST(o["type"] == "delivery_request");
  BOOST_TEST(o["requesting_shop_id"] == s.id);
  BOOST_TEST(o["items"].empty());
  BOOST_TEST(o["delivery_fee"] == "35.00");
  BOOST_TEST(o["total"] == "35.00");
  BOOST_TEST(o.contains("code"));
  expect_error(w.client.post_json(path, body, other.owner), 403, "forbidden");
  auto bad = body;
  bad["price"] = "0";
  expect_error(w.client.post_json(path, bad, s.owner), 400, "validation_error", "price");
  expect_error(w.client.post_json(path, body, w.customer().second), 403, "forbidden");

  auto pending = w.client.get("/api/v1/crew/orders/pending", crew.auth).json();
  BOOST_TEST_REQUIRE(pending["count"] == 1);
  BOOST_TEST(pending["results"][0]["id"] == o["id"]);
  BOOST_TEST(pending["results"][0]["distance_km"].get<double>() < 1.5);
  int64_t id = o["id"];
  BOOST_TEST(act(w, id, "accept", crew.auth).status == 200);
  BOOST_TEST(act(w, id, "pickup", crew.auth).status == 200);
  BOOST_TEST(act(w, id, "deliver", crew.auth, {{"code", o["code"]}}).json()["status"] ==
             "delivered");
  BOOST_TEST(w.client.get("/api/v1/orders", s.owner).json()["count"] == 1);
  BOOST_TEST(w.client.get("/api/v1/orders", other.owner).json()["count"] == 0);
  BOOST_TEST(w.client.get(order_path(id), s.owner).json()["code"] == o["code"]);
  BOOST_TEST(w.client.get("/api/v1/orders?status=delivered", w.staff).json()["count"] == 1);
  BOOST_TEST(w.client.get("/api/v1/me", crew.auth).json()["coins"] == 10);
}

// API.md "Dispatch": while assigned or picked up, the customer and staff see crew_location in
// the order and get event: crew_location on its stream, at most one per crew_location_event_s
// (here 1 s), the latest position once the window ends; nobody else sees it.
BOOST_AUTO_TEST_CASE(the_customer_and_staff_follow_the_crew_until_delivery) {
  orders_world w(settings{{"WASSALLY_CREW_LOCATION_EVENT_S", "1"}});
  auto crew = make_crew(w, true, 30.05, 31.23);
  auto o = make_order(w);
  auto as = [&](const header_map& who) { return w.client.get(order_path(o.id), who).json(); };
  BOOST_TEST(as(o.customer)["crew_location"].is_null());  // pending: no crew yet
  sse_stream stream("127.0.0.1", w.server.port(), order_path(o.id, "/events"), o.customer);
  BOOST_TEST_REQUIRE(stream.next(5s).has_value());  // pending
  using clock = std::chrono::steady_clock;
  // The next crew_location event (skipping status events), with when it came.
  auto next_location =
      [&](std::chrono::milliseconds within) -> std::optional<std::pair<json, clock::time_point>> {
    auto until = clock::now() + within;
    while (clock::now() < until) {
      auto e =
          stream.next(std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now()));
      if (!e) return std::nullopt;
      if (e->event == "crew_location") {
        BOOST_TEST(e->id.empty());  // not a status event: never replayed
        return std::make_pair(json::parse(e->data), clock::now());
      }
    }
    return std::nullopt;
  };

  BOOST_TEST_REQUIRE(act(w, o.id, "accept", crew.auth).status == 200);
  auto first = next_location(5s);
  BOOST_TEST_REQUIRE(first.has_value());
  BOOST_TEST(first->first["latitude"] == 30.05);
  BOOST_TEST(first->first["longitude"] == 31.23);
  auto seen = std::get<2>(crew_row(w, crew.id));
  BOOST_TEST(first->first["at"] == seen);
  auto shown = as(o.customer)["crew_location"];
  BOOST_TEST(shown == first->first);
  BOOST_TEST(as(w.staff)["crew_location"] == first->first);
  BOOST_TEST(as(crew.auth)["crew_location"].is_null());
  BOOST_TEST(as(o.shop.owner)["crew_location"].is_null());

  // Four positions in quick succession: at most one event a second, the last one shown once
  // its window ends.
  auto started = clock::now();
  for (double lat : {30.06, 30.07, 30.08, 30.09})
    BOOST_TEST_REQUIRE(
        w.client
            .put_json("/api/v1/crew/location", {{"latitude", lat}, {"longitude", 31.24}}, crew.auth)
            .status == 204);
  auto written = clock::now();
  std::vector<std::pair<json, clock::time_point>> got;
  while (got.empty() || got.back().first["latitude"] != 30.09) {
    auto e = next_location(4s);
    BOOST_TEST_REQUIRE(e.has_value(), "no crew_location with the last position");
    got.push_back(*e);
  }
  auto ms = [](clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  // One event per started window while the writes went on, plus the last one's.
  BOOST_TEST(got.size() <= static_cast<size_t>(2 + ms(written - started) / 1000), got.size());
  // Events a window apart (less what delivery jitter may take off), never back to back.
  auto last = first->second;
  for (auto& [data, at] : got) {
    BOOST_TEST(ms(at - last) >= 700);
    last = at;
  }
  // The last position goes out when its window ends, not later.
  BOOST_TEST(ms(got.back().second - written) < 2500);
  BOOST_TEST(as(o.customer)["crew_location"]["latitude"] == 30.09);
  BOOST_TEST(as(w.staff)["crew_location"]["longitude"] == 31.24);

  // Still followed when picked up; over once delivered.
  BOOST_TEST_REQUIRE(act(w, o.id, "pickup", crew.auth).status == 200);
  BOOST_TEST(as(o.customer)["crew_location"]["latitude"] == 30.09);
  BOOST_TEST_REQUIRE(act(w, o.id, "deliver", crew.auth, {{"code", o.code}}).status == 200);
  BOOST_TEST(as(o.customer)["crew_location"].is_null());
  BOOST_TEST(as(w.staff)["crew_location"].is_null());
}

// API.md "Dispatch": eta. The order carries when its crew should reach the customer: crew →
// shop (no earlier than created_at + its preparation_min) → customer, great-circle × 1.3 at
// 25 km/h; each change of a minute or more is event: eta on every stream of the order.
BOOST_AUTO_TEST_CASE(the_eta_follows_assignment_the_crew_and_pickup) {
  orders_world w(settings{{"WASSALLY_CREW_LOCATION_EVENT_S", "1"}});
  auto o = make_order(w, 30.05, 31.23);
  // Nothing to wait for at the shop: the eta is distances only.
  auto patched = w.client.patch_json("/api/v1/shops/" + std::to_string(o.shop.id),
                                     {{"preparation_min", 0}}, o.shop.owner);
  BOOST_TEST_REQUIRE(patched.status == 200, patched.body);
  auto crew = make_crew(w, true, 30.20, 31.23);
  const double shop_lat = 30.05, shop_lng = 31.23, cust_lat = 30.06, cust_lng = 31.24;
  auto as = [&](const header_map& who) { return w.client.get(order_path(o.id), who).json(); };
  BOOST_TEST(as(o.customer)["eta"].is_null());  // pending
  sse_stream stream("127.0.0.1", w.server.port(), order_path(o.id, "/events"), o.customer);
  BOOST_TEST_REQUIRE(stream.next(5s).has_value());  // pending

  // The eta the order shows once it has one (it reads its shops first), polled until `until`.
  auto shown_eta = [&](std::chrono::seconds within, std::function<bool(const json&)> done) -> json {
    auto until = std::chrono::steady_clock::now() + within;
    json eta;
    do {
      eta = as(o.customer)["eta"];
      if (done(eta)) return eta;
      std::this_thread::sleep_for(20ms);
    } while (std::chrono::steady_clock::now() < until);
    BOOST_FAIL("the order's eta stayed " << eta.dump());
    return eta;
  };
  // An eta computed at some moment in [from, to] is that moment + `trip` seconds (± 2 s).
  auto check = [](int64_t eta, int64_t from, int64_t to, double trip) {
    BOOST_TEST(eta >= from + std::llround(trip) - 2);
    BOOST_TEST(eta <= to + std::llround(trip) + 2);
  };

  auto before = unix_now();
  BOOST_TEST_REQUIRE(act(w, o.id, "accept", crew.auth).status == 200);
  auto shown = shown_eta(5s, [](const json& e) { return !e.is_null(); });
  auto after = unix_now();
  double trip =
      travel_s(30.20, 31.23, shop_lat, shop_lng) + travel_s(shop_lat, shop_lng, cust_lat, cust_lng);
  check(unix_of(shown), before, after, trip);
  auto heard = next_eta(stream, 5s);
  BOOST_TEST_REQUIRE(heard.has_value());
  BOOST_TEST(std::llabs(*heard - unix_of(shown)) <= 2);
  // Everyone who sees the order sees its eta.
  BOOST_TEST(as(w.staff)["eta"] == shown);
  BOOST_TEST(as(crew.auth)["eta"] == shown);
  BOOST_TEST(as(o.shop.owner)["eta"] == shown);
  // Lists show it too (from the live order actor: PostgreSQL does not hold it).
  for (auto* who : {&o.customer, &w.staff, &crew.auth}) {
    auto path =
        who == &crew.auth ? std::string("/api/v1/crew/orders") : std::string("/api/v1/orders");
    auto page = w.client.get(path, *who).json();
    bool found = false;
    for (auto& listed : page["results"])
      if (listed["id"] == o.id) {
        found = true;
        BOOST_TEST(listed["eta"] == shown, path);
      }
    BOOST_TEST(found, path);
  }

  // The crew comes much closer: an earlier eta, and its event.
  before = unix_now();
  BOOST_TEST_REQUIRE(
      w.client
          .put_json("/api/v1/crew/location", {{"latitude", 30.06}, {"longitude", 31.23}}, crew.auth)
          .status == 204);
  auto closer = next_eta(stream, 5s);
  after = unix_now();
  BOOST_TEST_REQUIRE(closer.has_value());
  BOOST_TEST(*closer < unix_of(shown) - 60);
  trip =
      travel_s(30.06, 31.23, shop_lat, shop_lng) + travel_s(shop_lat, shop_lng, cust_lat, cust_lng);
  check(*closer, before, after, trip);
  BOOST_TEST(std::llabs(unix_of(as(o.customer)["eta"]) - *closer) <= 2);

  // Picked up: straight from the crew to the customer.
  before = unix_now();
  BOOST_TEST_REQUIRE(act(w, o.id, "pickup", crew.auth).status == 200);
  after = unix_now();
  trip = travel_s(30.06, 31.23, cust_lat, cust_lng);
  check(unix_of(as(o.customer)["eta"]), before, after, trip);
  auto direct = next_eta(stream, 5s);
  BOOST_TEST_REQUIRE(direct.has_value());
  check(*direct, before, after, trip);

  // Delivered: no eta.
  BOOST_TEST_REQUIRE(act(w, o.id, "deliver", crew.auth, {{"code", o.code}}).status == 200);
  BOOST_TEST(as(o.customer)["eta"].is_null());
  BOOST_TEST(as(w.staff)["eta"].is_null());
}

// A delivery request's stop is the requesting shop, prepared preparation_min (default 10) after
// the request was made; a stream opened later gets the current eta right after the status.
BOOST_AUTO_TEST_CASE(a_delivery_request_has_an_eta_through_its_shop) {
  orders_world w(settings{{"WASSALLY_CREW_LOCATION_EVENT_S", "1"}});
  auto shop = w.shop(30.05, 31.23);
  auto crew = make_crew(w, true, 30.05, 31.23);  // at the shop already
  auto request = w.client.post_json(
      "/api/v1/shops/" + std::to_string(shop.id) + "/delivery-requests",
      {{"receiver_name", "Ali"},
       {"receiver_phone", "+201112223334"},
       {"location", {{"address", "Zamalek"}, {"latitude", 30.07}, {"longitude", 31.22}}},
       {"price", "35.00"}},
      shop.owner);
  BOOST_TEST_REQUIRE(request.status == 201, request.body);
  int64_t id = request.json()["id"];
  auto created = unix_of(request.json()["created_at"]);
  auto eta_of = [&] { return w.client.get(order_path(id), shop.owner).json()["eta"]; };
  BOOST_TEST(eta_of().is_null());  // pending

  BOOST_TEST_REQUIRE(act(w, id, "accept", crew.auth).status == 200);
  // The crew waits at the shop until created_at + 10 minutes, then rides to the customer.
  auto expected = created + 600 + std::llround(travel_s(30.05, 31.23, 30.07, 31.22));
  auto until = std::chrono::steady_clock::now() + 5s;
  while (eta_of().is_null() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  auto shown = eta_of();
  BOOST_TEST_REQUIRE(!shown.is_null());
  BOOST_TEST(std::llabs(unix_of(shown) - expected) <= 2);

  sse_stream stream("127.0.0.1", w.server.port(), order_path(id, "/events"), shop.owner);
  auto first = stream.next(5s);
  BOOST_TEST_REQUIRE(first.has_value());
  BOOST_TEST(first->event == "status");
  BOOST_TEST(json::parse(first->data)["status"] == "assigned");
  // Nothing changed since: this eta is the one the stream sends when it opens.
  auto current = next_eta(stream, 5s);
  BOOST_TEST_REQUIRE(current.has_value());
  BOOST_TEST(*current == unix_of(shown));

  auto before = unix_now();
  BOOST_TEST_REQUIRE(act(w, id, "pickup", crew.auth).status == 200);
  auto after = unix_now();
  auto trip = std::llround(travel_s(30.05, 31.23, 30.07, 31.22));
  auto direct = unix_of(eta_of());
  BOOST_TEST(direct >= before + trip - 2);
  BOOST_TEST(direct <= after + trip + 2);
  auto heard = next_eta(stream, 5s);
  BOOST_TEST_REQUIRE(heard.has_value());
  BOOST_TEST(std::llabs(*heard - direct) <= 2);
  BOOST_TEST_REQUIRE(act(w, id, "deliver", crew.auth, {{"code", request.json()["code"]}}).status ==
                     200);
  BOOST_TEST(eta_of().is_null());
}

BOOST_AUTO_TEST_CASE(shops_count_the_delivered_orders_with_their_lines) {
  orders_world w;
  auto a = w.shop(30.05, 31.23);
  auto b = w.shop(30.06, 31.23);
  auto a1 = w.product(a, {{"price", "5"}, {"stock", 50}});
  auto a2 = w.product(a, {{"price", "6"}, {"stock", 50}});
  auto b1 = w.product(b, {{"price", "7"}, {"stock", 50}});
  auto crew = make_crew(w, true, 30.05, 31.23);
  auto cust = w.customer().second;
  // What GET /shops/{id} (the shop actor's memory) and PostgreSQL say.
  auto api_count = [&](const shop_handle& s) {
    auto r = w.client.get("/api/v1/shops/" + std::to_string(s.id));
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return r.json()["confirmed_orders"].get<int64_t>();
  };
  auto db_count = [&](const shop_handle& s) {
    pqxx::connection db(w.server.database_url());
    pqxx::read_transaction tx(db);
    return tx.exec_params("SELECT confirmed_orders FROM shops WHERE id = $1", s.id)[0][0]
        .as<int64_t>();
  };
  auto expect_counts = [&](int64_t of_a, int64_t of_b, const std::string& when) {
    BOOST_TEST_CONTEXT(when) {
      BOOST_TEST(api_count(a) == of_a);
      BOOST_TEST(api_count(b) == of_b);
      BOOST_TEST(db_count(a) == of_a);
      BOOST_TEST(db_count(b) == of_b);
    }
  };
  auto deliver = [&](const json& placed) {
    int64_t id = placed["id"];
    BOOST_TEST_REQUIRE(act(w, id, "accept", crew.auth).status == 200);
    BOOST_TEST_REQUIRE(act(w, id, "pickup", crew.auth).status == 200);
    auto r = act(w, id, "deliver", crew.auth, {{"code", placed["code"]}});
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    BOOST_TEST_REQUIRE(r.json()["status"] == "delivered");
  };
  expect_counts(0, 0, "new shops");

  // Two lines of a and one of b: one order for each shop.
  auto first = w.place(
      cust, {orders_world::line(a1, 1), orders_world::line(a2, 2), orders_world::line(b1, 1)});
  BOOST_TEST_REQUIRE(first.status == 201, first.body);
  expect_counts(0, 0, "placed, not delivered");
  deliver(first.json());
  expect_counts(1, 1, "first delivered");

  // A cancelled order does not count, neither does a delivery request of a.
  auto cancelled = w.place(cust, {orders_world::line(a1, 1), orders_world::line(b1, 1)});
  BOOST_TEST_REQUIRE(cancelled.status == 201, cancelled.body);
  BOOST_TEST_REQUIRE(act(w, cancelled.json()["id"], "cancel", cust).status == 200);
  auto request = w.client.post_json(
      "/api/v1/shops/" + std::to_string(a.id) + "/delivery-requests",
      {{"receiver_name", "Ali"},
       {"receiver_phone", "+201112223334"},
       {"location", {{"address", "Zamalek"}, {"latitude", 30.06}, {"longitude", 31.22}}},
       {"price", "35.00"}},
      a.owner);
  BOOST_TEST_REQUIRE(request.status == 201, request.body);
  deliver(request.json());
  expect_counts(1, 1, "cancelled order and delivered request");

  // A second delivered order counts again, for the shops it has lines of.
  auto second = w.place(cust, {orders_world::line(a2, 1)});
  BOOST_TEST_REQUIRE(second.status == 201, second.body);
  deliver(second.json());
  expect_counts(2, 1, "second delivered");
  auto third = w.place(cust, {orders_world::line(a1, 1), orders_world::line(b1, 3)});
  BOOST_TEST_REQUIRE(third.status == 201, third.body);
  deliver(third.json());
  expect_counts(3, 2, "third delivered");

  // A restarted server reads the same counts back.
  w.server.restart();
  w.client = w.server.client();
  BOOST_TEST(api_count(a) == 3);
  BOOST_TEST(api_count(b) == 2);
}

BOOST_AUTO_TEST_CASE(staff_see_the_overview_and_a_live_stream_of_changes) {
  orders_world w;
  sse_stream stream("127.0.0.1", w.server.port(), "/api/v1/staff/events", w.staff);
  BOOST_TEST_REQUIRE(stream.status() == 200);
  auto crew = make_crew(w, true, 30.0, 31.0);
  auto o = make_order(w);
  BOOST_TEST(act(w, o.id, "accept", crew.auth).status == 200);
  bool saw_crew = false, saw_pending = false, saw_assigned = false;
  for (int i = 0; i < 10 && !(saw_crew && saw_pending && saw_assigned); ++i) {
    auto e = stream.next(5s);
    BOOST_TEST_REQUIRE(e.has_value());
    auto data = json::parse(e->data);
    if (e->event == "crew" && data["crew_id"] == crew.id && data["latitude"] == 30.0)
      saw_crew = true;
    if (e->event == "order" && data["order_id"] == o.id && data["status"] == "pending")
      saw_pending = true;
    if (e->event == "order" && data["order_id"] == o.id && data["status"] == "assigned") {
      saw_assigned = true;
      BOOST_TEST(data["crew_id"] == crew.id);
    }
  }
  BOOST_TEST(saw_crew);
  BOOST_TEST(saw_pending);
  BOOST_TEST(saw_assigned);
  auto overview = w.client.get("/api/v1/staff/overview", w.staff).json();
  BOOST_TEST(overview["orders_by_status"]["assigned"] == 1);
  BOOST_TEST(overview["orders_by_status"]["delivered"] == 0);
  BOOST_TEST(overview["active_crews"].get<int>() >= 1);
  BOOST_TEST(overview["orders_last_hour"] == 1);
  BOOST_TEST(overview["revenue_today"] == "0.00");
  sse_stream not_staff("127.0.0.1", w.server.port(), "/api/v1/staff/events", crew.auth);
  BOOST_TEST(not_staff.status() == 403);
}

BOOST_AUTO_TEST_CASE(every_route_answers_each_role_as_api_md_says) {
  orders_world w;
  auto crew = make_crew(w);
  auto o = make_order(w);
  auto [n, customer] = w.customer();
  auto owner = o.shop.owner;
  struct probe {
    std::string method, path;
    json body;
  };
  auto id = std::to_string(o.id);
  std::vector<probe> crew_only = {
      {"PUT", "/api/v1/crew/location", {{"latitude", 1}, {"longitude", 1}}},
      {"PUT", "/api/v1/crew/status", {{"status", "available"}}},
      {"GET", "/api/v1/crew/orders/pending", nullptr},
      {"GET", "/api/v1/crew/orders", nullptr},
      {"POST", "/api/v1/orders/" + id + "/accept", json::object()},
      {"POST", "/api/v1/orders/" + id + "/pickup", json::object()},
      {"POST", "/api/v1/orders/" + id + "/deliver", {{"code", "1"}}},
      {"POST", "/api/v1/orders/" + id + "/items/1/bought", json::object()}};
  std::vector<probe> staff_routes = {
      {"POST", "/api/v1/staff/crews", {{"username", "x"}}},
      {"GET", "/api/v1/staff/crews", nullptr},
      {"GET", "/api/v1/staff/overview", nullptr},
      {"POST", "/api/v1/orders/" + id + "/assign", {{"crew_id", crew.id}}},
      {"POST", "/api/v1/orders/" + id + "/unlock-code", json::object()}};
  auto send = [&](const probe& p, const header_map& who) {
    if (p.method == "GET") return w.client.get(p.path, who);
    if (p.method == "PUT") return w.client.put_json(p.path, p.body, who);
    return w.client.post_json(p.path, p.body, who);
  };
  for (auto& p : crew_only) {
    expect_error(send(p, {}), 401, "unauthenticated");
    for (auto* who : {&customer, &owner, &w.staff}) expect_error(send(p, *who), 403, "forbidden");
  }
  for (auto& p : staff_routes) {
    expect_error(send(p, {}), 401, "unauthenticated");
    for (auto* who : {&customer, &owner, &crew.auth}) expect_error(send(p, *who), 403, "forbidden");
  }
  // Unknown orders are 404 for the roles that may act.
  expect_error(act(w, 987654, "accept", crew.auth), 404, "not_found");
  expect_error(act(w, 987654, "assign", w.staff, {{"crew_id", crew.id}}), 404, "not_found");
  expect_error(w.client.post_json("/api/v1/shops/987654/delivery-requests",
                                  {{"receiver_name", "a"},
                                   {"receiver_phone", "+201234567"},
                                   {"location", {{"latitude", 1}, {"longitude", 1}}},
                                   {"price", "5"}},
                                  owner),
               404, "not_found");
}

BOOST_AUTO_TEST_CASE(a_position_is_in_postgresql_and_the_staff_list_when_its_204_comes) {
  orders_world w;
  auto crew = make_crew(w, false);
  BOOST_TEST(staff_crew(w, crew.id)["location"].is_null());
  BOOST_TEST(std::get<2>(crew_row(w, crew.id)) == "");
  sse_stream stream("127.0.0.1", w.server.port(), "/api/v1/staff/events", w.staff);
  BOOST_TEST_REQUIRE(stream.status() == 200);
  for (auto [lat, lng] : {std::pair{30.11, 31.21}, std::pair{30.12, 31.22}}) {
    auto r = w.client.put_json("/api/v1/crew/location", {{"latitude", lat}, {"longitude", lng}},
                               crew.auth);
    BOOST_TEST_REQUIRE(r.status == 204, r.body);
    // Committed before the answer: the row holds it, with last_seen...
    auto [db_lat, db_lng, seen] = crew_row(w, crew.id);
    BOOST_TEST(db_lat == lat);
    BOOST_TEST(db_lng == lng);
    BOOST_TEST(!seen.empty());
    // ...and the staff list (read from PostgreSQL) shows it at once.
    auto listed = staff_crew(w, crew.id);
    BOOST_TEST(listed["location"]["latitude"] == lat, listed.dump());
    BOOST_TEST(listed["location"]["longitude"] == lng, listed.dump());
    BOOST_TEST(listed["last_seen"] == seen, listed.dump());
    // The staff stream hears of the committed position.
    bool heard = false;
    for (int i = 0; i < 5 && !heard; ++i) {
      auto e = stream.next(5s);
      BOOST_TEST_REQUIRE(e.has_value());
      auto data = json::parse(e->data);
      heard = e->event == "crew" && data["crew_id"] == crew.id && data["latitude"] == lat;
    }
    BOOST_TEST(heard);
  }
}

BOOST_AUTO_TEST_CASE(positions_reported_together_are_written_together) {
  // One database connection: commands queue behind the running transaction, so positions of
  // many crews meet in a group commit and a fast crew's reports meet in its actor.
  orders_world w(settings{{"WASSALLY_DB_POOL_SIZE", "1"}, {"WASSALLY_HTTP_THREADS", "4"}});
  std::vector<crew_handle> crews;
  for (int i = 0; i < 6; ++i) crews.push_back(make_crew(w, false));
  auto merged_before = metric(w, "wassally_persistence_merged_commands_total");
  auto commands_before = metric(w, "wassally_persistence_batch_size_sum");
  BOOST_TEST_REQUIRE(merged_before >= 0);
  // Four callers per crew: while one write is in flight, the others' reports wait together.
  constexpr int threads_per_crew = 4, puts_per_thread = 10;
  std::atomic<int> not_204{0};
  std::mutex m;
  std::map<int64_t, std::set<double>> sent;  // crew → latitudes it reported
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (auto& c : crews)
    for (int t = 0; t < threads_per_crew; ++t)
      threads.emplace_back([&, c, t] {
        auto client = w.server.client();
        while (!go.load()) std::this_thread::yield();
        for (int k = 0; k < puts_per_thread; ++k) {
          double lat = 30 + (t * puts_per_thread + k) / 1000.0;
          {
            std::lock_guard<std::mutex> g(m);
            sent[c.id].insert(lat);
          }
          auto r = client.put_json("/api/v1/crew/location",
                                   {{"latitude", lat}, {"longitude", 31.0}}, c.auth);
          if (r.status != 204) ++not_204;
        }
      });
  go = true;
  for (auto& t : threads) t.join();
  BOOST_TEST(not_204.load() == 0);
  int puts = static_cast<int>(crews.size()) * threads_per_crew * puts_per_thread;
  auto merged = metric(w, "wassally_persistence_merged_commands_total") - merged_before;
  auto commands = metric(w, "wassally_persistence_batch_size_sum") - commands_before;
  BOOST_TEST_MESSAGE(puts << " positions reported: " << commands << " database commands, of which "
                          << merged << " merged");
  // Many crews' positions shared statements, and a crew's reports coalesced: fewer commands
  // than reports (the two /metrics reads above add one command each at most).
  BOOST_TEST(merged > 0);
  BOOST_TEST(commands < puts);
  // Each crew's row, its actor and the staff list agree on a position the crew reported.
  for (auto& c : crews) {
    auto [lat, lng, seen] = crew_row(w, c.id);
    BOOST_TEST(sent[c.id].count(lat) == 1u, "crew " << c.id << " row latitude " << lat);
    BOOST_TEST(lng == 31.0);
    auto state = w.client.get("/api/v1/admin/actors/crew/" + std::to_string(c.id), w.staff).json();
    BOOST_TEST(state["state"]["latitude"] == lat, state.dump());
    BOOST_TEST(state["state"]["last_seen"] == seen, state.dump());
    BOOST_TEST(staff_crew(w, c.id)["location"]["latitude"] == lat);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(crew_recovery)

BOOST_AUTO_TEST_CASE(crews_keep_their_orders_and_positions_across_sigkill) {
  // The old throttle key is still accepted (and ignored): the position is committed before
  // the 204, so a SIGKILL right after it loses nothing.
  orders_world w(settings{{"WASSALLY_CREW_LOCATION_FLUSH_S", "3600"}});
  auto crew = make_crew(w, true, 30.05, 31.23);
  auto assigned = make_order(w);
  auto picked = make_order(w);
  auto still_pending = make_order(w);
  BOOST_TEST(act(w, assigned.id, "accept", crew.auth).status == 200);
  BOOST_TEST(act(w, picked.id, "accept", crew.auth).status == 200);
  BOOST_TEST(act(w, picked.id, "pickup", crew.auth).status == 200);
  BOOST_TEST(
      w.client
          .put_json("/api/v1/crew/location", {{"latitude", 30.07}, {"longitude", 31.25}}, crew.auth)
          .status == 204);
  w.server.kill_hard();
  w.server.restart();
  auto auth = w.relogin(crew.name, "crew-pass-1");

  auto crews = w.client.get("/api/v1/staff/crews", w.staff).json();
  BOOST_TEST_REQUIRE(crews["results"].size() == 1u);
  BOOST_TEST(crews["results"][0]["location"]["latitude"] == 30.07);
  // Orders loaded again know where their crew is (the crew's row).
  auto followed = w.client.get(order_path(picked.id), w.staff).json();
  BOOST_TEST(followed["crew_location"]["latitude"] == 30.07);
  BOOST_TEST(followed["crew_location"]["at"] == crews["results"][0]["last_seen"]);
  BOOST_TEST(crews["results"][0]["current_order_ids"].size() == 2u);
  auto mine = w.client.get("/api/v1/crew/orders", auth).json();
  BOOST_TEST(mine["count"] == 2);
  // The pending index was rebuilt: the remaining pending order is offered, the others are not.
  auto pending = w.client.get("/api/v1/crew/orders/pending", auth).json();
  BOOST_TEST_REQUIRE(pending["count"] == 1, pending.dump());
  BOOST_TEST(pending["results"][0]["id"] == still_pending.id);
  // The crew still holds its slots: a third order fits, a fourth does not.
  BOOST_TEST(act(w, still_pending.id, "accept", auth).status == 200);
  expect_error(act(w, make_order(w).id, "accept", auth), 409, "crew_busy");
  // And it finishes what it held.
  BOOST_TEST(act(w, assigned.id, "pickup", auth).status == 200);
  BOOST_TEST(act(w, assigned.id, "deliver", auth, {{"code", assigned.code}}).status == 200);
  BOOST_TEST(act(w, picked.id, "deliver", auth, {{"code", picked.code}}).status == 200);
  BOOST_TEST(w.client.get("/api/v1/me", auth).json()["number_of_deliveries"] == 2);
}

BOOST_AUTO_TEST_CASE(recovery_in_small_pages_brings_back_every_open_order_once) {
  // Pages of 4: recovery reads the next page while the registry adopts the one before, and the
  // dispatcher rebuilds its index (ids and shop positions) on its own.
  orders_world w(settings{{"WASSALLY_RECOVERY_PAGE_SIZE", "4"}});
  auto crew = make_crew(w, true, 30.05, 31.23);
  auto s = w.shop(30.05, 31.23);
  auto product = w.product(s, {{"price", "3"}, {"stock", 100}});
  auto cust = w.customer().second;
  std::vector<int64_t> ids;
  for (int i = 0; i < 19; ++i) {
    auto r = w.place(cust, {orders_world::line(product, 1)});
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    ids.push_back(r.json()["id"]);
  }
  std::set<int64_t> pending(ids.begin(), ids.end());
  for (int i : {2, 9, 17}) {  // final: not recovered
    BOOST_TEST_REQUIRE(act(w, ids[i], "cancel", cust).status == 200);
    pending.erase(ids[i]);
  }
  for (int i : {0, 13}) {  // open, but no longer offered
    BOOST_TEST_REQUIRE(act(w, ids[i], "accept", crew.auth).status == 200);
    pending.erase(ids[i]);
  }
  w.server.kill_hard();
  w.server.restart();
  auto auth = w.relogin(crew.name, "crew-pass-1");
  auto staff = w.relogin("ord.staff", "staff-password-1");

  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    metrics = w.client.get("/metrics").body;
    if (metrics.find("\nwassally_recovery_done 1\n") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  BOOST_TEST_REQUIRE(metrics.find("\nwassally_recovery_done 1\n") != std::string::npos, metrics);
  BOOST_TEST(metrics.find("\nwassally_recovery_orders 16\n") != std::string::npos, metrics);
  auto actors = w.client.get("/api/v1/admin/actors", staff).json();
  BOOST_TEST(actors["kinds"]["order"]["live"] == 16, actors.dump());
  BOOST_TEST(actors["dispatcher"]["pending_orders"] == 14, actors.dump());

  // Each offered order is read from its own (recovered) actor, as crews may see it.
  auto offered = w.client.get("/api/v1/crew/orders/pending?page_size=50", auth).json();
  BOOST_TEST_REQUIRE(offered["count"] == 14, offered.dump());
  std::set<int64_t> listed;
  for (auto& o : offered["results"]) {
    listed.insert(o["id"].get<int64_t>());
    BOOST_TEST(o["status"] == "pending");
    BOOST_TEST(o["items"].size() == 1u);
    BOOST_TEST(!o.contains("code"));
  }
  BOOST_TEST((listed == pending));
  // An order taken meanwhile leaves the next page and its count at once.
  BOOST_TEST_REQUIRE(act(w, *pending.begin(), "accept", auth).status == 200);
  offered = w.client.get("/api/v1/crew/orders/pending?page_size=50", auth).json();
  BOOST_TEST(offered["count"] == 13);
  BOOST_TEST(offered["results"].size() == 13u);
}

BOOST_AUTO_TEST_SUITE_END()
