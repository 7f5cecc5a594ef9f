#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "actors/eta_rules.hpp"
#include "actors/registry.hpp"

namespace wassally {

/// The order entity actor: one per order (key "order", id), loaded from PostgreSQL on first use
/// — which is also how non-final orders are recovered after a restart. It owns the status: every
/// action is decided by order_rules::decide, persisted with its event (and, for a cancellation,
/// the returned stock) in one transaction, and only then answered and published on the event
/// bus topic "order_status". get_order → order_record (as the caller may see it);
/// view_pending_order → order_record as crews looking for work see it, while pending;
/// get_order_history → order_history; watch_order → order_watch; order_action → order_record.
///
/// A write PostgreSQL refused (or whose commit outcome is unknown) makes the actor reload the
/// order before it answers anything else; the action is then decided again on the reloaded
/// order, once. Only delivered or cancelled orders are passivated: every open order stays live.
struct order_actor_counters {
  std::atomic<int64_t> reloads{0};  // reloads after a write PostgreSQL refused
};

/// While assigned or picked up, the order keeps its crew's latest position (crew_moved, from the
/// crew after each position it committed; loaded with the order from the crew's row) and
/// publishes it on the event bus topic "order_tracking" at most once per
/// `crew_location_every` (the latest position goes out when the window ends).
///
/// It also keeps its eta (eta_rules::estimate with `eta`; the stops read once with
/// orders_sql::stops when first needed), estimated again on activation, each committed change
/// (assignment, a line bought, pickup, the end) and each crew_moved; a change of a minute or more
/// (or to or from unknown) is published as order_eta_changed on "order_tracking", at most once
/// per `crew_location_every` as well (its own window; the latest when it ends).
entity_factory order_factory(
    caf::actor persistence, caf::actor event_bus, std::chrono::milliseconds idle,
    std::chrono::milliseconds db_timeout, std::shared_ptr<order_actor_counters> counters = nullptr,
    std::chrono::milliseconds crew_location_every = std::chrono::seconds(5),
    eta_rules::settings eta = {});

}  // namespace wassally
