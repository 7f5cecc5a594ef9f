// The order actor without a database, on the deterministic scheduler: persistence is a fake
// keyed by command builders whose handlers keep a row per order as PostgreSQL would (a
// transition commits only from the status and crew it names), the crew is the real crew actor,
// and published events are recorded.
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <map>
#include <memory>

#include "actors/crew.hpp"
#include "actors/order.hpp"
#include "actors/registry.hpp"
#include "persistence/crews.hpp"
#include "persistence/orders.hpp"
#include "protocols/clock.hpp"
#include "protocols/entity_interfaces.hpp"
#include "protocols/errors.hpp"
#include "protocols/orders.hpp"
#include "tests/support/coordinated_system.hpp"
#include "tests/support/fake_persistence.hpp"

using namespace wassally;
using namespace std::chrono_literals;

namespace {

const caller customer{10, roles::customer};
const caller crew_member{20, roles::delivery_crew};
const caller other_crew{21, roles::delivery_crew};
const caller staff{1, roles::staff};
const std::string right_code = "12345678";
constexpr int64_t product = 500;
constexpr int64_t shop = 3;

/// Every order action of this file is built here (one place to follow order_action's fields).
order_action action(const caller& who, order_action_kind kind, const std::string& code = {},
                    int64_t crew_id = 0) {
  order_action a;
  a.who = who;
  a.action = kind;
  a.code = code;
  a.crew_id = crew_id;
  return a;
}

struct order_fixture {
  test::coordinated_system cs;
  test::fake_persistence db{cs.sys()};
  test::event_recorder bus{cs};
  std::shared_ptr<order_actor_counters> counters = std::make_shared<order_actor_counters>();
  // What PostgreSQL holds: one row (with its events) per order, one per crew.
  std::map<int64_t, order_snapshot> rows;
  std::map<int64_t, crew_record> crews;
  caf::actor registry;

  order_fixture() {
    db.on<orders_sql::load>([this](int64_t id) -> caf::expected<order_snapshot> {
      auto it = rows.find(id);
      if (it == rows.end()) return to_caf_error(errors::not_found("no such order"));
      return it->second;
    });
    db.on<orders_sql::apply>(
        [this](const orders_sql::transition& t) -> caf::expected<order_transitioned> {
          auto& row = rows.at(t.order_id);
          auto& o = row.order;
          if (o.status != t.from || o.crew_id != t.from_crew_id)
            return to_caf_error(
                errors::conflict("invalid_transition", "the order changed meanwhile"));
          o.status = t.to;
          o.crew_id = t.to == order_status::pending ? 0 : (t.crew_id ? t.crew_id : o.crew_id);
          order_event e{t.seq, t.to, "2026-12-06T08:00:00Z", t.crew_id, t.by_user_id, {}, {}, 0};
          e.cancel_reason = t.cancel_reason;
          e.cancel_note = t.cancel_note;
          e.cancelled_by = t.cancelled_by;
          if (t.to == order_status::cancelled) {
            o.cancel_reason = t.cancel_reason;
            o.cancel_note = t.cancel_note;
            o.cancelled_by = t.cancelled_by;
          }
          row.events.push_back(e);
          order_transitioned out;
          out.event = e;
          for (auto& l : t.returned) out.stock_moves.push_back({l.product_id, l.amount, 2});
          return out;
        });
    db.on<orders_sql::record_wrong_code>([this](int64_t id, int count, bool locked) {
      rows.at(id).order.wrong_code_count = count;
      rows.at(id).order.code_locked = locked;
      return done{};
    });
    db.on<orders_sql::unlock_code>([this](int64_t id) {
      rows.at(id).order.wrong_code_count = 0;
      rows.at(id).order.code_locked = false;
      return done{};
    });
    db.on<orders_sql::mark_bought>([this](int64_t id, int64_t item) {
      for (auto& i : rows.at(id).order.items)
        if (i.id == item) i.is_bought = true;
      return done{};
    });
    db.on<crews_sql::save_status>([](int64_t, const std::string&) { return done{}; });
    db.on<crews_sql::load>([this](int64_t id) -> caf::expected<crew_record> {
      auto it = crews.find(id);
      if (it == crews.end()) return to_caf_error(errors::not_found("not a crew"));
      return it->second;
    });
    for (auto id : {crew_member.user_id, other_crew.user_id}) {
      crew_record c;
      c.user_id = id;
      c.status = crew_status::available;
      crews[id] = c;
    }
    rows[1] = an_order(1);
    crew_options copts;
    copts.max_orders = 3;
    copts.idle = 60s;
    copts.db_timeout = 5s;
    registry = spawn_registry(
        cs.sys(),
        {{entity_kind::order, order_factory(db.actor(), bus.actor(), 60s, 5s, counters)},
         {entity_kind::crew, crew_factory(db.actor(), caf::actor{}, bus.actor(), copts)}});
    cs.stop_at_end(registry);
  }

