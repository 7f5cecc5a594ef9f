#pragma once

#include <caf/fwd.hpp>

#include "actors/order_placement.hpp"

namespace wassally {

/// Order work that belongs to no single order: placing an order from an explicit item list
/// (place_order → order_placed, through a placement actor) and listing orders with the
/// role-specific visibility of API.md (order_query → order_page, each order as the caller may
/// see it; the eta of orders on their way from their live order actors).
///
/// `at_first_shop` (cluster mode with NATS routing): an order of an item list is placed by the
/// actor of its first line's shop, on the node serving that shop, where the order will live (its id
/// takes that shop's shard) and, with zoned ids, its other shops of the zone are too; so only the
/// hop to that node crosses nodes (CLUSTER.md "Shard key"). A product whose shop cannot be found is
/// placed here, and answered as any placement answers it.
caf::actor spawn_order_desk(caf::actor_system& sys, placement_services svc,
                            bool at_first_shop = false);

}  // namespace wassally
