#pragma once

#include <caf/fwd.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "protocols/registry.hpp"

namespace wassally {

/// Spawns the entity actor of one kind for `id` (its typed handle, protocols/entity_interfaces.hpp,
/// cast to caf::actor: the registry forwards messages without reading them); it loads its own state
/// — or takes `preload` (an adoption, see below) when that is not empty — and when idle asks the
/// registry
/// `(passivate_atom, entity_key)`, quitting after the answer once nothing is in flight.
using entity_factory = std::function<caf::actor(caf::actor_system&, const caf::actor& registry,
                                                int64_t id, const caf::message& preload)>;

/// The registry: `(entity_key, message)` delivers the message to the entity's one live actor,
/// activating it on first use; the entity's reply goes straight back to the requester. While an
/// entity is passivating, messages for it wait in the registry and go to the next activation.
/// `stats_atom` answers registry_stats. `(adopt_atom, entity_key, message preload)` activates the
/// entity with state loaded in bulk elsewhere (recovery) unless it is live already.
caf::actor spawn_registry(caf::actor_system& sys, std::map<entity_kind, entity_factory> kinds);

}  // namespace wassally
