// The fake persistence itself (tests/support/fake_persistence.hpp): it recognises a command by
// the function that built it, hands the handler the builder's own arguments, refuses, holds and
// counts — the actor suites rely on each of these.
#include "tests/support/fake_persistence.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <utility>
#include <vector>

#include "persistence/crews.hpp"
#include "persistence/orders.hpp"
#include "tests/support/coordinated_system.hpp"

using namespace wassally;
using namespace std::chrono_literals;

namespace {

struct fake_fixture {
  test::coordinated_system cs;
  test::fake_persistence db{cs.sys()};

  /// Sends `cmd` to the fake as an entity actor would.
  template <class Reply, class Timeout = caf::infinite_t>
  test::reply<Reply> send(db_command cmd, Timeout timeout = caf::infinite) {
    return cs.ask<Reply>(db.actor(), timeout, std::move(cmd));
  }
};

orders_sql::transition accept_of(int64_t order, int64_t crew) {
  orders_sql::transition t;
  t.order_id = order;
  t.from = order_status::pending;
  t.to = order_status::assigned;
  t.crew_id = crew;
  t.seq = 2;
  return t;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(fake_persistence, fake_fixture)

BOOST_AUTO_TEST_CASE(a_command_is_answered_by_the_handler_of_its_builder) {
  orders_sql::transition seen;
  db.on<orders_sql::apply>([&](const orders_sql::transition& t) {
    seen = t;
    order_transitioned out;
    out.event.seq = t.seq;
    out.event.status = t.to;
    out.event.crew_id = t.crew_id;
    return out;
  });
  db.on<orders_sql::unlock_code>([](int64_t) { return done{}; });
  auto r = send<order_transitioned>(orders_sql::apply(accept_of(7, 20)));
  cs.run();
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r.value().event.status == order_status::assigned);
  BOOST_TEST(r.value().event.crew_id == 20);
  // The handler got the builder's argument, whole.
  BOOST_TEST(seen.order_id == 7);
  BOOST_TEST(seen.seq == 2);
  BOOST_TEST(db.count<orders_sql::apply>() == 1);
  BOOST_TEST(db.count<orders_sql::unlock_code>() == 0);
  BOOST_TEST(db.total() == 1);
  BOOST_TEST(db.unhandled().empty());
}

BOOST_AUTO_TEST_CASE(builders_with_several_arguments_get_them_all_in_order) {
  std::tuple<int64_t, double, double, int64_t> seen;
  db.on<crews_sql::save_location>([&](int64_t crew, double lat, double lon, int64_t at) {
    seen = {crew, lat, lon, at};
    return done{};
  });
  auto r = send<done>(crews_sql::save_location(20, 30.5, 31.25, 1700000000));
  cs.run();
  BOOST_TEST(r.ok());
  BOOST_TEST(std::get<0>(seen) == 20);
  BOOST_TEST(std::get<1>(seen) == 30.5);
  BOOST_TEST(std::get<2>(seen) == 31.25);
  BOOST_TEST(std::get<3>(seen) == 1700000000);
}

BOOST_AUTO_TEST_CASE(a_handler_may_answer_an_error) {
  db.on<orders_sql::unlock_code>([](int64_t id) -> caf::expected<done> {
    if (id == 1) return done{};
    return to_caf_error(errors::not_found("no such order"));
  });
  auto ok = send<done>(orders_sql::unlock_code(1));
  auto missing = send<done>(orders_sql::unlock_code(2));
  cs.run();
  BOOST_TEST(ok.ok());
  BOOST_TEST(missing.error().status == 404);
}

BOOST_AUTO_TEST_CASE(refusals_come_first_once_or_every_time) {
  db.on<orders_sql::unlock_code>([](int64_t) { return done{}; });
  db.refuse_next<orders_sql::unlock_code>(errors::conflict("invalid_transition", "changed"));
  auto refused = send<done>(orders_sql::unlock_code(1));
  auto then_ok = send<done>(orders_sql::unlock_code(1));
  cs.run();
  BOOST_TEST(refused.error().status == 409);
  BOOST_TEST(refused.error().code == "invalid_transition");
  BOOST_TEST(then_ok.ok());

  db.refuse_every<orders_sql::unlock_code>(errors::unavailable());
  auto a = send<done>(orders_sql::unlock_code(1));
  auto b = send<done>(orders_sql::unlock_code(1));
  cs.run();
  BOOST_TEST(a.error().status == 503);
  BOOST_TEST(b.error().status == 503);
  db.refuse_none<orders_sql::unlock_code>();
  auto c = send<done>(orders_sql::unlock_code(1));
  cs.run();
  BOOST_TEST(c.ok());
  BOOST_TEST(db.count<orders_sql::unlock_code>() == 5);
}

BOOST_AUTO_TEST_CASE(a_held_command_is_answered_only_when_released) {
  int state = 1;
  std::vector<std::pair<int64_t, int>> seen;  // (order, state) as each answer was computed
  db.on<orders_sql::unlock_code>([&](int64_t id) {
    seen.emplace_back(id, state);
    return done{};
  });
  db.hold_next<orders_sql::unlock_code>();
  auto late = send<done>(orders_sql::unlock_code(9));
  auto impatient = send<done>(orders_sql::unlock_code(8), 1s);  // not held: answered at once
  cs.run();
  BOOST_TEST(!late.answered());
  BOOST_TEST(impatient.answered());
  BOOST_TEST(db.held<orders_sql::unlock_code>() == 1u);
  BOOST_TEST(db.held_command<orders_sql::unlock_code>().args.get_as<int64_t>(0) == 9);
  cs.advance_time(std::chrono::hours(1));
  BOOST_TEST(!late.answered());
  state = 2;
  db.release<orders_sql::unlock_code>();
  cs.run();
  BOOST_TEST(late.ok());
  BOOST_TEST(db.held<orders_sql::unlock_code>() == 0u);
  // The held command's answer was computed at release, from the state then.
  BOOST_TEST(seen == (std::vector<std::pair<int64_t, int>>{{8, 1}, {9, 2}}));
}

BOOST_AUTO_TEST_CASE(a_held_command_can_be_released_with_an_error_after_its_caller_gave_up) {
  db.on<orders_sql::unlock_code>([](int64_t) { return done{}; });
  db.hold_next<orders_sql::unlock_code>(2);
  auto first = send<done>(orders_sql::unlock_code(1), 5s);
  auto second = send<done>(orders_sql::unlock_code(2));
  cs.run();
  cs.advance_time(6s);
  BOOST_TEST(first.error().code == "timeout");  // the caller's own timeout
  db.release_with<orders_sql::unlock_code>(errors::internal("late"));
  db.release<orders_sql::unlock_code>();
  cs.run();
  BOOST_TEST(first.error().code == "timeout");  // a late answer does not reach it twice
  BOOST_TEST(second.ok());
  BOOST_CHECK_THROW(db.release<orders_sql::unlock_code>(), std::logic_error);
}

BOOST_AUTO_TEST_CASE(commands_without_a_handler_or_breaking_the_args_convention_fail_loudly) {
  db.on<orders_sql::unlock_code>([](int64_t) { return done{}; });
  auto unknown = send<done>(orders_sql::mark_bought(1, 2));
  // A command named as unlock_code's but not carrying its builder's arguments.
  auto forged = orders_sql::unlock_code(1);
  forged.args = caf::make_message(std::string("1"));
  auto bad = send<done>(forged);
  cs.run();
  BOOST_TEST(unknown.error().status == 500);
  BOOST_TEST(db.unhandled().size() == 1u);
  BOOST_TEST(db.unhandled().at(0) == "orders.mark_bought");
  BOOST_TEST(bad.error().status == 500);
  BOOST_TEST(db.failures().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
