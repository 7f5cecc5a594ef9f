#include "persistence/database.hpp"

#include <pqxx/pqxx>

namespace wassally::db {

std::unique_ptr<pqxx::connection> connect(const std::string& url, int connect_timeout_s,
                                          int lock_timeout_ms) {
  std::string full = url;
  if (full.find("connect_timeout") == std::string::npos) {
    bool is_uri = full.rfind("postgres://", 0) == 0 || full.rfind("postgresql://", 0) == 0;
    if (is_uri)
      full += (full.find('?') == std::string::npos ? "?" : "&") + std::string("connect_timeout=") +
              std::to_string(connect_timeout_s);
    else
      full += " connect_timeout=" + std::to_string(connect_timeout_s);
  }
  auto c = std::make_unique<pqxx::connection>(full);
  // Wall-clock timestamps are rendered in UTC; statements are bounded so nothing hangs forever.
  pqxx::nontransaction n(*c);
  n.exec("SET TIME ZONE 'UTC'");
  // Every query here is short; PostgreSQL's JIT would compile some (analytics, whose row
  // estimates are pessimistic) for ~400 ms to save microseconds.
  n.exec("SET jit = off");
  if (lock_timeout_ms > 0) n.exec("SET lock_timeout = " + std::to_string(lock_timeout_ms));
  return c;
}

std::string iso_utc(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
}

}  // namespace wassally::db
