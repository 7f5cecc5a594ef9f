#include <boost/test/unit_test.hpp>
#include <map>
#include <pqxx/pqxx>
#include <thread>

#include "persistence/database.hpp"
#include "persistence/migrations.hpp"
#include "tests/support/server_fixture.hpp"

using namespace wassally;

namespace {

/// Whether PostgreSQL refuses `sql` (a constraint, a CHECK) in a transaction of its own.
bool statement_fails(pqxx::connection& c, const std::string& sql) {
  try {
    pqxx::work tx(c);
    tx.exec(sql);
    tx.commit();
    return false;
  } catch (const pqxx::sql_error&) {
    return true;
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(migrations)

BOOST_AUTO_TEST_CASE(apply_creates_the_schema_and_is_idempotent) {
  auto url = test::create_test_database("mig");
  auto c = db::connect(url, 5);
  const auto& all = db::embedded_migrations();
  BOOST_REQUIRE(!all.empty());
  BOOST_TEST(!db::migrations_current(*c, all));
  BOOST_TEST(db::apply_migrations(*c, all) == static_cast<int>(all.size()));
  BOOST_TEST(db::migrations_current(*c, all));
  BOOST_TEST(db::apply_migrations(*c, all) == 0);
  pqxx::read_transaction tx(*c);
  for (auto table : {"users", "delivery_crews", "refresh_tokens", "shops", "products", "offers",
                     "offer_products", "cart_items", "orders", "order_items", "order_events",
                     "idempotency_keys", "sales_daily"})
    BOOST_TEST(
        tx.exec("SELECT to_regclass('" + std::string(table) + "') IS NOT NULL")[0][0].as<bool>(),
        table);
  BOOST_TEST(tx.exec("SELECT count(*) FROM schema_migrations")[0][0].as<std::size_t>() ==
             all.size());
}

BOOST_AUTO_TEST_CASE(two_processes_migrating_at_once_apply_each_migration_once) {
  auto url = test::create_test_database("migc");
  const auto& all = db::embedded_migrations();
  std::atomic<int> applied{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      try {
        auto c = db::connect(url, 5);
        applied += db::apply_migrations(*c, all);
      } catch (const std::exception& e) {
        ++failures;
        BOOST_TEST_MESSAGE("migration failed: " << e.what());
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(applied.load() == static_cast<int>(all.size()));
}

BOOST_AUTO_TEST_CASE(constraints_back_the_invariants) {
  auto url = test::create_test_database("migk");
  auto c = db::connect(url, 5);
  db::apply_migrations(*c, db::embedded_migrations());
  auto fails = [&](const std::string& sql) { return statement_fails(*c, sql); };
  BOOST_TEST(
      !fails("INSERT INTO users (username, password_hash, role, phone_number) VALUES "
             "('owner1', 'h', 'shop_owner', '+2010000000')"));
  BOOST_TEST(
      fails("INSERT INTO users (username, password_hash, role, phone_number) VALUES "
            "('owner1', 'h', 'customer', '+2010000001')"));  // duplicate username
  BOOST_TEST(
      fails("INSERT INTO users (username, password_hash, role, phone_number) VALUES "
            "('owner2', 'h', 'customer', '+2010000000')"));  // duplicate phone
  BOOST_TEST(
      fails("INSERT INTO users (username, password_hash, role, phone_number) VALUES "
            "('owner3', 'h', 'admin', '+2010000002')"));  // unknown role
  BOOST_TEST(!fails("INSERT INTO shop_categories (name) VALUES ('food')"));
  BOOST_TEST(!fails("INSERT INTO locations (latitude, longitude) VALUES (30, 31)"));
  BOOST_TEST(
      !fails("INSERT INTO shops (owner_id, category_id, location_id, name, phone_number) "
             "SELECT u.id, 1, 1, 'S', '+2011111111' FROM users u WHERE username='owner1'"));
  BOOST_TEST(fails("INSERT INTO products (shop_id, name, price, stock) VALUES (1, 'p', 1, -1)"));
  BOOST_TEST(fails("INSERT INTO products (shop_id, name, price) VALUES (1, 'p', -0.01)"));
  BOOST_TEST(!fails("INSERT INTO products (shop_id, name, price, stock) VALUES (1, 'p', 1, 2)"));
  BOOST_TEST(fails("UPDATE products SET stock = stock - 3"));
  BOOST_TEST(fails("INSERT INTO locations (latitude, longitude) VALUES (91, 0)"));
}

BOOST_AUTO_TEST_CASE(shop_fields_count_orders_delivered_before_the_migration) {
  auto url = test::create_test_database("migshop");
  auto c = db::connect(url, 5);
  // The schema as it was before 0006, with orders of every kind in it.
  std::vector<db::migration> before, all = db::embedded_migrations();
  for (auto& m : all)
    if (m.version < 6) before.push_back(m);
  BOOST_REQUIRE(before.size() < all.size());
  db::apply_migrations(*c, before);
  {
    pqxx::work tx(*c);
    tx.exec(
        "INSERT INTO users (id, username, password_hash, role, phone_number) VALUES"
        " (1, 'owner1', 'h', 'shop_owner', '+2010000001'),"
        " (2, 'owner2', 'h', 'shop_owner', '+2010000002'),"
        " (3, 'cust', 'h', 'customer', '+2010000003'),"
        " (4, 'crew', 'h', 'delivery_crew', '+2010000004')");
    tx.exec("INSERT INTO delivery_crews (user_id) VALUES (4)");
    tx.exec("INSERT INTO shop_categories (id, name) VALUES (1, 'food')");
    tx.exec("INSERT INTO locations (id, latitude, longitude) VALUES (1, 30, 31)");
    tx.exec(
        "INSERT INTO shops (id, owner_id, category_id, location_id, name, phone_number) VALUES"
        " (1, 1, 1, 1, 'A', '+2011111111'), (2, 2, 1, 1, 'B', '+2011111112'),"
        " (3, 2, 1, 1, 'C', '+2011111113')");
    tx.exec(
        "INSERT INTO products (id, shop_id, name, price) VALUES"
        " (1, 1, 'a1', 1), (2, 1, 'a2', 1), (3, 2, 'b1', 1), (4, 3, 'c1', 1)");
    // 1: delivered, two lines of A and one of B. 2: delivered, B only. 3: cancelled (A, C).
    // 4: pending (C). 5: a delivered delivery request of A.
    tx.exec(
        "INSERT INTO orders (id, type, code, status, user_id, requesting_shop_id, crew_id,"
        " receiver_name, receiver_phone, latitude, longitude) VALUES"
        " (1, 'order', 'c1', 'delivered', 3, NULL, 4, 'r', '+201', 30, 31),"
        " (2, 'order', 'c2', 'delivered', 3, NULL, 4, 'r', '+201', 30, 31),"
        " (3, 'order', 'c3', 'cancelled', 3, NULL, NULL, 'r', '+201', 30, 31),"
        " (4, 'order', 'c4', 'pending', 3, NULL, NULL, 'r', '+201', 30, 31),"
        " (5, 'delivery_request', 'c5', 'delivered', 1, 1, 4, 'r', '+201', 30, 31)");
    tx.exec(
        "INSERT INTO order_items (order_id, product_id, shop_id, name, quantity, unit_price,"
        " line_total) VALUES (1, 1, 1, 'a1', 1, 1, 1), (1, 2, 1, 'a2', 2, 1, 2),"
        " (1, 3, 2, 'b1', 1, 1, 1), (2, 3, 2, 'b1', 1, 1, 1), (3, 1, 1, 'a1', 1, 1, 1),"
        " (3, 4, 3, 'c1', 1, 1, 1), (4, 4, 3, 'c1', 1, 1, 1)");
    tx.commit();
  }
  BOOST_TEST(db::apply_migrations(*c, all) == static_cast<int>(all.size() - before.size()));
  {
    pqxx::read_transaction tx(*c);
    std::map<int64_t, std::pair<int64_t, int>> shops;
    for (auto r : tx.exec("SELECT id, confirmed_orders, preparation_min FROM shops"))
      shops[r[0].as<int64_t>()] = {r[1].as<int64_t>(), r[2].as<int>()};
    BOOST_TEST(shops[1].first == 1);  // order 1 once, not per line; not the cancelled one
    BOOST_TEST(shops[2].first == 2);  // orders 1 and 2
    BOOST_TEST(shops[3].first == 0);  // cancelled and pending only
    for (auto& [id, s] : shops) BOOST_TEST(s.second == 10, "preparation_min of shop " << id);
  }
  auto fails = [&](const std::string& sql) { return statement_fails(*c, sql); };
  BOOST_TEST(fails("UPDATE shops SET preparation_min = 241 WHERE id = 1"));
  BOOST_TEST(fails("UPDATE shops SET preparation_min = -1 WHERE id = 1"));
  BOOST_TEST(!fails("UPDATE shops SET preparation_min = 240 WHERE id = 1"));
}

BOOST_AUTO_TEST_SUITE_END()
