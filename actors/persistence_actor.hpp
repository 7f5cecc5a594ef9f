#pragma once

#include <caf/fwd.hpp>
#include <string>

namespace wassally {

struct persistence_options {
  std::string database_url;
  int workers = 4;
  int connect_timeout_s = 2;
  int batch_max_size = 64;
  int batch_max_wait_us = 0;
  int lock_timeout_ms = 0;  // > 0: a statement waiting longer for a row lock fails alone
  int plan_refresh_ms = 0;  // > 0: cached plans (foreign-key checks) are remade this often
};

/// The persistence actor: the only way to the database. It takes db_command messages, groups
/// concurrent writes into one transaction per worker (group commit), runs reads in read-only
/// batches, and answers each command alone once its batch has committed (or with its own
/// error). `stats_atom` answers persistence_stats.
caf::actor spawn_persistence(caf::actor_system& sys, persistence_options opts);

/// Bounds of the commit latency histogram (seconds), for /metrics.
extern const double commit_latency_bounds[];
extern const int commit_latency_bound_count;
/// Batch size histogram bounds: 1, 2, 4, ..., 256.
extern const int batch_size_bounds[];
extern const int batch_size_bound_count;

}  // namespace wassally
