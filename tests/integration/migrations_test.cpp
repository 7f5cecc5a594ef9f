#include <boost/test/unit_test.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "persistence/database.hpp"
#include "persistence/migrations.hpp"
#include "tests/support/server_fixture.hpp"

using namespace wassally;

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
  auto fails = [&](const std::string& sql) {
    try {
      pqxx::work tx(*c);
      tx.exec(sql);
      tx.commit();
      return false;
    } catch (const pqxx::sql_error&) {
      return true;
    }
  };
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

BOOST_AUTO_TEST_SUITE_END()
