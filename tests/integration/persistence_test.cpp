#include <boost/test/unit_test.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/make_message.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "actors/persistence_actor.hpp"
#include "persistence/database.hpp"
#include "protocols/deadline.hpp"
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

/// Sleeps in PostgreSQL, then writes `key`: it holds its worker for `seconds`.
db_command sleep_then_insert(const std::string& key, double seconds) {
  return {"test.sleep", true, [key, seconds](pqxx::dbtransaction& tx) {
            tx.exec_params("SELECT pg_sleep($1)", seconds);
            tx.exec_params("INSERT INTO kv (k) VALUES ($1)", key);
            return caf::make_message(key);
          }};
}

/// Records when it ran (clock_timestamp before and after a short sleep) and in which
/// transaction, under `name`.
db_command logged_run(const std::string& name, double seconds, std::vector<std::string> keys) {
  db_command cmd{"test.logged", true, [name, seconds](pqxx::dbtransaction& tx) {
                   auto started = tx.exec("SELECT clock_timestamp()::text")[0][0].as<std::string>();
                   if (seconds > 0) tx.exec_params("SELECT pg_sleep($1)", seconds);
                   tx.exec_params(
                       "INSERT INTO runs (name, started, ended, tx) VALUES ($1, $2::timestamptz,"
                       " clock_timestamp(), txid_current())",
                       name, started);
                   return caf::make_message(name);
                 }};
  cmd.lock_keys = std::move(keys);
  return cmd;
}

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

persistence_stats stats_of(caf::scoped_actor& self, const caf::actor& p) {
  persistence_stats st;
  self->request(p, std::chrono::seconds(5), stats_atom::value)
      .receive([&](persistence_stats& s) { st = s; }, [](caf::error&) {});
  return st;
}

/// Whether run `a` ended before run `b` started (both logged by logged_run).
bool ran_before(const std::string& url, const std::string& a, const std::string& b) {
  auto c = db::connect(url, 5);
  pqxx::read_transaction tx(*c);
  return tx
      .exec_params(
          "SELECT (SELECT ended FROM runs WHERE name = $1) <="
          " (SELECT started FROM runs WHERE name = $2)",
          a, b)[0][0]
      .as<bool>();
}

int64_t tx_of(const std::string& url, const std::string& name) {
  auto c = db::connect(url, 5);
  pqxx::read_transaction tx(*c);
  return tx.exec_params("SELECT tx FROM runs WHERE name = $1", name)[0][0].as<int64_t>();
}

