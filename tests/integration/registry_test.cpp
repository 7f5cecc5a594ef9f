#include <boost/test/unit_test.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/make_message.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "actors/entity.hpp"
#include "actors/persistence_actor.hpp"
#include "actors/registry.hpp"
#include "persistence/database.hpp"
#include "protocols/types.hpp"
#include "tests/support/actor_system_fixture.hpp"
#include "tests/support/server_fixture.hpp"

using namespace wassally;

namespace {

using add_atom = caf::atom_constant<caf::atom("add")>;
using get_atom = caf::atom_constant<caf::atom("get")>;

// A minimal entity kind for the test: a durable counter. It shows the entity contract that
// order/shop/crew/cart actors follow: load on activation, persist before replying, passivate.
struct counter_state {
  entity_lifecycle lc;
  int64_t value = 0;
  static inline const char* name = "counter";
};

db_command load_counter(int64_t id) {
  return {"counter.load", false, [id](pqxx::dbtransaction& tx) {
            auto r = tx.exec_params("SELECT value FROM counters WHERE id = $1", id);
            return caf::make_message(r.empty() ? int64_t{0} : r[0][0].as<int64_t>());
          }};
}

db_command save_counter(int64_t id, int64_t value) {
  return {"counter.save", true, [id, value](pqxx::dbtransaction& tx) {
            tx.exec_params(
                "INSERT INTO counters (id, value) VALUES ($1, $2)"
                " ON CONFLICT (id) DO UPDATE SET value = EXCLUDED.value",
                id, value);
            return caf::make_message(value);
          }};
}

caf::behavior counter_running(caf::stateful_actor<counter_state>* self) {
  return {
      [=](add_atom, int64_t n) {
        auto rp = self->make_response_promise();
        auto next = self->state.value + n;
        // The state changes only once the commit is confirmed.
        self->state.value = next;
        entity_persist<int64_t>(
            self, self->state.lc, save_counter(self->state.lc.key.id, next),
            [rp](int64_t& v) mutable { rp.deliver(v); },
            [rp](const api_error& e) mutable { rp.deliver(to_caf_error(e)); });
      },
      [=](get_atom) { return self->state.value; },
      entity_idle_handler(self, self->state.lc),
  };
}

entity_factory counter_factory(caf::actor persistence, std::chrono::milliseconds idle) {
  return [=](caf::actor_system& sys, const caf::actor& registry, int64_t id, const caf::message&,
             const shard_fence&) {
    return sys.spawn([=](caf::stateful_actor<counter_state>* self) -> caf::behavior {
      auto& lc = self->state.lc;
      lc.key = {entity_kind::order, id};
      lc.registry = registry;
      lc.persistence = persistence;
      lc.idle = idle;
      // Loading: other messages wait in the mailbox until the state is here.
      self->set_default_handler(caf::skip);
      entity_persist<int64_t>(
          self, lc, load_counter(id),
          [self](int64_t& v) {
            self->state.value = v;
            self->become(counter_running(self));
          },
          [self](const api_error&) { self->quit(caf::exit_reason::user_shutdown); });
      return {[](int) {}};  // placeholder until loaded; everything else is skipped
    });
  };
}

struct registry_fixture : test::actor_system_fixture {
  std::string url;
  caf::actor persistence;
  registry_fixture() {
    url = test::create_test_database("reg");
    auto c = db::connect(url, 5);
    pqxx::work tx(*c);
    tx.exec("CREATE TABLE counters (id bigint PRIMARY KEY, value bigint NOT NULL)");
    tx.commit();
    persistence = spawn_persistence(*sys, {url, 2, 5, 64, 0});
  }
  ~registry_fixture() { caf::anon_send_exit(persistence, caf::exit_reason::user_shutdown); }

