#pragma once
// The shard router (cluster mode with cluster_nats_url, CLUSTER.md "Routing"): carries messages
// for entities another node serves to that node over NATS, and serves what other nodes carry
// here. HTTP handlers and entity actors do not know it exists: the registry hands it what this
// node does not serve.

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "protocols/cluster.hpp"

namespace wassally {

struct shard_router_options {
  std::string nats_url;  // one or more, comma-separated
  std::string node;      // cluster_node_id
  int32_t shards = 64;   // cluster_shards
  caf::actor registry;
  caf::actor event_bus;  // events of other nodes are published on it (none: no event relay)
  // How long a forwarded request may take before it is answered 504 (request_timeout_ms: the
  // edge waits that long plus a grace for an answer, so the router's 504 comes first).
  std::chrono::milliseconds budget{5000};
  std::shared_ptr<cluster_status> status;  // routing state and counters for operators
};

/// The version of the forwarded messages' layout. A node refuses (500 with a clear message) a
/// message of another version: during a rolling upgrade that changes it, requests between old
/// and new nodes fail rather than being misread (CLUSTER.md "Rolling upgrades").
inline constexpr uint16_t forwarded_message_version = 1;

/// The NATS subject shard `shard`'s owner listens on.
std::string shard_subject(int32_t shard);

/// Spawns the router on a thread of its own (libnats calls take the connection's lock) and
/// starts connecting in the background: until the connection stands, and whenever it is lost,
/// forwards are answered with their fallback (503 not_owner naming the owner) at once rather
/// than waiting for a reconnect. libnats reconnects by itself, forever, and subscribes again.
///
/// Forwarding: `(forward_atom, entity_key, message, error fallback, bool inspect)` from the
/// registry is published on the entity's shard subject with the message (CAF's binary
/// serialisation, every type announced in protocols/types.cpp), the budget and the version; a
/// request gets a reply subject of this node's, and is answered with the owner's reply (the
/// entity's answer or error), its fallback when no node listens on the shard, or 504 after the
/// budget. A message that is not a request is published without one.
///
/// Serving: `served_shards` from the registry sets the shard subjects it listens on. A message
/// arriving there goes to the registry as `forwarded_atom` (so it is not forwarded again) by a
/// one-shot actor that takes whatever the entity answers, error or not, and publishes it back.
///
/// Events: `(publish_atom, topic, message)` from this node's event bus is published on
/// `wassally.events` for every other node; an event another node published goes to this node's
/// bus as `(forwarded_atom, topic, message)`, so its SSE streams and dispatcher hear of changes
/// wherever they were made. Core NATS delivers at most once and nothing is published while NATS
/// is unreachable: CLUSTER.md says what a client can miss and how it catches up.
caf::actor spawn_shard_router(caf::actor_system& sys, shard_router_options opts);

}  // namespace wassally
