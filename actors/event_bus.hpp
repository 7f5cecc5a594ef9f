#pragma once

#include <caf/fwd.hpp>

namespace wassally {

/// The event bus: subscribers send `(subscribe_atom, topic)` (`unsubscribe_atom` to leave; a
/// subscriber that terminates is dropped); publishers send `(publish_atom, topic, message)`
/// after their change committed, and every subscriber of the topic receives the message.
/// `stats_atom` answers the subscriber count.
caf::actor spawn_event_bus(caf::actor_system& sys);

}  // namespace wassally
