#include <boost/test/unit_test.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <thread>

#include "actors/event_bus.hpp"
#include "protocols/registry.hpp"
#include "protocols/types.hpp"
#include "tests/support/actor_system_fixture.hpp"

using namespace wassally;

namespace {
struct bus_fixture : test::actor_system_fixture {
  int64_t subscriptions(caf::scoped_actor& self, const caf::actor& bus) {
    int64_t n = -1;
    self->request(bus, std::chrono::seconds(5), stats_atom::value)
        .receive([&](int64_t x) { n = x; }, [](caf::error&) {});
    return n;
  }
};
}  // namespace

BOOST_FIXTURE_TEST_SUITE(event_bus, bus_fixture)

BOOST_AUTO_TEST_CASE(subscribers_get_their_topics_only) {
  auto bus = spawn_event_bus(*sys);
  caf::scoped_actor a{*sys};
  caf::scoped_actor b{*sys};
  a->send(bus, subscribe_atom::value, topic::order_status);
  b->send(bus, subscribe_atom::value, topic::crew_status);
  BOOST_TEST(subscriptions(a, bus) == 2);  // the stats request is behind both subscriptions
  caf::anon_send(bus, publish_atom::value, topic::order_status,
                 caf::make_message(std::string("assigned")));
  std::string got;
  a->receive([&](const std::string& s) { got = s; },
             caf::after(std::chrono::seconds(5)) >> [&] { got = "timeout"; });
  BOOST_TEST(got == "assigned");
  bool b_got = false;
  b->receive([&](const std::string&) { b_got = true; },
             caf::after(std::chrono::milliseconds(200)) >> [] {});
  BOOST_TEST(!b_got);
  caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_CASE(unsubscribe_and_terminated_subscribers_are_dropped) {
  auto bus = spawn_event_bus(*sys);
  caf::scoped_actor probe{*sys};
  {
    caf::scoped_actor gone{*sys};
    gone->send(bus, subscribe_atom::value, topic::crew_status);
    BOOST_TEST(subscriptions(gone, bus) == 1);
  }  // the subscriber terminates here
  int64_t n = -1;
  for (int i = 0; i < 50 && (n = subscriptions(probe, bus)) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  BOOST_TEST(n == 0);
  probe->send(bus, subscribe_atom::value, topic::crew_status);
  BOOST_TEST(subscriptions(probe, bus) == 1);
  probe->send(bus, unsubscribe_atom::value, topic::crew_status);
  BOOST_TEST(subscriptions(probe, bus) == 0);
  caf::anon_send(bus, publish_atom::value, topic::crew_status, caf::make_message(int64_t{1}));
  bool got = false;
  probe->receive([&](int64_t) { got = true; }, caf::after(std::chrono::milliseconds(200)) >> [] {});
  BOOST_TEST(!got);
  caf::anon_send_exit(bus, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_SUITE_END()
