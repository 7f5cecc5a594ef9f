#pragma once
// SQL of orders: placement (order, lines, first event, stock, idempotency key and cart in one
// command), status transitions with their events, and the role-filtered listing.

#include "protocols/crews.hpp"
#include "protocols/orders.hpp"
#include "protocols/persistence.hpp"

namespace wassally::orders_sql {

/// The order with its lines and history → order_snapshot; unknown: 404.
db_command load(int64_t order_id);
/// Up to `limit` orders not delivered or cancelled with an id above `after_id`, each with its
/// lines and events, in three queries (recovery after a restart) → open_orders_page.
db_command load_open(int64_t after_id, int64_t limit);

/// A placement under (user, key) within the last 24 h → idempotent_placement.
db_command find_placement(int64_t user_id, const std::string& key);

/// Claims (user, key) for a placement that starts now, in a transaction of its own →
/// idempotent_placement: `found = false` when the key is now this placement's (new, older than
/// 24 h, or in flight for longer than `stale_after_s` and taken over), else the earlier
/// placement's row (`status` 0: still in flight).
db_command claim_placement(int64_t user_id, const std::string& key, const std::string& request_hash,
                           const std::string& claim, int stale_after_s);
/// Stores the answer of a placement that started and did not place (404, 409), while the claim
/// is still its own → done.
db_command store_placement_answer(int64_t user_id, const std::string& key, const std::string& claim,
                                  const api_error& answer);
/// Gives the claim up: the placement ended with an answer that is not stored (400, 503, 504),
/// so a corrected or later request may use the key → done.
db_command release_placement_claim(int64_t user_id, const std::string& key,
                                   const std::string& claim);

/// What a placement commits. `order` has its lines priced; id, code and timestamps are filled in.
struct placement {
  order_record order;
  std::string idempotency_key;  // empty: none
  std::string claim;            // the key's claim (claim_placement), with idempotency_key
  std::string request_hash;
  bool clear_cart = false;
  /// Random confirmation codes to try in turn (a taken one is skipped).
  std::vector<std::string> candidate_codes;
};

/// Inserts the order (the first candidate code not taken), its lines, event 1 (`pending`), takes
/// the stock of every line, stores the order as the Idempotency-Key's answer and empties the cart,
/// all or nothing → order_snapshot. Not enough stock: 409 out_of_stock with product_id. A key whose
/// claim is no longer this placement's (it went stale and a repeat took it over): 409
/// request_in_progress, nothing placed.
db_command place(placement p);

/// Moves the order from `from` to `to` (only if it still is `from`), appends event `seq`, and
/// returns the stock of `returned` lines (cancellation) → order_transitioned. A changed order:
/// 409 invalid_transition.
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
};
db_command apply(transition t);

/// Marks a line bought → done; unknown line: 404.
db_command mark_bought(int64_t order_id, int64_t item_id);
/// Records a wrong delivery code: the count, and whether delivery is now locked → done.
db_command record_wrong_code(int64_t order_id, int wrong_count, bool locked);
/// Staff: delivery codes may be tried again → done.
db_command unlock_code(int64_t order_id);
/// Every pending order with its shops' locations, for the dispatcher → dispatch_entries.
db_command pending_index();
/// The same entries for some orders only, those of `order_ids` still pending → dispatch_entries.
db_command pending_entries(const std::vector<int64_t>& order_ids);
/// Every open order's id, status and crew, in one read (anti-entropy) → open_orders_index.
db_command open_orders();

/// GET /orders for `q.who` (customer: own; crew: assigned; owner: with their lines or their
/// delivery requests; staff: all), newest first → order_page.
db_command list(const order_query& q);

/// Housekeeping: deletes up to `limit` Idempotency-Keys older than 24 h → int64_t (rows
/// deleted).
db_command purge_idempotency_keys(int64_t limit);

}  // namespace wassally::orders_sql
