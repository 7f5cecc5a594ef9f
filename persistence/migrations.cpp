#include "persistence/migrations.hpp"

#include <pqxx/pqxx>
#include <set>

namespace wassally::db {
namespace {
// Any constant shared by every wassally process: the advisory lock that serialises migrators.
constexpr long long migration_lock_key = 0x77617373616c6c79LL;  // "wassally"
}  // namespace

int apply_migrations(pqxx::connection& c, const std::vector<migration>& all) {
  pqxx::work tx(c);
  tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(migration_lock_key) + ")");
  tx.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version int PRIMARY KEY, name text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
  std::set<int> applied;
  for (const auto& row : tx.exec("SELECT version FROM schema_migrations"))
    applied.insert(row[0].as<int>());
  int count = 0;
  for (const auto& m : all) {
    if (applied.count(m.version)) continue;
    tx.exec(m.sql);
    tx.exec_params("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                   m.name);
    ++count;
  }
  tx.commit();
  return count;
}

bool migrations_current(pqxx::connection& c, const std::vector<migration>& all) {
  pqxx::read_transaction tx(c);
  auto exists = tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0].as<bool>();
  if (!exists) return false;
  std::set<int> applied;
  for (const auto& row : tx.exec("SELECT version FROM schema_migrations"))
    applied.insert(row[0].as<int>());
  for (const auto& m : all)
    if (!applied.count(m.version)) return false;
  return true;
}

}  // namespace wassally::db

#include <caf/make_message.hpp>

#include "protocols/accounts.hpp"
#include "protocols/errors.hpp"

namespace wassally::db {

wassally::db_command schema_check() {
  return {"schema.check", false, [](pqxx::dbtransaction& tx) {
            auto rows = tx.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
            int expected = embedded_migrations().empty() ? 0 : embedded_migrations().back().version;
            if (rows[0][0].as<int>() < expected)
              throw api_exception(errors::unavailable("migrations are not applied"));
            return caf::make_message(done{});
          }};
}

}  // namespace wassally::db
