#pragma once
// Placing an order is cross-entity work (DESIGN.md rule 3): a short-lived placement actor holds
// stock at every shop of the order, commits the order, its lines, its first event, the stock
// changes, the Idempotency-Key and (for a checkout) the emptied cart in one transaction, then
// tells the shops the holds became sales — or releases them all.

#include <caf/actor.hpp>
#include <chrono>
#include <string>

#include "protocols/money.hpp"
#include "protocols/orders.hpp"

namespace wassally {

struct placement_services {
  caf::actor registry;
  caf::actor shop_directory;
  caf::actor persistence;
  caf::actor event_bus;
  std::chrono::milliseconds timeout{5000};
  money delivery_fee;
  int64_t coins_per_order = 10;
  /// An Idempotency-Key claimed by a placement that has not answered for this long may be taken
  /// over by a repeat (the first placement can then no longer commit).
  int idempotency_stale_s = 60;
  /// Cluster mode: "<node>/<incarnation>/", the start of every claim this node makes. A claim
  /// whose node is gone (its heartbeat expired, or it restarted) may be taken over at once,
  /// without waiting for idempotency_stale_s (CLUSTER.md "Idempotency-Keys").
  std::string claim_prefix;
};

/// At most this many distinct shops per cart or order (API.md).
inline constexpr std::size_t max_shops_per_order = 3;

/// Spawns the placement of `req`; it answers the request it receives (`place_order`) with
/// order_placed or the error (out_of_stock with product_id, cart_shop_limit, invalid_quantity,
/// not_found, shop_unavailable, idempotency_key_reused, request_in_progress, ...), then quits.
///
/// The commit is finished by its outcome, not by the caller's patience: a placement whose HTTP
/// caller got 504 still applies a late commit (the shops turn holds into sales, the order is
/// adopted by its actor and published to the dispatcher), and stores its answer under the
/// Idempotency-Key, where a retry finds it. A placed order is adopted by its order actor at
/// once. When PostgreSQL refuses stock the shops had held, or the outcome is unknown, the shops
/// reload their stock.
caf::actor spawn_order_placement(caf::actor_system& sys, placement_services svc);

}  // namespace wassally
