// API.md "Operators: actor inspection" and /metrics, end to end.
#include <boost/test/unit_test.hpp>

#include <regex>
#include <set>
#include <sstream>

#include "tests/e2e/orders_support.hpp"

using namespace wassally::test;
using nlohmann::json;

BOOST_AUTO_TEST_SUITE(operators)

BOOST_AUTO_TEST_CASE(live_actors_by_kind_and_one_actor_state) {
  orders_world w;
  auto s = w.shop();
  auto milk = w.product(s, {{"price", "2.50"}, {"stock", 9}});
  auto [name, cust] = w.customer();
  BOOST_TEST_REQUIRE(w.add_to_cart(cust, milk, 2).status == 201);
  auto placed = w.place(cust, {orders_world::line(milk, 3)});
  BOOST_TEST_REQUIRE(placed.status == 201);
  int64_t order_id = placed.json()["id"];
  // Order actors are activated by the first message for them.
  BOOST_TEST(w.client.get("/api/v1/orders/" + std::to_string(order_id), cust).status == 200);

  auto actors = w.client.get("/api/v1/admin/actors", w.staff);
  BOOST_TEST_REQUIRE(actors.status == 200, actors.body);
  auto a = actors.json();
  for (auto kind : {"order", "shop", "cart"}) {
    BOOST_TEST(a["kinds"][kind]["live"].get<int>() >= 1, kind);
    BOOST_TEST(a["kinds"][kind]["activations"].get<int>() >= 1, kind);
    BOOST_TEST(a["kinds"][kind].contains("passivated_total"));
    BOOST_TEST(a["kinds"][kind]["mailbox_max"].get<int>() >= 0);
    BOOST_TEST(a["kinds"][kind]["mailbox_total"].get<int>() >= 0);
  }
  BOOST_TEST(a["persistence"]["batches"].get<int>() > 0);
  BOOST_TEST(a["persistence"]["avg_batch_size"].get<double>() >= 1.0);
  BOOST_TEST(a["event_bus"]["subscribers"].get<int>() >= 2);  // dispatcher, stream hub

  auto order = w.client.get("/api/v1/admin/actors/order/" + std::to_string(order_id), w.staff);
  BOOST_TEST_REQUIRE(order.status == 200, order.body);
  BOOST_TEST(order.json()["state"]["order"]["status"] == "pending");
  BOOST_TEST(order.json()["state"]["events"].size() == 1u);
  auto shop = w.client.get("/api/v1/admin/actors/shop/" + std::to_string(s.id), w.staff).json();
  auto& products = shop["state"]["catalog"]["products"];
  BOOST_TEST_REQUIRE(products.size() == 1u);
  BOOST_TEST(products[0]["stock"]["milli"] == 6000);  // the cached stock after the sale
  auto cart_user = placed.json()["user_id"].get<int64_t>();
  auto cart =
      w.client.get("/api/v1/admin/actors/cart/" + std::to_string(cart_user), w.staff).json();
  BOOST_TEST(cart["state"]["lines"][0]["amount"]["milli"] == 2000);

  // A crew actor, live once the crew set its status.
  auto crew = w.client.post_json("/api/v1/staff/crews",
                                 {{"username", "inspected" + unique_suffix()},
                                  {"password", "crew-pass-1"},
                                  {"phone_number", unique_phone()}},
                                 w.staff);
  BOOST_TEST_REQUIRE(crew.status == 201, crew.body);
  auto crew_auth = w.login(crew.json()["username"], "crew-pass-1");
  BOOST_TEST(
      w.client.put_json("/api/v1/crew/status", {{"status", "available"}}, crew_auth).status == 200);
  auto crew_state = w.client.get(
      "/api/v1/admin/actors/crew/" + std::to_string(crew.json()["id"].get<int64_t>()), w.staff);
  BOOST_TEST_REQUIRE(crew_state.status == 200, crew_state.body);
  BOOST_TEST(crew_state.json()["state"]["status"] == "available");

  // Not live: 404, and the inspection activates nothing.
  expect_error(w.client.get("/api/v1/admin/actors/crew/" + std::to_string(cart_user), w.staff), 404,
               "not_found");
  expect_error(w.client.get("/api/v1/admin/actors/order/999999", w.staff), 404, "not_found");
  expect_error(w.client.get("/api/v1/admin/actors/robot/1", w.staff), 404, "not_found");
  auto after = w.client.get("/api/v1/admin/actors", w.staff).json();
  BOOST_TEST(after["kinds"]["crew"]["live"] == 1);
  BOOST_TEST(after["kinds"]["order"]["activations"] == a["kinds"]["order"]["activations"]);
  expect_error(w.client.get("/api/v1/admin/actors", cust), 403, "forbidden");
  expect_error(w.client.get("/api/v1/admin/actors"), 401, "unauthenticated");
  expect_error(w.client.get("/api/v1/admin/actors/order/" + std::to_string(order_id), s.owner), 403,
               "forbidden");
}

