#pragma once

#include <caf/fwd.hpp>
#include <string>

namespace wassally {

struct db_worker_options {
  std::string database_url;
  int connect_timeout_s = 2;
  int lock_timeout_ms = 0;       // > 0: SET lock_timeout on the connection
  int plan_refresh_ms = 0;       // > 0: DISCARD PLANS this often
  int statement_timeout_ms = 0;  // > 0: SET statement_timeout on the connection
};

/// A database worker: a detached actor (its own thread, since libpqxx blocks) that owns one
/// connection and runs db_batch messages: one transaction per batch, one savepoint per command,
/// replying db_batch_result. It reconnects by itself after the connection breaks.
caf::actor spawn_db_worker(caf::actor_system& sys, db_worker_options opts);

}  // namespace wassally
