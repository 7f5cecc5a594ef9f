#include "actors/order_rules.hpp"

#include <algorithm>

#include "protocols/errors.hpp"
#include "security/tokens.hpp"

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

namespace {

/// The order's own people: its customer (the requesting shop's owner, for a delivery request)
/// and staff. They see the confirmation code and where the crew is.
bool is_principal(const order_record& o, const caller& who) {
  bool is_requester = who.role == roles::shop_owner && o.requesting_owner_id == who.user_id;
  return who.is_staff() || (who.role == roles::customer && o.user_id == who.user_id) ||
         is_requester;
}

}  // namespace

bool tracks_crew(const order_record& o) {
  return o.crew_id != 0 &&
         (o.status == order_status::assigned || o.status == order_status::picked_up);
}

bool sees_crew_location(const order_record& o, const caller& who) { return is_principal(o, who); }

order_record view_for(order_record o, const caller& who) {
  bool is_requester = who.role == roles::shop_owner && o.requesting_owner_id == who.user_id;
  o.code_visible = is_principal(o, who);
  if (!o.code_visible) o.code.clear();
  if (!tracks_crew(o) || !sees_crew_location(o, who)) o.crew_location = {};
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

using verdict = caf::expected<outcome>;

caf::error refuse(api_error e) { return to_caf_error(std::move(e)); }

/// Only the crew the order is assigned to may act on it: other crews 403; callers who cannot
/// see the order 404; anyone else who can 403. Empty: allowed.
std::optional<api_error> not_the_assigned_crew(const order_record& o, const caller& who) {
  if (who.role == roles::delivery_crew && o.crew_id != 0 && o.crew_id == who.user_id)
    return std::nullopt;
  if (who.role != roles::delivery_crew && !may_see(o, who))
    return errors::not_found("no such order");
  return errors::forbidden("only the crew assigned to this order may do this");
}

outcome transition(std::string to, int64_t crew_id) {
  outcome out;
  out.what = outcome::effect::transition;
  out.to = std::move(to);
  out.crew_id = crew_id;
  return out;
}

verdict accept(const order_record& o, const caller& who) {
  using namespace order_status;
  if (who.role != roles::delivery_crew)
    return refuse(errors::forbidden("only delivery crews accept orders"));
  if (o.status == std::string(assigned) || o.status == std::string(picked_up))
    return refuse(errors::conflict("already_assigned", "another crew took this order"));
  if (o.status != std::string(pending)) return refuse(invalid_transition(o, "accept"));
  auto out = transition(assigned, who.user_id);
  out.claims_crew_slot = true;
  return out;
}

verdict assign(const order_record& o, const order_action& a) {
  using namespace order_status;
  if (!a.who.is_staff()) return refuse(errors::forbidden("only staff assign orders"));
  if (o.status != std::string(pending) && o.status != std::string(assigned))
    return refuse(invalid_transition(o, "assign"));
  if (o.crew_id == a.crew_id)
    return refuse(
        errors::conflict("already_assigned", "the order is assigned to this crew already"));
  auto out = transition(assigned, a.crew_id);
  out.claims_crew_slot = true;
  return out;
}

verdict pickup(const order_record& o, const caller& who) {
  if (auto e = not_the_assigned_crew(o, who)) return refuse(*e);
  if (o.status != order_status::assigned) return refuse(invalid_transition(o, "pick up"));
  return transition(order_status::picked_up, o.crew_id);
}

verdict bought(const order_record& o, const order_action& a) {
  if (auto e = not_the_assigned_crew(o, a.who)) return refuse(*e);
  if (o.status != order_status::assigned && o.status != order_status::picked_up)
    return refuse(invalid_transition(o, "mark items bought on"));
  auto item = std::find_if(o.items.begin(), o.items.end(),
                           [&](const order_item& i) { return i.id == a.item_id; });
  if (item == o.items.end()) return refuse(errors::not_found("no such item in this order"));
  outcome out;
  out.crew_id = o.crew_id;
  out.item_id = a.item_id;
  out.what = item->is_bought ? outcome::effect::unchanged : outcome::effect::mark_bought;
  return out;
}

/// The code is the only proof the crew met the customer: compared in constant time, and after
/// max_wrong_codes wrong ones delivery locks until staff unlock it.
verdict deliver(const order_record& o, const order_action& a) {
  if (auto e = not_the_assigned_crew(o, a.who)) return refuse(*e);
  if (o.status != order_status::picked_up) return refuse(invalid_transition(o, "deliver"));
  if (o.code_locked)
    return refuse(errors::conflict(
        "code_locked", "too many wrong codes: staff must unlock delivery of this order"));
  if (!security::constant_time_equal(a.code, o.code)) {
    outcome out;
    out.what = outcome::effect::record_wrong_code;
    out.crew_id = o.crew_id;
    out.wrong_codes = o.wrong_code_count + 1;
    out.lock = out.wrong_codes >= max_wrong_codes;
    out.answer =
        api_error{400,
                  "invalid_code",
                  "wrong confirmation code" +
                      std::string(out.lock ? "; delivery of this order is now locked" : ""),
                  {{"code", "does not match"}},
                  {{"attempts_left", max_wrong_codes - out.wrong_codes}},
                  {}};
    return out;
  }
  auto out = transition(order_status::delivered, o.crew_id);
  out.pays_crew = true;
  return out;
}

verdict unlock(const order_record& o, const caller& who) {
  if (!who.is_staff()) return refuse(errors::forbidden("only staff unlock delivery codes"));
  outcome out;
  out.what = outcome::effect::unlock_code;
  out.crew_id = o.crew_id;
  return out;
}

/// Who cancels gives the reason: the customer (while pending), staff (until picked up), the
/// owner of the shop that requested a delivery (while pending), the system — the dispatcher,
/// for an order nobody took within pending_expiry_s — while pending: no_crew, by nobody, without
/// a note. Anyone else who sees the order (a crew, the owner of a shop with lines in it) may not.
verdict cancel(const order_record& o, const order_action& a) {
  using namespace order_status;
  const auto& who = a.who;
  if (who.is_system()) {
    // A crew or staff took it meanwhile: exactly one of them wins, and here it was not this.
    if (o.status != std::string(pending))
      return refuse(
          errors::conflict("invalid_transition",
                           "only a pending order expires unattended; this one is " + o.status));
    auto out = transition(cancelled, o.crew_id);
    out.returns_stock = true;
    out.cancel_reason = cancel_reason::no_crew;
    return out;
  }
  if (!may_see(o, who)) return refuse(errors::not_found("no such order"));
  bool requesting_owner = who.role == roles::shop_owner && o.type == "delivery_request" &&
                          o.requesting_owner_id == who.user_id;
  std::string reason;
  if (who.role == roles::customer) {
    if (o.status != std::string(pending))
      return refuse(
          errors::conflict("invalid_transition",
                           "a customer may cancel only a pending order; this one is " + o.status));
    reason = cancel_reason::customer;
  } else if (who.is_staff()) {
    if (!legal_transition(o.status, cancelled)) return refuse(invalid_transition(o, "cancel"));
    reason = cancel_reason::staff;
  } else if (requesting_owner) {
    if (o.status != std::string(pending))
      return refuse(errors::conflict(
          "invalid_transition",
          "a shop may cancel only a pending delivery request; this one is " + o.status));
    reason = cancel_reason::shop;
  } else {
    return refuse(errors::forbidden(
        "only the customer, staff or the shop that requested the delivery may cancel an order"));
  }
  auto out = transition(cancelled, o.crew_id);
  out.returns_stock = true;
  out.cancel_reason = std::move(reason);
  out.cancel_note = a.note;
  out.cancelled_by = who.user_id;
  return out;
}

}  // namespace

caf::expected<outcome> decide(const order_record& o, const order_action& a) {
  switch (a.action) {
    case order_action_kind::accept:
      return accept(o, a.who);
    case order_action_kind::assign:
      return assign(o, a);
    case order_action_kind::pickup:
      return pickup(o, a.who);
    case order_action_kind::bought:
      return bought(o, a);
    case order_action_kind::deliver:
      return deliver(o, a);
    case order_action_kind::unlock:
      return unlock(o, a.who);
    case order_action_kind::cancel:
      return cancel(o, a);
  }
  return refuse(errors::validation("action", "unknown order action"));
}

}  // namespace wassally::order_rules
