#pragma once

#include <caf/fwd.hpp>
#include <chrono>

namespace wassally {

/// The dispatcher: the in-memory index of pending orders that crews query. It subscribes to
/// the event bus topic "order_status" before loading every pending order from PostgreSQL, so no
/// change is missed; a placed order enters the index, any other status change removes it.
/// It keeps each order's id and shop positions, nothing else. pending_query → pending_matches
/// (ids within radius_km of the point, nearest first by the distance to the order's nearest
/// shop, one page of them); stats_atom → int64_t indexed orders.
caf::actor spawn_dispatcher(caf::actor_system& sys, caf::actor persistence, caf::actor event_bus,
                            std::chrono::milliseconds db_timeout);

/// Great-circle distance in km (haversine, mean Earth radius).
double distance_km(double lat1, double lng1, double lat2, double lng2);

}  // namespace wassally
