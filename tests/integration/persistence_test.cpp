#include <boost/test/unit_test.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/make_message.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <pqxx/pqxx>

#include "actors/persistence_actor.hpp"
#include "persistence/database.hpp"
#include "protocols/errors.hpp"
#include "protocols/persistence.hpp"
#include "protocols/registry.hpp"
#include "protocols/types.hpp"
#include "tests/support/actor_system_fixture.hpp"
#include "tests/support/server_fixture.hpp"

using namespace wassally;

namespace {

db_command insert_key(const std::string& key) {
  return {"test.insert", true, [key](pqxx::dbtransaction& tx) {
            tx.exec_params("INSERT INTO kv (k) VALUES ($1)", key);
            return caf::make_message(key);
          }};
}

/// Writes a row, then fails on purpose: its row must not survive.
db_command insert_then_fail(const std::string& key) {
  return {"test.insert_then_fail", true, [key](pqxx::dbtransaction& tx) -> caf::message {
            tx.exec_params("INSERT INTO kv (k) VALUES ($1)", key);
            throw api_exception(errors::conflict("test_failure", "deliberate"));
          }};
}

int64_t count_rows(const std::string& url, const std::string& where = "true") {
  auto c = db::connect(url, 5);
  pqxx::read_transaction tx(*c);
  return tx.exec("SELECT count(*) FROM kv WHERE " + where)[0][0].as<int64_t>();
}

std::string prepared_db() {
  auto url = test::create_test_database("pers");
  auto c = db::connect(url, 5);
  pqxx::work tx(*c);
  tx.exec("CREATE TABLE kv (k text PRIMARY KEY)");
  tx.exec("INSERT INTO kv VALUES ('dup')");
  tx.commit();
  return url;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(persistence_batching, test::actor_system_fixture)

BOOST_AUTO_TEST_CASE(concurrent_commands_share_batches_and_fail_alone) {
  auto url = prepared_db();
  // One worker: while it commits the first command, the others queue and go together.
  auto p = spawn_persistence(*sys, {url, 1, 5, 64, 0});
  caf::scoped_actor self{*sys};
  const int n = 40;
  using handle_t = decltype(self->request(p, std::chrono::seconds(10), insert_key("")));
  std::vector<handle_t> pending;
  for (int i = 0; i < n; ++i) {
    db_command cmd = i == 17   ? insert_key("dup")
                     : i == 23 ? insert_then_fail("ghost")
                               : insert_key("k" + std::to_string(i));
    pending.push_back(self->request(p, std::chrono::seconds(10), std::move(cmd)));
  }
  int ok = 0;
  std::vector<std::string> failures;
  for (auto& h : pending)
    h.receive([&](std::string&) { ++ok; },
              [&](caf::error& e) { failures.push_back(from_caf_error(e).code); });
  BOOST_TEST(ok == n - 2);
  BOOST_REQUIRE(failures.size() == 2u);
  std::sort(failures.begin(), failures.end());
  BOOST_TEST(failures[0] == "conflict");            // the duplicate key, mapped by the worker
  BOOST_TEST(failures[1] == "test_failure");        // the command's own error
  BOOST_TEST(count_rows(url) == n - 2 + 1);         // + the pre-existing 'dup'
  BOOST_TEST(count_rows(url, "k = 'ghost'") == 0);  // the failed command's write is gone
  persistence_stats st;
  self->request(p, std::chrono::seconds(5), stats_atom::value)
      .receive([&](persistence_stats& s) { st = s; }, [](caf::error&) {});
  BOOST_TEST(st.commands == n);
  BOOST_TEST(st.batches < n);  // group commit happened
  BOOST_TEST(st.batches >= 2);
  int64_t multi = 0;
  for (std::size_t b = 1; b < st.batch_size_buckets.size(); ++b) multi += st.batch_size_buckets[b];
  BOOST_TEST(multi >= 1);
  caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_lone_failing_command_leaves_nothing_behind) {
  auto url = prepared_db();
  auto p = spawn_persistence(*sys, {url, 2, 5, 64, 0});
  caf::scoped_actor self{*sys};
  std::string code;
  self->request(p, std::chrono::seconds(5), insert_then_fail("lonely"))
      .receive([&](std::string&) { code = "ok"; },
               [&](caf::error& e) { code = from_caf_error(e).code; });
  BOOST_TEST(code == "test_failure");
  BOOST_TEST(count_rows(url, "k = 'lonely'") == 0);
  // The worker's connection is still usable afterwards.
  self->request(p, std::chrono::seconds(5), insert_key("after"))
      .receive([&](std::string& k) { code = k; }, [&](caf::error&) { code = "failed"; });
  BOOST_TEST(code == "after");
  caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(an_unreachable_database_answers_unavailable_quickly) {
  auto port = test::free_port();
  auto p = spawn_persistence(
      *sys, {"postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/none", 1, 2, 64, 0});
  caf::scoped_actor self{*sys};
  auto started = std::chrono::steady_clock::now();
  std::string code;
  self->request(p, std::chrono::seconds(10), insert_key("x"))
      .receive([&](std::string&) { code = "ok"; },
               [&](caf::error& e) { code = from_caf_error(e).code; });
  BOOST_TEST(code == "unavailable");
  BOOST_CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_SUITE_END()
