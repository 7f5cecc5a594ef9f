// Which crew a pending order is offered to and when it looks again (actors/dispatch_rules.cpp).
#include <boost/test/unit_test.hpp>

#include <climits>

#include "actors/dispatch_rules.hpp"

using namespace wassally;
using namespace wassally::dispatch_rules;

namespace {

constexpr int64_t placed = 1'800'000'000;  // unix s
constexpr int64_t at(int64_t seconds_after, int64_t ms = 0) {
  return (placed + seconds_after) * 1000 + ms;
}

dispatch_options widening() {
  dispatch_options d;
  d.radius_km = 3;
  d.radius_step_km = 2;
  d.widen_every = std::chrono::seconds(10);
  d.max_radius_km = 8;
  d.reoffer_after = std::chrono::seconds(60);
  return d;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dispatch_rules_suite)

BOOST_AUTO_TEST_CASE(the_radius_widens_one_step_per_whole_interval_up_to_the_maximum) {
  auto d = widening();
  BOOST_TEST(radius_km(d, placed, at(0)) == 3.0);
  BOOST_TEST(radius_km(d, placed, at(9, 999)) == 3.0);
  BOOST_TEST(radius_km(d, placed, at(10)) == 5.0);
  BOOST_TEST(radius_km(d, placed, at(20)) == 7.0);
  BOOST_TEST(radius_km(d, placed, at(30)) == 8.0);  // 9 capped at the maximum
  BOOST_TEST(radius_km(d, placed, at(3600)) == 8.0);
  // A clock behind created_at (another host's) never shrinks it.
  BOOST_TEST(radius_km(d, placed, at(-5)) == 3.0);
  d.widen_every = std::chrono::seconds(0);  // never widens
  BOOST_TEST(radius_km(d, placed, at(3600)) == 3.0);
  d = widening();
  d.max_radius_km = 1;  // a maximum below the start is the start
  BOOST_TEST(radius_km(d, placed, at(3600)) == 3.0);
}

BOOST_AUTO_TEST_CASE(a_refusal_is_remembered_for_reoffer_after) {
  auto d = widening();
  refusals r = {{7, at(0)}, {9, at(30)}};
  BOOST_TEST(refused_recently(d, r, 7, at(59, 999)));
  BOOST_TEST(!refused_recently(d, r, 7, at(60)));
  BOOST_TEST(refused_recently(d, r, 9, at(60)));
  BOOST_TEST(!refused_recently(d, r, 8, at(1)));
  d.reoffer_after = std::chrono::seconds(0);
  BOOST_TEST(!refused_recently(d, r, 9, at(30)));
}

BOOST_AUTO_TEST_CASE(the_next_chance_is_the_next_widening_or_the_first_refusal_forgotten) {
  auto d = widening();
  BOOST_TEST(next_chance_ms(d, placed, {}, at(3)) == at(10));
  BOOST_TEST(next_chance_ms(d, placed, {}, at(10)) == at(20));
  BOOST_TEST(next_chance_ms(d, placed, {}, at(25)) == at(30));
  // At the maximum, nothing but a refusal being forgotten.
  BOOST_TEST(next_chance_ms(d, placed, {}, at(30)) == LLONG_MAX);
  BOOST_TEST(next_chance_ms(d, placed, {{4, at(40)}}, at(45)) == at(100));
  // The earlier of the two.
  BOOST_TEST(next_chance_ms(d, placed, {{4, at(-55)}}, at(3)) == at(5));
  // A refusal already forgotten is no chance in the future.
  BOOST_TEST(next_chance_ms(d, placed, {{4, at(-100)}}, at(30)) == LLONG_MAX);
  d.radius_step_km = 0;  // a step of 0 never widens
  BOOST_TEST(next_chance_ms(d, placed, {}, at(3)) == LLONG_MAX);
}

BOOST_AUTO_TEST_CASE(a_position_older_than_crew_stale_after_is_stale) {
  dispatch_options d;
  d.crew_stale_after = std::chrono::seconds(300);
  BOOST_TEST(position_fresh(d, placed, at(300, 999)));
  BOOST_TEST(!position_fresh(d, placed, at(301)));
  BOOST_TEST(!position_fresh(d, 0, at(0)));  // never reported
  d.crew_stale_after = std::chrono::seconds(0);
  BOOST_TEST(position_fresh(d, placed, at(86400)));
}

BOOST_AUTO_TEST_CASE(nearer_first_then_fewer_held_then_idle_longest_then_lower_id) {
  candidate near{5, 1.0, 2, at(100)};
  candidate far{4, 1.5, 0, at(0)};
  BOOST_TEST(offered_before(near, far));
  BOOST_TEST(!offered_before(far, near));
  candidate holding_one{3, 1.0, 1, at(200)};
  BOOST_TEST(offered_before(holding_one, near));  // same distance, fewer held
  candidate idle_longer{8, 1.0, 2, at(50)};
  BOOST_TEST(offered_before(idle_longer, near));  // same distance and load, idle longer
  candidate twin{2, 1.0, 2, at(100)};
  BOOST_TEST(offered_before(twin, near));  // all equal: the lower id
  BOOST_TEST(!offered_before(near, near));
}

BOOST_AUTO_TEST_SUITE_END()
