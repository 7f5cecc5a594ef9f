#pragma once

#include <caf/fwd.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "protocols/cluster.hpp"
#include "protocols/registry.hpp"

namespace wassally {

/// Spawns the entity actor of one kind for `id` (its typed handle, protocols/entity_interfaces.hpp,
/// cast to caf::actor: the registry forwards messages without reading them); it loads its own state
/// — or takes `preload` (an adoption, see below) when that is not empty — and when idle asks the
/// registry
/// `(passivate_atom, entity_key)`, quitting after the answer once nothing is in flight. Its writes
/// carry `fence` (cluster mode: the shard's lease epoch it was activated under; epoch 0 otherwise).
using entity_factory =
    std::function<caf::actor(caf::actor_system&, const caf::actor& registry, int64_t id,
                             const caf::message& preload, const shard_fence& fence)>;

/// The registry: `(entity_key, message)` delivers the message to the entity's one live actor,
/// activating it on first use; the entity's reply goes straight back to the requester. While an
/// entity is passivating, messages for it wait in the registry and go to the next activation.
/// `stats_atom` answers registry_stats. `(adopt_atom, entity_key, message preload)` activates the
/// entity with state loaded in bulk elsewhere (recovery) unless it is live already.
///
/// Cluster mode (`cluster_shards` > 0, CLUSTER.md): the registry serves only entities of
/// the shards the lease keeper last said this node holds (`shard_ownership`), and only until
/// that ownership's deadline; anything else is answered `503 not_owner` naming the owner. Live
/// entities of a shard lost (or regained at a new epoch) are stopped at once; so are all when
/// the deadline passes without a newer ownership.
///
/// With a shard router (set_shard_router, cluster_nats_url set), a message for a shard this node
/// does not serve is forwarded to the node that does instead (actors/shard_router.hpp), and the
/// registry tells the router which shards it serves whenever that changes.
caf::actor spawn_registry(caf::actor_system& sys, std::map<entity_kind, entity_factory> kinds,
                          int32_t cluster_shards = 0);

/// Gives the registry the shard router it forwards through (cluster mode with NATS).
void set_shard_router(const caf::actor& registry, const caf::actor& router);

/// Cluster mode: `watcher` is sent `served_shards` whenever the shards this node serves change
/// (and once now). The router is a watcher too (set_shard_router).
void watch_served_shards(const caf::actor& registry, const caf::actor& watcher);

}  // namespace wassally
