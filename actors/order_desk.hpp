#pragma once

#include <caf/fwd.hpp>

#include "actors/order_placement.hpp"

namespace wassally {

/// Order work that belongs to no single order: placing an order from an explicit item list
/// (place_order → order_placed, through a placement actor) and listing orders with the
/// role-specific visibility of API.md (order_query → order_page, each order as the caller may
/// see it; the eta of orders on their way from their live order actors).
caf::actor spawn_order_desk(caf::actor_system& sys, placement_services svc);

}  // namespace wassally
