#pragma once

#include <caf/fwd.hpp>
#include <chrono>

#include "actors/dispatch_rules.hpp"

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
///
/// Offers (with `dispatch.offers`): it also keeps every crew as the crews tell it
/// (crew_availability, loaded with offers_sql::crews at start) and the open offers (by crew; at
/// most one per crew and per order). A pending order without an open offer is offered to the
/// nearest free crew (available, located, holding fewer than crew_max_orders, no open offer) that
/// has not refused it within reoffer_after, within the order's radius (radius_km, widened by
/// radius_step_km every widen_every since the order was placed, up to max_radius_km); ties go to
/// the crew holding fewer orders, then to the one idle longest. A crew that becomes free is
/// offered the oldest such order within that order's radius. Every offer is opened and closed
/// in PostgreSQL (offers_sql) before anyone hears of it: `crew_offer_event` on topic
/// "crew_dispatch". An offer ends when its crew declines (decline_offer → done), when it expires
/// (offer_timeout_s after it was opened, on the database clock), when its crew goes offline
/// (expired), or when the order leaves pending (accepted, taken or cancelled).
/// get_crew_offer → open_offer and list_open_offers → open_offers (by order id), from memory.
/// Restarted, it resumes the open offers and refusals PostgreSQL holds (offers_sql::load), with
/// their persisted expiry times.
///
/// Cluster mode (`cluster_shards` > 0, CLUSTER.md "Dispatch"): every node indexes every pending
/// order (other nodes' placements reach it over NATS), but offers only to crews of the shards it
/// serves (`served_shards` from the registry), so a crew's offers are made, timed, declined and
/// re-sent on connect by one node, the one serving the crew (get_crew_offer and decline_offer
/// reach it through the crew actor). Other nodes' offers (their crew_offer_events) keep it from
/// offering the same order meanwhile. Shards lost: their crews' offers are dropped from memory
/// (not closed); shards gained: their crews and open offers are read from PostgreSQL and timed
/// here. Only orders of served shards are escalated. list_open_offers reads PostgreSQL.
caf::actor spawn_dispatcher(caf::actor_system& sys, caf::actor persistence, caf::actor event_bus,
                            std::chrono::milliseconds db_timeout,
                            escalation_options escalation = {}, dispatch_options dispatch = {},
                            int32_t cluster_shards = 0);

/// Gives the dispatcher the registry (spawned after it: crews need the dispatcher), through
/// which it sends the no_crew cancels. Until then orders are alerted, not cancelled.
void set_dispatcher_registry(const caf::actor& dispatcher, const caf::actor& registry);

/// Great-circle distance in km (haversine, mean Earth radius).
double distance_km(double lat1, double lng1, double lat2, double lng2);

}  // namespace wassally
