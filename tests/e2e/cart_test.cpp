// API.md "Cart" end to end: every cart rule, and that the cart survives a restart.
#include <boost/test/unit_test.hpp>

#include "tests/e2e/orders_support.hpp"

using namespace wassally::test;
using nlohmann::json;

BOOST_AUTO_TEST_SUITE(cart)

BOOST_AUTO_TEST_CASE(lines_add_up_show_current_prices_and_can_be_changed_and_removed) {
  orders_world w;
  auto s = w.shop();
  auto milk = w.product(s, {{"price", "12.99"}, {"stock", 50}});
  auto [name, cust] = w.customer();

  auto first = w.add_to_cart(cust, milk, 2);
  BOOST_TEST_REQUIRE(first.status == 201, first.body);
  BOOST_TEST(first.json()["quantity"] == 2);
  BOOST_TEST(first.json()["line_total"] == "25.98");
  BOOST_TEST(first.json()["shop_id"] == s.id);
  auto again = w.add_to_cart(cust, milk, 1);
  BOOST_TEST(again.status == 200, again.body);
  BOOST_TEST(again.json()["quantity"] == 3);
  BOOST_TEST(again.json()["id"] == first.json()["id"]);

  // The cart shows today's price: a 20% offer starting now applies at once.
  auto offer = w.client.post_json("/api/v1/shops/" + std::to_string(s.id) + "/offers",
                                  {{"title", "Milk week"},
                                   {"discount", "20"},
                                   {"start_date", "2020-01-01T00:00:00Z"},
                                   {"end_date", "2099-01-01T00:00:00Z"},
                                   {"product_ids", {milk}}},
                                  s.owner);
  BOOST_TEST_REQUIRE(offer.status == 201, offer.body);
  auto cart = w.client.get("/api/v1/cart", cust).json();
  BOOST_TEST(cart["items"].size() == 1u);
  BOOST_TEST(cart["items"][0]["unit_price"] == "10.39");
  BOOST_TEST(cart["items"][0]["line_total"] == "31.17");
  BOOST_TEST(cart["total"] == "31.17");
  BOOST_TEST(cart["shops"] == json::array({s.id}));

  auto line_id = first.json()["id"].get<int64_t>();
  auto patched =
      w.client.patch_json("/api/v1/cart/items/" + std::to_string(line_id), {{"quantity", 5}}, cust);
  BOOST_TEST(patched.status == 200, patched.body);
  BOOST_TEST(patched.json()["quantity"] == 5);
  BOOST_TEST(w.client.get("/api/v1/cart", cust).json()["items"][0]["quantity"] == 5);

  BOOST_TEST(w.client.del("/api/v1/cart/items/" + std::to_string(line_id), cust).status == 204);
  BOOST_TEST(w.client.get("/api/v1/cart", cust).json()["items"].empty());
  expect_error(w.client.del("/api/v1/cart/items/" + std::to_string(line_id), cust), 404,
               "not_found");

  w.add_to_cart(cust, milk, 1);
  BOOST_TEST(w.client.del("/api/v1/cart", cust).status == 204);
  BOOST_TEST(w.client.get("/api/v1/cart", cust).json()["total"] == "0.00");
}

BOOST_AUTO_TEST_CASE(at_most_three_shops) {
  orders_world w;
  auto [name, cust] = w.customer();
  std::vector<int64_t> products;
  for (int i = 0; i < 4; ++i)
    products.push_back(w.product(w.shop(), {{"price", "1"}, {"stock", 5}}));
  for (int i = 0; i < 3; ++i) BOOST_TEST(w.add_to_cart(cust, products[i], 1).status == 201);
  auto fourth = w.add_to_cart(cust, products[3], 1);
  expect_error(fourth, 409, "cart_shop_limit");
  BOOST_TEST(fourth.json()["error"]["product_id"] == products[3]);
  BOOST_TEST(w.client.get("/api/v1/cart", cust).json()["shops"].size() == 3u);
  // More of a shop already in the cart is fine.
  BOOST_TEST(w.add_to_cart(cust, products[0], 2).status == 200);
  // After removing a shop's line, a new shop fits.
  auto cart = w.client.get("/api/v1/cart", cust).json();
  auto line = cart["items"][1]["id"].get<int64_t>();
  BOOST_TEST(w.client.del("/api/v1/cart/items/" + std::to_string(line), cust).status == 204);
  BOOST_TEST(w.add_to_cart(cust, products[3], 1).status == 201);
}

