#pragma once

#include <caf/fwd.hpp>
#include <chrono>

namespace wassally {

/// Escalation of pending orders nobody takes (API.md "Dispatch"), counted from each order's
/// persisted created_at, so it survives restarts.
struct escalation_options {
  std::chrono::seconds alert{300};    // pending_alert_s: event order_unattended to staff
  std::chrono::seconds expiry{1800};  // pending_expiry_s: cancelled with reason no_crew (0: never)
  std::chrono::milliseconds check_interval{1000};  // pending_check_interval_ms
};

/// The dispatcher: the in-memory index of pending orders that crews query. It subscribes to
/// the event bus topic "order_status" before loading every pending order from PostgreSQL, so no
/// change is missed; a placed order enters the index, any other status change removes it.
/// It keeps each order's id, shop positions and pending_since, nothing else. pending_query →
/// pending_matches (ids within radius_km of the point, nearest first by the distance to the order's
/// nearest shop, one page of them); stats_atom → int64_t indexed orders.
///
/// Every `escalation.check_interval` it looks through the index: an order pending longer than
/// `escalation.alert` is published once as order_unattended (topic "order_unattended"; once per
/// process run: after a restart an order already past it is announced once more), one pending
/// longer than `escalation.expiry` gets a cancel order_action from caller::system() through the
/// registry (order_rules makes it reason no_crew, only while pending). One cancel per order in
/// flight; a transient failure is tried again on a later check.
caf::actor spawn_dispatcher(caf::actor_system& sys, caf::actor persistence, caf::actor event_bus,
                            std::chrono::milliseconds db_timeout,
                            escalation_options escalation = {});

/// Gives the dispatcher the registry (spawned after it: crews need the dispatcher), through
/// which it sends the no_crew cancels. Until then orders are alerted, not cancelled.
void set_dispatcher_registry(const caf::actor& dispatcher, const caf::actor& registry);

/// Great-circle distance in km (haversine, mean Earth radius).
double distance_km(double lat1, double lng1, double lat2, double lng2);

}  // namespace wassally
