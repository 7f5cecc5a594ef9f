#pragma once

#include <atomic>
#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <memory>

namespace wassally {

/// What the reconciler found, read by /metrics at every render.
struct reconcile_figures {
  std::atomic<int64_t> rounds{0};
  std::atomic<int64_t> shop_stock{0};
  std::atomic<int64_t> crew_holdings{0};
  std::atomic<int64_t> dispatcher_index{0};
  std::atomic<int64_t> order_actors{0};
};

struct reconciler_options {
  caf::actor persistence;
  caf::actor registry;
  caf::actor dispatcher;
  /// Time between checks (0: no checks).
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds db_timeout{5000};
  std::shared_ptr<reconcile_figures> figures = std::make_shared<reconcile_figures>();
};

/// Anti-entropy (DESIGN.md rule 6): every `interval`, compares what the actors hold with cheap
/// reads of PostgreSQL and repairs what messages missed — the dispatcher's pending index against
/// the pending orders, each live crew's held orders against the orders assigned to it, each live
/// shop's stock against the sum of its products' stock, and the live order actors against the
/// open orders (every open order is live). A difference seen on one check may be a message still
/// on its way; one seen on two checks in a row is repaired and counted by kind. Two reads per
/// round: the open orders (id, status, crew) and the stock sums of the live shops.
/// What it repaired is counted in `figures` (read by /metrics).
caf::actor spawn_reconciler(caf::actor_system& sys, reconciler_options opts);

}  // namespace wassally