BOOST_AUTO_TEST_CASE(a_single_node_says_so_and_serves_every_entity) {
  // Cluster mode is covered by reliability.cluster (two real nodes); a single node has no
  // leases, holds no shard and refuses no entity.
  orders_world w;
  auto view = w.client.get("/api/v1/admin/cluster", w.staff);
  BOOST_TEST_REQUIRE(view.status == 200, view.body);
  auto v = view.json();
  BOOST_TEST(v["mode"] == "single");
  BOOST_TEST(v["leases"].empty());
  BOOST_TEST(v["held"].empty());
  auto s = w.shop();
  BOOST_TEST(w.client.get("/api/v1/shops/" + std::to_string(s.id)).status == 200);
}

BOOST_AUTO_TEST_CASE(metrics_are_valid_prometheus_text_with_every_family) {
  orders_world w;
  auto s = w.shop();
  auto milk = w.product(s, {{"price", "1"}, {"stock", 9}});
  auto [name, cust] = w.customer();
  BOOST_TEST_REQUIRE(w.place(cust, {orders_world::line(milk, 1)}).status == 201);
  auto r = w.client.get("/metrics");
  BOOST_TEST_REQUIRE(r.status == 200);
  BOOST_TEST(r.header("content-type").find("text/plain") == 0);
  // The text format: HELP and TYPE once per family, before its samples; samples are
  // `name{label="value",...} number`.
  std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? (-?[0-9.eE+-]+|\+Inf|NaN)$)");
  std::set<std::string> typed, helped;
  std::map<std::string, double> values;
  std::istringstream in(r.body);
  std::string line;
  int samples = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0) {
      BOOST_TEST(helped.insert(line.substr(7, line.find(' ', 7) - 7)).second, line);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      BOOST_TEST(typed.insert(line.substr(7, line.find(' ', 7) - 7)).second, line);
      continue;
    }
    std::smatch m;
    BOOST_TEST_REQUIRE(std::regex_match(line, m, sample), line);
    auto family = m[1].str();
    for (auto suffix : {"_bucket", "_sum", "_count"})
      if (family.size() > strlen(suffix) &&
          family.compare(family.size() - strlen(suffix), strlen(suffix), suffix) == 0 &&
          typed.count(family.substr(0, family.size() - strlen(suffix))))
        family = family.substr(0, family.size() - strlen(suffix));
    BOOST_TEST(typed.count(family) == 1u, "sample before its TYPE: " << line);
    values[line.substr(0, line.rfind(' '))] =
        std::stod(m[4].str() == "+Inf" ? "1e308" : m[4].str());
    ++samples;
  }
  BOOST_TEST(samples > 20);
  for (auto family :
       {"wassally_http_requests_total", "wassally_http_request_duration_seconds",
        "wassally_actors_live", "wassally_actor_mailbox_max", "wassally_actor_mailbox_messages",
        "wassally_persistence_batch_size", "wassally_persistence_commit_seconds",
        "wassally_db_pool_in_use", "wassally_sse_streams_open", "wassally_orders",
        "wassally_dispatch_pending_orders"})
    BOOST_TEST(typed.count(family) == 1u, family);
  BOOST_TEST(values["wassally_orders{status=\"pending\"}"] == 1);
  BOOST_TEST(values["wassally_orders{status=\"delivered\"}"] == 0);
  BOOST_TEST(values["wassally_actors_live{kind=\"order\"}"] >= 0);
  BOOST_TEST(values["wassally_actors_live{kind=\"shop\"}"] >= 1);
  BOOST_TEST(values["wassally_dispatch_pending_orders"] == 1);
  bool counted = false;
  for (auto& [k, v] : values)
    if (k.rfind("wassally_http_requests_total{", 0) == 0 &&
        k.find("route=\"/api/v1/orders\"") != std::string::npos && v >= 1)
      counted = true;
  BOOST_TEST(counted);
  // Only loopback or staff: from loopback without a token it answers (the test runs on
  // loopback); a customer's token does not widen anything.
  BOOST_TEST(w.client.get("/metrics", cust).status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
