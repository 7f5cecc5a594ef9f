#pragma once

#include <caf/fwd.hpp>
#include <cstdint>
#include <string>

namespace wassally {

struct db_worker_options {
  std::string database_url;
  int connect_timeout_s = 2;
  int lock_timeout_ms = 0;       // > 0: SET lock_timeout on the connection
  int plan_refresh_ms = 0;       // > 0: DISCARD PLANS this often
  int statement_timeout_ms = 0;  // > 0: SET statement_timeout on the connection
  /// Cluster mode: this node's id. Fenced commands (db_command::fences) are checked against the
  /// node's leases in their own transaction; the connection is named wassally:<node>, and a
  /// transaction left idle longer than idle_in_transaction_timeout_ms (a node paused mid-batch)
  /// is ended by PostgreSQL, so the lease rows it holds FOR SHARE never block a takeover for
  /// longer.
  std::string cluster_node{};
  int idle_in_transaction_timeout_ms = 0;
  /// Cluster mode: the connection's wassally.zone_deg, the zone size with which new shops, users
  /// and orders get ids in their zone's shard (migration 0010, CLUSTER.md "Shard key"). 0: none.
  double zone_deg = 0;
};

/// Writes refused by the fence check since the start (cluster mode), for /metrics.
int64_t fenced_writes_total();

/// A database worker: a detached actor (its own thread, since libpqxx blocks) that owns one
/// connection and runs db_batch messages: one transaction per batch, one savepoint per command,
/// replying db_batch_result. It reconnects by itself after the connection breaks.
caf::actor spawn_db_worker(caf::actor_system& sys, db_worker_options opts);

}  // namespace wassally
