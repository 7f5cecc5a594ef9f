#pragma once
// Connections and shared SQL helpers.

#include <memory>
#include <string>

#include <pqxx/connection>

namespace wassally::db {

/// Opens a connection; `connect_timeout_s` bounds the wait when the server is unreachable.
/// Throws pqxx::broken_connection.
std::unique_ptr<pqxx::connection> connect(const std::string& url, int connect_timeout_s);

/// SQL expression rendering a timestamptz column as ISO-8601 UTC with a trailing Z.
std::string iso_utc(const std::string& column);

}  // namespace wassally::db
