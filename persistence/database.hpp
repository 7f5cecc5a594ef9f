#pragma once
// Connections and shared SQL helpers.

#include <memory>
#include <pqxx/connection>
#include <pqxx/transaction_base>
#include <string>
#include <utility>
#include <vector>

namespace wassally::db {

/// Opens a connection; `connect_timeout_s` bounds the wait when the server is unreachable;
/// `lock_timeout_ms` > 0 bounds how long a statement waits for a row lock (it then fails with
/// 55P03, answered as 503 unavailable, and only its own command is rolled back);
/// `statement_timeout_ms` > 0 bounds every statement (57014, answered the same way). TCP
/// keepalives are always on (see keepalive_options). Throws pqxx::broken_connection.
std::unique_ptr<pqxx::connection> connect(const std::string& url, int connect_timeout_s,
                                          int lock_timeout_ms = 0, int statement_timeout_ms = 0);

/// The conninfo `url` with connect_timeout and the TCP keepalive options added (those it does
/// not set itself), in its own syntax (URI or key=value).
std::string with_connection_options(const std::string& url, int connect_timeout_s);

/// SQL expression rendering a timestamptz column as ISO-8601 UTC with a trailing Z.
std::string iso_utc(const std::string& column);

/// A PostgreSQL array literal of ids ("{1,2,3}"), for `= ANY($1::bigint[])`.
std::string bigint_array(const std::vector<int64_t>& ids);

/// A PostgreSQL array literal of `values`, each quoted ("{"a","b \"c\""}"): any text, and any
/// type whose text form PostgreSQL parses back (numeric, float8, int), cast on the SQL side.
std::string quoted_array(const std::vector<std::string>& values);

/// Runs `sql` as the prepared statement `name` of the transaction's connection, prepared there
/// on first use: PostgreSQL parses it once per connection and keeps a generic plan
/// (plan_cache_mode = force_generic_plan, set by connect). For statements whose text is fixed,
/// with arrays (unnest) where rows vary in number.
template <class... Args>
pqxx::result exec_prepared(pqxx::dbtransaction& tx, const std::string& name, const std::string& sql,
                           Args&&... args) {
  tx.conn().prepare(name, sql);  // a no-op once registered with the same text
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

}  // namespace wassally::db
