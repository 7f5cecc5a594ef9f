#include "actors/event_bus.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <map>
#include <set>
#include <string>

#include "protocols/registry.hpp"

namespace wassally {
namespace {

struct bus_state {
  std::map<std::string, std::set<caf::actor>> topics;
  std::map<caf::actor_addr, std::set<std::string>> subscriptions;
  static inline const char* name = "event_bus";
};

}  // namespace

caf::actor spawn_event_bus(caf::actor_system& sys) {
  return sys.spawn([](caf::stateful_actor<bus_state>* self) -> caf::behavior {
    self->set_down_handler([self](caf::down_msg& dm) {
      auto& st = self->state;
      auto it = st.subscriptions.find(dm.source);
      if (it == st.subscriptions.end()) return;
      for (auto& topic : it->second) {
        auto& subs = st.topics[topic];
        for (auto s = subs.begin(); s != subs.end();)
          s = s->address() == dm.source ? subs.erase(s) : std::next(s);
      }
      st.subscriptions.erase(it);
    });
    return {
        [=](subscribe_atom, const std::string& topic) {
          auto who = caf::actor_cast<caf::actor>(self->current_sender());
          if (!who) return;
          auto& st = self->state;
          if (!st.subscriptions.count(who.address())) self->monitor(who);
          st.subscriptions[who.address()].insert(topic);
          st.topics[topic].insert(who);
        },
        [=](unsubscribe_atom, const std::string& topic) {
          auto who = caf::actor_cast<caf::actor>(self->current_sender());
          if (!who) return;
          auto& st = self->state;
          if (auto t = st.topics.find(topic); t != st.topics.end()) {
            t->second.erase(who);
            if (t->second.empty()) st.topics.erase(t);
          }
          if (auto s = st.subscriptions.find(who.address()); s != st.subscriptions.end()) {
            s->second.erase(topic);
            if (s->second.empty()) {
              st.subscriptions.erase(s);
              self->demonitor(who);
            }
          }
        },
        [=](publish_atom, const std::string& topic, caf::message& event) {
          auto it = self->state.topics.find(topic);
          if (it == self->state.topics.end()) return;
          for (auto& s : it->second) self->send(s, event);
        },
        [=](stats_atom) {
          int64_t n = 0;
          for (auto& [t, subs] : self->state.topics) n += static_cast<int64_t>(subs.size());
          return n;
        },
    };
  });
}

}  // namespace wassally
