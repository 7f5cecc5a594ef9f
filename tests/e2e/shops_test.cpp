// API.md "Shops" end to end: categories, registration with the owner, browsing, editing.
#include <boost/test/unit_test.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/server_fixture.hpp"

using namespace wassally::test;
using nlohmann::json;

namespace {

int counter = 0;
std::string next_id() { return std::to_string(getpid() % 10000) + "x" + std::to_string(++counter); }
std::string next_phone() {
  return "+2012" + std::to_string(1000000 + getpid() % 1000 * 1000 + ++counter);
}

struct shops_fixture {
  server_process server{[] {
    server_process::options o;
    o.env = {{"WASSALLY_PASSWORD_OPS_LIMIT", "1"},
             {"WASSALLY_PASSWORD_MEM_LIMIT_KIB", "8"},
             {"WASSALLY_LOGIN_MAX_FAILURES", "1000"},
             {"WASSALLY_BOOTSTRAP_STAFF", "shops.staff:staff-password-1"}};
    return o;
  }()};
  http_client client = server.client();
  header_map staff = auth("shops.staff", "staff-password-1");

  header_map auth(const std::string& user, const std::string& password) {
    auto r = client.post_json("/api/v1/auth/login", {{"username", user}, {"password", password}});
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return {{"Authorization", "Bearer " + r.json()["access"].get<std::string>()}};
  }
  header_map new_customer() {
    auto name = "cust" + next_id();
    auto r = client.post_json(
        "/api/v1/auth/register",
        {{"username", name}, {"password", "password-1"}, {"phone_number", next_phone()}});
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return auth(name, "password-1");
  }
  int64_t category(const std::string& name) {
    auto r = client.post_json("/api/v1/shop-categories", {{"name", name}}, staff);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.json()["id"];
  }
  json shop_body(const std::string& name, int64_t category_id, double lat, double lng,
                 const std::string& owner) {
    return {{"name", name},
            {"description", "fresh"},
            {"phone_number", next_phone()},
            {"category_id", category_id},
            {"location", {{"address", "somewhere"}, {"latitude", lat}, {"longitude", lng}}},
            {"owner",
             {{"username", owner}, {"password", "owner-pass-1"}, {"phone_number", next_phone()}}}};
  }
  json create_shop(const std::string& name, int64_t category_id, double lat, double lng,
                   const std::string& owner) {
    auto r =
        client.post_json("/api/v1/shops", shop_body(name, category_id, lat, lng, owner), staff);
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

BOOST_FIXTURE_TEST_SUITE(shops, shops_fixture)

BOOST_AUTO_TEST_CASE(shop_categories_are_staff_managed_and_public) {
  auto name = "Bakery" + next_id();
  // An external picture is an http(s) URL (API.md "Images"); anything else is refused.
  expect_error(
      client.post_json("/api/v1/shop-categories", {{"name", name}, {"image", "b.png"}}, staff), 400,
      "validation_error", "image");
  auto r = client.post_json("/api/v1/shop-categories",
                            {{"name", name}, {"image", "https://cdn.example.com/b.png"}}, staff);
  BOOST_REQUIRE(r.status == 201);
  BOOST_TEST(r.json()["name"] == name);
  BOOST_TEST(r.json()["image"] == "https://cdn.example.com/b.png");
  BOOST_TEST(r.json()["images"].is_null());
  expect_error(client.post_json("/api/v1/shop-categories", {{"name", name}}, staff), 409,
               "conflict", "name");
  expect_error(client.post_json("/api/v1/shop-categories", {{"name", ""}}, staff), 400,
               "validation_error", "name");
  expect_error(client.post_json("/api/v1/shop-categories", {{"name", "x"}}), 401,
               "unauthenticated");
  expect_error(client.post_json("/api/v1/shop-categories", {{"name", "x"}}, new_customer()), 403,
               "forbidden");
  auto list = client.get("/api/v1/shop-categories?page_size=500");
  BOOST_REQUIRE(list.status == 200);
  bool found = false;
  auto page = list.json();
  for (auto& c : page["results"]) found = found || c["name"] == name;
  BOOST_TEST(found, list.body);
}

BOOST_AUTO_TEST_CASE(registering_a_shop_creates_its_owner) {
  auto cat = category("Groceries" + next_id());
  auto owner = "owner" + next_id();
  auto shop = create_shop("Green Market", cat, 30.0444, 31.2357, owner);
  BOOST_TEST(shop["name"] == "Green Market");
  BOOST_TEST(shop["status"] == "active");
  BOOST_TEST(shop["category_id"] == cat);
  BOOST_TEST(shop["confirmed_orders"] == 0);
  BOOST_TEST(shop["location"]["latitude"] == 30.0444);
  auto me = client.get("/api/v1/me", auth(owner, "owner-pass-1"));
  BOOST_REQUIRE(me.status == 200);
  BOOST_TEST(me.json()["role"] == "shop_owner");
  BOOST_TEST(me.json()["id"] == shop["owner_id"]);
  BOOST_TEST(me.json()["shop_ids"] == json::array({shop["id"]}));
  // A second shop for the same owner by owner_id.
  auto body = shop_body("Green Market 2", cat, 30.05, 31.24, "unused");
  body.erase("owner");
  body["owner_id"] = shop["owner_id"];
  auto second = client.post_json("/api/v1/shops", body, staff);
  BOOST_REQUIRE_MESSAGE(second.status == 201, second.body);
  BOOST_TEST(second.json()["owner_id"] == shop["owner_id"]);
  BOOST_TEST(client.get("/api/v1/me", auth(owner, "owner-pass-1")).json()["shop_ids"].size() == 2u);
}

BOOST_AUTO_TEST_CASE(registration_is_validated_and_all_or_nothing) {
  auto cat = category("Pharmacy" + next_id());
  auto owner = "owner" + next_id();
  create_shop("First", cat, 30, 31, owner);
  // The owner's username is taken: nothing is created, the field is named.
  auto dup = client.post_json("/api/v1/shops", shop_body("Second", cat, 30, 31, owner), staff);
  expect_error(dup, 409, "conflict", "owner.username");
  auto body = shop_body("Third", 999999, 30, 31, "owner" + next_id());
  expect_error(client.post_json("/api/v1/shops", body, staff), 400, "validation_error",
               "category_id");
  // ...and the owner account of the failed registration was not created either.
  auto lost = body["owner"]["username"].get<std::string>();
  expect_error(
      client.post_json("/api/v1/auth/login", {{"username", lost}, {"password", "owner-pass-1"}}),
      401, "invalid_credentials");
  body = shop_body("Fourth", cat, 91, 31, "owner" + next_id());
  expect_error(client.post_json("/api/v1/shops", body, staff), 400, "validation_error",
               "location.latitude");
  body = shop_body("Fifth", cat, 30, 31, "owner" + next_id());
  body["owner"]["password"] = "short";
  expect_error(client.post_json("/api/v1/shops", body, staff), 400, "validation_error",
               "owner.password");
  body = shop_body("Sixth", cat, 30, 31, "owner" + next_id());
  body["owner_id"] = 1;
  expect_error(client.post_json("/api/v1/shops", body, staff), 400, "validation_error", "owner_id");
  body.erase("owner");
  body["owner_id"] = 1;  // the staff account, not a shop owner
  expect_error(client.post_json("/api/v1/shops", body, staff), 400, "validation_error", "owner_id");
  auto missing = client.post_json("/api/v1/shops", json::object(), staff);
  expect_error(missing, 400, "validation_error");
  for (auto f : {"name", "phone_number", "category_id", "location", "owner"})
    BOOST_TEST(missing.json()["error"]["fields"].contains(f), f);
  expect_error(client.post_json("/api/v1/shops", shop_body("X", cat, 30, 31, "o" + next_id()),
                                new_customer()),
               403, "forbidden");
}

BOOST_AUTO_TEST_CASE(browsing_filters_and_distance) {
  auto cat = category("Cafes" + next_id());
  auto other = category("Books" + next_id());
  auto tag = next_id();
  // Cairo downtown, ~2 km away, ~9 km away, Alexandria (~180 km).
  create_shop("Cafe Near " + tag, cat, 30.0444, 31.2357, "o" + next_id());
  create_shop("cafe Mid " + tag, cat, 30.0600, 31.2200, "o" + next_id());
  create_shop("CAFE Far " + tag, cat, 30.1200, 31.2600, "o" + next_id());
  create_shop("Cafe Alex " + tag, cat, 31.2001, 29.9187, "o" + next_id());
  create_shop("Bookshop " + tag, other, 30.0445, 31.2358, "o" + next_id());

  auto by_name =
      client.get("/api/v1/shops?q=cafe%20&page_size=100&category_id=" + std::to_string(cat));
  BOOST_REQUIRE(by_name.status == 200);
  BOOST_TEST(by_name.json()["count"] == 4);
  auto in_cat = client.get("/api/v1/shops?category_id=" + std::to_string(other));
  BOOST_TEST(in_cat.json()["count"] == 1);
  BOOST_TEST(in_cat.json()["results"][0]["name"] == "Bookshop " + tag);

  auto near = client.get("/api/v1/shops?near=30.0444,31.2357&radius_km=10&page_size=100&q=" + tag);
  BOOST_REQUIRE_MESSAGE(near.status == 200, near.body);
  auto results = near.json()["results"];
  BOOST_REQUIRE(results.size() == 4u);  // Alexandria is out of range
  double last = -1;
  for (auto& s : results) {
    BOOST_TEST(s["distance_km"].get<double>() >= last);
    last = s["distance_km"];
  }
  BOOST_TEST(results[0]["distance_km"].get<double>() < 0.1);
  BOOST_TEST(results[3]["name"] == "CAFE Far " + tag);
  BOOST_TEST(results[3]["distance_km"].get<double>() > 8.0);
  BOOST_TEST(results[3]["distance_km"].get<double>() < 10.0);
  auto wide = client.get("/api/v1/shops?near=30.0444,31.2357&radius_km=500&q=" + tag);
  BOOST_TEST(wide.json()["count"] == 5);
  BOOST_TEST(!client.get("/api/v1/shops?q=" + tag).json()["results"][0].contains("distance_km"));

  expect_error(client.get("/api/v1/shops?near=95,31"), 400, "validation_error", "near");
  expect_error(client.get("/api/v1/shops?near=abc"), 400, "validation_error", "near");
  expect_error(client.get("/api/v1/shops?radius_km=-1"), 400, "validation_error", "radius_km");
  expect_error(client.get("/api/v1/shops?category_id=x"), 400, "validation_error", "category_id");
  // Pagination: page size 2 over 4, then past the end.
  auto p1 = client.get("/api/v1/shops?page_size=2&q=cafe%20" + tag.substr(0, 0) +
                       "&category_id=" + std::to_string(cat));
  BOOST_TEST(p1.json()["results"].size() == 2u);
  BOOST_TEST(p1.json()["next"].is_string());
  BOOST_TEST(p1.json()["previous"].is_null());
  auto past = client.get("/api/v1/shops?page=50&category_id=" + std::to_string(cat));
  BOOST_TEST(past.status == 200);
  BOOST_TEST(past.json()["results"].empty());
}

BOOST_AUTO_TEST_CASE(owners_edit_staff_suspend) {
  auto cat = category("Florists" + next_id());
  auto owner = "owner" + next_id();
  auto shop = create_shop("Roses", cat, 30, 31, owner);
  auto path = "/api/v1/shops/" + std::to_string(shop["id"].get<int64_t>());
  auto owner_auth = auth(owner, "owner-pass-1");

  auto r = client.patch_json(path, {{"name", "Roses & Tulips"}, {"location", {{"latitude", 30.5}}}},
                             owner_auth);
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  BOOST_TEST(r.json()["name"] == "Roses & Tulips");
  BOOST_TEST(r.json()["location"]["latitude"] == 30.5);
  BOOST_TEST(r.json()["location"]["longitude"] == 31);
  BOOST_TEST(r.json()["location"]["address"] == "somewhere");

  expect_error(client.patch_json(path, {{"status", "suspended"}}, owner_auth), 403, "forbidden");
  auto other_owner = "owner" + next_id();
  create_shop("Other", cat, 30, 31, other_owner);
  expect_error(client.patch_json(path, {{"name", "mine now"}}, auth(other_owner, "owner-pass-1")),
               403, "forbidden");
  expect_error(client.patch_json(path, {{"name", "x"}}, new_customer()), 403, "forbidden");
  expect_error(client.patch_json(path, {{"name", "x"}}), 401, "unauthenticated");
  expect_error(client.patch_json(path, {{"status", "closed"}}, staff), 400, "validation_error",
               "status");
  expect_error(client.patch_json(path, {{"owner_id", 1}}, staff), 400, "validation_error",
               "owner_id");
  expect_error(client.patch_json(path, {{"category_id", 999999}}, owner_auth), 400,
               "validation_error", "category_id");
  expect_error(client.patch_json("/api/v1/shops/999999", {{"name", "x"}}, staff), 404, "not_found");

  // Suspended: hidden from customers, visible to the owner and staff.
  auto s = client.patch_json(path, {{"status", "suspended"}}, staff);
  BOOST_REQUIRE(s.status == 200);
  BOOST_TEST(s.json()["status"] == "suspended");
  expect_error(client.get(path), 404, "not_found");
  expect_error(client.get(path, new_customer()), 404, "not_found");
  BOOST_TEST(client.get(path, owner_auth).status == 200);
  BOOST_TEST(client.get(path, staff).status == 200);
  auto listed = client.get("/api/v1/shops?q=Tulips");
  BOOST_TEST(listed.json()["count"] == 0);
  BOOST_TEST(client.get("/api/v1/shops?q=Tulips&status=all", staff).json()["count"] == 1);
  BOOST_TEST(client.get("/api/v1/shops?q=Tulips&status=all", new_customer()).json()["count"] == 0);

  // Durable: a restarted server shows the committed state.
  server.restart();
  client = server.client();
  auto after = client.get(path, auth("shops.staff", "staff-password-1"));
  BOOST_REQUIRE(after.status == 200);
  BOOST_TEST(after.json()["name"] == "Roses & Tulips");
  BOOST_TEST(after.json()["status"] == "suspended");
}

BOOST_AUTO_TEST_CASE(owners_set_the_preparation_time) {
  auto cat = category("Kitchens" + next_id());
  auto owner = "owner" + next_id();
  auto shop = create_shop("Grill", cat, 30, 31, owner);
  BOOST_TEST(shop["preparation_min"] == 10);  // the default
  auto path = "/api/v1/shops/" + std::to_string(shop["id"].get<int64_t>());
  auto owner_auth = auth(owner, "owner-pass-1");
  BOOST_TEST(client.get(path).json()["preparation_min"] == 10);

  auto r = client.patch_json(path, {{"preparation_min", 25}}, owner_auth);
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  BOOST_TEST(r.json()["preparation_min"] == 25);
  BOOST_TEST(r.json()["name"] == "Grill");  // nothing else changed
  BOOST_TEST(client.get(path).json()["preparation_min"] == 25);
  for (auto bad : {json(241), json(-1), json("ten"), json(12.5)})
    expect_error(client.patch_json(path, {{"preparation_min", bad}}, owner_auth), 400,
                 "validation_error", "preparation_min");
  expect_error(client.patch_json(path, {{"preparation_min", 30}}, new_customer()), 403,
               "forbidden");
  expect_error(client.patch_json(path, {{"confirmed_orders", 5}}, staff), 400, "validation_error",
               "confirmed_orders");
  BOOST_TEST(client.patch_json(path, {{"preparation_min", 0}}, staff).json()["preparation_min"] ==
             0);
  BOOST_TEST(
      client.patch_json(path, {{"preparation_min", 240}}, owner_auth).json()["preparation_min"] ==
      240);

  // Staff may set it at registration; out of range is refused there too.
  auto body = shop_body("Bakehouse", cat, 30, 31, "owner" + next_id());
  body["preparation_min"] = 45;
  auto created = client.post_json("/api/v1/shops", body, staff);
  BOOST_REQUIRE_MESSAGE(created.status == 201, created.body);
  BOOST_TEST(created.json()["preparation_min"] == 45);
  for (auto bad : {json(241), json(-1), json("ten")}) {
    auto refused = shop_body("Bakehouse", cat, 30, 31, "owner" + next_id());
    refused["preparation_min"] = bad;
    expect_error(client.post_json("/api/v1/shops", refused, staff), 400, "validation_error",
                 "preparation_min");
  }

  // Durable.
  server.restart();
  client = server.client();
  BOOST_TEST(client.get(path).json()["preparation_min"] == 240);
  BOOST_TEST(client.get("/api/v1/shops/" + std::to_string(created.json()["id"].get<int64_t>()))
                 .json()["preparation_min"] == 45);
}

BOOST_AUTO_TEST_CASE(unknown_and_malformed_ids_are_404) {
  expect_error(client.get("/api/v1/shops/987654"), 404, "not_found");
  expect_error(client.get("/api/v1/shops/abc"), 404, "not_found");
  expect_error(client.get("/api/v1/shops/-1"), 404, "not_found");
  expect_error(client.get("/api/v1/shops/99999999999999999999999"), 404, "not_found");
}

BOOST_AUTO_TEST_SUITE_END()
