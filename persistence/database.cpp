#include "persistence/database.hpp"

#include <utility>
#include <vector>

#include <pqxx/pqxx>

namespace wassally::db {

std::string with_connection_options(const std::string& url, int connect_timeout_s) {
  // TCP keepalives: a connection whose peer vanished (server host gone, a NAT or firewall that
  // dropped the flow) is found dead after idle + interval * count = 30 + 10 * 3 = 60 s of
  // silence instead of the kernel's default two hours, and tcp_user_timeout (60 s) bounds how
  // long sent data may stay unacknowledged. Fixed values: they only need to be well below
  // anything a caller waits for and well above a loaded server's pauses. libpq ignores them
  // on Unix sockets. A backend that is alive but stuck (SIGSTOP, a lock) answers keepalives:
  // the persistence actor's hang timeout covers that case.
  const std::vector<std::pair<std::string, std::string>> options = {
      {"connect_timeout", std::to_string(connect_timeout_s)},
      {"keepalives", "1"},
      {"keepalives_idle", "30"},
      {"keepalives_interval", "10"},
      {"keepalives_count", "3"},
      {"tcp_user_timeout", "60000"},
  };
  std::string full = url;
  bool is_uri = full.rfind("postgres://", 0) == 0 || full.rfind("postgresql://", 0) == 0;
  for (const auto& [key, value] : options) {
    if (full.find(key + "=") != std::string::npos) continue;  // the URL's own choice wins
    if (is_uri)
      full += (full.find('?') == std::string::npos ? "?" : "&") + key + "=" + value;
    else
      full += (full.empty() ? "" : " ") + key + "=" + value;
  }
  return full;
}

std::unique_ptr<pqxx::connection> connect(const std::string& url, int connect_timeout_s,
                                          int lock_timeout_ms, int statement_timeout_ms) {
  auto c = std::make_unique<pqxx::connection>(with_connection_options(url, connect_timeout_s));
  // Wall-clock timestamps are rendered in UTC; statements are bounded so nothing hangs forever.
  pqxx::nontransaction n(*c);
  n.exec("SET TIME ZONE 'UTC'");
  // Every query here is short; PostgreSQL's JIT would compile some (analytics, whose row
  // estimates are pessimistic) for ~400 ms to save microseconds.
  n.exec("SET jit = off");
  if (lock_timeout_ms > 0) n.exec("SET lock_timeout = " + std::to_string(lock_timeout_ms));
  if (statement_timeout_ms > 0)
    n.exec("SET statement_timeout = " + std::to_string(statement_timeout_ms));
  // Named prepared statements (db::exec_prepared) take arrays whose length the planner cannot
  // know: with custom plans it would plan every execution again. One-shot statements
  // (exec_params) are planned for their values whatever this says; the foreign-key checks'
  // saved plans become generic from their first use too (single-row key lookups; db_worker's
  // DISCARD PLANS remakes them from the tables as they grow).
  n.exec("SET plan_cache_mode = force_generic_plan");
  return c;
}

std::string quoted_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string iso_utc(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
}

std::string bigint_array(const std::vector<int64_t>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(ids[i]);
  }
  return out + "}";
}

}  // namespace wassally::db
