#pragma once
// Building a placement (a customer's order, or a shop's delivery request) and announcing it once
// committed: the one place for an order's head, its confirmation-code candidates and what a
// commit is followed by (its actor adopts it, the dispatcher hears of it).

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "persistence/order_placement_sql.hpp"
#include "protocols/crews.hpp"
#include "protocols/orders.hpp"

namespace wassally::placement_builder {

/// The placement of the customer's order `req`: its lines in the order the customer gave them,
/// each priced by its shop's quote (`shop_of`: product → shop; `quotes`: shop → its priced
/// lines), the service's fee and coins, the Idempotency-Key with its `claim`, and (a checkout)
/// the cart to empty. 400 validation_error on `items` when the total would not fit an order's
/// money columns.
caf::expected<orders_sql::placement> order(const place_order& req, const std::string& claim,
                                           const std::map<int64_t, int64_t>& shop_of,
                                           const std::map<int64_t, product_quotes>& quotes,
                                           money delivery_fee, int64_t coins);

/// The placement of the delivery request `req` of shop `shop_id`: no lines; its price is the
/// fee and the total.
orders_sql::placement delivery_request(const create_delivery_request& req, int64_t shop_id,
                                       int64_t coins);

/// After the commit: the order's actor adopts it now (every open order is live, as recovery
/// makes them at start), and the dispatcher hears of it with where its shops are.
void announce(const caf::actor& registry, const caf::actor& event_bus, const order_snapshot& placed,
              std::vector<geo_location> shop_points);

}  // namespace wassally::placement_builder
