#pragma once
// A running server with staff, shops, owners, products and customers for the cart and order
// tests (real HTTP on loopback, real PostgreSQL).

#include <unistd.h>
#include <boost/test/unit_test.hpp>

#include <string>

#include "tests/support/http_client.hpp"
#include "tests/support/server_fixture.hpp"

namespace wassally::test {

inline int& order_test_counter() {
  static int counter = 0;
  return counter;
}
inline std::string unique_suffix() {
  return std::to_string(getpid() % 10000) + "o" + std::to_string(++order_test_counter());
}
/// "/api/v1/orders/{id}" followed by `rest` ("/accept", "/events", ...).
inline std::string order_path(int64_t id, const std::string& rest = "") {
  return "/api/v1/orders/" + std::to_string(id) + rest;
}

inline std::string unique_phone() {
  return "+2016" + std::to_string(1000000 + getpid() % 1000 * 1000 + ++order_test_counter());
}

inline void expect_error(const http_response& r, int status, const std::string& code,
                         const std::string& field = {}) {
  BOOST_TEST(r.status == status, "status " << r.status << " body " << r.body);
  BOOST_TEST(r.json()["error"]["code"] == code, r.body);
  if (!field.empty()) BOOST_TEST(r.json()["error"]["fields"].contains(field), r.body);
}

/// Extra WASSALLY_* settings for a world's server.
using settings = std::map<std::string, std::string>;

struct shop_handle {
  int64_t id = 0;
  std::string owner_name;
  header_map owner;
};

struct orders_world {
  static server_process::options server_options(std::map<std::string, std::string> extra = {}) {
    server_process::options o;
    o.env = {{"WASSALLY_PASSWORD_OPS_LIMIT", "1"},
             {"WASSALLY_PASSWORD_MEM_LIMIT_KIB", "8"},
             {"WASSALLY_LOGIN_MAX_FAILURES", "100000"},
             {"WASSALLY_DELIVERY_FEE", "15.50"},
             {"WASSALLY_BOOTSTRAP_STAFF", "ord.staff:staff-password-1"}};
    for (auto& [k, v] : extra) o.env[k] = v;
    return o;
  }

  explicit orders_world(std::map<std::string, std::string> extra = {})
      : server(server_options(std::move(extra))) {}

  server_process server;
  http_client client = server.client();
  header_map staff = login("ord.staff", "staff-password-1");
  int64_t shop_category = 0;

  header_map login(const std::string& user, const std::string& password) {
    auto r = client.post_json("/api/v1/auth/login", {{"username", user}, {"password", password}});
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return {{"Authorization", "Bearer " + r.json()["access"].get<std::string>()}};
  }
  /// A fresh login (tokens of a restarted server stay valid: the secret is in var_dir).
  header_map relogin(const std::string& user, const std::string& password) {
    client = server.client();
    return login(user, password);
  }

  shop_handle shop(double lat = 30.05, double lng = 31.23) {
    if (!shop_category) {
      auto c = client.post_json("/api/v1/shop-categories", {{"name", "Groceries"}}, staff);
      BOOST_REQUIRE_MESSAGE(c.status == 201, c.body);
      shop_category = c.json()["id"];
    }
    shop_handle s;
    s.owner_name = "owner" + unique_suffix();
    auto r = client.post_json("/api/v1/shops",
                              {{"name", "Shop " + s.owner_name},
                               {"phone_number", unique_phone()},
                               {"category_id", shop_category},
                               {"location", {{"latitude", lat}, {"longitude", lng}}},
                               {"owner",
                                {{"username", s.owner_name},
                                 {"password", "owner-pass-1"},
                                 {"phone_number", unique_phone()}}}},
                              staff);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    s.id = r.json()["id"];
    s.owner = login(s.owner_name, "owner-pass-1");
    return s;
  }

  int64_t product(const shop_handle& s, nlohmann::json body) {
    if (!body.contains("name")) body["name"] = "Product " + unique_suffix();
    auto r = client.post_json("/api/v1/shops/" + std::to_string(s.id) + "/products", body, s.owner);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.json()["id"];
  }

  nlohmann::json product_as_owner(const shop_handle& s, int64_t id) {
    auto r = client.get("/api/v1/products/" + std::to_string(id), s.owner);
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return r.json();
  }

  double stock(const shop_handle& s, int64_t id) {
    return product_as_owner(s, id)["stock"].get<double>();
  }

  std::pair<std::string, header_map> customer() {
    auto name = "cust" + unique_suffix();
    auto r = client.post_json(
        "/api/v1/auth/register",
        {{"username", name}, {"password", "password-1"}, {"phone_number", unique_phone()}});
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return {name, login(name, "password-1")};
  }

  static nlohmann::json order_body(nlohmann::json items = nullptr) {
    nlohmann::json b = {
        {"receiver_name", "Mona"},
        {"receiver_phone", "+201001234567"},
        {"location", {{"address", "1 Nile St"}, {"latitude", 30.06}, {"longitude", 31.24}}},
        {"notes", "ring twice"}};
    if (!items.is_null()) b["items"] = items;
    return b;
  }

  static nlohmann::json line(int64_t product_id, double quantity) {
    return {{"product_id", product_id}, {"quantity", quantity}};
  }

  http_response add_to_cart(const header_map& who, int64_t product_id, double quantity) {
    return client.post_json("/api/v1/cart/items", line(product_id, quantity), who);
  }

  http_response place(const header_map& who, nlohmann::json items = nullptr,
                      header_map extra = {}) {
    for (auto& [k, v] : who) extra[k] = v;
    return client.post_json("/api/v1/orders", order_body(std::move(items)), extra);
  }
};

}  // namespace wassally::test
