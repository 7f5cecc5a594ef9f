#pragma once
// SQL of placing an order or a delivery request: one writer for a batch of placements (a
// placement alone is a batch of one), and the Idempotency-Key a placement answers under.

#include <string>
#include <vector>

#include "protocols/orders.hpp"
#include "protocols/persistence.hpp"

namespace wassally::orders_sql {

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
/// request_in_progress, nothing placed. Placements without a key in one group commit are written
/// together, each still with its own outcome.
db_command place(placement p);

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

}  // namespace wassally::orders_sql
