#pragma once
// SQL of offers (API.md "Dispatch"): the order_offers rows the dispatcher opens and closes, and
// what it reads to start over (open offers, refusals, crews).

#include <string>

#include "protocols/dispatch.hpp"
#include "protocols/persistence.hpp"

namespace wassally::offers_sql {

/// Opens an offer of `order_id` to `crew_id`, expiring `timeout_s` from now on the database
/// clock, rounded up to a whole second (so the expires_at crews see is the instant it expires)
/// → crew_offer (with the order's shops, location and totals). 409 not_pending when the
/// order is no longer pending; 409 offer_open when the order or the crew already has an open
/// offer (the partial unique indexes of migration 0007).
db_command open(int64_t order_id, int64_t crew_id, double distance_km, int timeout_s);
/// Closes the open offer of `order_id` to `crew_id` with `outcome` (offer_end) → done (also
/// when it was closed already: closing is idempotent).
db_command close(int64_t order_id, int64_t crew_id, const std::string& outcome);
/// For a dispatcher starting over → offer_book: first closes the open offers of orders no
/// longer pending (accepted, taken or cancelled, from the order's row), then reads the open
/// offers of pending orders and their refusals (declined or expired, with when).
db_command load();
/// Every offer open in PostgreSQL, whichever node's dispatcher made it → open_offers (by order
/// id; cluster mode's GET /staff/offers).
db_command open_now();
/// Every crew with its status, position and held orders → crew_availabilities.
db_command crews();

}  // namespace wassally::offers_sql
