// API.md "Catalog" end to end, and who may call which catalog route.
#include <boost/test/unit_test.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/server_fixture.hpp"

using namespace wassally::test;
using nlohmann::json;

namespace {

int counter = 0;
std::string next_id() { return std::to_string(getpid() % 10000) + "c" + std::to_string(++counter); }
std::string next_phone() {
  return "+2015" + std::to_string(1000000 + getpid() % 1000 * 1000 + ++counter);
}

struct catalog_fixture {
  server_process server{[] {
    server_process::options o;
    o.env = {{"WASSALLY_PASSWORD_OPS_LIMIT", "1"},
             {"WASSALLY_PASSWORD_MEM_LIMIT_KIB", "8"},
             {"WASSALLY_LOGIN_MAX_FAILURES", "1000"},
             {"WASSALLY_BOOTSTRAP_STAFF", "cat.staff:staff-password-1"}};
    return o;
  }()};
  http_client client = server.client();
  header_map staff = login("cat.staff", "staff-password-1");
  int64_t shop_category = 0;
  std::string owner_name = "owner" + next_id();
  int64_t shop_id = create_shop(owner_name);
  header_map owner = login(owner_name, "owner-pass-1");

  header_map login(const std::string& user, const std::string& password) {
    auto r = client.post_json("/api/v1/auth/login", {{"username", user}, {"password", password}});
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return {{"Authorization", "Bearer " + r.json()["access"].get<std::string>()}};
  }
  int64_t create_shop(const std::string& owner) {
    if (!shop_category) {
      auto c = client.post_json("/api/v1/shop-categories", {{"name", "General"}}, staff);
      BOOST_REQUIRE(c.status == 201);
      shop_category = c.json()["id"];
    }
    auto r = client.post_json(
        "/api/v1/shops",
        {{"name", "Shop " + owner},
         {"phone_number", next_phone()},
         {"category_id", shop_category},
         {"location", {{"latitude", 30}, {"longitude", 31}}},
         {"owner",
          {{"username", owner}, {"password", "owner-pass-1"}, {"phone_number", next_phone()}}}},
        staff);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.json()["id"];
  }
  header_map customer() {
    auto name = "cust" + next_id();
    BOOST_REQUIRE(client
                      .post_json("/api/v1/auth/register", {{"username", name},
                                                           {"password", "password-1"},
                                                           {"phone_number", next_phone()}})
                      .status == 201);
    return login(name, "password-1");
  }
  std::string shop_path(const std::string& rest = "") const {
    return "/api/v1/shops/" + std::to_string(shop_id) + rest;
  }
  json product(const json& body) {
    auto r = client.post_json(shop_path("/products"), body, owner);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.json();
  }
};

void expect_error(const http_response& r, int status, const std::string& code,
                  const std::string& field = {}) {
  BOOST_TEST(r.status == status, "status " << r.status << " body " << r.body);
  BOOST_TEST(r.json()["error"]["code"] == code, r.body);
  if (!field.empty()) BOOST_TEST(r.json()["error"]["fields"].contains(field), r.body);
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(catalog, catalog_fixture)

BOOST_AUTO_TEST_CASE(product_categories_are_unique_per_shop) {
  auto r = client.post_json(shop_path("/categories"), {{"name", "Vegetables"}}, owner);
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  auto id = r.json()["id"].get<int64_t>();
  expect_error(client.post_json(shop_path("/categories"), {{"name", "Vegetables"}}, owner), 409,
               "conflict", "name");
  // Another shop may use the same name.
  auto other_owner = "owner" + next_id();
  auto other = create_shop(other_owner);
  BOOST_TEST(client
                 .post_json("/api/v1/shops/" + std::to_string(other) + "/categories",
                            {{"name", "Vegetables"}}, login(other_owner, "owner-pass-1"))
                 .status == 201);
  auto renamed = client.patch_json(shop_path("/categories/" + std::to_string(id)),
                                   {{"name", "Greens"}}, owner);
  BOOST_TEST(renamed.status == 200);
  BOOST_TEST(renamed.json()["name"] == "Greens");
  auto list = client.get(shop_path("/categories"));
  BOOST_REQUIRE(list.status == 200);
  BOOST_TEST(list.json()["count"] == 1);
  BOOST_TEST(list.json()["results"][0]["name"] == "Greens");
  // Deleting leaves its products uncategorised.
  auto p = product({{"name", "Lettuce"}, {"price", "5.00"}, {"category_id", id}});
  BOOST_TEST(p["category_id"] == id);
  BOOST_TEST(client.del(shop_path("/categories/" + std::to_string(id)), owner).status == 204);
  BOOST_TEST(client.get("/api/v1/products/" + std::to_string(p["id"].get<int64_t>()))
                 .json()["category_id"]
                 .is_null());
  expect_error(client.del(shop_path("/categories/" + std::to_string(id)), owner), 404, "not_found");
}

BOOST_AUTO_TEST_CASE(products_have_every_field_with_defaults) {
  auto p = product({{"name", "Rice"}, {"price", "12.99"}});
  for (auto key :
       {"id", "shop_id", "category_id", "name", "description", "price", "effective_price",
        "cost_price", "stock", "is_unlimited", "quantity_type", "minimum_quantity",
        "increment_rate", "image", "is_hidden", "sales_count", "offer", "created_at", "updated_at"})
    BOOST_TEST(p.contains(key), key);
  BOOST_TEST(p["price"] == "12.99");
  BOOST_TEST(p["effective_price"] == "12.99");
  BOOST_TEST(p["quantity_type"] == "unit");
  BOOST_TEST(p["minimum_quantity"] == 1);
  BOOST_TEST(p["increment_rate"] == 1);
  BOOST_TEST(p["stock"] == 0);
  BOOST_TEST(p["offer"].is_null());
  BOOST_TEST(p["cost_price"].is_null());
  BOOST_TEST(p["shop_id"] == shop_id);
  auto kg = product({{"name", "Tomatoes"},
                     {"price", "7.5"},
                     {"cost_price", "4.25"},
                     {"stock", 12.125},
                     {"quantity_type", "kg"},
                     {"minimum_quantity", 0.5},
                     {"increment_rate", 0.25}});
  BOOST_TEST(kg["price"] == "7.50");
  BOOST_TEST(kg["cost_price"] == "4.25");
  BOOST_TEST(kg["stock"] == 12.125);
  BOOST_TEST(kg["minimum_quantity"] == 0.5);
  // cost_price is for the owner and staff only.
  auto path = "/api/v1/products/" + std::to_string(kg["id"].get<int64_t>());
  BOOST_TEST(!client.get(path).json().contains("cost_price"));
  BOOST_TEST(!client.get(path, customer()).json().contains("cost_price"));
  BOOST_TEST(client.get(path, staff).json()["cost_price"] == "4.25");
  BOOST_TEST(client.get(path, owner).json()["cost_price"] == "4.25");
}

BOOST_AUTO_TEST_CASE(product_validation_names_each_field) {
  auto url = shop_path("/products");
  expect_error(client.post_json(url, json::object(), owner), 400, "validation_error", "name");
  expect_error(client.post_json(url, {{"name", "x"}}, owner), 400, "validation_error", "price");
  expect_error(client.post_json(url, {{"name", "x"}, {"price", 12.5}}, owner), 400,
               "validation_error", "price");
  expect_error(client.post_json(url, {{"name", "x"}, {"price", "-1.00"}}, owner), 400,
               "validation_error", "price");
  expect_error(client.post_json(url, {{"name", "x"}, {"price", "1.999"}}, owner), 400,
               "validation_error", "price");
  expect_error(client.post_json(url, {{"name", "x"}, {"price", "1"}, {"stock", -1}}, owner), 400,
               "validation_error", "stock");
  expect_error(client.post_json(url, {{"name", "x"}, {"price", "1"}, {"stock", 1.0005}}, owner),
               400, "validation_error", "stock");
  expect_error(
      client.post_json(url, {{"name", "x"}, {"price", "1"}, {"quantity_type", "ton"}}, owner), 400,
      "validation_error", "quantity_type");
  expect_error(
      client.post_json(url, {{"name", "x"}, {"price", "1"}, {"minimum_quantity", 0}}, owner), 400,
      "validation_error", "minimum_quantity");
  expect_error(
      client.post_json(url, {{"name", "x"}, {"price", "1"}, {"increment_rate", -0.5}}, owner), 400,
      "validation_error", "increment_rate");
  expect_error(client.post_json(url, {{"name", "x"}, {"price", "1"}, {"is_hidden", "yes"}}, owner),
               400, "validation_error", "is_hidden");
  expect_error(
      client.post_json(url, {{"name", "x"}, {"price", "1"}, {"category_id", 999999}}, owner), 400,
      "validation_error", "category_id");
  expect_error(client.post_json(url, {{"name", "x"}, {"price", "1"}, {"sales_count", 5}}, owner),
               400, "validation_error", "sales_count");
  expect_error(
      client.post_json("/api/v1/shops/999999/products", {{"name", "x"}, {"price", "1"}}, staff),
      404, "not_found");
}

BOOST_AUTO_TEST_CASE(listing_filters_hidden_and_deleted) {
  auto cat = client.post_json(shop_path("/categories"), {{"name", "Dairy"}}, owner).json()["id"];
  product({{"name", "Milk"}, {"price", "3.00"}, {"category_id", cat}});
  product({{"name", "Skimmed MILK"}, {"price", "3.20"}, {"category_id", cat}});
  auto hidden = product({{"name", "Secret cheese"}, {"price", "9.00"}, {"is_hidden", true}});
  auto gone = product({{"name", "Old yoghurt"}, {"price", "1.00"}});
  BOOST_TEST(
      client.del("/api/v1/products/" + std::to_string(gone["id"].get<int64_t>()), owner).status ==
      204);

  auto all = client.get(shop_path("/products"));
  BOOST_REQUIRE(all.status == 200);
  BOOST_TEST(all.json()["count"] == 2);  // hidden and deleted are not shown
  BOOST_TEST(client.get(shop_path("/products"), customer()).json()["count"] == 2);
  BOOST_TEST(client.get(shop_path("/products"), owner).json()["count"] == 3);  // + hidden
  BOOST_TEST(client.get(shop_path("/products"), staff).json()["count"] == 3);
  BOOST_TEST(client.get(shop_path("/products?q=milk")).json()["count"] == 2);
  BOOST_TEST(client.get(shop_path("/products?q=SKIM")).json()["count"] == 1);
  BOOST_TEST(client.get(shop_path("/products?category_id=" + std::to_string(cat.get<int64_t>())))
                 .json()["count"] == 2);
  BOOST_TEST(client.get(shop_path("/products?offer=true")).json()["count"] == 0);
  expect_error(client.get(shop_path("/products?category_id=abc")), 400, "validation_error",
               "category_id");
  expect_error(client.get(shop_path("/products?offer=maybe")), 400, "validation_error", "offer");

  auto hidden_path = "/api/v1/products/" + std::to_string(hidden["id"].get<int64_t>());
  expect_error(client.get(hidden_path), 404, "not_found");
  BOOST_TEST(client.get(hidden_path, owner).status == 200);
  auto gone_path = "/api/v1/products/" + std::to_string(gone["id"].get<int64_t>());
  expect_error(client.get(gone_path, customer()), 404, "not_found");
  auto deleted = client.get(gone_path, staff);
  BOOST_TEST(deleted.status == 200);
  BOOST_TEST(deleted.json()["is_deleted"] == true);
  expect_error(client.patch_json(gone_path, {{"price", "2.00"}}, owner), 404, "not_found");
  expect_error(client.del(gone_path, owner), 404, "not_found");

  // Pagination over the owner's view: page size 2 of 3, and past the end.
  auto p1 = client.get(shop_path("/products?page_size=2"), owner).json();
  BOOST_TEST(p1["results"].size() == 2u);
  BOOST_TEST(p1["next"].is_string());
  auto p2 = client.get(shop_path("/products?page_size=2&page=2"), owner).json();
  BOOST_TEST(p2["results"].size() == 1u);
  BOOST_TEST(p2["next"].is_null());
  BOOST_TEST(client.get(shop_path("/products?page=9"), owner).json()["results"].empty());
  BOOST_TEST(client.get(shop_path("/products?page_size=1000"), owner).json()["results"].size() ==
             3u);
}

BOOST_AUTO_TEST_CASE(patching_products_and_suspended_shops) {
  auto p = product({{"name", "Bread"}, {"price", "1.00"}, {"stock", 5}});
  auto path = "/api/v1/products/" + std::to_string(p["id"].get<int64_t>());
  auto r =
      client.patch_json(path, {{"price", "1.25"}, {"stock", 7.5}, {"cost_price", nullptr}}, owner);
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  BOOST_TEST(r.json()["price"] == "1.25");
  BOOST_TEST(r.json()["stock"] == 7.5);
  BOOST_TEST(r.json()["name"] == "Bread");
  expect_error(client.patch_json(path, {{"shop_id", 2}}, owner), 400, "validation_error",
               "shop_id");
  // A suspended shop's catalog is hidden from customers.
  BOOST_REQUIRE(client.patch_json(shop_path(), {{"status", "suspended"}}, staff).status == 200);
  expect_error(client.get(shop_path("/products")), 404, "not_found");
  expect_error(client.get(path), 404, "not_found");
  BOOST_TEST(client.get(path, owner).status == 200);
  // The cache and the database agree after a restart.
  server.restart();
  client = server.client();
  auto after = client.get(path, login("cat.staff", "staff-password-1"));
  BOOST_REQUIRE(after.status == 200);
  BOOST_TEST(after.json()["price"] == "1.25");
  BOOST_TEST(after.json()["stock"] == 7.5);
}

// Every catalog route × role: anonymous, customer, crew-less roles, another shop's owner,
// this shop's owner, staff. Mutations: 401 anonymous, 403 for everyone but owner and staff.
BOOST_AUTO_TEST_CASE(authorization_matrix) {
  auto other_owner_name = "owner" + next_id();
  create_shop(other_owner_name);
  auto other_owner = login(other_owner_name, "owner-pass-1");
  auto cust = customer();
  auto cat = client.post_json(shop_path("/categories"), {{"name", "Matrix"}}, owner)
                 .json()["id"]
                 .get<int64_t>();
  auto prod = product({{"name", "Matrix item"}, {"price", "1.00"}})["id"].get<int64_t>();
  struct route {
    std::string method, path;
    json body;
    bool is_public;
  };
  auto pid = "/api/v1/products/" + std::to_string(prod);
  auto cpath = shop_path("/categories/" + std::to_string(cat));
  std::vector<route> routes = {
      {"GET", shop_path("/categories"), nullptr, true},
      {"GET", shop_path("/products"), nullptr, true},
      {"GET", pid, nullptr, true},
      {"POST", shop_path("/categories"), {{"name", "M2"}}, false},
      {"PATCH", cpath, {{"name", "M3"}}, false},
      {"POST", shop_path("/products"), {{"name", "n"}, {"price", "1.00"}}, false},
      {"PATCH", pid, {{"price", "2.00"}}, false},
      {"PATCH", shop_path(), {{"name", "Renamed"}}, false},
      {"DELETE", cpath, nullptr, false},
      {"DELETE", pid, nullptr, false},
  };
  auto call = [&](const route& r, const header_map& who) {
    header_map h = who;
    if (!r.body.is_null()) h["Content-Type"] = "application/json";
    return client.request(r.method, r.path, r.body.is_null() ? "" : r.body.dump(), h);
  };
  for (const auto& r : routes) {
    auto label = r.method + " " + r.path;
    auto anon = call(r, {});
    BOOST_TEST(anon.status == (r.is_public ? 200 : 401), label << " anonymous: " << anon.body);
    BOOST_TEST(call(r, cust).status == (r.is_public ? 200 : 403), label << " customer");
    BOOST_TEST(call(r, other_owner).status == (r.is_public ? 200 : 403), label << " other owner");
  }
  // The owner, then staff, may do all of it (deletes last).
  for (const auto& r : routes) {
    auto s = call(r, owner).status;
    BOOST_TEST((s == 200 || s == 201 || s == 204), r.method << " " << r.path << " owner: " << s);
  }
  auto again =
      client.post_json(shop_path("/products"), {{"name", "by staff"}, {"price", "1.00"}}, staff);
  BOOST_TEST(again.status == 201);
}

BOOST_AUTO_TEST_SUITE_END()
