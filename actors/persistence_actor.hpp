#pragma once

#include <caf/fwd.hpp>
#include <string>

namespace wassally {

struct persistence_options {
  std::string database_url;
  int workers = 4;  // connections that run writes
  int connect_timeout_s = 2;
  int batch_max_size = 64;
  int batch_max_wait_us = 0;
  int lock_timeout_ms = 0;           // > 0: a statement waiting longer for a row lock fails alone
  int plan_refresh_ms = 0;           // > 0: cached plans (foreign-key checks) are remade this often
  int read_workers = 2;              // connections that run only reads (at least 1)
  int statement_timeout_ms = 30000;  // > 0: every statement on every connection is bounded
  /// A batch not answered after this long is taken for hung (a stopped backend trips neither
  /// the statement timeout nor keepalives): a replacement worker is spawned. 0: statement
  /// timeout + 10 s (40 s without one).
  int hang_timeout_ms = 0;
  /// A command of a lock key that failed on a lock, or whose statements took longer than
  /// hot_key_ms, makes the key "hot": its commands run alone until hot_key_cool_ms pass
  /// without such trouble.
  int hot_key_ms = 500;
  int hot_key_cool_ms = 5000;
  /// Cluster mode: the node's id and how long a write transaction may sit idle (db_worker_options).
  std::string cluster_node{};
  int idle_in_transaction_timeout_ms = 0;
  /// Cluster mode: the zone size new ids are made with (db_worker_options).
  double zone_deg = 0;
};

/// The persistence actor: the only way to the database. It takes db_command messages, groups
/// concurrent writes into one transaction per write worker (group commit), runs reads in
/// read-only batches on read workers of their own, and answers each command alone once its
/// batch has committed (or with its own error). A command whose deadline passes while queued is
/// answered 504 not_written and never runs; commands sharing a lock key never run in concurrent
/// transactions. `stats_atom` answers persistence_stats.
caf::actor spawn_persistence(caf::actor_system& sys, persistence_options opts);

/// Bounds of the commit latency histogram (seconds), for /metrics.
extern const double commit_latency_bounds[];
extern const int commit_latency_bound_count;
/// Batch size histogram bounds: 1, 2, 4, ..., 256.
extern const int batch_size_bounds[];
extern const int batch_size_bound_count;

}  // namespace wassally
