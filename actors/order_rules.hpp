#pragma once
// The order rules every order path shares: who may see an order and which parts of it, and the
// status state machine of API.md — the single place where transitions are decided.

#include <string>

#include "protocols/orders.hpp"

namespace wassally::order_rules {

bool is_final(const std::string& status);

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

/// What an action does: the status it leads to (empty: the status stays, e.g. an item bought)
/// and the crew the order has afterwards.
struct decision {
  std::string to;
  int64_t crew_id = 0;
};

/// The decision for an action, or the reason it may not happen (api_exception: 404 for callers
/// who may not see the order, 403 for those who see it but may not act — any crew but the
/// assigned one included —, 409 invalid_transition for an action the current status does not
/// allow, 409 already_assigned for an accept that lost, 409 code_locked).
decision decide(const order_record& o, const order_action& a);

/// The event announcing a newly placed order (its first event), with where its shops are, for
/// the dispatcher's index.
order_status_changed placed_change(const order_snapshot& placed,
                                   std::vector<geo_location> shop_points);

/// Wrong delivery codes allowed before delivery of the order locks.
inline constexpr int max_wrong_codes = 5;

/// Whether `from → to` is an edge of the state machine.
bool legal_transition(const std::string& from, const std::string& to);

}  // namespace wassally::order_rules