  static order_snapshot an_order(int64_t id) {
    order_snapshot s;
    s.order.id = id;
    s.order.user_id = customer.user_id;
    s.order.code = right_code;
    s.order.coins = 10;
    order_item i;
    i.id = 11;
    i.product_id = product;
    i.shop_id = shop;
    i.amount = *quantity::parse("2");
    s.order.items.push_back(i);
    s.events.push_back(
        {1, order_status::pending, "2026-12-06T07:00:00Z", 0, customer.user_id, {}, {}, 0});
    return s;
  }

  /// Every entity this file addresses is named here.
  entity_ref<order_actor> order(int64_t id = 1) { return order_ref(registry, id); }
  entity_ref<crew_actor> crew(int64_t id) { return crew_ref(registry, id); }

  /// Asks order 1 to do `a` (caller timeout 30 s) and runs until nothing moves.
  test::reply<order_record> act(const order_action& a, caf::timespan timeout = 30s) {
    auto r = cs.ask(order(), timeout, a);
    cs.run();
    return r;
  }
  order_record current() {
    auto r = cs.ask(order(), 30s, get_order{staff});
    cs.run();
    return r.value();
  }
  /// Puts order 1, in the database, in `status` with crew 20 (before the actor loads it).
  void stored_as(const std::string& status) {
    rows[1].order.status = status;
    rows[1].order.crew_id = crew_member.user_id;
    rows[1].events.push_back({2, order_status::assigned, "", crew_member.user_id, 20, {}, {}, 0});
    if (status == order_status::picked_up)
      rows[1].events.push_back(
          {3, order_status::picked_up, "", crew_member.user_id, 20, {}, {}, 0});
    crews[crew_member.user_id].current_order_ids = {1};
  }
  std::vector<order_status_changed> published() { return bus.all<order_status_changed>(); }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(order_actor, order_fixture)

BOOST_AUTO_TEST_CASE(an_action_is_answered_only_after_its_commit_then_published) {
  db.hold_next<orders_sql::apply>();
  auto r = act(action(crew_member, order_action_kind::accept));
  BOOST_TEST(!r.answered());  // persist before acknowledge
  BOOST_TEST(db.held<orders_sql::apply>() == 1u);
  BOOST_TEST(published().empty());
  db.release<orders_sql::apply>();
  cs.run();
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r.value().status == order_status::assigned);
  BOOST_TEST(r.value().crew_id == crew_member.user_id);
  BOOST_TEST(rows[1].order.status == order_status::assigned);
  BOOST_TEST_REQUIRE(published().size() == 1u);
  BOOST_TEST(published()[0].event.seq == 2);
  BOOST_TEST(published()[0].event.status == order_status::assigned);
  // The crew now holds the order: its slot was claimed and, after the commit, kept.
  auto status = cs.ask(crew(crew_member.user_id), 5s, set_crew_status{crew_status::available});
  cs.run();
  BOOST_TEST(status.value().current_order_ids == std::vector<int64_t>{1});
}

BOOST_AUTO_TEST_CASE(an_action_refused_by_postgres_is_decided_again_on_the_reloaded_order) {
  current();  // live, loaded as pending
  BOOST_TEST(db.count<orders_sql::load>() == 1);
  // Another node's crew took the order meanwhile: the row says assigned to crew 21.
  rows[1].order.status = order_status::assigned;
  rows[1].order.crew_id = other_crew.user_id;
  rows[1].events.push_back({2, order_status::assigned, "", other_crew.user_id, 21, {}, {}, 0});
  auto r = act(action(crew_member, order_action_kind::accept));
  BOOST_TEST(db.count<orders_sql::apply>() == 1);  // refused by the conditional update
  BOOST_TEST(db.count<orders_sql::load>() == 2);   // reloaded
  BOOST_TEST(counters->reloads == 1);
  BOOST_TEST(r.error().code == "already_assigned");  // as the reloaded order decides
  BOOST_TEST(current().crew_id == other_crew.user_id);
  // The change it had missed is published, as a commit heard of would have been.
  BOOST_TEST_REQUIRE(published().size() == 1u);
  BOOST_TEST(published()[0].event.crew_id == other_crew.user_id);
  // The crew's claimed slot was given back (the row does not name it).
  auto st = cs.ask(crew(crew_member.user_id), 5s, set_crew_status{crew_status::available});
  cs.run();
  BOOST_TEST(st.value().current_order_ids.empty());
}

BOOST_AUTO_TEST_CASE(a_refusal_of_an_unchanged_row_reloads_and_then_commits) {
  current();
  db.refuse_next<orders_sql::apply>(errors::conflict("invalid_transition", "changed"));
  auto r = act(action(customer, order_action_kind::cancel));
  BOOST_TEST(db.count<orders_sql::load>() == 2);
  BOOST_TEST(db.count<orders_sql::apply>() == 2);  // decided again: still legal, committed
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r.value().status == order_status::cancelled);
  BOOST_TEST(rows[1].order.status == order_status::cancelled);
}

