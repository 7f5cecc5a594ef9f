#pragma once
// SQL of orders: loading, status transitions with their events, and the listing in a caller's
// scope. Placing an order (order, lines, first event, stock, Idempotency-Key and cart in one
// command) is persistence/order_placement_sql.hpp, included here: one header for the aggregate.

#include "persistence/order_placement_sql.hpp"
#include "protocols/crews.hpp"
#include "protocols/orders.hpp"
#include "protocols/persistence.hpp"

namespace wassally::orders_sql {

/// The order with its lines and history → order_snapshot; unknown: 404.
db_command load(int64_t order_id);
/// Up to `limit` orders not delivered or cancelled with an id above `after_id`, each with its
/// lines and events, in three queries (recovery after a restart) → open_orders_page.
db_command load_open(int64_t after_id, int64_t limit);

/// Moves the order from `from` to `to` (only if it still is `from`), appends event `seq`, and
/// returns the stock of `returned` lines (cancellation) → order_transitioned. Delivered: the
/// crew's coins and deliveries, the sales buckets, and +1 confirmed_orders of each shop with
/// lines in it (their new counts in `confirmed`). A changed order: 409 invalid_transition.
struct transition {
  int64_t order_id = 0;
  std::string from;
  int64_t from_crew_id = 0;  // the crew it must still have (0: none)
  std::string to;
  int64_t crew_id = 0;
  int64_t by_user_id = 0;
  int64_t seq = 0;
  std::vector<order_line_request> returned;
  /// Delivery: the crew earns `coins` and a delivery, and the lines count as sales of the day.
  bool delivered = false;
  int64_t coins = 0;
  /// When it happens (unix seconds, the service clock): delivered_at and the sales buckets.
  int64_t at_unix = 0;
  /// A cancellation: written to the order row and to its event (empty / 0: NULL).
  std::string cancel_reason;
  std::string cancel_note;
  int64_t cancelled_by = 0;
};
db_command apply(transition t);

/// Marks a line bought → done; unknown line: 404.
db_command mark_bought(int64_t order_id, int64_t item_id);
/// Records a wrong delivery code: the count, and whether delivery is now locked → done.
db_command record_wrong_code(int64_t order_id, int wrong_count, bool locked);
/// Staff: delivery codes may be tried again → done.
db_command unlock_code(int64_t order_id);
/// The shops the order's crew visits (those with lines in it; for a delivery request the
/// requesting shop), with their locations and preparation_min, by shop id → order_stops.
db_command stops(int64_t order_id);
/// Every pending order with its shops' locations, for the dispatcher → dispatch_entries.
db_command pending_index();
/// The same entries for some orders only, those of `order_ids` still pending → dispatch_entries.
db_command pending_entries(const std::vector<int64_t>& order_ids);
/// Every open order's id, status and crew, in one read (anti-entropy) → open_orders_index.
db_command open_orders();

/// GET /orders: the orders of `scope` (order_rules::listing_scope of `q.who`) that match `q`,
/// newest first → order_page.
db_command list(const order_query& q, const order_scope& scope);

/// Housekeeping: deletes up to `limit` Idempotency-Keys older than 24 h → int64_t (rows
/// deleted).
db_command purge_idempotency_keys(int64_t limit);

}  // namespace wassally::orders_sql
