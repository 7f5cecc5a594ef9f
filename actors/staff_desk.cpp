#include "actors/staff_desk.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "persistence/crews.hpp"

namespace wassally {

caf::actor spawn_staff_desk(caf::actor_system& sys, caf::actor persistence,
                            std::chrono::milliseconds timeout) {
  return sys.spawn([=](caf::event_based_actor* self) -> caf::behavior {
    return {
        [=](const crew_query& q) { return self->delegate(persistence, crews_sql::list(q)); },
        [=](overview_atom) { return self->delegate(persistence, crews_sql::overview()); },
    };
  });
  (void)timeout;
}

}  // namespace wassally
