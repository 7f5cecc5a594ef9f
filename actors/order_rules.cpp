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

order_status_changed placed_change(const order_snapshot& placed,
                                   std::vector<geo_location> shop_points) {
  order_status_changed change;
  change.order_id = placed.order.id;
  if (!placed.events.empty()) change.event = placed.events.back();
  change.placed = true;
  change.shop_points = std::move(shop_points);
  return change;
}

bool is_final(const std::string& status) { return order_status::is_final(status); }

bool legal_transition(const std::string& from, const std::string& to) {
  using namespace order_status;
  return (from == std::string(pending) &&
          (to == std::string(assigned) || to == std::string(cancelled))) ||
         (from == std::string(assigned) &&
          (to == std::string(picked_up) || to == std::string(cancelled))) ||
         (from == std::string(assigned) && to == std::string(assigned)) ||  // reassignment
         (from == std::string(picked_up) && to == std::string(delivered));
}

bool may_see(const order_record& o, const caller& who) { return in_scope(o, listing_scope(who)); }

order_scope listing_scope(const caller& who) {
  using kind = order_scope::kind;
  if (who.user_id == 0) return {kind::none, 0};
  if (who.is_staff()) return {kind::all, who.user_id};
  if (who.role == roles::customer) return {kind::own, who.user_id};
  if (who.role == roles::delivery_crew) return {kind::assigned, who.user_id};
  if (who.role == roles::shop_owner) return {kind::owned_shops, who.user_id};
  return {kind::none, 0};
}

bool in_scope(const order_record& o, const order_scope& scope) {
  switch (scope.what) {
    case order_scope::kind::all:
      return true;
    case order_scope::kind::own:
      return o.user_id == scope.user_id;
    case order_scope::kind::assigned:
      return o.crew_id == scope.user_id;
    case order_scope::kind::owned_shops:
      return o.requesting_owner_id == scope.user_id || owns_line(o, scope.user_id);
    case order_scope::kind::none:
      break;
  }
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

namespace {

/// Only the crew the order is assigned to may act on it: other crews 403; callers who cannot
/// see the order 404; anyone else who can 403.
void require_assigned_crew(const order_record& o, const caller& who) {
  if (who.role == roles::delivery_crew && o.crew_id != 0 && o.crew_id == who.user_id) return;
  if (who.role != roles::delivery_crew && !may_see(o, who))
    throw api_exception(errors::not_found("no such order"));
  throw api_exception(errors::forbidden("only the crew assigned to this order may do this"));
}

void require_status(const order_record& o, const std::string& status, const std::string& action) {
  if (o.status != status) throw api_exception(invalid_transition(o, action));
}

}  // namespace

decision decide(const order_record& o, const order_action& a) {
  using namespace order_status;
  const auto& who = a.who;
  if (a.action == "accept") {
    if (who.role != roles::delivery_crew)
      throw api_exception(errors::forbidden("only delivery crews accept orders"));
    if (o.status == std::string(assigned) || o.status == std::string(picked_up))
      throw api_exception(errors::conflict("already_assigned", "another crew took this order"));
    require_status(o, pending, "accept");
    return {assigned, who.user_id};
  }
  if (a.action == "assign") {
    if (!who.is_staff()) throw api_exception(errors::forbidden("only staff assign orders"));
    if (o.status != std::string(pending) && o.status != std::string(assigned))
      throw api_exception(invalid_transition(o, "assign"));
    if (o.crew_id == a.crew_id)
      throw api_exception(
          errors::conflict("already_assigned", "the order is assigned to this crew already"));
    return {assigned, a.crew_id};
  }
  if (a.action == "pickup") {
    require_assigned_crew(o, who);
    require_status(o, assigned, "pick up");
    return {picked_up, o.crew_id};
  }
  if (a.action == "deliver") {
    require_assigned_crew(o, who);
    require_status(o, picked_up, "deliver");
    if (o.code_locked)
      throw api_exception(errors::conflict(
          "code_locked", "too many wrong codes: staff must unlock delivery of this order"));
    return {delivered, o.crew_id};
  }
  if (a.action == "bought") {
    require_assigned_crew(o, who);
    if (o.status != std::string(assigned) && o.status != std::string(picked_up))
      throw api_exception(invalid_transition(o, "mark items bought on"));
    return {"", o.crew_id};
  }
  if (a.action == "unlock") {
    if (!who.is_staff()) throw api_exception(errors::forbidden("only staff unlock delivery codes"));
    return {"", o.crew_id};
  }
  if (!may_see(o, who)) throw api_exception(errors::not_found("no such order"));
  if (a.action == "cancel") {
    if (who.role == roles::customer) {
      if (o.status != std::string(pending))
        throw api_exception(errors::conflict(
            "invalid_transition",
            "a customer may cancel only a pending order; this one is " + o.status));
      return {cancelled, o.crew_id};
    }
    if (who.is_staff()) {
      if (!legal_transition(o.status, cancelled))
        throw api_exception(invalid_transition(o, "cancel"));
      return {cancelled, o.crew_id};
    }
    throw api_exception(errors::forbidden("only the customer or staff may cancel an order"));
  }
  throw api_exception(errors::validation("action", "unknown order action '" + a.action + "'"));
}

}  // namespace wassally::order_rules
