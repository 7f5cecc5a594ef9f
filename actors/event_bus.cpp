#include "actors/event_bus.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <map>
#include <set>

#include "protocols/cluster.hpp"
#include "protocols/registry.hpp"

namespace wassally {
namespace {

struct bus_state {
  std::map<topic, std::set<caf::actor>> topics;
  std::map<caf::actor_addr, std::set<topic>> subscriptions;
  caf::actor relay;  // cluster mode with NATS: the shard router
  static inline const char* name = "event_bus";
};

void fan_out(caf::stateful_actor<bus_state>* self, topic t, const caf::message& event) {
  auto it = self->state.topics.find(t);
  if (it == self->state.topics.end()) return;
  for (auto& s : it->second) self->send(s, event);
}

}  // namespace

void relay_events(const caf::actor& bus, const caf::actor& router) {
  caf::anon_send(bus, shard_router_atom::value, router);
}

caf::actor spawn_event_bus(caf::actor_system& sys) {
  return sys.spawn([](caf::stateful_actor<bus_state>* self) -> caf::behavior {
    self->set_down_handler([self](caf::down_msg& dm) {
      auto& st = self->state;
      auto it = st.subscriptions.find(dm.source);
      if (it == st.subscriptions.end()) return;
      for (auto t : it->second) {
        auto& subs = st.topics[t];
        for (auto s = subs.begin(); s != subs.end();)
          s = s->address() == dm.source ? subs.erase(s) : std::next(s);
      }
      st.subscriptions.erase(it);
    });
    return {
        [=](subscribe_atom, topic t) {
          auto who = caf::actor_cast<caf::actor>(self->current_sender());
          if (!who) return;
          auto& st = self->state;
          if (!st.subscriptions.count(who.address())) self->monitor(who);
          st.subscriptions[who.address()].insert(t);
          st.topics[t].insert(who);
        },
        [=](unsubscribe_atom, topic t) {
          auto who = caf::actor_cast<caf::actor>(self->current_sender());
          if (!who) return;
          auto& st = self->state;
          if (auto subs = st.topics.find(t); subs != st.topics.end()) {
            subs->second.erase(who);
            if (subs->second.empty()) st.topics.erase(subs);
          }
          if (auto s = st.subscriptions.find(who.address()); s != st.subscriptions.end()) {
            s->second.erase(t);
            if (s->second.empty()) {
              st.subscriptions.erase(s);
              self->demonitor(who);
            }
          }
        },
        [=](publish_atom, topic t, caf::message& event) {
          fan_out(self, t, event);
          if (self->state.relay) self->send(self->state.relay, publish_atom::value, t, event);
        },
        [=](forwarded_atom, topic t, caf::message& event) { fan_out(self, t, event); },
        [=](shard_router_atom, caf::actor& relay) { self->state.relay = relay; },
        [=](stats_atom) {
          int64_t n = 0;
          for (auto& [name, subs] : self->state.topics) n += static_cast<int64_t>(subs.size());
          return n;
        },
    };
  });
}

}  // namespace wassally
