#pragma once

#include <caf/fwd.hpp>
#include <string>

namespace wassally {

/// A database worker: a detached actor (its own thread, since libpqxx blocks) that owns one
/// connection and runs db_batch messages: one transaction per batch, one savepoint per command,
/// replying db_batch_result. It reconnects by itself after the connection breaks.
caf::actor spawn_db_worker(caf::actor_system& sys, std::string database_url, int connect_timeout_s,
                           int lock_timeout_ms = 0, int plan_refresh_ms = 0);

}  // namespace wassally
