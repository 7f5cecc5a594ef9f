#include "actors/lease_keeper.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <cstdint>
#include <iostream>
#include <map>
#include <pqxx/pqxx>
#include <random>
#include <set>

#include "actors/lease_rules.hpp"
#include "persistence/database.hpp"
#include "persistence/shard_leases.hpp"

namespace wassally {
namespace {

struct lease_keeper_state {
  lease_keeper_options opts;
  shard_leases_sql::holder me;
  std::unique_ptr<pqxx::connection> conn;
  std::set<int32_t> held;  // after the last round
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

void round(self_ptr self) {
  auto& st = self->state;
  auto started = std::chrono::steady_clock::now();
  try {
    auto& conn = connection(st);
    pqxx::work tx(conn);
    auto ttl_ms = static_cast<int64_t>(st.opts.ttl.count());
    auto held = shard_leases_sql::heartbeat_and_renew(tx, st.me, st.opts.url, ttl_ms);
    auto leases = shard_leases_sql::leases(tx);
    auto nodes = shard_leases_sql::nodes(tx);
    auto plan = lease_rules::plan(st.opts.node, held, leases, nodes, st.opts.max_moves);
    auto claimed = shard_leases_sql::claim(tx, st.me, ttl_ms, plan.claim);
    held.insert(held.end(), claimed.begin(), claimed.end());
    if (!plan.release.empty()) {
      // Stop serving them before the release commits.
      held.erase(std::remove_if(held.begin(), held.end(),
                                [&](const held_shard& h) {
                                  return std::count(plan.release.begin(), plan.release.end(),
                                                    h.shard) > 0;
                                }),
                 held.end());
      self->send(st.opts.registry, ownership_of(st, held, leases, nodes, started));
      shard_leases_sql::release(tx, st.me, plan.release);
    }
    if (!claimed.empty() || !plan.release.empty()) leases = shard_leases_sql::leases(tx);
    tx.commit();
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
    self->send(st.opts.registry, ownership_of(st, held, leases, nodes, started));
    st.opts.status->update([&](cluster_snapshot& s) {
      s.held.assign(now_held.begin(), now_held.end());
      s.leases = leases;
      s.nodes = nodes;
      ++s.rounds;
      s.claimed += static_cast<int64_t>(claimed.size());
      s.released += static_cast<int64_t>(plan.release.size());
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
    std::random_device rd;
    self->state.me.incarnation =
        static_cast<int64_t>((static_cast<uint64_t>(rd()) << 31) ^ rd()) & INT64_MAX;
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