  int64_t add(caf::scoped_actor& self, const caf::actor& reg, int64_t id, int64_t n) {
    int64_t out = -1;
    self->request(reg, std::chrono::seconds(10), entity_key{entity_kind::order, id},
                  caf::make_message(add_atom::value, n))
        .receive([&](int64_t v) { out = v; }, [&](caf::error&) { out = -2; });
    return out;
  }
  kind_stats stats(caf::scoped_actor& self, const caf::actor& reg) {
    kind_stats out;
    self->request(reg, std::chrono::seconds(5), stats_atom::value)
        .receive(
            [&](registry_stats& rs) {
              for (auto& k : rs.kinds)
                if (k.kind == "order") out = k;
            },
            [](caf::error&) {});
    return out;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(entity_registry, registry_fixture)

BOOST_AUTO_TEST_CASE(one_live_actor_per_entity_serialises_its_messages) {
  auto reg = spawn_registry(
      *sys, {{entity_kind::order, counter_factory(persistence, std::chrono::seconds(60))}});
  caf::scoped_actor self{*sys};
  // 100 concurrent increments through the registry: one actor, no lost update.
  using handle_t = decltype(self->request(reg, std::chrono::seconds(10), entity_key{},
                                          caf::make_message(add_atom::value, int64_t{1})));
  std::vector<handle_t> pending;
  for (int i = 0; i < 100; ++i)
    pending.push_back(self->request(reg, std::chrono::seconds(10),
                                    entity_key{entity_kind::order, 7},
                                    caf::make_message(add_atom::value, int64_t{1})));
  std::set<int64_t> seen;
  for (auto& h : pending) h.receive([&](int64_t v) { seen.insert(v); }, [](caf::error&) {});
  BOOST_TEST(seen.size() == 100u);
  BOOST_TEST(*seen.rbegin() == 100);
  auto st = stats(self, reg);
  BOOST_TEST(st.activations == 1);
  BOOST_TEST(st.live == 1);
  caf::anon_send_exit(reg, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(passivated_entities_reload_their_state) {
  auto reg = spawn_registry(
      *sys, {{entity_kind::order, counter_factory(persistence, std::chrono::milliseconds(200))}});
  caf::scoped_actor self{*sys};
  BOOST_TEST(add(self, reg, 1, 5) == 5);
  BOOST_TEST(add(self, reg, 1, 2) == 7);
  BOOST_TEST(add(self, reg, 2, 1) == 1);
  // Idle past the timeout: both actors passivate.
  kind_stats st;
  for (int i = 0; i < 50 && (st = stats(self, reg)).passivations < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(st.passivations == 2);
  BOOST_TEST(st.live == 0);
  // The next message activates a fresh actor that loads 7 from PostgreSQL.
  BOOST_TEST(add(self, reg, 1, 1) == 8);
  st = stats(self, reg);
  BOOST_TEST(st.activations == 3);
  BOOST_TEST(st.live == 1);
  caf::anon_send_exit(reg, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(messages_during_passivation_reach_the_next_activation) {
  auto reg = spawn_registry(
      *sys, {{entity_kind::order, counter_factory(persistence, std::chrono::milliseconds(50))}});
  caf::scoped_actor self{*sys};
  // Hammer the counter in bursts separated by pauses around the idle timeout, so that
  // requests race passivation; every increment must count exactly once.
  int64_t expected = 0;
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < 5; ++i) {
      ++expected;
      BOOST_TEST(add(self, reg, 3, 1) == expected);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(40 + (round % 3) * 10));
  }
  BOOST_TEST(stats(self, reg).activations >= 2);
  caf::anon_send_exit(reg, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(kinds_without_a_factory_are_not_found) {
  auto reg = spawn_registry(*sys, {});
  caf::scoped_actor self{*sys};
  std::string code;
  self->request(reg, std::chrono::seconds(5), entity_key{entity_kind::order, 1},
                caf::make_message(get_atom::value))
      .receive([&](int64_t) { code = "ok"; },
               [&](caf::error& e) { code = from_caf_error(e).code; });
  BOOST_TEST(code == "not_found");
  caf::anon_send_exit(reg, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_SUITE_END()
