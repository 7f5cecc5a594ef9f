#pragma once
// The order rules every order path shares: who may see an order and which parts of it, and the
// status state machine of API.md — the single place where transitions are decided.

#include <string>

#include "protocols/orders.hpp"

namespace wassally::order_rules {

bool is_final(const std::string& status);

/// The customer, the assigned crew, an owner of a shop with lines in it (or of the shop that
/// requested the delivery), staff.
bool may_see(const order_record& o, const caller& who);

/// The order as `who` sees it: a shop owner only their shops' lines (and totals of those), the
/// code only for the customer, the requesting owner and staff.
order_record view_for(order_record o, const caller& who);

/// The status an action leads to, or the reason it may not happen (api_exception: 404 for
/// callers who may not see the order, 403 for those who see it but may not act, 409
/// invalid_transition for an action the current status does not allow).
std::string decide(const order_record& o, const order_action& a);

/// Whether `from → to` is an edge of the state machine.
bool legal_transition(const std::string& from, const std::string& to);

}  // namespace wassally::order_rules