// The cancellation's reason, note and canceller reach the row, the event, the answer and the
// actor's memory alike, so a reload finds what memory holds.
BOOST_AUTO_TEST_CASE(a_cancellation_records_its_reason_note_and_canceller) {
  current();
  auto a = action(customer, order_action_kind::cancel);
  a.note = "changed my mind";
  auto r = act(a);
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r.value().cancel_reason == cancel_reason::customer);
  BOOST_TEST(r.value().cancel_note == "changed my mind");
  BOOST_TEST(r.value().cancelled_by == customer.user_id);
  BOOST_TEST(rows[1].order.cancel_reason == cancel_reason::customer);
  BOOST_TEST_REQUIRE(rows[1].events.size() == 2u);
  BOOST_TEST(rows[1].events.back().cancel_note == "changed my mind");
  BOOST_TEST(rows[1].events.back().cancelled_by == customer.user_id);
  auto now = current();
  BOOST_TEST(now.cancel_reason == cancel_reason::customer);
  BOOST_TEST(now.cancel_note == "changed my mind");
  BOOST_TEST(now.cancelled_by == customer.user_id);
}

BOOST_AUTO_TEST_CASE(a_write_that_did_not_run_is_answered_without_reloading) {
  current();
  db.refuse_next<orders_sql::apply>(errors::unavailable());
  auto r = act(action(customer, order_action_kind::cancel));
  BOOST_TEST(r.error().status == 503);
  BOOST_TEST(db.count<orders_sql::load>() == 1);
  BOOST_TEST(current().status == order_status::pending);
  BOOST_TEST(published().empty());
}

BOOST_AUTO_TEST_CASE(a_late_commit_is_applied_and_published_after_the_caller_gave_up) {
  current();
  db.hold_next<orders_sql::apply>();
  auto r = act(action(crew_member, order_action_kind::accept), 2s);
  cs.advance_time(3s);
  BOOST_TEST(r.error().code == "timeout");  // the caller's own deadline
  // Past the order's database timeout too: a write is finished by its outcome, not patience.
  cs.advance_time(10s);
  BOOST_TEST(db.count<orders_sql::apply>() == 1);
  BOOST_TEST(published().empty());
  db.release<orders_sql::apply>();  // the commit lands, late
  cs.run();
  BOOST_TEST(current().status == order_status::assigned);
  BOOST_TEST(current().crew_id == crew_member.user_id);
  BOOST_TEST_REQUIRE(published().size() == 1u);
  BOOST_TEST(published()[0].event.status == order_status::assigned);
  // Nothing was reloaded: the outcome was heard of.
  BOOST_TEST(db.count<orders_sql::load>() == 1);
  // And the crew kept its slot.
  auto st = cs.ask(crew(crew_member.user_id), 5s, set_crew_status{crew_status::available});
  cs.run();
  BOOST_TEST(st.value().current_order_ids == std::vector<int64_t>{1});
}

BOOST_AUTO_TEST_CASE(messages_wait_while_a_write_is_in_flight) {
  current();
  db.hold_next<orders_sql::apply>();
  auto accept = act(action(crew_member, order_action_kind::accept));
  auto cancel = act(action(customer, order_action_kind::cancel));
  BOOST_TEST(!cancel.answered());  // decided only once the accept's outcome is known
  db.release<orders_sql::apply>();
  cs.run();
  BOOST_TEST(accept.ok());
  BOOST_TEST(cancel.error().code == "invalid_transition");  // a customer cancels only pending
  BOOST_TEST(db.count<orders_sql::apply>() == 1);
}

