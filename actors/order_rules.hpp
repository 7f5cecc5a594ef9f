#pragma once
// The order rules every order path shares: who may see an order and which parts of it, and the
// status state machine of API.md — the single place where transitions are decided.

#include <caf/expected.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "protocols/orders.hpp"

namespace wassally::order_rules {

/// The customer, the assigned crew, an owner of a shop with lines in it (or of the shop that
/// requested the delivery), staff: the orders in the caller's listing_scope.
bool may_see(const order_record& o, const caller& who);

/// Which orders `who` may list (GET /orders): every order for staff, their own for a customer,
/// those assigned to a crew, for a shop owner those with lines of their shops or requested by
/// one of them; none for anyone else (or a caller without a user).
order_scope listing_scope(const caller& who);

/// Whether `o` is in `scope`: the rule persistence turns into its listing's WHERE clause.
bool in_scope(const order_record& o, const order_scope& scope);

/// The order as `who` sees it: a shop owner only their shops' lines (and totals of those), the
/// code only for the customer, the requesting owner and staff.
order_record view_for(order_record o, const caller& who);
/// Whether the order follows its crew's position: assigned or picked up.
bool tracks_crew(const order_record& o);
/// Whether `who` is told where the crew is (in the order and on its stream) while the order
/// tracks its crew: the customer (for a delivery request, the requesting shop's owner) and staff.
bool sees_crew_location(const order_record& o, const caller& who);

/// The whole outcome of an action on an order: what to write and what follows from it. The
/// order actor carries it out (commits it, then tells crews and shops and publishes); every
/// decision is taken here.
struct outcome {
  enum class effect : uint8_t {
    transition,         // the status changes to `to` (assignments: `crew_id` takes it)
    mark_bought,        // item `item_id` was bought at its shop
    record_wrong_code,  // a wrong delivery code: `wrong_codes` counted, `lock` locks delivery
    unlock_code,        // staff lifted the lock
    unchanged,          // nothing to write (an item already bought): answer with the order
  };
  effect what = effect::unchanged;
  std::string to;
  int64_t crew_id = 0;
  /// The crew taking the order must consent first (online, below its limit).
  bool claims_crew_slot = false;
  /// Cancelling returns every line's stock; delivering pays the crew the order's coins.
  bool returns_stock = false;
  bool pays_crew = false;
  int64_t item_id = 0;
  /// A cancellation: why (a cancel_reason, from who cancels), the canceller's note
  /// (empty: none) and who (0: nobody, for no_crew).
  std::string cancel_reason;
  std::string cancel_note;
  int64_t cancelled_by = 0;
  int wrong_codes = 0;
  bool lock = false;
  /// Answered instead of the order once the outcome is committed (the wrong code's 400).
  std::optional<api_error> answer;
};

/// The outcome of `a` on `o`, or the reason it may not happen as an api_error (see
/// to_caf_error): 404 for callers who may not see the order (or an item not in it), 403 for
/// those who see it but may not act — any crew but the assigned one included —, 409
/// invalid_transition for an action the current status does not allow, 409 already_assigned
/// for an accept that lost, 409 code_locked. Cancelling: the customer while pending, staff until
/// picked up, the owner of the shop that requested a delivery while it is pending; the reason
/// follows from which of them it is.
caf::expected<outcome> decide(const order_record& o, const order_action& a);

/// The event announcing a newly placed order (its first event), with where its shops are, for
/// the dispatcher's index.
order_status_changed placed_change(const order_snapshot& placed,
                                   std::vector<geo_location> shop_points);

/// Wrong delivery codes allowed before delivery of the order locks.
inline constexpr int max_wrong_codes = 5;

/// Whether `from → to` is an edge of the state machine.
bool legal_transition(const std::string& from, const std::string& to);

}  // namespace wassally::order_rules
