// Shard leases and write fencing against a real PostgreSQL (persistence/shard_leases.cpp and the
// fence check of actors/db_worker.cpp). Time is moved by rewriting expires_at, never by sleeping.
#include <boost/test/unit_test.hpp>
#include <caf/make_message.hpp>
#include <caf/scoped_actor.hpp>
#include <pqxx/pqxx>

#include "actors/persistence_actor.hpp"
#include "persistence/database.hpp"
#include "persistence/migrations.hpp"
#include "persistence/shard_leases.hpp"
#include "protocols/errors.hpp"
#include "protocols/persistence.hpp"
#include "tests/support/actor_system_fixture.hpp"
#include "tests/support/server_fixture.hpp"

using namespace wassally;
namespace sql = wassally::shard_leases_sql;

namespace {

std::string migrated_db() {
  auto url = test::create_test_database("lease");
  auto c = db::connect(url, 5);
  db::apply_migrations(*c, db::embedded_migrations());
  pqxx::work tx(*c);
  tx.exec("CREATE TABLE kv (k text PRIMARY KEY)");
  tx.commit();
  return url;
}

template <class F>
auto in_tx(const std::string& url, F f) {
  auto c = db::connect(url, 5);
  pqxx::work tx(*c);
  auto out = f(tx);
  tx.commit();
  return out;
}

/// Lets every lease (and heartbeat) of `node` run out, as if its ttl had passed.
void expire(const std::string& url, const std::string& node) {
  in_tx(url, [&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE shard_lease SET expires_at = now() - interval '1 second' WHERE node = $1", node);
    tx.exec_params(
        "UPDATE cluster_node SET expires_at = now() - interval '1 second' WHERE node = $1", node);
    return 0;
  });
}

std::vector<int32_t> shards_of(const std::vector<held_shard>& held) {
  std::vector<int32_t> out;
  for (auto& h : held) out.push_back(h.shard);
  std::sort(out.begin(), out.end());
  return out;
}

db_command fenced_insert(const std::string& key, shard_fence fence) {
  db_command cmd{"test.fenced_insert", true, [key](pqxx::dbtransaction& tx) {
                   tx.exec_params("INSERT INTO kv (k) VALUES ($1)", key);
                   return caf::make_message(key);
                 }};
  cmd.fences.push_back(fence);
  return cmd;
}

int64_t rows(const std::string& url, const std::string& key) {
  return in_tx(url, [&](pqxx::work& tx) {
    return tx.exec_params("SELECT count(*) FROM kv WHERE k = $1", key)[0][0].as<int64_t>();
  });
}

/// Sends `cmd` to `p` and returns the error code it failed with ("" : it succeeded).
std::string outcome(caf::actor_system& sys, const caf::actor& p, db_command cmd) {
  caf::scoped_actor self{sys};
  std::string code = "no answer";
  self->request(p, std::chrono::seconds(10), std::move(cmd))
      .receive([&](std::string&) { code.clear(); },
               [&](caf::error& e) { code = from_caf_error(e).code; });
  return code;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(shard_leases, test::actor_system_fixture)

BOOST_AUTO_TEST_CASE(every_node_must_use_the_same_number_of_shards) {
  auto url = migrated_db();
  in_tx(url, [](pqxx::work& tx) {
    sql::ensure_shards(tx, 8);
    return 0;
  });
  in_tx(url, [](pqxx::work& tx) {  // again: nothing changes
    sql::ensure_shards(tx, 8);
    return 0;
  });
  BOOST_CHECK_THROW(in_tx(url,
                          [](pqxx::work& tx) {
                            sql::ensure_shards(tx, 16);
                            return 0;
                          }),
                    std::runtime_error);
  BOOST_TEST(in_tx(url, [](pqxx::work& tx) { return sql::leases(tx).size(); }) == 8u);
}

BOOST_AUTO_TEST_CASE(claims_renewals_and_takeover_after_expiry_raise_the_epoch) {
  auto url = migrated_db();
  sql::holder a{"a", 11}, b{"b", 22};
  in_tx(url, [](pqxx::work& tx) {
    sql::ensure_shards(tx, 4);
    return 0;
  });
  auto got = in_tx(url, [&](pqxx::work& tx) {
    sql::heartbeat_and_renew(tx, a, "http://a", 5000);
    return sql::claim(tx, a, 5000, 3);
  });
  BOOST_TEST(shards_of(got) == std::vector<int32_t>({0, 1, 2}), boost::test_tools::per_element());
  for (auto& h : got) BOOST_TEST(h.epoch == 1);
  // b can only take the free one while a's leases run.
  auto b_got = in_tx(url, [&](pqxx::work& tx) {
    sql::heartbeat_and_renew(tx, b, "http://b", 5000);
    return sql::claim(tx, b, 5000, 4);
  });
  BOOST_TEST(shards_of(b_got) == std::vector<int32_t>({3}), boost::test_tools::per_element());
  // a renews its own three, at the same epochs.
  auto renewed =
      in_tx(url, [&](pqxx::work& tx) { return sql::heartbeat_and_renew(tx, a, "http://a", 5000); });
  BOOST_TEST(shards_of(renewed) == std::vector<int32_t>({0, 1, 2}),
             boost::test_tools::per_element());
  // a's leases run out; b takes them over at epoch 2, and a's next renewal finds none.
  expire(url, "a");
  auto taken = in_tx(url, [&](pqxx::work& tx) { return sql::claim(tx, b, 5000, 4); });
  BOOST_TEST(shards_of(taken) == std::vector<int32_t>({0, 1, 2}), boost::test_tools::per_element());
  for (auto& h : taken) BOOST_TEST(h.epoch == 2);
  auto after =
      in_tx(url, [&](pqxx::work& tx) { return sql::heartbeat_and_renew(tx, a, "http://a", 5000); });
  BOOST_TEST(after.empty());
}

BOOST_AUTO_TEST_CASE(
    a_second_live_process_with_the_same_name_is_refused_and_a_successor_must_claim) {
  auto url = migrated_db();
  sql::holder first{"a", 1}, second{"a", 2};
  in_tx(url, [&](pqxx::work& tx) {
    sql::ensure_shards(tx, 2);
    sql::heartbeat_and_renew(tx, first, "", 5000);
    return sql::claim(tx, first, 5000, 2);
  });
  BOOST_CHECK_THROW(
      in_tx(url, [&](pqxx::work& tx) { return sql::heartbeat_and_renew(tx, second, "", 5000); }),
      std::runtime_error);
  // The first is gone (its heartbeat and leases ran out): the second may beat, but renews
  // nothing of its predecessor's — it claims the shards at new epochs.
  expire(url, "a");
  auto renewed =
      in_tx(url, [&](pqxx::work& tx) { return sql::heartbeat_and_renew(tx, second, "", 5000); });
  BOOST_TEST(renewed.empty());
  auto claimed = in_tx(url, [&](pqxx::work& tx) { return sql::claim(tx, second, 5000, 2); });
  BOOST_TEST(claimed.size() == 2u);
  for (auto& h : claimed) BOOST_TEST(h.epoch == 2);
  // Leaving removes only its own rows.
  in_tx(url, [&](pqxx::work& tx) {
    sql::leave(tx, second);
    return 0;
  });
  auto ls = in_tx(url, [](pqxx::work& tx) { return sql::leases(tx); });
  for (auto& l : ls) BOOST_TEST(l.node.empty());
  BOOST_TEST(in_tx(url, [](pqxx::work& tx) { return sql::nodes(tx).size(); }) == 0u);
}

BOOST_AUTO_TEST_CASE(a_claim_skips_a_lease_held_for_share_by_a_write_until_it_commits) {
  auto url = migrated_db();
  sql::holder a{"a", 1}, b{"b", 2};
  in_tx(url, [&](pqxx::work& tx) {
    sql::ensure_shards(tx, 1);
    return sql::claim(tx, a, 5000, 1);
  });
  expire(url, "a");
  // a's write still runs, holding the lease row FOR SHARE (a's fence passes: nobody claimed).
  auto wc = db::connect(url, 5);
  pqxx::work write(*wc);
  auto fence = sql::hold_for_share(write, {0});
  BOOST_TEST(fence.size() == 1u);
  // b's claim skips the locked row rather than wait, and gets nothing.
  auto during = in_tx(url, [&](pqxx::work& tx) { return sql::claim(tx, b, 5000, 1); });
  BOOST_TEST(during.empty());
  write.commit();
  auto after = in_tx(url, [&](pqxx::work& tx) { return sql::claim(tx, b, 5000, 1); });
  BOOST_TEST(after.size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_write_whose_lease_moved_is_refused_not_owner_and_leaves_nothing) {
  auto url = migrated_db();
  sql::holder a{"a", 1}, b{"b", 2};
  auto held = in_tx(url, [&](pqxx::work& tx) {
    sql::ensure_shards(tx, 2);
    return sql::claim(tx, a, 5000, 2);
  });
  BOOST_REQUIRE(held.size() == 2u);
  persistence_options o{url, 1, 5, 64, 0};
  o.cluster_node = "a";
  auto p = spawn_persistence(*sys, o);
  shard_fence zero{0, held[0].epoch}, one{1, held[1].epoch};
  BOOST_TEST(outcome(*sys, p, fenced_insert("while-owner", zero)) == "");
  BOOST_TEST(rows(url, "while-owner") == 1);
  // Node b takes shard 0 over after a's lease ran out (a paused, say).
  expire(url, "a");
  in_tx(url, [&](pqxx::work& tx) { return sql::claim(tx, b, 5000, 1); });
  BOOST_TEST(outcome(*sys, p, fenced_insert("after-takeover", zero)) == "not_owner");
  BOOST_TEST(rows(url, "after-takeover") == 0);
  // A stale epoch is refused even if the name matches (a reclaimed the shard since).
  BOOST_TEST(outcome(*sys, p, fenced_insert("stale-epoch", shard_fence{1, one.epoch + 7})) ==
             "not_owner");
  // In a batch, only the fenced-out command fails: the others commit.
  caf::scoped_actor self{*sys};
  using handle_t = decltype(self->request(p, std::chrono::seconds(10), db_command{}));
  std::vector<handle_t> pending;
  for (int i = 0; i < 20; ++i)
    pending.push_back(
        self->request(p, std::chrono::seconds(10),
                      fenced_insert("batch-" + std::to_string(i), i % 5 == 0 ? zero : one)));
  int refused = 0, ok = 0;
  for (auto& h : pending)
    h.receive([&](std::string&) { ++ok; },
              [&](caf::error& e) {
                if (from_caf_error(e).code == "not_owner") ++refused;
              });
  BOOST_TEST(refused == 4);
  BOOST_TEST(ok == 16);
  BOOST_TEST(rows(url, "batch-0") == 0);
  BOOST_TEST(rows(url, "batch-1") == 1);
  caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(
    a_fence_names_its_holder_by_epoch_so_another_node_writes_under_it_until_it_moves) {
  // A placement routed to node b takes stock that a shop on node a held: b's write carries a's
  // fence, and passes while a holds the shard at that epoch.
  auto url = migrated_db();
  sql::holder a{"a", 1};
  auto held = in_tx(url, [&](pqxx::work& tx) {
    sql::ensure_shards(tx, 1);
    return sql::claim(tx, a, 5000, 1);
  });
  BOOST_REQUIRE(held.size() == 1u);
  persistence_options o{url, 1, 5, 64, 0};
  o.cluster_node = "b";
  auto p = spawn_persistence(*sys, o);
  shard_fence f{0, held[0].epoch};
  BOOST_TEST(outcome(*sys, p, fenced_insert("through-b", f)) == "");
  BOOST_TEST(rows(url, "through-b") == 1);
  // a leaves (its leases released, nobody has claimed shard 0 yet): the epoch holds no more.
  in_tx(url, [&](pqxx::work& tx) {
    sql::leave(tx, a);
    return 0;
  });
  BOOST_TEST(outcome(*sys, p, fenced_insert("after-release", f)) == "not_owner");
  BOOST_TEST(rows(url, "after-release") == 0);
  caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_SUITE_END()