BOOST_AUTO_TEST_CASE(quantities_follow_the_product_rules) {
  orders_world w;
  auto s = w.shop();
  auto rice = w.product(s, {{"price", "30"},
                            {"stock", 100},
                            {"quantity_type", "kg"},
                            {"minimum_quantity", 0.5},
                            {"increment_rate", 0.25}});
  auto [name, cust] = w.customer();
  auto too_little = w.add_to_cart(cust, rice, 0.25);
  expect_error(too_little, 400, "invalid_quantity", "quantity");
  BOOST_TEST(too_little.json()["error"]["product_id"] == rice);
  expect_error(w.add_to_cart(cust, rice, 0.6), 400, "invalid_quantity");
  auto ok = w.add_to_cart(cust, rice, 0.75);
  BOOST_TEST(ok.status == 201, ok.body);
  BOOST_TEST(ok.json()["quantity"] == 0.75);
  BOOST_TEST(ok.json()["line_total"] == "22.50");
  // The sum must be allowed too: 0.75 + 0.5 = 1.25 is; then + 0.1 is not a quantity at all.
  BOOST_TEST(w.add_to_cart(cust, rice, 0.5).json()["quantity"] == 1.25);
  expect_error(w.add_to_cart(cust, rice, 0.1), 400, "invalid_quantity");
  auto line = ok.json()["id"].get<int64_t>();
  expect_error(
      w.client.patch_json("/api/v1/cart/items/" + std::to_string(line), {{"quantity", 0.3}}, cust),
      400, "invalid_quantity");
  BOOST_TEST(w.client.get("/api/v1/cart", cust).json()["items"][0]["quantity"] == 1.25);

  // Malformed quantities are validation errors naming the field.
  expect_error(w.add_to_cart(cust, rice, -1), 400, "validation_error", "quantity");
  expect_error(w.add_to_cart(cust, rice, 0), 400, "validation_error", "quantity");
  expect_error(w.client.post_json("/api/v1/cart/items", {{"product_id", rice}}, cust), 400,
               "validation_error", "quantity");
  expect_error(w.client.post_json("/api/v1/cart/items", {{"quantity", 1}}, cust), 400,
               "validation_error", "product_id");
  expect_error(
      w.client.post_json("/api/v1/cart/items", {{"product_id", "x"}, {"quantity", 1.0001}}, cust),
      400, "validation_error", "product_id");
}

BOOST_AUTO_TEST_CASE(hidden_deleted_unknown_products_and_suspended_shops_are_refused) {
  orders_world w;
  auto s = w.shop();
  auto hidden = w.product(s, {{"price", "1"}, {"stock", 5}, {"is_hidden", true}});
  auto deleted = w.product(s, {{"price", "1"}, {"stock", 5}});
  BOOST_TEST(w.client.del("/api/v1/products/" + std::to_string(deleted), s.owner).status == 204);
  auto [name, cust] = w.customer();
  auto r = w.add_to_cart(cust, hidden, 1);
  expect_error(r, 404, "not_found");
  BOOST_TEST(r.json()["error"]["product_id"] == hidden);
  expect_error(w.add_to_cart(cust, deleted, 1), 404, "not_found");
  expect_error(w.add_to_cart(cust, 987654321, 1), 404, "not_found");

  auto other = w.shop();
  auto bread = w.product(other, {{"price", "2"}, {"stock", 5}});
  BOOST_TEST(w.add_to_cart(cust, bread, 1).status == 201);
  auto suspend = w.client.patch_json("/api/v1/shops/" + std::to_string(other.id),
                                     {{"status", "suspended"}}, w.staff);
  BOOST_TEST_REQUIRE(suspend.status == 200, suspend.body);
  expect_error(w.add_to_cart(cust, bread, 1), 409, "shop_unavailable");
  // The line stays, marked unavailable and out of the total.
  auto cart = w.client.get("/api/v1/cart", cust).json();
  BOOST_TEST(cart["items"][0]["available"] == false);
  BOOST_TEST(cart["total"] == "0.00");
}

BOOST_AUTO_TEST_CASE(only_customers_have_carts_and_only_their_own) {
  orders_world w;
  auto s = w.shop();
  auto milk = w.product(s, {{"price", "1"}, {"stock", 5}});
  auto [a_name, a] = w.customer();
  auto [b_name, b] = w.customer();
  auto line = w.add_to_cart(a, milk, 1).json()["id"].get<int64_t>();
  expect_error(
      w.client.patch_json("/api/v1/cart/items/" + std::to_string(line), {{"quantity", 2}}, b), 404,
      "not_found");
  expect_error(w.client.del("/api/v1/cart/items/" + std::to_string(line), b), 404, "not_found");
  BOOST_TEST(w.client.get("/api/v1/cart", b).json()["items"].empty());
  expect_error(w.client.get("/api/v1/cart", s.owner), 403, "forbidden");
  expect_error(w.client.get("/api/v1/cart", w.staff), 403, "forbidden");
  expect_error(w.client.get("/api/v1/cart"), 401, "unauthenticated");
  header_map json_a = a;
  json_a["Content-Type"] = "application/json";
  expect_error(w.client.request("POST", "/api/v1/cart/items", "{", json_a), 400, "malformed_json");
}

BOOST_AUTO_TEST_CASE(a_cart_survives_a_restart) {
  orders_world w;
  auto s = w.shop();
  auto milk = w.product(s, {{"price", "3.10"}, {"stock", 5}});
  auto [name, cust] = w.customer();
  BOOST_TEST(w.add_to_cart(cust, milk, 3).status == 201);
  w.server.kill_hard();
  w.server.restart();
  auto again = w.relogin(name, "password-1");
  auto cart = w.client.get("/api/v1/cart", again).json();
  BOOST_TEST_REQUIRE(cart["items"].size() == 1u, cart.dump());
  BOOST_TEST(cart["items"][0]["product_id"] == milk);
  BOOST_TEST(cart["items"][0]["quantity"] == 3);
  BOOST_TEST(cart["total"] == "9.30");
}

BOOST_AUTO_TEST_SUITE_END()
