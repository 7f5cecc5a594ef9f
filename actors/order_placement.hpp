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
};

/// At most this many distinct shops per cart or order (API.md).
inline constexpr std::size_t max_shops_per_order = 3;

/// Spawns the placement of `req`; it answers the request it receives (`place_order`) with
/// order_placed or the error (out_of_stock with product_id, cart_shop_limit, invalid_quantity,
/// not_found, shop_unavailable, idempotency_key_reused, ...), then quits.
caf::actor spawn_order_placement(caf::actor_system& sys, placement_services svc);

}  // namespace wassally
