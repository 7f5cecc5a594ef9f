// The order state machine and visibility rules, on their own (actors/order_rules.cpp is the one
// place where transitions are decided).
#include <boost/test/unit_test.hpp>

#include <set>

#include "actors/order_rules.hpp"
#include "protocols/accounts.hpp"
#include "protocols/errors.hpp"

using namespace wassally;

namespace {

const caller customer{1, roles::customer};
const caller other_customer{2, roles::customer};
const caller crew{3, roles::delivery_crew};
const caller other_crew{4, roles::delivery_crew};
const caller owner_a{5, roles::shop_owner};
const caller owner_b{6, roles::shop_owner};
const caller uninvolved_owner{9, roles::shop_owner};
const caller staff{7, roles::staff};

order_record order(const std::string& status, int64_t crew_id = 0) {
  order_record o;
  o.id = 10;
  o.code = "12345678";
  o.status = status;
  o.user_id = customer.user_id;
  o.crew_id = crew_id;
  o.delivery_fee = {1000};
  order_item a;
  a.id = 1;
  a.shop_id = 100;
  a.shop_owner_id = owner_a.user_id;
  a.line_total = {250};
  a.unit_cost = {100};
  order_item b = a;
  b.id = 2;
  b.shop_id = 200;
  b.shop_owner_id = owner_b.user_id;
  b.line_total = {700};
  o.items = {a, b};
  o.items_total = {950};
  o.total = {1950};
  return o;
}

order_action action(const caller& who, order_action_kind kind, int64_t crew_id = 0) {
  order_action a;
  a.who = who;
  a.action = kind;
  a.crew_id = crew_id;
  a.item_id = 1;        // bought: the first line
  a.code = "12345678";  // deliver: the right code
  return a;
}

order_action with_code(order_action a, std::string code) {
  a.code = std::move(code);
  return a;
}

order_action with_item(order_action a, int64_t item_id) {
  a.item_id = item_id;
  return a;
}

using effect = order_rules::outcome::effect;

/// The error code (or "" when allowed) and, if allowed, the resulting status.
std::pair<std::string, std::string> outcome(const order_record& o, const order_action& a) {
  auto d = order_rules::decide(o, a);
  if (!d) return {from_caf_error(d.error()).code, ""};
  return {"", d->to};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(order_rules_suite)

BOOST_AUTO_TEST_CASE(the_state_machine_has_exactly_the_api_md_edges) {
  const std::vector<std::string> all = {"pending", "assigned", "picked_up", "delivered",
                                        "cancelled"};
  std::set<std::pair<std::string, std::string>> legal = {
      {"pending", "assigned"},   {"pending", "cancelled"}, {"assigned", "picked_up"},
      {"assigned", "cancelled"}, {"assigned", "assigned"}, {"picked_up", "delivered"}};
  for (auto& from : all)
    for (auto& to : all)
      BOOST_TEST(order_rules::legal_transition(from, to) == (legal.count({from, to}) == 1),
                 from << " -> " << to);
  BOOST_TEST(order_status::is_final("delivered"));
  BOOST_TEST(order_status::is_final("cancelled"));
  BOOST_TEST(!order_status::is_final("picked_up"));
}

BOOST_AUTO_TEST_CASE(accept_pickup_deliver_follow_the_crew) {
  auto pending = order("pending");
  BOOST_TEST(outcome(pending, action(crew, order_action_kind::accept)).second == "assigned");
  BOOST_TEST(order_rules::decide(pending, action(crew, order_action_kind::accept))->crew_id ==
             crew.user_id);
  BOOST_TEST(outcome(pending, action(customer, order_action_kind::accept)).first == "forbidden");
  BOOST_TEST(outcome(pending, action(crew, order_action_kind::pickup)).first ==
             "forbidden");  // not its order
  auto assigned = order("assigned", crew.user_id);
  BOOST_TEST(outcome(assigned, action(other_crew, order_action_kind::accept)).first ==
             "already_assigned");
  BOOST_TEST(outcome(assigned, action(crew, order_action_kind::pickup)).second == "picked_up");
  BOOST_TEST(outcome(assigned, action(other_crew, order_action_kind::pickup)).first == "forbidden");
  BOOST_TEST(outcome(assigned, action(staff, order_action_kind::pickup)).first == "forbidden");
  BOOST_TEST(outcome(assigned, action(other_customer, order_action_kind::pickup)).first ==
             "not_found");
  BOOST_TEST(outcome(assigned, action(crew, order_action_kind::deliver)).first ==
             "invalid_transition");
  BOOST_TEST(outcome(assigned, action(crew, order_action_kind::bought)).first == "");
  auto picked = order("picked_up", crew.user_id);
  BOOST_TEST(outcome(picked, action(crew, order_action_kind::deliver)).second == "delivered");
  BOOST_TEST(outcome(picked, action(crew, order_action_kind::pickup)).first ==
             "invalid_transition");
  picked.code_locked = true;
  BOOST_TEST(outcome(picked, action(crew, order_action_kind::deliver)).first == "code_locked");
  BOOST_TEST(
      outcome(order("delivered", crew.user_id), action(crew, order_action_kind::bought)).first ==
      "invalid_transition");
  BOOST_TEST(outcome(order("cancelled"), action(crew, order_action_kind::accept)).first ==
             "invalid_transition");
}

BOOST_AUTO_TEST_CASE(cancel_and_assign_by_role) {
  BOOST_TEST(outcome(order("pending"), action(customer, order_action_kind::cancel)).second ==
             "cancelled");
  BOOST_TEST(outcome(order("assigned", 3), action(customer, order_action_kind::cancel)).first ==
             "invalid_transition");
  BOOST_TEST(outcome(order("assigned", 3), action(staff, order_action_kind::cancel)).second ==
             "cancelled");
  BOOST_TEST(outcome(order("picked_up", 3), action(staff, order_action_kind::cancel)).first ==
             "invalid_transition");
  BOOST_TEST(outcome(order("pending"), action(other_customer, order_action_kind::cancel)).first ==
             "not_found");
  BOOST_TEST(outcome(order("pending"), action(owner_a, order_action_kind::cancel)).first ==
             "forbidden");
  BOOST_TEST(outcome(order("assigned", 3), action(crew, order_action_kind::cancel)).first ==
             "forbidden");
  BOOST_TEST(outcome(order("pending"), action(staff, order_action_kind::assign, 3)).second ==
             "assigned");
  BOOST_TEST(outcome(order("assigned", 3), action(staff, order_action_kind::assign, 4)).second ==
             "assigned");
  BOOST_TEST(outcome(order("assigned", 3), action(staff, order_action_kind::assign, 3)).first ==
             "already_assigned");
  BOOST_TEST(outcome(order("picked_up", 3), action(staff, order_action_kind::assign, 4)).first ==
             "invalid_transition");
  BOOST_TEST(outcome(order("pending"), action(crew, order_action_kind::assign, 3)).first ==
             "forbidden");
}

// Who cancels gives the reason; the note and the canceller go with it. The owner of the shop
// that requested a delivery may cancel it while it is pending, nothing else.
BOOST_AUTO_TEST_CASE(cancel_reason_follows_the_canceller_and_requesting_shops_may_cancel) {
  auto with_note = [](order_action a, std::string note) {
    a.note = std::move(note);
    return a;
  };
  auto by_customer = order_rules::decide(
      order("pending"), with_note(action(customer, order_action_kind::cancel), "changed my mind"));
  BOOST_REQUIRE(by_customer);
  BOOST_TEST(by_customer->cancel_reason == cancel_reason::customer);
  BOOST_TEST(by_customer->cancel_note == "changed my mind");
  BOOST_TEST(by_customer->cancelled_by == customer.user_id);
  auto by_staff =
      order_rules::decide(order("assigned", 3), action(staff, order_action_kind::cancel));
  BOOST_REQUIRE(by_staff);
  BOOST_TEST(by_staff->cancel_reason == cancel_reason::staff);
  BOOST_TEST(by_staff->cancel_note.empty());
  BOOST_TEST(by_staff->cancelled_by == staff.user_id);
  // Other actions record no cancellation.
  auto accepted = order_rules::decide(order("pending"), action(crew, order_action_kind::accept));
  BOOST_REQUIRE(accepted);
  BOOST_TEST(accepted->cancel_reason.empty());

  // A delivery request of owner_a's shop (its user is the owner, it has no lines).
  auto request = [](const std::string& status, int64_t crew_id = 0) {
    auto o = order(status, crew_id);
    o.type = "delivery_request";
    o.user_id = owner_a.user_id;
    o.requesting_shop_id = 100;
    o.requesting_owner_id = owner_a.user_id;
    o.items.clear();
    return o;
  };
  auto by_shop = order_rules::decide(
      request("pending"), with_note(action(owner_a, order_action_kind::cancel), "closed"));
  BOOST_REQUIRE(by_shop);
  BOOST_TEST(by_shop->to == order_status::cancelled);
  BOOST_TEST(by_shop->cancel_reason == cancel_reason::shop);
  BOOST_TEST(by_shop->cancel_note == "closed");
  BOOST_TEST(by_shop->cancelled_by == owner_a.user_id);
  BOOST_TEST(by_shop->returns_stock);
  BOOST_TEST(outcome(request("assigned", 3), action(owner_a, order_action_kind::cancel)).first ==
             "invalid_transition");
  // Another shop's request: not seen. A customer's order with the owner's lines: seen, not theirs.
  BOOST_TEST(outcome(request("pending"), action(owner_b, order_action_kind::cancel)).first ==
             "not_found");
  BOOST_TEST(outcome(order("pending"), action(owner_a, order_action_kind::cancel)).first ==
             "forbidden");
  BOOST_TEST(outcome(order("pending"), action(uninvolved_owner, order_action_kind::cancel)).first ==
             "not_found");
  BOOST_TEST(outcome(request("pending"), action(customer, order_action_kind::cancel)).first ==
             "not_found");
  auto staff_cancels_request =
      order_rules::decide(request("pending"), action(staff, order_action_kind::cancel));
  BOOST_REQUIRE(staff_cancels_request);
  BOOST_TEST(staff_cancels_request->cancel_reason == cancel_reason::staff);
}

// The system's cancel (the dispatcher, for an order pending past pending_expiry_s): no_crew, by
// nobody, without a note, stock returned; only while pending — a crew or staff that took the
// order first wins. No user's caller ever produces no_crew, nor passes as the system.
BOOST_AUTO_TEST_CASE(the_system_cancels_only_pending_orders_and_only_it_gives_no_crew) {
  auto with_note = [](order_action a, std::string note) {
    a.note = std::move(note);
    return a;
  };
  auto request = [](const std::string& status) {  // a delivery request of owner_a's shop
    auto o = order(status);
    o.type = "delivery_request";
    o.user_id = owner_a.user_id;
    o.requesting_shop_id = 100;
    o.requesting_owner_id = owner_a.user_id;
    o.items.clear();
    return o;
  };
  auto system = caller::system();
  BOOST_TEST(system.is_system());
  BOOST_TEST(system.user_id == 0);
  auto expired = order_rules::decide(order("pending"),
                                     with_note(action(system, order_action_kind::cancel), "x"));
  BOOST_REQUIRE(expired);
  BOOST_TEST((expired->what == effect::transition));
  BOOST_TEST(expired->to == order_status::cancelled);
  BOOST_TEST(expired->cancel_reason == cancel_reason::no_crew);
  BOOST_TEST(expired->cancelled_by == 0);
  BOOST_TEST(expired->cancel_note.empty());
  BOOST_TEST(expired->returns_stock);
  BOOST_TEST(!expired->claims_crew_slot);
  auto request_expired =
      order_rules::decide(request("pending"), action(system, order_action_kind::cancel));
  BOOST_REQUIRE(request_expired);
  BOOST_TEST(request_expired->cancel_reason == cancel_reason::no_crew);
  for (auto status : {"assigned", "picked_up", "delivered", "cancelled"})
    BOOST_TEST(outcome(order(status, 3), action(system, order_action_kind::cancel)).first ==
                   "invalid_transition",
               status);
  // The system only cancels: any other action is refused (it sees no order as a user would).
  BOOST_TEST(!order_rules::decide(order("pending"), action(system, order_action_kind::accept)));
  BOOST_TEST(!order_rules::decide(order("pending"), action(system, order_action_kind::assign, 3)));
  // Every user who may cancel gets their own reason, never no_crew.
  for (auto& who : {customer, staff}) {
    auto d = order_rules::decide(order("pending"), action(who, order_action_kind::cancel));
    BOOST_REQUIRE(d);
    BOOST_TEST(d->cancel_reason != cancel_reason::no_crew);
    BOOST_TEST(d->cancelled_by == who.user_id);
  }
  auto by_shop =
      order_rules::decide(request("pending"), action(owner_a, order_action_kind::cancel));
  BOOST_REQUIRE(by_shop);
  BOOST_TEST(by_shop->cancel_reason == cancel_reason::shop);
  // The system role with a user id is not the system: refused, like any stranger.
  const caller impostor{7, roles::system};
  BOOST_TEST(!impostor.is_system());
  auto d = order_rules::decide(order("pending"), action(impostor, order_action_kind::cancel));
  BOOST_TEST(!d);
  const caller unknown_role{1, "no_crew"};
  BOOST_TEST(
      !order_rules::decide(order("pending"), action(unknown_role, order_action_kind::cancel)));
}

// The whole outcome, side effects included: what the order actor writes and whom it tells.
BOOST_AUTO_TEST_CASE(outcomes_carry_every_side_effect) {
  auto pending = order("pending");
  auto accepted = order_rules::decide(pending, action(crew, order_action_kind::accept));
  BOOST_REQUIRE(accepted);
  BOOST_TEST((accepted->what == effect::transition));
  BOOST_TEST(accepted->claims_crew_slot);
  BOOST_TEST(!accepted->returns_stock);
  auto assigned_by_staff =
      order_rules::decide(pending, action(staff, order_action_kind::assign, 4));
  BOOST_REQUIRE(assigned_by_staff);
  BOOST_TEST(assigned_by_staff->claims_crew_slot);
  BOOST_TEST(assigned_by_staff->crew_id == 4);

  auto cancelled = order_rules::decide(pending, action(customer, order_action_kind::cancel));
  BOOST_REQUIRE(cancelled);
  BOOST_TEST(cancelled->returns_stock);
  BOOST_TEST(!cancelled->claims_crew_slot);

  auto assigned = order("assigned", crew.user_id);
  auto bought = order_rules::decide(assigned, action(crew, order_action_kind::bought));
  BOOST_REQUIRE(bought);
  BOOST_TEST((bought->what == effect::mark_bought));
  BOOST_TEST(bought->item_id == 1);
  assigned.items[0].is_bought = true;
  auto again = order_rules::decide(assigned, action(crew, order_action_kind::bought));
  BOOST_REQUIRE(again);
  BOOST_TEST((again->what == effect::unchanged));  // answered with the order, nothing written
  BOOST_TEST(outcome(assigned, with_item(action(crew, order_action_kind::bought), 99)).first ==
             "not_found");

  auto picked = order("picked_up", crew.user_id);
  auto delivered = order_rules::decide(picked, action(crew, order_action_kind::deliver));
  BOOST_REQUIRE(delivered);
  BOOST_TEST(delivered->to == "delivered");
  BOOST_TEST(delivered->pays_crew);
  BOOST_TEST(!delivered->answer.has_value());

  auto wrong =
      order_rules::decide(picked, with_code(action(crew, order_action_kind::deliver), "1"));
  BOOST_REQUIRE(wrong);
  BOOST_TEST((wrong->what == effect::record_wrong_code));
  BOOST_TEST(wrong->wrong_codes == 1);
  BOOST_TEST(!wrong->lock);
  BOOST_REQUIRE(wrong->answer.has_value());
  BOOST_TEST(wrong->answer->status == 400);
  BOOST_TEST(wrong->answer->code == "invalid_code");
  BOOST_TEST(wrong->answer->extra["attempts_left"] == order_rules::max_wrong_codes - 1);
  picked.wrong_code_count = order_rules::max_wrong_codes - 1;
  auto last = order_rules::decide(picked, with_code(action(crew, order_action_kind::deliver), ""));
  BOOST_REQUIRE(last);
  BOOST_TEST(last->lock);
  BOOST_TEST(last->answer->extra["attempts_left"] == 0);

  picked.code_locked = true;
  auto unlocked = order_rules::decide(picked, action(staff, order_action_kind::unlock));
  BOOST_REQUIRE(unlocked);
  BOOST_TEST((unlocked->what == effect::unlock_code));
  BOOST_TEST(outcome(picked, action(crew, order_action_kind::unlock)).first == "forbidden");
}

BOOST_AUTO_TEST_CASE(each_caller_sees_what_api_md_allows) {
  auto o = order("assigned", crew.user_id);
  BOOST_TEST(order_rules::may_see(o, customer));
  BOOST_TEST(!order_rules::may_see(o, other_customer));
  BOOST_TEST(order_rules::may_see(o, crew));
  BOOST_TEST(!order_rules::may_see(o, other_crew));
  BOOST_TEST(order_rules::may_see(o, owner_a));
  BOOST_TEST(!order_rules::may_see(o, uninvolved_owner));
  BOOST_TEST(order_rules::may_see(o, staff));
  BOOST_TEST(!order_rules::may_see(o, caller{}));

  auto mine = order_rules::view_for(o, customer);
  BOOST_TEST(mine.code == "12345678");
  BOOST_TEST(mine.items.size() == 2u);
  BOOST_TEST(mine.items[0].unit_cost.cents == 0);  // costs are not for customers
  auto as_crew = order_rules::view_for(o, crew);
  BOOST_TEST(as_crew.code.empty());
  BOOST_TEST(!as_crew.code_visible);
  auto as_b = order_rules::view_for(o, owner_b);
  BOOST_TEST(as_b.code.empty());
  BOOST_TEST(as_b.items.size() == 1u);
  BOOST_TEST(as_b.items[0].shop_id == 200);
  BOOST_TEST(as_b.items_total.str() == "7.00");
  BOOST_TEST(as_b.total.str() == "17.00");
  BOOST_TEST(order_rules::view_for(o, staff).code == "12345678");

  // A delivery request: the requesting owner sees the code.
  order_record request = order("pending");
  request.type = "delivery_request";
  request.items.clear();
  request.user_id = owner_a.user_id;
  request.requesting_owner_id = owner_a.user_id;
  BOOST_TEST(order_rules::may_see(request, owner_a));
  BOOST_TEST(order_rules::view_for(request, owner_a).code == "12345678");
  BOOST_TEST(!order_rules::may_see(request, owner_b));
}

BOOST_AUTO_TEST_CASE(each_caller_lists_the_orders_it_may_see) {
  using kind = order_scope::kind;
  struct row {
    caller who;
    kind what;
    int64_t user_id;
  };
  // The scope of GET /orders, a table: persistence turns each kind into its WHERE clause.
  for (auto& r : std::vector<row>{{customer, kind::own, customer.user_id},
                                  {crew, kind::assigned, crew.user_id},
                                  {owner_a, kind::owned_shops, owner_a.user_id},
                                  {staff, kind::all, staff.user_id},
                                  {caller{}, kind::none, 0},
                                  {caller{0, roles::staff}, kind::none, 0},
                                  {caller{8, "robot"}, kind::none, 0}}) {
    auto scope = order_rules::listing_scope(r.who);
    BOOST_TEST(static_cast<int>(scope.what) == static_cast<int>(r.what), r.who.role);
    BOOST_TEST(scope.user_id == r.user_id, r.who.role);
  }

  // Listing and reading agree: an order is in a caller's scope exactly when they may see it.
  auto o = order("assigned", crew.user_id);
  order_record request = order("pending");
  request.type = "delivery_request";
  request.items.clear();
  request.user_id = owner_a.user_id;
  request.requesting_owner_id = owner_a.user_id;
  for (auto& who : {customer, other_customer, crew, other_crew, owner_a, owner_b, uninvolved_owner,
                    staff, caller{}})
    for (auto& x : {o, request})
      BOOST_TEST(
          order_rules::in_scope(x, order_rules::listing_scope(who)) == order_rules::may_see(x, who),
          who.role << " " << who.user_id);
  BOOST_TEST(order_rules::in_scope(request, order_rules::listing_scope(owner_a)));
  BOOST_TEST(!order_rules::in_scope(request, order_rules::listing_scope(owner_b)));
  BOOST_TEST(order_rules::in_scope(o, order_rules::listing_scope(owner_b)));  // a line of theirs
  BOOST_TEST(!order_rules::in_scope(o, order_rules::listing_scope(uninvolved_owner)));
}

BOOST_AUTO_TEST_CASE(final_statuses_have_one_definition) {
  for (const char* status : order_status::all)
    BOOST_TEST(order_status::is_final(status) == (std::string(status) == order_status::delivered ||
                                                  std::string(status) == order_status::cancelled),
               status);
}

BOOST_AUTO_TEST_SUITE_END()
