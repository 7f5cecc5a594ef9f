#include "actors/order_rules.hpp"

#include <algorithm>

#include "protocols/errors.hpp"

namespace wassally::order_rules {
namespace {

bool owns_line(const order_record& o, int64_t owner_id) {
  return std::any_of(o.items.begin(), o.items.end(),
                     [&](const order_item& i) { return i.shop_owner_id == owner_id; });
}

api_error invalid_transition(const order_record& o, const std::string& action) {
  return errors::conflict("invalid_transition",
                          "cannot " + action + " an order that is " + o.status);
}

}  // namespace

bool is_final(const std::string& status) {
  return status == order_status::delivered || status == order_status::cancelled;
}

bool legal_transition(const std::string& from, const std::string& to) {
  using namespace order_status;
  return (from == std::string(pending) &&
          (to == std::string(assigned) || to == std::string(cancelled))) ||
         (from == std::string(assigned) &&
          (to == std::string(picked_up) || to == std::string(cancelled))) ||
         (from == std::string(picked_up) && to == std::string(delivered));
}

bool may_see(const order_record& o, const caller& who) {
  if (who.user_id == 0) return false;
  if (who.is_staff()) return true;
  if (who.role == roles::customer) return o.user_id == who.user_id;
  if (who.role == roles::delivery_crew) return o.crew_id == who.user_id;
  if (who.role == roles::shop_owner)
    return o.requesting_owner_id == who.user_id || owns_line(o, who.user_id);
  return false;
}

order_record view_for(order_record o, const caller& who) {
  bool is_requester = who.role == roles::shop_owner && o.requesting_owner_id == who.user_id;
  o.code_visible =
      who.is_staff() || (who.role == roles::customer && o.user_id == who.user_id) || is_requester;
  if (!o.code_visible) o.code.clear();
  if (who.role == roles::shop_owner && !is_requester) {
    std::vector<order_item> mine;
    money items_total;
    for (auto& i : o.items)
      if (i.shop_owner_id == who.user_id) {
        mine.push_back(i);
        items_total = items_total + i.line_total;
      }
    o.items = std::move(mine);
    o.items_total = items_total;
    o.total = items_total + o.delivery_fee;
  }
  if (!who.is_staff() && !(who.role == roles::shop_owner))
    for (auto& i : o.items) i.unit_cost = {};
  return o;
}

std::string decide(const order_record& o, const order_action& a) {
  using namespace order_status;
  const auto& who = a.who;
  if (!may_see(o, who)) throw api_exception(errors::not_found("no such order"));
  if (a.action == "cancel") {
    if (who.role == roles::customer) {
      if (o.status != std::string(pending))
        throw api_exception(errors::conflict(
            "invalid_transition",
            "a customer may cancel only a pending order; this one is " + o.status));
      return cancelled;
    }
    if (who.is_staff()) {
      if (!legal_transition(o.status, cancelled))
        throw api_exception(invalid_transition(o, "cancel"));
      return cancelled;
    }
    throw api_exception(errors::forbidden("only the customer or staff may cancel an order"));
  }
  throw api_exception(errors::validation("action", "unknown order action '" + a.action + "'"));
}

}  // namespace wassally::order_rules