BOOST_AUTO_TEST_CASE(a_read_timeout_is_answered_as_an_error_and_the_next_message_retries) {
  db.hold_next<orders_sql::load>();
  auto r = cs.ask(order(), 60s, get_order{customer});
  cs.run();
  BOOST_TEST(!r.answered());
  cs.advance_time(5s);  // the order's database timeout, well before the caller's
  BOOST_TEST(r.error().status == 504);
  BOOST_TEST(r.error().code == "timeout");
  // The failed activation left; the next message loads the order afresh.
  auto again = cs.ask(order(), 60s, get_order{customer});
  cs.run();
  BOOST_TEST_REQUIRE(again.ok());
  BOOST_TEST(again.value().id == 1);
  BOOST_TEST(db.count<orders_sql::load>() == 2);
}

BOOST_AUTO_TEST_CASE(wrong_codes_lock_delivery_until_staff_unlock_it) {
  stored_as(order_status::picked_up);
  for (int i = 1; i <= 5; ++i) {
    auto r = act(action(crew_member, order_action_kind::deliver, "00000000"));
    BOOST_TEST(r.error().code == "invalid_code");
    BOOST_TEST(r.error().extra.at("attempts_left") == 5 - i);
  }
  BOOST_TEST(rows[1].order.wrong_code_count == 5);
  BOOST_TEST(rows[1].order.code_locked);
  // Locked: even the right code is refused, and nothing is written.
  auto locked = act(action(crew_member, order_action_kind::deliver, right_code));
  BOOST_TEST(locked.error().code == "code_locked");
  BOOST_TEST(db.count<orders_sql::record_wrong_code>() == 5);
  BOOST_TEST(db.count<orders_sql::apply>() == 0);
  // Only staff unlock.
  BOOST_TEST(act(action(crew_member, order_action_kind::unlock)).error().status == 403);
  BOOST_TEST_REQUIRE(act(action(staff, order_action_kind::unlock)).ok());
  BOOST_TEST(!rows[1].order.code_locked);
  auto delivered = act(action(crew_member, order_action_kind::deliver, right_code));
  BOOST_TEST_REQUIRE(delivered.ok());
  BOOST_TEST(delivered.value().status == order_status::delivered);
  BOOST_TEST(rows[1].order.status == order_status::delivered);
}

BOOST_AUTO_TEST_CASE(a_lock_write_refused_by_postgres_reloads_before_answering) {
  stored_as(order_status::picked_up);
  current();
  // Wrong codes were recorded through another node meanwhile (the row says 3): ours is
  // refused, the actor reloads and decides the wrong code again from the reloaded count.
  rows[1].order.wrong_code_count = 3;
  db.refuse_next<orders_sql::record_wrong_code>(errors::conflict("invalid_transition", "changed"));
  auto r = act(action(crew_member, order_action_kind::deliver, "00000000"));
  BOOST_TEST(db.count<orders_sql::load>() == 2);
  BOOST_TEST(r.error().code == "invalid_code");
  BOOST_TEST(r.error().extra.at("attempts_left") == 1);  // 5 - (3 + 1)
  BOOST_TEST(rows[1].order.wrong_code_count == 4);
}

BOOST_AUTO_TEST_CASE(delivery_pays_the_crew_and_a_delivered_order_passivates_when_idle) {
  stored_as(order_status::picked_up);
  auto r = act(action(crew_member, order_action_kind::deliver, right_code));
  BOOST_TEST_REQUIRE(r.ok());
  auto c = cs.ask(crew(crew_member.user_id), 5s, set_crew_status{crew_status::available});
  cs.run();
  BOOST_TEST(c.value().coins == 10);
  BOOST_TEST(c.value().number_of_deliveries == 1);
  BOOST_TEST(c.value().current_order_ids.empty());
  auto live = [&] {
    auto s = cs.ask<registry_stats>(registry, 5s, stats_atom::value);
    cs.run();
    for (auto& k : s.value().kinds)
      if (k.kind == "order") return k.live;
    return int64_t{-1};
  };
  BOOST_TEST(live() == 1);
  cs.advance_time(59s);
  BOOST_TEST(live() == 1);
  cs.advance_time(2s);  // past the idle timeout: final, so it leaves
  BOOST_TEST(live() == 0);
}