std::string prepared_db() {
  auto url = test::create_test_database("pers");
  auto c = db::connect(url, 5);
  pqxx::work tx(*c);
  tx.exec("CREATE TABLE kv (k text PRIMARY KEY)");
  tx.exec("INSERT INTO kv VALUES ('dup')");
  tx.exec(
      "CREATE TABLE runs (name text PRIMARY KEY, started timestamptz, ended timestamptz,"
      " tx bigint)");
  tx.exec("CREATE TABLE locked (id int PRIMARY KEY, n int)");
  tx.exec("INSERT INTO locked VALUES (1, 0)");
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

BOOST_AUTO_TEST_CASE(a_queued_command_past_its_deadline_is_answered_not_written_and_never_runs) {
  auto url = prepared_db();
  auto p = spawn_persistence(*sys, {url, 1, 5, 64, 0});  // one write worker
  caf::scoped_actor self{*sys};
  // The only write worker sleeps for a second; a command queued behind it with a 150 ms
  // deadline is answered at its deadline, not when the worker frees up.
  auto sleeper = self->request(p, std::chrono::seconds(10), sleep_then_insert("sleeper", 1.0));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto late = insert_key("late");
  late.deadline_unix_ms = unix_ms_now() + 150;
  auto sent = clock_type::now();
  api_error answer;
  double answered_after = 0;
  self->request(p, std::chrono::seconds(10), std::move(late))
      .receive([&](std::string&) { answer.code = "ok"; },
               [&](caf::error& e) {
                 answer = from_caf_error(e);
                 answered_after = seconds_since(sent);
               });
  BOOST_TEST(answer.status == 504);
  BOOST_TEST(answer.code == "timeout");
  BOOST_TEST(answer.extra_text["outcome"] == "not_written");
  BOOST_TEST(answered_after >= 0.1);
  BOOST_TEST(answered_after < 0.6);  // promptly, while the worker still sleeps
  std::string slept;
  sleeper.receive([&](std::string& k) { slept = k; }, [&](caf::error&) { slept = "failed"; });
  BOOST_TEST(slept == "sleeper");
  // An already expired command is answered at once, too.
  auto expired = insert_key("expired");
  expired.deadline_unix_ms = unix_ms_now() - 1;
  self->request(p, std::chrono::seconds(5), std::move(expired))
      .receive([&](std::string&) { answer.code = "ok"; },
               [&](caf::error& e) { answer = from_caf_error(e); });
  BOOST_TEST(answer.code == "timeout");
  // Neither ever ran, even though the worker was free afterwards.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(count_rows(url, "k IN ('late', 'expired')") == 0);
  BOOST_TEST(count_rows(url, "k = 'sleeper'") == 1);
  BOOST_TEST(stats_of(self, p).expired_commands == 2);
  caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(commands_with_a_common_lock_key_never_run_concurrently) {
  auto url = prepared_db();
  auto p = spawn_persistence(*sys, {url, 3, 5, 64, 0});  // three write workers
  caf::scoped_actor self{*sys};
  // a1 takes a worker; a2 (same key) arrives while two workers are idle but must wait for a1;
  // a3 (only a2's other key) keeps its place behind a2; b (another key) and c (none) run beside
  // a1.
  auto a1 = self->request(p, std::chrono::seconds(10), logged_run("a1", 0.4, {"shop:1"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto a2 = self->request(p, std::chrono::seconds(10), logged_run("a2", 0.0, {"shop:2", "shop:1"}));
  auto a3 = self->request(p, std::chrono::seconds(10), logged_run("a3", 0.0, {"shop:2"}));
  auto b = self->request(p, std::chrono::seconds(10), logged_run("b", 0.1, {"shop:3"}));
  auto c = self->request(p, std::chrono::seconds(10), logged_run("c", 0.1, {}));
  int ok = 0;
  for (auto* h : {&a1, &a2, &a3, &b, &c})
    h->receive([&](std::string&) { ++ok; },
               [](caf::error& e) { BOOST_TEST_MESSAGE(to_string(e)); });
  BOOST_TEST(ok == 5);
  BOOST_TEST(ran_before(url, "a1", "a2"));  // the key held a2 back
  BOOST_TEST(ran_before(url, "a2", "a3"));  // and a3 did not overtake it
  BOOST_TEST(!ran_before(url, "a1", "b"));  // other keys were not held
  BOOST_TEST(!ran_before(url, "a1", "c"));
  caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_key_that_waited_on_a_lock_runs_alone_until_it_cools) {
  auto url = prepared_db();
  persistence_options o{url, 1, 5, 64, 0};
  o.lock_timeout_ms = 200;
  o.hot_key_ms = 100;
  o.hot_key_cool_ms = 60000;
  auto p = spawn_persistence(*sys, o);
  caf::scoped_actor self{*sys};
  auto c = db::connect(url, 5);
  {
    // Someone else holds the row lock: the command of shop:9 fails alone on the lock timeout.
    pqxx::work holder(*c);
    holder.exec("SELECT n FROM locked WHERE id = 1 FOR UPDATE");
    db_command bump{"test.bump", true, [](pqxx::dbtransaction& tx) {
                      tx.exec("UPDATE locked SET n = n + 1 WHERE id = 1");
                      return caf::make_message(std::string("bumped"));
                    }};
    bump.lock_keys = {"shop:9"};
    std::string code;
    self->request(p, std::chrono::seconds(10), std::move(bump))
        .receive([&](std::string& s) { code = s; },
                 [&](caf::error& e) { code = from_caf_error(e).code; });
    BOOST_TEST(code == "unavailable");
    holder.commit();
  }
  BOOST_TEST(stats_of(self, p).hot_keys == 1);
  // Behind a sleeper, a command of the hot key and two others queue: the hot one goes in a
  // transaction of its own, the other two together.
  auto sleeper = self->request(p, std::chrono::seconds(10), sleep_then_insert("s", 0.3));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto hot = self->request(p, std::chrono::seconds(10), logged_run("hot", 0, {"shop:9"}));
  auto x = self->request(p, std::chrono::seconds(10), logged_run("x", 0, {"shop:10"}));
  auto y = self->request(p, std::chrono::seconds(10), logged_run("y", 0, {}));
  int ok = 0;
  for (auto* h : {&sleeper, &hot, &x, &y})
    h->receive([&](std::string&) { ++ok; }, [](caf::error&) {});
  BOOST_TEST(ok == 4);
  BOOST_TEST(tx_of(url, "hot") != tx_of(url, "x"));
  BOOST_TEST(tx_of(url, "x") == tx_of(url, "y"));  // group commit still works for the rest
  caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(a_hung_worker_is_replaced_and_its_outcome_still_delivered) {
  auto url = prepared_db();
  persistence_options o{url, 1, 5, 64, 0};
  o.hang_timeout_ms = 300;
  auto p = spawn_persistence(*sys, o);
  caf::scoped_actor self{*sys};
  auto sent = clock_type::now();
  auto slow = self->request(p, std::chrono::seconds(10), sleep_then_insert("slow", 1.5));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // The only write worker is "hung": after the hang timeout a replacement takes new work.
  std::string quick;
  double quick_after = 0;
  self->request(p, std::chrono::seconds(10), insert_key("quick"))
      .receive(
          [&](std::string& k) {
            quick = k;
            quick_after = seconds_since(sent);
          },
          [&](caf::error& e) { quick = from_caf_error(e).code; });
  BOOST_TEST(quick == "quick");
  BOOST_TEST(quick_after < 1.2);  // before the hung batch ended
  auto st = stats_of(self, p);
  BOOST_TEST(st.replaced_workers == 1);
  BOOST_TEST(st.workers == 1 + 1);  // the hung writer and its replacement
  // The hung batch's outcome still comes, and the extra worker retires.
  std::string slow_answer;
  slow.receive([&](std::string& k) { slow_answer = k; },
               [&](caf::error& e) { slow_answer = from_caf_error(e).code; });
  BOOST_TEST(slow_answer == "slow");
  BOOST_TEST(seconds_since(sent) >= 1.5);
  BOOST_TEST(count_rows(url, "k IN ('slow', 'quick')") == 2);
  BOOST_TEST(stats_of(self, p).workers == 1);  // the pool is back to its size
  caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(reads_do_not_wait_behind_writes) {
  auto url = prepared_db();
  auto p = spawn_persistence(*sys, {url, 1, 5, 64, 0});
  caf::scoped_actor self{*sys};
  auto sleeper = self->request(p, std::chrono::seconds(10), sleep_then_insert("w", 1.0));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto sent = clock_type::now();
  db_command read{
      "test.read", false, [](pqxx::dbtransaction& tx) {
        return caf::make_message(tx.exec("SELECT count(*) FROM kv")[0][0].as<int64_t>());
      }};
  int64_t rows = -1;
  self->request(p, std::chrono::seconds(10), std::move(read))
      .receive([&](int64_t n) { rows = n; }, [](caf::error&) {});
  BOOST_TEST(rows == 1);  // 'dup' only: the write has not committed yet
  BOOST_TEST(seconds_since(sent) < 0.5);
  sleeper.receive([](std::string&) {}, [](caf::error&) {});
  BOOST_TEST(stats_of(self, p).read_workers == 2);
  caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(connections_have_a_statement_timeout_and_keepalives) {
  auto opts = db::with_connection_options("postgresql://u@127.0.0.1:5/db", 3);
  BOOST_TEST(opts.find("?connect_timeout=3&keepalives=1&keepalives_idle=") != std::string::npos);
  BOOST_TEST(
      db::with_connection_options("host=h keepalives_idle=5", 2).find("keepalives_idle=30") ==
      std::string::npos);  // the URL's own value wins
  auto url = prepared_db();
  persistence_options o{url, 1, 5, 64, 0};
  o.statement_timeout_ms = 200;
  auto p = spawn_persistence(*sys, o);
  caf::scoped_actor self{*sys};
  auto sent = clock_type::now();
  std::string code;
  self->request(p, std::chrono::seconds(10), sleep_then_insert("never", 2.0))
      .receive([&](std::string&) { code = "ok"; },
               [&](caf::error& e) { code = from_caf_error(e).code; });
  BOOST_TEST(code == "unavailable");
  BOOST_TEST(seconds_since(sent) < 1.5);
  BOOST_TEST(count_rows(url, "k = 'never'") == 0);
  caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(array_parameters_carry_any_text_to_prepared_statements) {
  auto url = prepared_db();
  auto c = db::connect(url, 5);
  BOOST_TEST(pqxx::nontransaction(*c).exec("SHOW plan_cache_mode")[0][0].as<std::string>() ==
             "force_generic_plan");
  const std::vector<std::string> texts = {
      "",     "plain",    "with \"quotes\"", "back\\slash", "{braces},commas",
      "NULL", " spaced ", "قاهرة – ünïcode", "line\nbreak"};
  const std::vector<std::string> numbers = {"0", "1.5", "-2.125", "1e3", "30.05"};
  // Twice on one connection: the second runs the prepared statement and its kept plan.
  for (int round = 0; round < 2; ++round) {
    pqxx::work tx(*c);
    auto r = db::exec_prepared(tx, "test_unnest_text",
                               "SELECT t, n FROM unnest($1::text[]) WITH ORDINALITY AS a(t, n)"
                               " ORDER BY n",
                               db::quoted_array(texts));
    BOOST_TEST_REQUIRE(r.size() == texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i)
      BOOST_TEST(r[i][0].as<std::string>() == texts[i]);
    auto n = db::exec_prepared(tx, "test_unnest_numeric",
                               "SELECT x::text FROM unnest($1::numeric[]) AS a(x)",
                               db::quoted_array(numbers));
    BOOST_TEST_REQUIRE(n.size() == numbers.size());
    BOOST_TEST(n[1][0].as<std::string>() == "1.5");
    BOOST_TEST(n[3][0].as<std::string>() == "1000");
    auto empty = db::exec_prepared(tx, "test_unnest_text",
                                   "SELECT t, n FROM unnest($1::text[]) WITH ORDINALITY AS a(t, n)"
                                   " ORDER BY n",
                                   db::quoted_array({}));
    BOOST_TEST(empty.size() == 0u);
    tx.commit();
  }
  // The statement's plan was made once, generic, and kept: never planned for its values.
  auto plans = pqxx::nontransaction(*c).exec(
      "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
      " WHERE name = 'test_unnest_text'");
  BOOST_TEST_REQUIRE(plans.size() == 1u);
  BOOST_TEST(plans[0][0].as<int64_t>() == 4);  // two executions a round, two rounds
  BOOST_TEST(plans[0][1].as<int64_t>() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
