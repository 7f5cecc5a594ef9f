#pragma once
// The lease keeper (cluster mode, CLUSTER.md): holds this node's shard leases in
// PostgreSQL and tells the registry what the node may serve.

#include <caf/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "protocols/cluster.hpp"

namespace wassally {

struct lease_keeper_options {
  std::string database_url;
  int connect_timeout_s = 2;
  std::string node;  // cluster_node_id
  std::string url;   // where this node serves HTTP, for other nodes' not_owner hints
  int32_t shards = 64;
  std::chrono::milliseconds ttl{5000};
  int32_t max_moves = 4;  // shards given up per round when rebalancing
  caf::actor registry;
  std::shared_ptr<cluster_status> status;
  /// This process's incarnation (random, drawn at start; 0: drawn here). The node's
  /// Idempotency-Key claims name it, so a repeat may take a claim over once it is dead.
  int64_t incarnation = 0;
};

/// Creates the cluster's lease rows if missing (throws when the database's cluster has another
/// number of shards, or is unreachable), then spawns the keeper on a thread and connection of
/// its own — so neither a busy write pool nor a blocked CAF worker delays a renewal. Every
/// ttl / 3 it runs one round in one transaction: heartbeat, renewal, then a claim up to the
/// node's fair share or a bounded release above it (lease_rules::plan), and sends the registry
/// the shards held and a deadline (the round's start + ttl − ttl / 10): a node cut off from
/// PostgreSQL stops serving before its leases can be claimed. On exit (graceful shutdown) it
/// releases every lease and its heartbeat, so the others take over at once.
caf::actor spawn_lease_keeper(caf::actor_system& sys, lease_keeper_options opts);

/// A random incarnation for this process (never 0).
int64_t new_incarnation();

}  // namespace wassally
