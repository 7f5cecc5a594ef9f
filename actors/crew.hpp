#pragma once

#include <chrono>

#include "actors/registry.hpp"

namespace wassally {

struct crew_options {
  int max_orders = 3;  // undelivered orders a crew may hold
  std::chrono::milliseconds idle{300000};
  std::chrono::milliseconds db_timeout{5000};
};

/// The delivery crew entity actor: one per crew (key "crew", user id). It owns the crew's
/// status, live position and the orders it holds. set_crew_location → done once a position at
/// least as recent is committed (one write per crew in flight; positions reported meanwhile
/// coalesce into the next one, and those of many crews into one statement per group commit);
/// set_crew_status → crew_record; crew_pending_query → pending_page (ids from the dispatcher, each
/// order as the order shows it); claim_crew_slot → done (409 crew_offline / crew_busy);
/// crew_slot_outcome and crew_order_finished keep its order list current; get_crew_state →
/// crew_record. Changes are published on the event bus topic "crew_status".
entity_factory crew_factory(caf::actor persistence, caf::actor dispatcher, caf::actor event_bus,
                            crew_options opts);

}  // namespace wassally
