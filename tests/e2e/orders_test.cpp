// API.md "Orders" end to end: placement from the cart and from items, all-or-nothing stock,
// idempotency, visibility per role, cancellation, history, concurrency and recovery.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <mutex>
#include <pqxx/pqxx>
#include <regex>
#include <set>
#include <thread>

#include "tests/e2e/orders_support.hpp"

using namespace wassally::test;
using nlohmann::json;

namespace {

std::string path(int64_t order_id, const std::string& rest = "") {
  return "/api/v1/orders/" + std::to_string(order_id) + rest;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(orders)

BOOST_AUTO_TEST_CASE(checkout_snapshots_prices_takes_stock_and_empties_the_cart) {
  orders_world w;
  auto s = w.shop();
  auto milk = w.product(s, {{"price", "12.99"}, {"cost_price", "9.00"}, {"stock", 10}});
  auto eggs = w.product(s, {{"price", "2.50"}, {"is_unlimited", true}});
  auto offer = w.client.post_json("/api/v1/shops/" + std::to_string(s.id) + "/offers",
                                  {{"title", "20% off milk"},
                                   {"discount", "20"},
                                   {"start_date", "2020-01-01T00:00:00Z"},
                                   {"end_date", "2099-01-01T00:00:00Z"},
                                   {"product_ids", {milk}}},
                                  s.owner);
  BOOST_TEST_REQUIRE(offer.status == 201, offer.body);
  auto [name, cust] = w.customer();
  BOOST_TEST(w.add_to_cart(cust, milk, 3).status == 201);
  BOOST_TEST(w.add_to_cart(cust, eggs, 12).status == 201);

  auto r = w.place(cust);
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  auto o = r.json();
  BOOST_TEST(o["status"] == "pending");
  BOOST_TEST(o["type"] == "order");
  BOOST_TEST(o["crew_id"].is_null());
  BOOST_TEST(o["receiver_name"] == "Mona");
  BOOST_TEST(o["location"]["latitude"] == 30.06);
  BOOST_TEST(o["notes"] == "ring twice");
  BOOST_TEST(std::regex_match(o["code"].get<std::string>(), std::regex("[0-9]{8}")), o["code"]);
  BOOST_TEST_REQUIRE(o["items"].size() == 2u);
  BOOST_TEST(o["items"][0]["product_id"] == milk);
  BOOST_TEST(o["items"][0]["unit_price"] == "10.39");  // 12.99 at 20%, half up
  BOOST_TEST(o["items"][0]["line_total"] == "31.17");
  BOOST_TEST(o["items"][0]["is_bought"] == false);
  BOOST_TEST(o["items"][1]["line_total"] == "30.00");
  BOOST_TEST(o["items_total"] == "61.17");
  BOOST_TEST(o["delivery_fee"] == "15.50");  // from WASSALLY_DELIVERY_FEE
  BOOST_TEST(o["total"] == "76.67");
  BOOST_TEST(o["coins"] == 10);

  BOOST_TEST(w.client.get("/api/v1/cart", cust).json()["items"].empty());
  auto p = w.product_as_owner(s, milk);
  BOOST_TEST(p["stock"] == 7);
  BOOST_TEST(p["sales_count"] == 3);
  BOOST_TEST(w.product_as_owner(s, eggs)["sales_count"] == 12);

  // The snapshot does not move with the catalog.
  BOOST_TEST(
      w.client.patch_json("/api/v1/products/" + std::to_string(milk), {{"price", "99"}}, s.owner)
          .status == 200);
  auto again = w.client.get(path(o["id"]), cust).json();
  BOOST_TEST(again["items"][0]["unit_price"] == "10.39");
  BOOST_TEST(again["code"] == o["code"]);

  // An empty cart cannot be checked out.
  expect_error(w.place(cust), 400, "validation_error", "items");
}

BOOST_AUTO_TEST_CASE(explicit_items_across_shops_and_the_shop_limit) {
  orders_world w;
  std::vector<shop_handle> shops;
  std::vector<int64_t> products;
  for (int i = 0; i < 4; ++i) {
    shops.push_back(w.shop());
    products.push_back(w.product(shops.back(), {{"price", "5"}, {"stock", 10}}));
  }
  auto [name, cust] = w.customer();
  // The cart is untouched by an explicit order.
  BOOST_TEST(w.add_to_cart(cust, products[0], 1).status == 201);
  auto r = w.place(cust, {orders_world::line(products[0], 2), orders_world::line(products[1], 1),
                          orders_world::line(products[2], 1), orders_world::line(products[0], 1)});
  BOOST_TEST_REQUIRE(r.status == 201, r.body);
  BOOST_TEST(r.json()["items"].size() == 3u);  // repeated products add up
  BOOST_TEST(r.json()["items"][0]["quantity"] == 3);
  BOOST_TEST(r.json()["items_total"] == "25.00");
  BOOST_TEST(w.client.get("/api/v1/cart", cust).json()["items"].size() == 1u);

  auto four =
      w.place(cust, {orders_world::line(products[0], 1), orders_world::line(products[1], 1),
                     orders_world::line(products[2], 1), orders_world::line(products[3], 1)});
  expect_error(four, 409, "cart_shop_limit");
  BOOST_TEST(w.stock(shops[3], products[3]) == 10);

  expect_error(w.place(cust, json::array()), 400, "validation_error", "items");
  expect_error(w.place(cust, json::array({json{{"product_id", products[0]}}})), 400,
               "validation_error", "items.0.quantity");
  expect_error(w.place(cust, {orders_world::line(products[0], -2)}), 400, "validation_error",
               "items.0.quantity");
  auto unknown = w.place(cust, {orders_world::line(123456789, 1)});
  expect_error(unknown, 404, "not_found");
  BOOST_TEST(unknown.json()["error"]["product_id"] == 123456789);
  auto body = orders_world::order_body({orders_world::line(products[0], 1)});
  body.erase("receiver_phone");
  body["location"]["latitude"] = 91;
  auto bad = w.client.post_json("/api/v1/orders", body, cust);
  expect_error(bad, 400, "validation_error", "receiver_phone");
  BOOST_TEST(bad.json()["error"]["fields"].contains("location.latitude"), bad.body);
  expect_error(w.place(shops[0].owner, {orders_world::line(products[0], 1)}), 403, "forbidden");
}

BOOST_AUTO_TEST_CASE(out_of_stock_takes_nothing_and_names_the_product) {
  orders_world w;
  auto s1 = w.shop();
  auto s2 = w.shop();
  auto plenty = w.product(s1, {{"price", "1"}, {"stock", 5}});
  auto other = w.product(s1, {{"price", "1"}, {"stock", 5}});
  auto scarce = w.product(s2, {{"price", "1"}, {"stock", 3}});
  auto [name, cust] = w.customer();
  auto r = w.place(cust, {orders_world::line(plenty, 2), orders_world::line(other, 1),
                          orders_world::line(scarce, 4)});
  expect_error(r, 409, "out_of_stock");
  BOOST_TEST(r.json()["error"]["product_id"] == scarce);
  BOOST_TEST(w.stock(s1, plenty) == 5);
  BOOST_TEST(w.stock(s1, other) == 5);
  BOOST_TEST(w.stock(s2, scarce) == 3);
  BOOST_TEST(w.product_as_owner(s1, plenty)["sales_count"] == 0);
  BOOST_TEST(w.client.get("/api/v1/orders", cust).json()["count"] == 0);

  // From the cart: the cart is kept when the order fails.
  BOOST_TEST(w.add_to_cart(cust, plenty, 1).status == 201);
  BOOST_TEST(w.add_to_cart(cust, scarce, 3).status == 201);
  BOOST_TEST(
      w.client.patch_json("/api/v1/products/" + std::to_string(scarce), {{"stock", 2}}, s2.owner)
          .status == 200);
  expect_error(w.place(cust), 409, "out_of_stock");
  BOOST_TEST(w.client.get("/api/v1/cart", cust).json()["items"].size() == 2u);
  BOOST_TEST(w.stock(s1, plenty) == 5);
  // Exactly the stock left can be bought.
  BOOST_TEST(w.place(cust, {orders_world::line(scarce, 2)}).status == 201);
  BOOST_TEST(w.stock(s2, scarce) == 0);
  expect_error(w.place(cust, {orders_world::line(scarce, 1)}), 409, "out_of_stock");
}

BOOST_AUTO_TEST_CASE(idempotency_key_replays_the_first_answer) {
  orders_world w;
  auto s = w.shop();
  auto milk = w.product(s, {{"price", "4"}, {"stock", 10}});
  auto [name, cust] = w.customer();
  header_map key = {{"Idempotency-Key", "order-" + unique_suffix()}};
  auto first = w.place(cust, {orders_world::line(milk, 2)}, key);
  BOOST_TEST_REQUIRE(first.status == 201, first.body);
  auto second = w.place(cust, {orders_world::line(milk, 2)}, key);
  BOOST_TEST(second.status == 201);
  BOOST_TEST(second.body == first.body);
  BOOST_TEST(w.stock(s, milk) == 8);
  BOOST_TEST(w.client.get("/api/v1/orders", cust).json()["count"] == 1);
  // Even after the order moved on, the replay is the original answer.
  BOOST_TEST(w.client.post_json(path(first.json()["id"], "/cancel"), json::object(), cust).status ==
             200);
  BOOST_TEST(w.place(cust, {orders_world::line(milk, 2)}, key).body == first.body);

  auto different = w.place(cust, {orders_world::line(milk, 3)}, key);
  expect_error(different, 409, "idempotency_key_reused");
  // The key belongs to its user: another customer's same key is a new order.
  auto [other_name, other] = w.customer();
  auto theirs = w.place(other, {orders_world::line(milk, 2)}, key);
  BOOST_TEST(theirs.status == 201);
  BOOST_TEST(theirs.json()["id"] != first.json()["id"]);

  // A checkout replay answers the same even though the cart is empty by now.
  header_map cart_key = {{"Idempotency-Key", "cart-" + unique_suffix()}};
  BOOST_TEST(w.add_to_cart(cust, milk, 1).status == 201);
  auto checkout = w.place(cust, nullptr, cart_key);
  BOOST_TEST_REQUIRE(checkout.status == 201, checkout.body);
  BOOST_TEST(w.place(cust, nullptr, cart_key).body == checkout.body);
  expect_error(w.place(cust, nullptr, {{"Idempotency-Key", std::string(300, 'k')}}), 400,
               "validation_error", "Idempotency-Key");
}

BOOST_AUTO_TEST_CASE(idempotency_key_stores_refusals_but_not_bad_requests) {
  orders_world w;
  auto s = w.shop();
  auto milk = w.product(s, {{"price", "4"}, {"stock", 1}});
  auto [name, cust] = w.customer();
  // 409 out_of_stock is given once the placement started: stored, and repeated even after
  // the stock came back.
  header_map key = {{"Idempotency-Key", "short-" + unique_suffix()}};
  auto first = w.place(cust, {orders_world::line(milk, 5)}, key);
  expect_error(first, 409, "out_of_stock");
  BOOST_TEST(
      w.client.patch_json("/api/v1/products/" + std::to_string(milk), {{"stock", 50}}, s.owner)
          .status == 200);
  auto again = w.place(cust, {orders_world::line(milk, 5)}, key);
  BOOST_TEST(again.status == 409);
  BOOST_TEST(again.body == first.body);
  BOOST_TEST(w.stock(s, milk) == 50);
  // 404 for an unknown product: stored too.
  header_map missing = {{"Idempotency-Key", "missing-" + unique_suffix()}};
  auto gone = w.place(cust, {orders_world::line(999999999, 1)}, missing);
  BOOST_TEST(gone.status == 404, gone.body);
  BOOST_TEST(w.place(cust, {orders_world::line(999999999, 1)}, missing).body == gone.body);
  // 400 (a quantity the product does not allow) is not stored: the corrected request with the
  // same key places the order.
  header_map fix = {{"Idempotency-Key", "fix-" + unique_suffix()}};
  expect_error(w.place(cust, {orders_world::line(milk, 0.5)}, fix), 400, "invalid_quantity");
  auto corrected = w.place(cust, {orders_world::line(milk, 1)}, fix);
  BOOST_TEST(corrected.status == 201, corrected.body);
  BOOST_TEST(w.place(cust, {orders_world::line(milk, 1)}, fix).body == corrected.body);
  BOOST_TEST(w.stock(s, milk) == 49);
}

BOOST_AUTO_TEST_CASE(every_open_order_is_live_and_only_final_ones_passivate) {
  // Idle actors are passivated after 1 s here: an open order's actor stays, a final one goes.
  orders_world w(settings{{"WASSALLY_IDLE_PASSIVATION_S", "1"}});
  auto s = w.shop();
  auto milk = w.product(s, {{"price", "4"}, {"stock", 10}});
  auto [name, cust] = w.customer();
  auto open = w.place(cust, {orders_world::line(milk, 1)});
  BOOST_TEST_REQUIRE(open.status == 201, open.body);
  auto done = w.place(cust, {orders_world::line(milk, 1)});
  BOOST_TEST_REQUIRE(done.status == 201, done.body);
  auto inspect = [&](const nlohmann::json& o) {
    return w.client.get("/api/v1/admin/actors/order/" + o["id"].dump(), w.staff);
  };
  // Adopted at once, as recovery does at start: no request has touched either order since.
  BOOST_TEST(inspect(open.json()).status == 200);
  BOOST_TEST(inspect(done.json()).status == 200);
  BOOST_TEST(w.client.post_json(path(done.json()["id"], "/cancel"), json::object(), cust).status ==
             200);
  // A final order goes within a few idle periods; the open one stays. (An inspection is a
  // message and restarts the idle clock: look less often than the idle period.)
  bool passivated = false;
  for (int i = 0; i < 10 && !passivated; ++i) {
    usleep(1500000);
    passivated = inspect(done.json()).status == 404;
  }
  BOOST_TEST(passivated);
  BOOST_TEST(inspect(open.json()).status == 200);
  auto state = inspect(open.json()).json();
  BOOST_TEST(state["state"]["order"]["status"] == "pending", state.dump());
}

BOOST_AUTO_TEST_CASE(who_sees_what) {
  orders_world w;
  auto s1 = w.shop();
  auto s2 = w.shop();
  auto uninvolved = w.shop();
  auto a = w.product(s1, {{"price", "3"}, {"stock", 10}});
  auto b = w.product(s2, {{"price", "7"}, {"stock", 10}});
  auto [name, cust] = w.customer();
  auto [other_name, other] = w.customer();
  auto o = w.place(cust, {orders_world::line(a, 1), orders_world::line(b, 2)}).json();
  auto mine_only = w.place(other, {orders_world::line(a, 1)}).json();
  int64_t id = o["id"];

  auto as_customer = w.client.get(path(id), cust);
  BOOST_TEST(as_customer.status == 200);
  BOOST_TEST(as_customer.json().contains("code"));
  expect_error(w.client.get(path(id), other), 404, "not_found");
  expect_error(w.client.get(path(id, "/history"), other), 404, "not_found");
  expect_error(w.client.get(path(id), uninvolved.owner), 404, "not_found");
  expect_error(w.client.get(path(999999)), 401, "unauthenticated");
  expect_error(w.client.get(path(999999), w.staff), 404, "not_found");

  auto as_owner = w.client.get(path(id), s2.owner).json();
  BOOST_TEST(!as_owner.contains("code"));
  BOOST_TEST_REQUIRE(as_owner["items"].size() == 1u);
  BOOST_TEST(as_owner["items"][0]["product_id"] == b);
  BOOST_TEST(as_owner["items_total"] == "14.00");

  auto as_staff = w.client.get(path(id), w.staff).json();
  BOOST_TEST(as_staff["code"] == o["code"]);
  BOOST_TEST(as_staff["items"].size() == 2u);

  // Lists: own orders, orders with the owner's lines, all for staff; newest first.
  auto list = w.client.get("/api/v1/orders", cust).json();
  BOOST_TEST(list["count"] == 1);
  BOOST_TEST(list["results"][0]["id"] == id);
  auto s1_list = w.client.get("/api/v1/orders", s1.owner).json();
  BOOST_TEST(s1_list["count"] == 2);
  BOOST_TEST(s1_list["results"][0]["id"] == mine_only["id"]);
  BOOST_TEST(!s1_list["results"][0].contains("code"));
  BOOST_TEST(w.client.get("/api/v1/orders", s2.owner).json()["count"] == 1);
  BOOST_TEST(w.client.get("/api/v1/orders", uninvolved.owner).json()["count"] == 0);
  auto all = w.client.get("/api/v1/orders?page_size=1", w.staff).json();
  BOOST_TEST(all["count"].get<int>() >= 2);
  BOOST_TEST(all["results"].size() == 1u);
  BOOST_TEST(!all["next"].is_null());
  BOOST_TEST(
      w.client.get("/api/v1/orders?shop_id=" + std::to_string(s2.id), w.staff).json()["count"] ==
      1);
  BOOST_TEST(w.client.get("/api/v1/orders?status=cancelled", cust).json()["count"] == 0);
  BOOST_TEST(w.client.get("/api/v1/orders?status=pending", cust).json()["count"] == 1);
  BOOST_TEST(w.client.get("/api/v1/orders?from=2000-01-01T00:00:00Z&to=2000-01-02", w.staff)
                 .json()["count"] == 0);
  BOOST_TEST(w.client.get("/api/v1/orders?from=2000-01-01", cust).json()["count"] == 1);
  expect_error(w.client.get("/api/v1/orders?status=lost", cust), 400, "validation_error", "status");
  expect_error(w.client.get("/api/v1/orders?from=yesterday", cust), 400, "validation_error",
               "from");
  expect_error(w.client.get("/api/v1/orders?shop_id=-1", cust), 400, "validation_error", "shop_id");
}

BOOST_AUTO_TEST_CASE(cancel_returns_stock_and_illegal_transitions_are_refused) {
  orders_world w;
  auto s = w.shop();
  auto milk = w.product(s, {{"price", "2"}, {"stock", 10}});
  auto [name, cust] = w.customer();
  auto [other_name, other] = w.customer();
  int64_t id = w.place(cust, {orders_world::line(milk, 4)}).json()["id"];
  BOOST_TEST(w.stock(s, milk) == 6);

  expect_error(w.client.post_json(path(id, "/cancel"), json::object(), other), 404, "not_found");
  expect_error(w.client.post_json(path(id, "/cancel"), json::object(), s.owner), 403, "forbidden");
  auto cancelled = w.client.post_json(path(id, "/cancel"), json::object(), cust);
  BOOST_TEST_REQUIRE(cancelled.status == 200, cancelled.body);
  BOOST_TEST(cancelled.json()["status"] == "cancelled");
  BOOST_TEST(w.stock(s, milk) == 10);
  BOOST_TEST(w.product_as_owner(s, milk)["sales_count"] == 0);
  expect_error(w.client.post_json(path(id, "/cancel"), json::object(), cust), 409,
               "invalid_transition");
  expect_error(w.client.post_json(path(id, "/cancel"), json::object(), w.staff), 409,
               "invalid_transition");
  BOOST_TEST(w.stock(s, milk) == 10);  // returned once

  auto history = w.client.get(path(id, "/history"), cust).json();
  BOOST_TEST_REQUIRE(history.size() == 2u, history.dump());
  BOOST_TEST(history[0]["status"] == "pending");
  BOOST_TEST(history[0]["seq"] == 1);
  BOOST_TEST(history[1]["status"] == "cancelled");
  BOOST_TEST(history[1]["by_user_id"] == cancelled.json()["user_id"]);
  BOOST_TEST(history[1]["at"].get<std::string>().back() == 'Z');

  // Staff may cancel a pending order too.
  int64_t second = w.place(cust, {orders_world::line(milk, 1)}).json()["id"];
  BOOST_TEST(
      w.client.post_json(path(second, "/cancel"), json::object(), w.staff).json()["status"] ==
      "cancelled");
  BOOST_TEST(w.stock(s, milk) == 10);
}

namespace {

/// The cancellation columns of the order row and of its latest event, as PostgreSQL holds them
/// (nulls as JSON null).
json cancel_columns(const std::string& database_url, int64_t order_id) {
  pqxx::connection db(database_url);
  pqxx::work tx(db);
  auto read = [](const pqxx::row& r) {
    json j;
    j["cancel_reason"] = r[0].is_null() ? json() : json(r[0].as<std::string>());
    j["cancel_note"] = r[1].is_null() ? json() : json(r[1].as<std::string>());
    j["cancelled_by"] = r[2].is_null() ? json() : json(r[2].as<int64_t>());
    return j;
  };
  json out;
  out["order"] = read(tx.exec_params(
      "SELECT cancel_reason, cancel_note, cancelled_by FROM orders WHERE id = $1", order_id)[0]);
  out["event"] =
      read(tx.exec_params("SELECT cancel_reason, cancel_note, cancelled_by FROM"
                          " order_events WHERE order_id = $1 ORDER BY seq DESC LIMIT 1",
                          order_id)[0]);
  return out;
}

json cancel_fields(const json& j) {
  return {{"cancel_reason", j["cancel_reason"]},
          {"cancel_note", j["cancel_note"]},
          {"cancelled_by", j["cancelled_by"]}};
}

int64_t user_id_of(const std::string& database_url, const std::string& username) {
  pqxx::connection db(database_url);
  pqxx::work tx(db);
  return tx.exec_params("SELECT id FROM users WHERE username = $1", username)[0][0].as<int64_t>();
}

}  // namespace

// API.md: the order and its cancellation's history entry record cancel_reason (from who
// cancelled), cancel_note and cancelled_by; PostgreSQL holds the same, and so does a restarted
// server.
BOOST_AUTO_TEST_CASE(cancellations_record_reason_note_and_canceller) {
  orders_world w;
  auto s = w.shop();
  auto milk = w.product(s, {{"price", "2"}, {"stock", 10}});
  auto [name, cust] = w.customer();
  auto placed = w.place(cust, {orders_world::line(milk, 4)}).json();
  int64_t id = placed["id"];
  int64_t customer_id = placed["user_id"];
  BOOST_TEST(placed["cancel_reason"].is_null());
  BOOST_TEST(placed["cancel_note"].is_null());
  BOOST_TEST(placed["cancelled_by"].is_null());

  // A note is a string of at most 500 characters.
  expect_error(w.client.post_json(path(id, "/cancel"), {{"note", std::string(501, 'x')}}, cust),
               400, "validation_error", "note");
  expect_error(w.client.post_json(path(id, "/cancel"), {{"note", 42}}, cust), 400,
               "validation_error", "note");
  expect_error(w.client.post_json(path(id, "/cancel"), {{"note", {{"text", "no"}}}}, cust), 400,
               "validation_error", "note");
  BOOST_TEST(w.client.get(path(id), cust).json()["status"] == "pending");

  auto r = w.client.post_json(path(id, "/cancel"), {{"note", "changed my mind"}}, cust);
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  json expected = {{"cancel_reason", "customer"},
                   {"cancel_note", "changed my mind"},
                   {"cancelled_by", customer_id}};
  BOOST_TEST(r.json()["status"] == "cancelled");
  BOOST_TEST(cancel_fields(r.json()) == expected, r.body);
  BOOST_TEST(cancel_fields(w.client.get(path(id), cust).json()) == expected);
  BOOST_TEST(w.stock(s, milk) == 10);
  auto history = w.client.get(path(id, "/history"), cust).json();
  BOOST_TEST_REQUIRE(history.size() == 2u, history.dump());
  BOOST_TEST(cancel_fields(history[1]) == expected, history.dump());
  BOOST_TEST(history[0]["cancel_reason"].is_null());
  BOOST_TEST(history[0]["cancel_note"].is_null());
  BOOST_TEST(history[0]["cancelled_by"].is_null());
  auto row = cancel_columns(w.server.database_url(), id);
  BOOST_TEST(row["order"] == expected, row.dump());
  BOOST_TEST(row["event"] == expected, row.dump());

  // Staff without a body at all: reason staff, no note.
  int64_t second = w.place(cust, {orders_world::line(milk, 1)}).json()["id"];
  auto staff_id = user_id_of(w.server.database_url(), "ord.staff");
  auto by_staff = w.client.request("POST", path(second, "/cancel"), "", w.staff);
  BOOST_TEST_REQUIRE(by_staff.status == 200, by_staff.body);
  json staff_expected = {
      {"cancel_reason", "staff"}, {"cancel_note", nullptr}, {"cancelled_by", staff_id}};
  BOOST_TEST(cancel_fields(by_staff.json()) == staff_expected, by_staff.body);
  BOOST_TEST(cancel_fields(w.client.get(path(second, "/history"), cust).json().back()) ==
             staff_expected);
  auto staff_row = cancel_columns(w.server.database_url(), second);
  BOOST_TEST(staff_row["order"] == staff_expected, staff_row.dump());
  BOOST_TEST(staff_row["event"] == staff_expected, staff_row.dump());

  // 500 characters are allowed, however many bytes they take; an empty object is no note.
  std::string arabic;
  for (int i = 0; i < 500; ++i) arabic += "\u0634";  // ش, two bytes
  int64_t third = w.place(cust, {orders_world::line(milk, 1)}).json()["id"];
  auto long_note = w.client.post_json(path(third, "/cancel"), {{"note", arabic}}, cust);
  BOOST_TEST_REQUIRE(long_note.status == 200, long_note.body);
  BOOST_TEST(long_note.json()["cancel_note"] == arabic);
  int64_t fourth = w.place(cust, {orders_world::line(milk, 1)}).json()["id"];
  auto plain = w.client.post_json(path(fourth, "/cancel"), json::object(), cust);
  BOOST_TEST_REQUIRE(plain.status == 200, plain.body);
  BOOST_TEST(plain.json()["cancel_reason"] == "customer");
  BOOST_TEST(plain.json()["cancel_note"].is_null());

  // What the actors held is what PostgreSQL holds: a restarted server answers the same.
  w.server.restart();
  auto again = w.relogin(name, "password-1");
  BOOST_TEST(cancel_fields(w.client.get(path(id), again).json()) == expected);
  BOOST_TEST(cancel_fields(w.client.get(path(id, "/history"), again).json().back()) == expected);
  BOOST_TEST(cancel_fields(w.client.get(path(second), again).json()) == staff_expected);
  BOOST_TEST(w.client.get(path(third), again).json()["cancel_note"] == arabic);
}

// The owner of the shop that requested a delivery may cancel it while it is pending (reason
// shop); not another shop's request (404: not seen), nor a customer's order with its lines (403).
BOOST_AUTO_TEST_CASE(a_shop_owner_cancels_its_own_pending_delivery_request) {
  orders_world w;
  auto s = w.shop();
  auto other = w.shop();
  auto milk = w.product(s, {{"price", "2"}, {"stock", 10}});
  json body = {{"receiver_name", "Omar"},
               {"receiver_phone", "+201112223334"},
               {"location", {{"address", "Zamalek"}, {"latitude", 30.06}, {"longitude", 31.22}}},
               {"price", "35.00"}};
  auto made = w.client.post_json("/api/v1/shops/" + std::to_string(s.id) + "/delivery-requests",
                                 body, s.owner);
  BOOST_TEST_REQUIRE(made.status == 201, made.body);
  int64_t request = made.json()["id"];
  int64_t owner_id = made.json()["user_id"];

  expect_error(w.client.post_json(path(request, "/cancel"), json::object(), other.owner), 404,
               "not_found");
  auto [name, cust] = w.customer();
  expect_error(w.client.post_json(path(request, "/cancel"), json::object(), cust), 404,
               "not_found");
  int64_t order = w.place(cust, {orders_world::line(milk, 2)}).json()["id"];
  expect_error(w.client.post_json(path(order, "/cancel"), {{"note", "no"}}, s.owner), 403,
               "forbidden");
  expect_error(w.client.post_json(path(order, "/cancel"), json::object(), other.owner), 404,
               "not_found");
  BOOST_TEST(w.client.get(path(order), cust).json()["status"] == "pending");

  auto r = w.client.post_json(path(request, "/cancel"), {{"note", "customer came in"}}, s.owner);
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  json expected = {
      {"cancel_reason", "shop"}, {"cancel_note", "customer came in"}, {"cancelled_by", owner_id}};
  BOOST_TEST(r.json()["status"] == "cancelled");
  BOOST_TEST(cancel_fields(r.json()) == expected, r.body);
  BOOST_TEST(cancel_fields(w.client.get(path(request, "/history"), s.owner).json().back()) ==
             expected);
  auto row = cancel_columns(w.server.database_url(), request);
  BOOST_TEST(row["order"] == expected, row.dump());
  BOOST_TEST(row["event"] == expected, row.dump());
  expect_error(w.client.post_json(path(request, "/cancel"), json::object(), s.owner), 409,
               "invalid_transition");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(order_concurrency)

BOOST_AUTO_TEST_CASE(forty_concurrent_orders_for_ten_in_stock_sell_exactly_ten) {
  orders_world w(settings{{"WASSALLY_HTTP_THREADS", "4"}, {"WASSALLY_DB_POOL_SIZE", "4"}});
  auto s = w.shop();
  auto other = w.shop();
  auto scarce = w.product(s, {{"price", "9.99"}, {"stock", 10}});
  auto filler = w.product(other, {{"price", "1"}, {"stock", 1000}});
  std::vector<header_map> customers;
  for (int i = 0; i < 8; ++i) customers.push_back(w.customer().second);

  std::atomic<int> created{0}, sold_out{0}, other_status{0};
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  for (int i = 0; i < 40; ++i)
    threads.emplace_back([&, i] {
      auto c = w.server.client();
      while (!go.load()) std::this_thread::yield();
      // Half of them also buy from a second shop: the whole order fails or succeeds.
      auto items = i % 2
                       ? json::array({orders_world::line(scarce, 1), orders_world::line(filler, 1)})
                       : json::array({orders_world::line(scarce, 1)});
      auto r = c.post_json("/api/v1/orders", orders_world::order_body(items), customers[i % 8]);
      if (r.status == 201)
        ++created;
      else if (r.status == 409 && r.json()["error"]["code"] == "out_of_stock")
        ++sold_out;
      else
        ++other_status;
    });
  go = true;
  for (auto& t : threads) t.join();
  BOOST_TEST(created.load() == 10);
  BOOST_TEST(sold_out.load() == 30);
  BOOST_TEST(other_status.load() == 0);
  BOOST_TEST(w.stock(s, scarce) == 0);
  BOOST_TEST(w.product_as_owner(s, scarce)["sales_count"] == 10);
  auto orders = w.client.get("/api/v1/orders?shop_id=" + std::to_string(s.id), w.staff).json();
  BOOST_TEST(orders["count"] == 10);
  // Filler stock left equals 1000 minus the filler lines of the orders that succeeded.
  int filler_lines = 0;
  for (auto& o : orders["results"]) filler_lines += static_cast<int>(o["items"].size()) - 1;
  BOOST_TEST(w.stock(other, filler) == 1000 - filler_lines);
  // The database agrees: no negative stock anywhere, and every order is whole.
  pqxx::connection db(w.server.database_url());
  pqxx::work tx(db);
  BOOST_TEST(tx.exec("SELECT count(*) FROM products WHERE stock < 0")[0][0].as<int>() == 0);
  BOOST_TEST(tx.exec("SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items"
                     " i WHERE i.order_id = o.id)")[0][0]
                 .as<int>() == 0);
}

// Placements of one group commit are written together in one statement; each answer must
// still be exactly what a reload shows, and the stock exactly what the lines took.
BOOST_AUTO_TEST_CASE(placements_written_together_answer_what_a_reload_shows) {
  orders_world w(settings{{"WASSALLY_HTTP_THREADS", "4"}, {"WASSALLY_DB_POOL_SIZE", "1"}});
  std::vector<shop_handle> shops{w.shop(), w.shop(), w.shop()};
  std::vector<int64_t> products;
  for (auto& s : shops)
    for (int i = 0; i < 4; ++i)
      products.push_back(w.product(s, {{"price", "2.50"}, {"stock", 500}}));
  std::vector<header_map> customers;
  for (int i = 0; i < 8; ++i) customers.push_back(w.customer().second);
  const int rounds = 6, per_round = 32;
  std::mutex m;
  std::vector<json> answers;
  std::vector<std::size_t> distinct;  // per answer: its distinct products (lines are combined)
  std::map<int64_t, double> taken;    // product → quantity the 201s took
  int other = 0;
  for (int round = 0; round < rounds; ++round) {
    std::vector<std::thread> threads;
    std::atomic<bool> go{false};
    for (int i = 0; i < per_round; ++i)
      threads.emplace_back([&, i, round] {
        auto c = w.server.client();
        // Three lines from up to three shops, the same product twice in some orders.
        auto a = products[(i + round) % products.size()];
        auto b = products[(i * 5 + 3) % products.size()];
        auto d = i % 4 == 0 ? a : products[(i * 7 + round + 1) % products.size()];
        auto items = json::array(
            {orders_world::line(a, 1 + i % 3), orders_world::line(b, 2), orders_world::line(d, 1)});
        while (!go.load()) std::this_thread::yield();
        auto r = c.post_json("/api/v1/orders", orders_world::order_body(items), customers[i % 8]);
        std::lock_guard<std::mutex> lock(m);
        if (r.status != 201) {
          ++other;
          BOOST_TEST_MESSAGE(r.status << " " << r.body);
          return;
        }
        answers.push_back(r.json());
        distinct.push_back(std::set<int64_t>{a, b, d}.size());
        taken[a] += 1 + i % 3;
        taken[b] += 2;
        taken[d] += 1;
      });
    go = true;
    for (auto& t : threads) t.join();
  }
  BOOST_TEST(other == 0);
  BOOST_TEST(answers.size() == static_cast<std::size_t>(rounds * per_round));
  std::set<int64_t> ids, line_ids;
  std::size_t lines = 0;
  for (std::size_t k = 0; k < answers.size(); ++k) {
    auto& placed = answers[k];
    auto id = placed["id"].get<int64_t>();
    ids.insert(id);
    BOOST_TEST(placed["items"].size() == distinct[k]);
    lines += distinct[k];
    for (auto& i : placed["items"]) line_ids.insert(i["id"].get<int64_t>());
    auto staff_view = w.client.get("/api/v1/orders/" + std::to_string(id), w.staff).json();
    // The customer saw what staff sees now (staff also sees the code, as the customer did).
    BOOST_TEST(staff_view == placed,
               "order " << id << ": 201 " << placed.dump() << " vs reload " << staff_view.dump());
    auto history = w.client.get("/api/v1/orders/" + std::to_string(id) + "/history", w.staff);
    BOOST_TEST(history.status == 200);
  }
  BOOST_TEST(ids.size() == answers.size());
  BOOST_TEST(line_ids.size() == lines);
  for (std::size_t k = 0; k < products.size(); ++k) {
    auto shop = shops[k / 4];
    BOOST_TEST(w.stock(shop, products[k]) == 500 - taken[products[k]], "product " << products[k]);
  }
  // The placements were in fact written together (one connection: they had to queue).
  auto metrics = w.client.get("/metrics").body;
  auto at = metrics.find("\nwassally_persistence_merged_commands_total ");
  BOOST_REQUIRE(at != std::string::npos);
  auto merged = std::stoll(metrics.substr(at + 44));
  BOOST_TEST_MESSAGE("placements written together: " << merged << " of " << answers.size());
  BOOST_TEST(merged > 0);
}

BOOST_AUTO_TEST_CASE(concurrent_duplicates_with_one_key_create_one_order) {
  orders_world w(settings{{"WASSALLY_HTTP_THREADS", "4"}});
  auto s = w.shop();
  auto milk = w.product(s, {{"price", "1"}, {"stock", 100}});
  auto [name, cust] = w.customer();
  header_map h = cust;
  h["Idempotency-Key"] = "dup-" + unique_suffix();
  std::vector<std::thread> threads;
  std::mutex m;
  std::set<int64_t> ids;
  std::set<std::string> bodies;
  std::vector<int> statuses;
  for (int i = 0; i < 12; ++i)
    threads.emplace_back([&] {
      auto c = w.server.client();
      auto r =
          c.post_json("/api/v1/orders", orders_world::order_body({orders_world::line(milk, 3)}), h);
      std::lock_guard<std::mutex> lock(m);
      statuses.push_back(r.status);
      if (r.status == 201) {
        ids.insert(r.json()["id"].get<int64_t>());
        bodies.insert(r.body);
      } else {
        // A repeat while the first is in flight is told so (API.md conventions).
        BOOST_TEST(r.status == 409, r.body);
        BOOST_TEST(r.json()["error"]["code"] == "request_in_progress", r.body);
        BOOST_TEST(r.json()["error"]["retry_after"].get<int>() >= 1, r.body);
      }
    });
  for (auto& t : threads) t.join();
  // Once it answered, every repeat gets the same answer.
  auto after =
      w.place(cust, {orders_world::line(milk, 3)}, {{"Idempotency-Key", h["Idempotency-Key"]}});
  BOOST_TEST(after.status == 201, after.body);
  bodies.insert(after.body);
  BOOST_TEST(ids.size() == 1u);
  BOOST_TEST(bodies.size() == 1u);
  BOOST_TEST(w.stock(s, milk) == 97);
  BOOST_TEST(w.client.get("/api/v1/orders", cust).json()["count"] == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(order_recovery)

BOOST_AUTO_TEST_CASE(acknowledged_orders_survive_sigkill_and_pending_ones_still_move) {
  orders_world w;
  auto s = w.shop();
  auto milk = w.product(s, {{"price", "2.25"}, {"stock", 1000}});
  auto [name, cust] = w.customer();

  // Orders placed while the server is killed: every 201 must be there afterwards.
  std::vector<json> acknowledged;
  std::atomic<bool> stop{false};
  std::mutex m;
  std::thread placer([&] {
    auto c = w.server.client();
    c.set_timeout(std::chrono::seconds(3));
    while (!stop.load()) {
      try {
        auto r = c.post_json("/api/v1/orders",
                             orders_world::order_body({orders_world::line(milk, 1)}), cust);
        if (r.status == 201) {
          std::lock_guard<std::mutex> lock(m);
          acknowledged.push_back(r.json());
        }
      } catch (const std::exception&) {
        break;  // the server is gone
      }
    }
  });
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard<std::mutex> lock(m);
    if (acknowledged.size() >= 15) break;
  }
  w.server.kill_hard();
  stop = true;
  placer.join();
  w.server.restart();
  auto again = w.relogin(name, "password-1");

  BOOST_TEST_REQUIRE(acknowledged.size() >= 15u);
  for (auto& o : acknowledged) {
    auto r = w.client.get(path(o["id"]), again);
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
    BOOST_TEST(r.json()["items"] == o["items"]);
    BOOST_TEST(r.json()["code"] == o["code"]);
    auto h = w.client.get(path(o["id"], "/history"), again).json();
    BOOST_TEST(h.size() == 1u);
  }
  // Nothing half-written: every order has its lines and its first event, and the stock taken
  // equals the quantity ordered.
  pqxx::connection db(w.server.database_url());
  pqxx::work tx(db);
  BOOST_TEST(tx.exec("SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items"
                     " i WHERE i.order_id = o.id) OR NOT EXISTS (SELECT 1 FROM order_events e"
                     " WHERE e.order_id = o.id AND e.seq = 1)")[0][0]
                 .as<int>() == 0);
  auto orders = tx.exec("SELECT count(*) FROM orders")[0][0].as<int>();
  BOOST_TEST(orders >= static_cast<int>(acknowledged.size()));
  BOOST_TEST(
      tx.exec_params("SELECT stock::int FROM products WHERE id = $1", milk)[0][0].as<int>() ==
      1000 - orders);
  tx.commit();

  // A recovered pending order still accepts transitions, and its stock comes back.
  auto cancel =
      w.client.post_json(path(acknowledged.front()["id"], "/cancel"), json::object(), again);
  BOOST_TEST(cancel.status == 200, cancel.body);
  BOOST_TEST(w.client.get(path(acknowledged.front()["id"], "/history"), again).json().size() == 2u);
  BOOST_TEST(w.stock(s, milk) == 1000 - orders + 1);
}

BOOST_AUTO_TEST_SUITE_END()
