// Cluster routing (actors/shard_router.cpp) carries every message an entity handles, and every
// answer, to another node in CAF's binary serialisation: each must survive the trip, which needs
// every type in it announced (protocols/types.cpp). The entities' typed interfaces list them all.
#include <boost/test/unit_test.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "protocols/entity_interfaces.hpp"
#include "protocols/errors.hpp"
#include "protocols/events.hpp"
#include "protocols/fields.hpp"
#include "tests/support/actor_system_fixture.hpp"

using namespace wassally;

namespace {

struct unannounced_message {
  int64_t x = 0;
  WASSALLY_FIELDS(unannounced_message, x)
};

/// Empty when `m` comes back from the binary serialisation as it went in; else why not.
std::string trip(caf::actor_system& sys, const caf::message& m) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto out = m;
  if (auto e = sink(out)) return "cannot serialise: " + sys.render(e);
  caf::message back;
  caf::binary_deserializer source{sys, buf};
  if (auto e = source(back)) return "cannot deserialise: " + sys.render(e);
  if (back.type_token() != m.type_token() || to_string(back) != to_string(m))
    return "came back as " + to_string(back);
  return {};
}

template <class Sig>
struct signature_trip;

template <class... Ins, class... Outs>
struct signature_trip<caf::typed_mpi<caf::detail::type_list<Ins...>, caf::output_tuple<Outs...>>> {
  static void run(caf::actor_system& sys, std::vector<std::string>& problems, int& checked) {
    auto request = caf::make_message(Ins{}...);
    if (auto why = trip(sys, request); !why.empty())
      problems.push_back(to_string(request) + ": " + why);
    ++checked;
    if constexpr (!(std::is_void_v<Outs> || ...)) {
      auto answer = caf::make_message(Outs{}...);
      if (auto why = trip(sys, answer); !why.empty())
        problems.push_back("answer " + to_string(answer) + ": " + why);
      ++checked;
    }
  }
};

template <class... Sigs>
void trip_all(caf::detail::type_list<Sigs...>, caf::actor_system& sys,
              std::vector<std::string>& problems, int& checked) {
  (signature_trip<Sigs>::run(sys, problems, checked), ...);
}

template <class Interface>
void check_interface(caf::actor_system& sys, const char* name) {
  std::vector<std::string> problems;
  int checked = 0;
  trip_all(typename Interface::signatures{}, sys, problems, checked);
  BOOST_TEST_INFO(name << ": " << checked << " messages and answers checked");
  BOOST_TEST(checked > 4);
  for (auto& p : problems) BOOST_TEST_ERROR(name << ": " << p);
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(forwarded_messages, test::actor_system_fixture)

BOOST_AUTO_TEST_CASE(every_message_an_entity_handles_and_its_answer_cross_nodes_intact) {
  check_interface<order_actor>(*sys, "order");
  check_interface<shop_actor>(*sys, "shop");
  check_interface<crew_actor>(*sys, "crew");
  check_interface<cart_actor>(*sys, "cart");
}

BOOST_AUTO_TEST_CASE(every_event_crosses_nodes_intact) {
  // Events are relayed to the other nodes' buses the same way (one of each topic_of type).
  for (const auto& event :
       {caf::make_message(order_status_changed{}), caf::make_message(crew_changed{}),
        caf::make_message(order_crew_location{}), caf::make_message(order_eta_changed{}),
        caf::make_message(order_unattended{}), caf::make_message(crew_offer_event{})})
    BOOST_TEST(trip(*sys, event) == "", to_string(event));
}

BOOST_AUTO_TEST_CASE(an_error_with_its_api_error_crosses_nodes_intact) {
  auto e = errors::not_owner(3, "b", "http://127.0.0.1:8081");
  auto m = caf::make_message(to_caf_error(e));
  BOOST_TEST(trip(*sys, m) == "");
}

BOOST_AUTO_TEST_CASE(a_type_nobody_announced_is_caught) {
  // The check above would pass vacuously if serialisation never failed: a message type that
  // protocols/types.cpp does not announce must be reported.
  auto m = caf::make_message(unannounced_message{});
  BOOST_TEST(trip(*sys, m) != "");
}

BOOST_AUTO_TEST_SUITE_END()
