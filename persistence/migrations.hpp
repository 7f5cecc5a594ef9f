#pragma once

#include <string>
#include <vector>

#include <pqxx/connection>

namespace wassally::db {

struct migration {
  int version = 0;
  std::string name;
  std::string sql;
};

/// The migrations compiled into the binary (persistence/migrations/NNNN_name.sql), in order.
const std::vector<migration>& embedded_migrations();

/// Applies every migration not yet recorded in schema_migrations, each in order, all inside one
/// transaction holding an advisory lock: safe to run twice and from two processes at once.
/// Returns how many were applied.
int apply_migrations(pqxx::connection& c, const std::vector<migration>& all);

/// True when every embedded migration is recorded.
bool migrations_current(pqxx::connection& c, const std::vector<migration>& all);

}  // namespace wassally::db

#include "protocols/persistence.hpp"

namespace wassally::db {
/// For /ready: answers `done` when the database is reachable and every embedded migration is
/// applied, else 503 unavailable.
wassally::db_command schema_check();
}  // namespace wassally::db