BOOST_AUTO_TEST_CASE(an_open_order_stays_live_when_idle) {
  current();
  cs.advance_time(10min);
  auto s = cs.ask<registry_stats>(registry, 5s, stats_atom::value);
  cs.run();
  int64_t live = -1;
  for (auto& k : s.value().kinds)
    if (k.kind == "order") live = k.live;
  BOOST_TEST(live == 1);
  BOOST_TEST(db.count<orders_sql::load>() == 1);
}

BOOST_AUTO_TEST_CASE(staff_reassigning_an_order_moves_it_between_crews_after_commit) {
  stored_as(order_status::assigned);
  auto r = act(action(staff, order_action_kind::assign, {}, other_crew.user_id));
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r.value().crew_id == other_crew.user_id);
  BOOST_TEST(rows[1].order.crew_id == other_crew.user_id);
  auto holding = [&](int64_t crew_id) {
    auto c = cs.ask(crew(crew_id), 5s, set_crew_status{crew_status::available});
    cs.run();
    return c.value().current_order_ids;
  };
  BOOST_TEST(holding(crew_member.user_id).empty());  // told it no longer holds the order
  BOOST_TEST(holding(other_crew.user_id) == std::vector<int64_t>{1});
  BOOST_TEST_REQUIRE(published().size() == 1u);
  BOOST_TEST(published()[0].event.crew_id == other_crew.user_id);
}

BOOST_AUTO_TEST_CASE(a_crew_at_its_limit_cannot_take_the_order_and_nothing_is_written) {
  crews[crew_member.user_id].current_order_ids = {7, 8, 9};
  auto r = act(action(crew_member, order_action_kind::accept));
  BOOST_TEST(r.error().code == "crew_busy");
  BOOST_TEST(db.count<orders_sql::apply>() == 0);
  BOOST_TEST(current().status == order_status::pending);
}

// The eta (eta_rules) needs the order's stops, read without blocking: a failed read leaves it
// null and is tried again on the next trigger; a line bought drops its shop from the route.
// Distances along the meridian 31°: 0.1° takes 2081.57 s at 25 km/h × 1.3.
BOOST_AUTO_TEST_CASE(the_eta_reads_its_stops_and_follows_the_crew_and_the_lines) {
  constexpr int64_t now = 1'800'000'000;
  struct clock_guard {
    clock_guard() { service_clock::set_now(now); }
    ~clock_guard() { service_clock::reset(); }
  } clock;
  stored_as(order_status::assigned);
  auto& o = rows[1].order;
  o.created_at = "2026-01-01T00:00:00Z";  // long prepared
  o.location.latitude = 29.9;
  o.location.longitude = 31.0;
  o.crew_location = {true, 30.0, 31.0, "2026-12-06T08:00:00Z"};
  db.on<orders_sql::stops>([](int64_t) { return order_stops{{{shop, 30.1, 31.0, 10}}}; });
  db.refuse_next<orders_sql::stops>(errors::unavailable());
  BOOST_TEST(current().eta.empty());  // the read failed
  BOOST_TEST(bus.all<order_eta_changed>().empty());

  // The crew moves a little: the stops are read again; crew → shop → customer is 0.1 + 0.2°.
  cs.tell(order(), crew_moved{crew_member.user_id, {true, 30.0, 31.0, "2026-12-06T08:00:05Z"}});
  cs.run();
  BOOST_TEST(db.count<orders_sql::stops>() == 2);
  auto expected = service_clock::format_iso(now + 6245);
  BOOST_TEST(current().eta == expected);
  auto events = bus.all<order_eta_changed>();
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST(events[0].order_id == 1);
  BOOST_TEST(events[0].eta == expected);

  // The shop's only line bought: straight to the customer, 0.1°; its event waits for the
  // window (crew_location_every, 5 s here) to end.
  auto bought = action(crew_member, order_action_kind::bought);
  bought.item_id = 11;
  BOOST_TEST_REQUIRE(act(bought).ok());
  BOOST_TEST(current().eta == service_clock::format_iso(now + 2082));
  BOOST_TEST(bus.all<order_eta_changed>().size() == 1u);
  BOOST_TEST(db.count<orders_sql::stops>() == 2);  // read once

  // Picked up: still straight to the customer. Delivered: no eta.
  BOOST_TEST_REQUIRE(act(action(crew_member, order_action_kind::pickup)).ok());
  BOOST_TEST(current().eta == service_clock::format_iso(now + 2082));
  BOOST_TEST_REQUIRE(act(action(crew_member, order_action_kind::deliver, right_code)).ok());
  BOOST_TEST(current().eta.empty());
}

BOOST_AUTO_TEST_SUITE_END()
