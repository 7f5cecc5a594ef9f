// API.md "Offers" end to end, with the service clock moved by the test (no sleeping).
#include <boost/test/unit_test.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/server_fixture.hpp"

using namespace wassally::test;
using nlohmann::json;

namespace {

int counter = 0;
std::string next_phone() {
  return "+2016" + std::to_string(1000000 + getpid() % 1000 * 1000 + ++counter);
}

struct offers_fixture {
  server_process server{[] {
    server_process::options o;
    o.env = {{"WASSALLY_PASSWORD_OPS_LIMIT", "1"},
             {"WASSALLY_PASSWORD_MEM_LIMIT_KIB", "8"},
             {"WASSALLY_LOGIN_MAX_FAILURES", "1000"},
             {"WASSALLY_TEST_CLOCK", "true"},
             {"WASSALLY_BOOTSTRAP_STAFF", "offer.staff:staff-password-1"}};
    return o;
  }()};
  http_client client = server.client();
  header_map staff = login("offer.staff", "staff-password-1");
  int64_t category =
      client.post_json("/api/v1/shop-categories", {{"name", "Any"}}, staff).json()["id"];

  header_map login(const std::string& user, const std::string& password) {
    auto r = client.post_json("/api/v1/auth/login", {{"username", user}, {"password", password}});
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return {{"Authorization", "Bearer " + r.json()["access"].get<std::string>()}};
  }
  /// A shop with its owner's credentials.
  std::pair<int64_t, header_map> shop(const std::string& owner) {
    auto r = client.post_json(
        "/api/v1/shops",
        {{"name", "Shop " + owner},
         {"phone_number", next_phone()},
         {"category_id", category},
         {"location", {{"latitude", 30}, {"longitude", 31}}},
         {"owner",
          {{"username", owner}, {"password", "owner-pass-1"}, {"phone_number", next_phone()}}}},
        staff);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return {r.json()["id"], login(owner, "owner-pass-1")};
  }
  int64_t product(int64_t shop_id, const header_map& owner, const std::string& price) {
    auto r = client.post_json("/api/v1/shops/" + std::to_string(shop_id) + "/products",
                              {{"name", "Item " + price}, {"price", price}}, owner);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.json()["id"];
  }
  void set_clock(const std::string& now) {
    auto r = client.request(
        "PUT", "/api/v1/test/clock", json{{"now", now}}.dump(),
        {{"Content-Type", "application/json"}, {"Authorization", staff["Authorization"]}});
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  }
  json get_product(int64_t id) {
    return client.get("/api/v1/products/" + std::to_string(id)).json();
  }
};

void expect_error(const http_response& r, int status, const std::string& code,
                  const std::string& field = {}) {
  BOOST_TEST(r.status == status, "status " << r.status << " body " << r.body);
  BOOST_TEST(r.json()["error"]["code"] == code, r.body);
  if (!field.empty()) BOOST_TEST(r.json()["error"]["fields"].contains(field), r.body);
}

json offer_body(const std::string& start, const std::string& end, json product_ids,
                const std::string& discount = "20") {
  return {{"title", "Deal"},
          {"discount", discount},
          {"start_date", start},
          {"end_date", end},
          {"product_ids", product_ids}};
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(offers, offers_fixture)

BOOST_AUTO_TEST_CASE(offers_apply_only_during_their_period) {
  auto [shop_id, owner] = shop("offer.owner1");
  auto pid = product(shop_id, owner, "12.99");
  set_clock("2030-01-01T00:00:00Z");
  auto url = "/api/v1/shops/" + std::to_string(shop_id) + "/offers";
  auto r = client.post_json(url, offer_body("2030-01-02T00:00:00Z", "2030-01-05T00:00:00Z", {pid}),
                            owner);
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  auto offer = r.json();
  BOOST_TEST(offer["discount"] == "20.00");
  BOOST_TEST(offer["is_active"] == false);
  BOOST_TEST(offer["start_date"] == "2030-01-02T00:00:00Z");
  BOOST_TEST(offer["product_ids"] == json::array({pid}));

  // Before: full price, no offer.
  BOOST_TEST(get_product(pid)["effective_price"] == "12.99");
  BOOST_TEST(get_product(pid)["offer"].is_null());
  BOOST_TEST(client.get(url).json()["count"] == 0);
  // During: 12.99 at 20% is 10.39 (10.392 rounded half up).
  set_clock("2030-01-03T12:00:00Z");
  auto during = get_product(pid);
  BOOST_TEST(during["price"] == "12.99");
  BOOST_TEST(during["effective_price"] == "10.39");
  BOOST_TEST(during["offer"]["id"] == offer["id"]);
  BOOST_TEST(during["offer"]["discount"] == "20.00");
  BOOST_TEST(client.get(url).json()["count"] == 1);
  auto listing =
      client.get("/api/v1/shops/" + std::to_string(shop_id) + "/products?offer=true").json();
  BOOST_TEST(listing["count"] == 1);
  BOOST_TEST(listing["results"][0]["effective_price"] == "10.39");
  BOOST_TEST(client.get("/api/v1/offers").json()["count"] == 1);
  // The end is exclusive.
  set_clock("2030-01-05T00:00:00Z");
  BOOST_TEST(get_product(pid)["effective_price"] == "12.99");
  BOOST_TEST(client.get("/api/v1/offers").json()["count"] == 0);
  BOOST_TEST(client.get("/api/v1/shops/" + std::to_string(shop_id) + "/products?offer=true")
                 .json()["count"] == 0);
  // The owner still sees past offers with all=true; others see only active ones.
  BOOST_TEST(client.get(url + "?all=true", owner).json()["count"] == 1);
  BOOST_TEST(client.get(url + "?all=true").json()["count"] == 0);
}

/// The page cache's counters from /metrics (loopback).
std::pair<int64_t, int64_t> page_cache_counts(http_client& client) {
  auto text = client.get("/metrics").body;
  auto read = [&](const std::string& name) -> int64_t {
    auto at = text.find("\n" + name + " ");
    BOOST_REQUIRE_MESSAGE(at != std::string::npos, name);
    return std::stoll(text.substr(at + name.size() + 2));
  };
  return {read("wassally_product_page_cache_hits_total"),
          read("wassally_product_page_cache_misses_total")};
}

BOOST_AUTO_TEST_CASE(public_product_pages_follow_every_change_and_the_clock) {
  auto [shop_id, owner] = shop("offer.owner.pages");
  auto products = "/api/v1/shops/" + std::to_string(shop_id) + "/products";
  auto p1 = client.post_json(products, {{"name", "Tea"}, {"price", "12.99"}, {"stock", 10}}, owner)
                .json()["id"]
                .get<int64_t>();
  auto p2 = client.post_json(products, {{"name", "Milk"}, {"price", "5.00"}, {"stock", 10}}, owner)
                .json()["id"]
                .get<int64_t>();
  set_clock("2030-01-01T00:00:00Z");
  auto price_of = [&](int64_t id, const header_map& who = {}) -> std::string {
    auto page = client.get(products, who).json();
    for (auto& p : page["results"])
      if (p["id"] == id) return p["effective_price"];
    return "absent";
  };
  // The same public page twice: the second is served from the cache.
  BOOST_TEST(price_of(p1) == "12.99");
  auto [hits_before, misses_before] = page_cache_counts(client);
  BOOST_TEST(price_of(p1) == "12.99");
  auto [hits_after, misses_after] = page_cache_counts(client);
  BOOST_TEST(hits_after == hits_before + 1);
  BOOST_TEST(misses_after == misses_before);

  // An offer that starts tomorrow changes nothing today, applies when the clock gets there,
  // and stops applying if the clock goes back.
  auto r = client.post_json("/api/v1/shops/" + std::to_string(shop_id) + "/offers",
                            offer_body("2030-01-02T00:00:00Z", "2030-01-05T00:00:00Z", {p1}),
                            owner);
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  BOOST_TEST(price_of(p1) == "12.99");
  set_clock("2030-01-03T00:00:00Z");
  BOOST_TEST(price_of(p1) == "10.39");
  BOOST_TEST(price_of(p1) == "10.39");
  set_clock("2030-01-01T12:00:00Z");
  BOOST_TEST(price_of(p1) == "12.99");
  set_clock("2030-01-05T00:00:00Z");
  BOOST_TEST(price_of(p1) == "12.99");

  // Owner edits: price, hiding; the owner still sees the hidden product, customers do not.
  BOOST_REQUIRE(client.patch_json("/api/v1/products/" + std::to_string(p2), {{"price", "6.00"}},
                                  owner)
                    .status == 200);
  BOOST_TEST(price_of(p2) == "6.00");
  BOOST_REQUIRE(client.patch_json("/api/v1/products/" + std::to_string(p2),
                                  {{"is_hidden", true}}, owner)
                    .status == 200);
  BOOST_TEST(price_of(p2) == "absent");
  BOOST_TEST(price_of(p2, owner) == "6.00");
  BOOST_TEST(client.get(products).json()["count"] == 1);

  // A sale moves the stock customers see.
  auto customer = "pages.customer";
  BOOST_REQUIRE(client
                    .post_json("/api/v1/auth/register", {{"username", customer},
                                                         {"password", "password-1"},
                                                         {"phone_number", next_phone()}})
                    .status == 201);
  auto buyer = login(customer, "password-1");
  BOOST_TEST(client.get(products, buyer).json()["results"][0]["stock"] == 10);
  auto placed = client.post_json(
      "/api/v1/orders",
      {{"receiver_name", "Mona"},
       {"receiver_phone", "+201000000001"},
       {"location", {{"address", "1 Nile St"}, {"latitude", 30.01}, {"longitude", 31.01}}},
       {"items", {{{"product_id", p1}, {"quantity", 3}}}}},
      buyer);
  BOOST_REQUIRE_MESSAGE(placed.status == 201, placed.body);
  BOOST_TEST(client.get(products, buyer).json()["results"][0]["stock"] == 7);
  BOOST_TEST(client.get(products).json()["results"][0]["stock"] == 7);

  // A suspended shop disappears for customers at once.
  BOOST_REQUIRE(client.patch_json("/api/v1/shops/" + std::to_string(shop_id),
                                  {{"status", "suspended"}}, staff)
                    .status == 200);
  expect_error(client.get(products), 404, "not_found");
  expect_error(client.get(products, buyer), 404, "not_found");
}

BOOST_AUTO_TEST_CASE(one_overlapping_offer_per_product) {
  auto [shop_id, owner] = shop("offer.owner2");
  auto a = product(shop_id, owner, "10.00");
  auto b = product(shop_id, owner, "20.00");
  auto url = "/api/v1/shops/" + std::to_string(shop_id) + "/offers";
  BOOST_REQUIRE(client.post_json(url, offer_body("2030-02-01", "2030-02-10", {a}), owner).status ==
                201);
  auto clash = client.post_json(url, offer_body("2030-02-09", "2030-02-20", {b, a}), owner);
  expect_error(clash, 409, "offer_overlap");
  BOOST_TEST(clash.json()["error"]["product_id"] == a);
  BOOST_TEST(client.post_json(url, offer_body("2030-02-10", "2030-02-20", {a, b}), owner).status ==
             201);
  BOOST_TEST(client.post_json(url, offer_body("2030-02-01", "2030-02-10", {b}), owner).status ==
             201);
  // Products of another shop are refused.
  auto [other_shop, other_owner] = shop("offer.owner3");
  auto foreign = product(other_shop, other_owner, "5.00");
  expect_error(client.post_json(url, offer_body("2031-01-01", "2031-01-02", {foreign}), owner), 400,
               "validation_error", "product_ids");
}

BOOST_AUTO_TEST_CASE(offer_validation_and_permissions) {
  auto [shop_id, owner] = shop("offer.owner4");
  auto pid = product(shop_id, owner, "3.00");
  auto url = "/api/v1/shops/" + std::to_string(shop_id) + "/offers";
  expect_error(client.post_json(url, offer_body("2030-01-01", "2030-01-02", {pid}, "0"), owner),
               400, "validation_error", "discount");
  expect_error(
      client.post_json(url, offer_body("2030-01-01", "2030-01-02", {pid}, "100.01"), owner), 400,
      "validation_error", "discount");
  expect_error(client.post_json(url, offer_body("2030-01-02", "2030-01-01", {pid}), owner), 400,
               "validation_error", "end_date");
  expect_error(client.post_json(url, offer_body("yesterday", "2030-01-01", {pid}), owner), 400,
               "validation_error", "start_date");
  expect_error(client.post_json(url, offer_body("2030-01-01", "2030-01-02", "x"), owner), 400,
               "validation_error", "product_ids");
  auto missing = client.post_json(url, json::object(), owner);
  for (auto f : {"title", "discount", "start_date", "end_date", "product_ids"})
    BOOST_TEST(missing.json()["error"]["fields"].contains(f), f);
  auto body = offer_body("2030-01-01", "2030-01-02", {pid}, "100");
  body["is_sponsored"] = true;
  expect_error(client.post_json(url, body, owner), 403, "forbidden");
  expect_error(client.post_json(url, offer_body("2030-01-01", "2030-01-02", {pid})), 401,
               "unauthenticated");
  auto [other_shop, other_owner] = shop("offer.owner5");
  expect_error(client.post_json(url, offer_body("2030-01-01", "2030-01-02", {pid}), other_owner),
               403, "forbidden");

  auto created = client.post_json(url, offer_body("2030-01-01", "2030-01-02", {pid}, "100"), owner);
  BOOST_REQUIRE(created.status == 201);
  auto opath = "/api/v1/offers/" + std::to_string(created.json()["id"].get<int64_t>());
  expect_error(client.patch_json(opath, {{"is_sponsored", true}}, owner), 403, "forbidden");
  auto sponsored = client.patch_json(opath, {{"is_sponsored", true}}, staff);
  BOOST_REQUIRE_MESSAGE(sponsored.status == 200, sponsored.body);
  BOOST_TEST(sponsored.json()["is_sponsored"] == true);
  auto retitled = client.patch_json(opath, {{"title", "Free!"}}, owner);
  BOOST_TEST(retitled.json()["title"] == "Free!");
  BOOST_TEST(retitled.json()["is_sponsored"] == true);
  expect_error(client.patch_json(opath, {{"end_date", "2029-12-31"}}, owner), 400,
               "validation_error", "end_date");
  BOOST_TEST(client.del(opath, owner).status == 204);
  expect_error(client.del(opath, owner), 404, "not_found");
  expect_error(client.patch_json("/api/v1/offers/999999", {{"title", "x"}}, staff), 404,
               "not_found");
}

BOOST_AUTO_TEST_CASE(all_offers_sponsored_first) {
  set_clock("2030-03-05T00:00:00Z");
  auto [s1, o1] = shop("offer.owner6");
  auto [s2, o2] = shop("offer.owner7");
  auto p1 = product(s1, o1, "1.00");
  auto p2 = product(s2, o2, "2.00");
  BOOST_REQUIRE(client
                    .post_json("/api/v1/shops/" + std::to_string(s1) + "/offers",
                               offer_body("2030-03-01", "2030-03-10", {p1}), o1)
                    .status == 201);
  auto second = client.post_json("/api/v1/shops/" + std::to_string(s2) + "/offers",
                                 offer_body("2030-02-01", "2030-03-10", {p2}), o2);
  BOOST_REQUIRE(second.status == 201);
  auto all = client.get("/api/v1/offers").json();
  BOOST_TEST(all["count"] == 2);
  BOOST_TEST(all["results"][0]["shop_id"] == s1);  // newer first while neither is sponsored
  BOOST_REQUIRE(
      client
          .patch_json("/api/v1/offers/" + std::to_string(second.json()["id"].get<int64_t>()),
                      {{"is_sponsored", true}}, staff)
          .status == 200);
  all = client.get("/api/v1/offers").json();
  BOOST_TEST(all["results"][0]["shop_id"] == s2);
  // A suspended shop's offers disappear from the public list.
  BOOST_REQUIRE(
      client.patch_json("/api/v1/shops/" + std::to_string(s2), {{"status", "suspended"}}, staff)
          .status == 200);
  BOOST_TEST(client.get("/api/v1/offers").json()["count"] == 1);
}

BOOST_AUTO_TEST_SUITE_END()
