#include "actors/reconciler.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <map>
#include <set>
#include <unordered_set>

#include "persistence/catalog.hpp"
#include "persistence/orders.hpp"
#include "protocols/entity_interfaces.hpp"
#include "protocols/reconcile.hpp"
#include "protocols/registry.hpp"

namespace wassally {
namespace {

using tick_atom = caf::atom_constant<caf::atom("recon_tick")>;

struct reconciler_state {
  reconciler_options opts;
  bool running = false;                // a round is in progress
  std::set<int64_t> suspect_not_live;  // open orders found without a live actor last round
  static inline const char* name = "reconciler";
};

using self_ptr = caf::stateful_actor<reconciler_state>*;

/// A round's outstanding answers; the round ends when the last one arrived (or failed).
struct round_join {
  int outstanding = 0;
};

void end_round(self_ptr self) {
  self->state.running = false;
  ++self->state.opts.figures->rounds;
}

/// Sends a check with `ask(timeout)` (which returns the request's handle), adding the repairs
/// its reconcile_outcome reports to `counter`.
template <class Ask>
void check(self_ptr self, std::shared_ptr<round_join> join, Ask ask,
           std::atomic<int64_t> reconcile_figures::*counter) {
  ++join->outstanding;
  auto on_answer = [self, join, counter](reconcile_outcome& out) {
    ((*self->state.opts.figures).*counter) += out.repaired;
    // The orders concerned missed the same news: their actors reload from PostgreSQL.
    for (auto id : out.orders) tell(order_ref(self->state.opts.registry, id), reload_atom::value);
    if (--join->outstanding == 0) end_round(self);
  };
  auto on_error = [self, join](caf::error&) {
    if (--join->outstanding == 0) end_round(self);
  };
  ask(self->state.opts.db_timeout).then(on_answer, on_error);
}

/// Open orders without a live actor on two rounds in a row are adopted (loaded from PostgreSQL).
void adopt_missing(self_ptr self, const open_orders_index& db, const live_ids& live) {
  auto& st = self->state;
  std::unordered_set<int64_t> is_live(live.ids.begin(), live.ids.end());
  std::set<int64_t> not_live;
  for (auto* ids : {&db.pending, &db.held})
    for (auto id : *ids)
      if (!is_live.count(id)) not_live.insert(id);
  for (auto id : not_live)
    if (st.suspect_not_live.count(id)) {
      self->send(st.opts.registry, adopt_atom::value, entity_key{entity_kind::order, id},
                 caf::message{});
      ++st.opts.figures->order_actors;
    }
  st.suspect_not_live = std::move(not_live);
}

void round(self_ptr self) {
  auto& st = self->state;
  if (st.running) return;
  st.running = true;
  auto join = std::make_shared<round_join>();
  join->outstanding = 1;  // the round's own reads, released at the end of start-up
  auto release = [self, join] {
    if (--join->outstanding == 0) end_round(self);
  };
  auto timeout = st.opts.db_timeout;
  self->request(st.opts.persistence, timeout, orders_sql::open_orders())
      .then(
          [=](open_orders_index& db) {
            auto& st = self->state;
            // The dispatcher's index.
            check(
                self, join,
                [self, pending = db.pending](auto t) {
                  return self->request(self->state.opts.dispatcher, t, reconcile_pending{pending});
                },
                &reconcile_figures::dispatcher_index);
            // Order actors, then crews: both from the live lists of the registry.
            ++join->outstanding;
            self->request(st.opts.registry, timeout, live_atom::value, entity_kind::order)
                .then(
                    [=](live_ids& live) {
                      adopt_missing(self, db, live);
                      release();
                    },
                    [=](caf::error&) { release(); });
            ++join->outstanding;
            self->request(st.opts.registry, timeout, live_atom::value, entity_kind::crew)
                .then(
                    [=](live_ids& crews) {
                      std::map<int64_t, std::vector<int64_t>> held;
                      for (std::size_t i = 0; i < db.held.size(); ++i)
                        held[db.held_by[i]].push_back(db.held[i]);
                      for (auto crew : crews.ids) {
                        auto to = crew_ref(self->state.opts.registry, crew);
                        check(
                            self, join,
                            [self, to, ids = held[crew]](auto t) {
                              return ask_entity(self, to, t, reconcile_holdings{ids});
                            },
                            &reconcile_figures::crew_holdings);
                      }
                      release();
                    },
                    [=](caf::error&) { release(); });
            // Shops: the stock sums of the live ones.
            ++join->outstanding;
            self->request(st.opts.registry, timeout, live_atom::value, entity_kind::shop)
                .then(
                    [=](live_ids& shops) {
                      if (shops.ids.empty()) {
                        release();
                        return;
                      }
                      self->request(self->state.opts.persistence, timeout,
                                    catalog_sql::stock_fingerprints(shops.ids))
                          .then(
                              [=](stock_fingerprints& fp) {
                                std::map<int64_t, reconcile_stock> by_shop;
                                for (auto id : shops.ids) by_shop[id] = {};
                                for (std::size_t i = 0; i < fp.shop_ids.size(); ++i)
                                  by_shop[fp.shop_ids[i]].confirmed_orders = fp.confirmed_orders[i];
                                for (std::size_t i = 0; i < fp.product_ids.size(); ++i) {
                                  auto& rows = by_shop[fp.product_shop_ids[i]];
                                  rows.product_ids.push_back(fp.product_ids[i]);
                                  rows.stock_milli.push_back(fp.stock_milli[i]);
                                  rows.versions.push_back(fp.versions[i]);
                                }
                                for (auto& [shop, sums] : by_shop) {
                                  auto to = shop_ref(self->state.opts.registry, shop);
                                  check(
                                      self, join,
                                      [self, to, sums = sums](auto t) {
                                        return ask_entity(self, to, t, sums);
                                      },
                                      &reconcile_figures::shop_stock);
                                }
                                release();
                              },
                              [=](caf::error&) { release(); });
                    },
                    [=](caf::error&) { release(); });
            release();
          },
          [=](caf::error&) { end_round(self); });
}

}  // namespace

caf::actor spawn_reconciler(caf::actor_system& sys, reconciler_options opts) {
  return sys.spawn([opts](self_ptr self) -> caf::behavior {
    self->state.opts = opts;
    if (opts.interval.count() > 0) self->delayed_send(self, opts.interval, tick_atom::value);
    return {
        [=](tick_atom) {
          round(self);
          self->delayed_send(self, self->state.opts.interval, tick_atom::value);
        },
    };
  });
}

}  // namespace wassally
