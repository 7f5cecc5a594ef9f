#pragma once

#include <caf/fwd.hpp>

namespace wassally {

/// The event bus: subscribers send `(subscribe_atom, topic)` (`unsubscribe_atom` to leave; a
/// subscriber that terminates is dropped); publishers send `(publish_atom, topic, message)`
/// after their change committed, and every subscriber of the topic receives the message.
/// `stats_atom` answers the subscriber count.
///
/// Cluster mode with NATS: `(shard_router_atom, actor)` gives it the shard router, which
/// publishes every event on NATS for the other nodes' buses too; an event another node published
/// arrives as `(forwarded_atom, topic, message)` and reaches this node's subscribers only.
caf::actor spawn_event_bus(caf::actor_system& sys);

/// Relays every event of `bus` to the other nodes through `router` (cluster mode with NATS).
void relay_events(const caf::actor& bus, const caf::actor& router);

}  // namespace wassally
