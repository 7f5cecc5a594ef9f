#include "actors/lease_keeper.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <cstdint>
#include <iostream>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <thread>

#include "actors/lease_rules.hpp"
#include "persistence/database.hpp"
#include "persistence/shard_leases.hpp"

namespace wassally {
namespace {

struct lease_keeper_state {
  lease_keeper_options opts;
  shard_leases_sql::holder me;
  std::unique_ptr<pqxx::connection> conn;
  std::set<int32_t> held;  // served after the last round
  // Given up (rebalancing) but not yet released: the registry serves nothing new of them while
  // their entities finish what they are doing; released by a later round once they are gone.
  std::vector<int32_t> releasing;
  int drain_rounds = 0;  // rounds `releasing` has been draining
  static inline const char* name = "lease_keeper";
};

using self_ptr = caf::stateful_actor<lease_keeper_state>*;

int64_t steady_ms(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

pqxx::connection& connection(lease_keeper_state& st) {
  if (!st.conn || !st.conn->is_open()) {
    // A round must end well within the lease: waiting on a row lock (a claim waits for fenced
    // writes; a renewal for the batches holding the row FOR SHARE) or a stalled statement fails
    // it instead, and the deadline the registry holds runs out on its own.
    auto ttl_ms = static_cast<int>(st.opts.ttl.count());
    st.conn = db::connect(st.opts.database_url, st.opts.connect_timeout_s, ttl_ms / 4, ttl_ms / 2);
    // A round's renewal locks every lease row this node holds until it commits: a node paused
    // (SIGSTOP) in the middle of a round would keep the others from claiming them (they skip
    // locked rows) for as long as it stays paused. PostgreSQL ends such a transaction instead.
    pqxx::nontransaction n(*st.conn);
    n.exec("SET idle_in_transaction_session_timeout = " + std::to_string(ttl_ms / 2));
  }
  return *st.conn;
}

shard_ownership ownership_of(const lease_keeper_state& st, const std::vector<held_shard>& held,
                             const std::vector<shard_lease_row>& leases,
                             const std::vector<cluster_node_row>& nodes,
                             std::chrono::steady_clock::time_point started) {
  shard_ownership o;
  o.shards = st.opts.shards;
  o.held = held;
  o.valid_until_steady_ms = steady_ms(started + st.opts.ttl - st.opts.ttl / 10);
  std::map<std::string, std::string> urls;
  for (const auto& n : nodes) urls[n.node] = n.url;
  for (const auto& l : leases)
    if (!l.node.empty() && l.node != st.opts.node && l.expires_in_ms > 0)
      o.others.push_back({l.shard, l.node, urls[l.node]});
  return o;
}

/// Asks the registry to drain `shards` (their entities told to go) and returns those that still
/// have live entities; all of them when the registry does not answer in time.
std::vector<int32_t> still_busy(self_ptr self, const std::vector<int32_t>& shards) {
  if (shards.empty()) return {};
  auto busy = shards;
  caf::scoped_actor me{self->system()};
  me->request(self->state.opts.registry, std::chrono::milliseconds(500), drain_atom::value, shards)
      .receive([&](std::vector<int32_t>& answer) { busy = std::move(answer); }, [](caf::error&) {});
  return busy;
}

/// Rounds a given-up shard drains at most before its lease is released anyway (its entities'
/// writes are fenced from then on).
constexpr int max_drain_rounds = 3;

void round(self_ptr self) {
  auto& st = self->state;
  auto started = std::chrono::steady_clock::now();
  // The shards given up earlier: released once their entities are gone (asked before the
  // transaction, which holds this node's lease rows).
  std::vector<int32_t> released, still_draining;
  if (!st.releasing.empty()) {
    auto busy = still_busy(self, st.releasing);
    ++st.drain_rounds;
    for (auto shard : st.releasing)
      (std::count(busy.begin(), busy.end(), shard) && st.drain_rounds < max_drain_rounds
           ? still_draining
           : released)
          .push_back(shard);
  }
  try {
    auto& conn = connection(st);
    pqxx::work tx(conn);
    auto ttl_ms = static_cast<int64_t>(st.opts.ttl.count());
    auto held = shard_leases_sql::heartbeat_and_renew(tx, st.me, st.opts.url, ttl_ms);
    auto without = [&held](const std::vector<int32_t>& shards) {
      held.erase(std::remove_if(held.begin(), held.end(),
                                [&](const held_shard& h) {
                                  return std::count(shards.begin(), shards.end(), h.shard) > 0;
                                }),
                 held.end());
    };
    without(st.releasing);
    if (!released.empty()) {
      // The registry stops whatever is left of them before the release commits.
      auto o = ownership_of(st, held, {}, {}, started);
      o.draining = still_draining;
      self->send(st.opts.registry, std::move(o));
      shard_leases_sql::release(tx, st.me, released);
    }
    auto leases = shard_leases_sql::leases(tx);
    auto nodes = shard_leases_sql::nodes(tx);
    auto plan = lease_rules::plan(st.opts.node, held, leases, nodes, st.opts.max_moves);
    auto claimed = shard_leases_sql::claim(tx, st.me, ttl_ms, plan.claim);
    held.insert(held.end(), claimed.begin(), claimed.end());
    // Rebalancing: nothing new is served of the shards given up from now on; what their live
    // entities are doing (a write on its way) ends meanwhile, and a later round releases them.
    without(plan.release);
    if (!claimed.empty()) leases = shard_leases_sql::leases(tx);
    tx.commit();
    st.releasing = still_draining;
    st.releasing.insert(st.releasing.end(), plan.release.begin(), plan.release.end());
    if (still_draining.empty()) st.drain_rounds = 0;
    std::set<int32_t> now_held;
    for (const auto& h : held) now_held.insert(h.shard);
    int64_t lost = 0;
    for (auto s : st.held)
      if (!now_held.count(s) &&
          std::find(plan.release.begin(), plan.release.end(), s) == plan.release.end())
        ++lost;
    if (!claimed.empty() || !plan.release.empty() || lost > 0) {
      auto list = [](const auto& shards) {
        std::string out;
        for (auto s : shards) out += (out.empty() ? "" : ",") + std::to_string(s);
        return out;
      };
      std::vector<int32_t> claimed_shards;
      for (auto& c : claimed) claimed_shards.push_back(c.shard);
      std::cerr << "wassally: node " << st.opts.node << " holds " << now_held.size()
                << " shard(s); claimed [" << list(claimed_shards) << "], gave up ["
                << list(plan.release) << "], lost " << lost << "\n";
    }
    st.held = now_held;
    auto ownership = ownership_of(st, held, leases, nodes, started);
    ownership.draining = st.releasing;
    self->send(st.opts.registry, std::move(ownership));
    st.opts.status->update([&](cluster_snapshot& s) {
      s.held.assign(now_held.begin(), now_held.end());
      s.leases = leases;
      s.nodes = nodes;
      ++s.rounds;
      s.claimed += static_cast<int64_t>(claimed.size());
      s.released += static_cast<int64_t>(released.size());
      s.lost += lost;
      s.last_error.clear();
    });
  } catch (const std::exception& e) {
    // Nothing renewed: the registry's deadline runs out by itself unless a later round
    // succeeds in time.
    if (st.conn && !st.conn->is_open()) st.conn.reset();
    std::string what = e.what();
    st.opts.status->update([&](cluster_snapshot& s) {
      ++s.failed_rounds;
      s.last_error = what;
    });
  }
}

void leave(self_ptr self) {
  auto& st = self->state;
  // The registry stops serving first, so the shards are nowhere served twice: a forwarded request
  // finds nobody for the moment and is sent again until the successor claims the shard
  // (actors/shard_router.cpp). Live entities get a moment to finish what they are doing (a write
  // on its way) before they are stopped.
  auto tell_registry = [&](bool draining) {
    caf::scoped_actor me{self->system()};
    shard_ownership none;
    none.shards = st.opts.shards;
    if (draining) {
      none.draining.assign(st.held.begin(), st.held.end());
      none.draining.insert(none.draining.end(), st.releasing.begin(), st.releasing.end());
    }
    me->request(st.opts.registry, std::chrono::seconds(2), std::move(none))
        .receive([] {}, [](caf::error&) {});
  };
  tell_registry(true);
  // Then their entities are told to go, and given until they are gone, or ttl / 3 at most.
  std::vector<int32_t> all(st.held.begin(), st.held.end());
  all.insert(all.end(), st.releasing.begin(), st.releasing.end());
  auto until = std::chrono::steady_clock::now() + st.opts.ttl / 3;
  while (!still_busy(self, all).empty() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  tell_registry(false);
  try {
    auto& conn = connection(st);
    pqxx::work tx(conn);
    shard_leases_sql::leave(tx, st.me);
    tx.commit();
    st.opts.status->update([&](cluster_snapshot& s) {
      s.released += static_cast<int64_t>(st.held.size());
      s.held.clear();
    });
    std::cerr << "wassally: node " << st.opts.node << " released its " << st.held.size()
              << " shard lease(s)\n";
  } catch (const std::exception& e) {
    std::cerr << "wassally: node " << st.opts.node
              << " could not release its leases (they expire on their own): " << e.what() << "\n";
  }
}

}  // namespace

int64_t new_incarnation() {
  std::random_device rd;
  auto x = static_cast<int64_t>((static_cast<uint64_t>(rd()) << 31) ^ rd()) & INT64_MAX;
  return x ? x : 1;
}

caf::actor spawn_lease_keeper(caf::actor_system& sys, lease_keeper_options opts) {
  {
    auto conn = db::connect(opts.database_url, opts.connect_timeout_s);
    pqxx::work tx(*conn);
    shard_leases_sql::ensure_shards(tx, opts.shards);
    tx.commit();
  }
  opts.status->update([&](cluster_snapshot& s) {
    s.mode = "cluster";
    s.node = opts.node;
    s.shards = opts.shards;
    s.lease_ttl_ms = static_cast<int64_t>(opts.ttl.count());
  });
  return sys.spawn<caf::detached>([opts](self_ptr self) -> caf::behavior {
    self->state.opts = opts;
    self->state.me.node = opts.node;
    self->state.me.incarnation = opts.incarnation ? opts.incarnation : new_incarnation();
    self->set_exit_handler([self](caf::exit_msg& em) {
      leave(self);
      self->quit(em.reason);
    });
    self->send(self, lease_round_atom::value);
    return {
        [self](lease_round_atom) {
          round(self);
          self->delayed_send(self, self->state.opts.ttl / 3, lease_round_atom::value);
        },
    };
  });
}

}  // namespace wassally
