// Housekeeping and bounded caches end to end: the scheduled purges of old Idempotency-Keys and
// dead refresh tokens (rows inserted with SQL, gone after a purge round, fresh ones kept), and
// the bounds of the derived-data caches (product → shop, offer → shop, product pages) as
// /metrics shows them, with lookups still right after evictions.
#include <boost/test/unit_test.hpp>

#include <pqxx/pqxx>
#include <thread>

#include "tests/e2e/orders_support.hpp"

using namespace wassally::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

/// The value of the sample `sample` (name with its labels) in /metrics; -1 if absent.
double metric(orders_world& w, const std::string& sample) {
  auto body = w.client.get("/metrics").body;
  auto at = body.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + sample.size() + 2));
}

int64_t count(orders_world& w, const std::string& sql) {
  pqxx::connection db(w.server.database_url());
  pqxx::read_transaction tx(db);
  return tx.exec(sql)[0][0].as<int64_t>();
}

/// Polls `done` every 50 ms for at most `limit`.
template <class Pred>
bool eventually(Pred done, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(housekeeping)

BOOST_AUTO_TEST_CASE(old_idempotency_keys_and_dead_refresh_tokens_are_purged_on_schedule) {
  // A purge round every second, two rows per statement: five old keys take three statements.
  orders_world w(settings{{"WASSALLY_PURGE_INTERVAL_S", "1"}, {"WASSALLY_PURGE_BATCH_SIZE", "2"}});
  auto customer = w.customer();
  auto name = customer.first;  // (a structured binding cannot be captured in C++17)
  auto cust = customer.second;
  int64_t uid = w.client.get("/api/v1/me", cust).json()["id"];
  auto login = [&] {
    auto r =
        w.client.post_json("/api/v1/auth/login", {{"username", name}, {"password", "password-1"}});
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return r.json()["refresh"].get<std::string>();
  };
  auto live = login();
  auto revoked = login();
  BOOST_TEST_REQUIRE(
      w.client.post_json("/api/v1/auth/logout", {{"refresh", revoked}}, cust).status == 204);
  {
    pqxx::connection db(w.server.database_url());
    pqxx::work tx(db);
    for (int i = 0; i < 5; ++i)
      tx.exec_params(
          "INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at)"
          " VALUES ($1, $2, 'h', 201, '{}', now() - interval '25 hours')",
          uid, "old-" + std::to_string(i));
    tx.exec_params(
        "INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, created_at)"
        " VALUES ($1, 'fresh-23h', 'h', 201, '{}', now() - interval '23 hours'),"
        " ($1, 'fresh-now', 'h', 201, '{}', now())",
        uid);
    for (int i = 0; i < 3; ++i)
      tx.exec_params(
          "INSERT INTO refresh_tokens (user_id, token_hash, expires_at)"
          " VALUES ($1, $2, now() - interval '1 minute')",
          uid, "expired-" + std::to_string(i));
    // Revoked two days ago: gone. `revoked` (just now) stays a day, for a repeated logout.
    tx.exec_params(
        "INSERT INTO refresh_tokens (user_id, token_hash, expires_at, revoked_at)"
        " VALUES ($1, 'revoked-long-ago', now() + interval '5 days', now() - interval '2 days')",
        uid);
    tx.commit();
  }
  // Gone within a few rounds; counted in /metrics once each.
  BOOST_TEST_REQUIRE(eventually(
      [&] {
        return metric(w, "wassally_purged_rows_total{kind=\"idempotency_keys\"}") == 5 &&
               metric(w, "wassally_purged_rows_total{kind=\"refresh_tokens\"}") == 4;
      },
      15s));
  BOOST_TEST(count(w, "SELECT count(*) FROM idempotency_keys WHERE key LIKE 'old-%'") == 0);
  BOOST_TEST(count(w,
                   "SELECT count(*) FROM refresh_tokens WHERE expires_at <= now() OR"
                   " revoked_at <= now() - interval '1 day'") == 0);
  // Fresh rows stay: keys inside the 24 h window, and every live refresh token.
  BOOST_TEST(count(w, "SELECT count(*) FROM idempotency_keys WHERE key LIKE 'fresh-%'") == 2);
  // (the customer's first login, `live`, and `revoked` within its day of grace)
  BOOST_TEST(
      count(w, "SELECT count(*) FROM refresh_tokens WHERE user_id = " + std::to_string(uid)) == 3);
  BOOST_TEST(w.client.post_json("/api/v1/auth/logout", {{"refresh", revoked}}, cust).status == 204);
  BOOST_TEST(w.client.post_json("/api/v1/auth/refresh", {{"refresh", live}}).status == 200);
  expect_error(w.client.post_json("/api/v1/auth/refresh", {{"refresh", revoked}}), 401,
               "unauthenticated");
  // Later rounds find nothing more to delete.
  auto runs = metric(w, "wassally_purge_runs_total");
  BOOST_TEST_REQUIRE(
      eventually([&] { return metric(w, "wassally_purge_runs_total") >= runs + 2; }, 10s));
  BOOST_TEST(metric(w, "wassally_purged_rows_total{kind=\"idempotency_keys\"}") == 5);
  BOOST_TEST(count(w, "SELECT count(*) FROM idempotency_keys WHERE key LIKE 'fresh-%'") == 2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bounded_caches)

BOOST_AUTO_TEST_CASE(shop_lookups_and_product_pages_stay_within_their_bounds) {
  orders_world w(settings{{"WASSALLY_PRODUCT_SHOP_CACHE_SIZE", "3"},
                          {"WASSALLY_OFFER_SHOP_CACHE_SIZE", "2"},
                          {"WASSALLY_PRODUCT_PAGE_CACHE_SIZE", "16"}});
  BOOST_TEST(metric(w, "wassally_cache_capacity{cache=\"product_shop\"}") == 3);
  BOOST_TEST(metric(w, "wassally_cache_capacity{cache=\"offer_shop\"}") == 2);
  BOOST_TEST(metric(w, "wassally_cache_capacity{cache=\"product_page\"}") == 16);
  auto shop = w.shop();
  std::vector<int64_t> products;
  for (int i = 0; i < 8; ++i) products.push_back(w.product(shop, {{"price", "2"}, {"stock", 50}}));
  auto [name, cust] = w.customer();
  // Each cart line looks its product's shop up.
  for (auto p : products) BOOST_TEST(w.add_to_cart(cust, p, 1).status == 201);
  BOOST_TEST(metric(w, "wassally_cache_entries{cache=\"product_shop\"}") == 3);
  BOOST_TEST(metric(w, "wassally_cache_evictions_total{cache=\"product_shop\"}") == 5);
  // Evicted lookups are simply made again.
  BOOST_TEST(w.add_to_cart(cust, products[0], 1).status == 200);
  auto placed =
      w.place(cust, {orders_world::line(products[1], 1), orders_world::line(products[2], 1)});
  BOOST_TEST(placed.status == 201, placed.body);
  BOOST_TEST(metric(w, "wassally_cache_entries{cache=\"product_shop\"}") == 3);
  BOOST_TEST(metric(w, "wassally_cache_evictions_total{cache=\"product_shop\"}") >= 5);

  // Offers: each change looks the offer's shop up.
  std::vector<int64_t> offers;
  for (int i = 0; i < 4; ++i) {
    auto r = w.client.post_json("/api/v1/shops/" + std::to_string(shop.id) + "/offers",
                                {{"title", "Deal " + std::to_string(i)},
                                 {"discount", "10"},
                                 {"start_date", "2030-01-02T00:00:00Z"},
                                 {"end_date", "2030-01-05T00:00:00Z"},
                                 {"product_ids", {products[i]}}},
                                shop.owner);
    BOOST_TEST_REQUIRE(r.status == 201, r.body);
    offers.push_back(r.json()["id"]);
  }
  for (int round = 0; round < 2; ++round)
    for (auto id : offers) {
      auto r = w.client.patch_json("/api/v1/offers/" + std::to_string(id),
                                   {{"title", "Deal " + std::to_string(round)}}, shop.owner);
      BOOST_TEST(r.status == 200, r.body);
      BOOST_TEST(r.json()["shop_id"] == shop.id);
    }
  BOOST_TEST(metric(w, "wassally_cache_entries{cache=\"offer_shop\"}") == 2);
  BOOST_TEST(metric(w, "wassally_cache_evictions_total{cache=\"offer_shop\"}") == 6);

  // Product pages: 40 different pages through a 16-page cache.
  for (int i = 0; i < 40; ++i) {
    auto r = w.client.get("/api/v1/shops/" + std::to_string(shop.id) + "/products?q=x" +
                          std::to_string(i));
    BOOST_TEST_REQUIRE(r.status == 200, r.body);
  }
  auto pages = metric(w, "wassally_cache_entries{cache=\"product_page\"}");
  BOOST_TEST(pages >= 1);
  BOOST_TEST(pages <= 16);
  BOOST_TEST(metric(w, "wassally_cache_evictions_total{cache=\"product_page\"}") >= 40 - 16);
}

BOOST_AUTO_TEST_SUITE_END()
