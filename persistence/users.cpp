#include "persistence/users.hpp"

#include <caf/make_message.hpp>
#include <pqxx/pqxx>

#include "persistence/database.hpp"
#include "protocols/errors.hpp"

namespace wassally::users_sql {
namespace {

const std::string user_columns =
    "u.id, u.username, u.role, u.first_name, u.last_name, u.email, u.phone_number, " +
    db::iso_utc("u.date_joined") +
    ", u.is_active, coalesce(c.coins, 0), coalesce(c.number_of_deliveries, 0), "
    "coalesce(c.status, ''), "
    "coalesce((SELECT array_to_string(array_agg(s.id ORDER BY s.id), ',') FROM shops s"
    " WHERE s.owner_id = u.id), '')";

const std::string user_from = " FROM users u LEFT JOIN delivery_crews c ON c.user_id = u.id ";

user_record read_user(const pqxx::row& r, int offset = 0) {
  user_record u;
  u.id = r[offset + 0].as<int64_t>();
  u.username = r[offset + 1].as<std::string>();
  u.role = r[offset + 2].as<std::string>();
  u.first_name = r[offset + 3].as<std::string>();
  u.last_name = r[offset + 4].as<std::string>();
  u.email = r[offset + 5].as<std::string>();
  u.phone_number = r[offset + 6].as<std::string>();
  u.date_joined = r[offset + 7].as<std::string>();
  u.is_active = r[offset + 8].as<bool>();
  u.coins = r[offset + 9].as<int64_t>();
  u.number_of_deliveries = r[offset + 10].as<int64_t>();
  u.crew_status = r[offset + 11].as<std::string>();
  auto ids = r[offset + 12].as<std::string>();
  std::size_t pos = 0;
  while (pos < ids.size()) {
    auto comma = ids.find(',', pos);
    if (comma == std::string::npos) comma = ids.size();
    u.shop_ids.push_back(std::stoll(ids.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return u;
}

user_record load_user(pqxx::dbtransaction& tx, int64_t id) {
  auto rows = tx.exec_params("SELECT " + user_columns + user_from + "WHERE u.id = $1", id);
  if (rows.empty()) throw api_exception(errors::not_found("no such user"));
  return read_user(rows[0]);
}

user_record insert_user(pqxx::dbtransaction& tx, const register_user& u,
                        const std::string& password_hash) {
  pqxx::result rows;
  try {
    // Cluster mode: a user given a home_location gets an id in its zone's shard (migration
    // 0010): a customer's cart, a crew, on the node serving the zone they order or work in.
    rows = tx.exec_params(
        "INSERT INTO users (id, username, password_hash, role, first_name, last_name, email,"
        " phone_number) VALUES (zoned_id('users_id_seq', CASE WHEN $8 THEN zone_shard($9, $10)"
        " END), $1, $2, $3, $4, $5, $6, $7) RETURNING id",
        u.username, password_hash, u.role, u.first_name, u.last_name, u.email, u.phone_number,
        u.has_home, u.home_latitude, u.home_longitude);
  } catch (const pqxx::unique_violation& e) {
    std::string what = e.what();
    if (what.find("users_phone_number_key") != std::string::npos)
      throw api_exception(
          errors::conflict("conflict", "this phone number is already registered", "phone_number"));
    throw api_exception(errors::conflict("conflict", "this username is taken", "username"));
  }
  auto id = rows[0][0].as<int64_t>();
  if (u.role == roles::delivery_crew)
    tx.exec_params("INSERT INTO delivery_crews (user_id) VALUES ($1)", id);
  return load_user(tx, id);
}

}  // namespace

user_record insert_in(pqxx::dbtransaction& tx, const register_user& u,
                      const std::string& password_hash) {
  return insert_user(tx, u, password_hash);
}

user_record load_in(pqxx::dbtransaction& tx, int64_t id) { return load_user(tx, id); }

db_command insert(const register_user& u, const std::string& password_hash) {
  return {"users.insert", true, [u, password_hash](pqxx::dbtransaction& tx) {
            return caf::make_message(insert_user(tx, u, password_hash));
          }};
}

db_command insert_if_absent(const register_user& u, const std::string& password_hash) {
  return {"users.insert_if_absent", true, [u, password_hash](pqxx::dbtransaction& tx) {
            auto rows = tx.exec_params("SELECT id FROM users WHERE username = $1", u.username);
            if (!rows.empty()) return caf::make_message(load_user(tx, rows[0][0].as<int64_t>()));
            return caf::make_message(insert_user(tx, u, password_hash));
          }};
}

db_command find_credentials(const std::string& username) {
  return {"users.find_credentials", false, [username](pqxx::dbtransaction& tx) {
            auto rows = tx.exec_params("SELECT " + user_columns + ", u.password_hash" + user_from +
                                           "WHERE u.username = $1 AND u.is_active",
                                       username);
            if (rows.empty()) throw api_exception(errors::not_found("no such user"));
            user_credentials out;
            out.user = read_user(rows[0]);
            out.password_hash = rows[0][13].as<std::string>();
            return caf::make_message(std::move(out));
          }};
}

db_command find(int64_t id) {
  return {"users.find", false, [id](pqxx::dbtransaction& tx) {
            auto u = load_user(tx, id);
            if (!u.is_active) throw api_exception(errors::not_found("no such user"));
            return caf::make_message(std::move(u));
          }};
}

db_command insert_refresh_token(int64_t user_id, const std::string& token_hash, int64_t ttl_s) {
  return {"refresh_tokens.insert", true, [=](pqxx::dbtransaction& tx) {
            tx.exec_params(
                "INSERT INTO refresh_tokens (user_id, token_hash, expires_at)"
                " VALUES ($1, $2, now() + make_interval(secs => $3))",
                user_id, token_hash, static_cast<double>(ttl_s));
            return caf::make_message(done{});
          }};
}

db_command find_refresh_owner(const std::string& token_hash) {
  return {"refresh_tokens.find_owner", false, [token_hash](pqxx::dbtransaction& tx) {
            auto rows = tx.exec_params(
                "SELECT u.id, u.role FROM refresh_tokens t JOIN users u ON u.id = t.user_id"
                " WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now()"
                " AND u.is_active",
                token_hash);
            if (rows.empty())
              throw api_exception(errors::unauthenticated("the refresh token is not valid"));
            return caf::make_message(
                refresh_owner{rows[0][0].as<int64_t>(), rows[0][1].as<std::string>()});
          }};
}

db_command revoke_refresh_token(int64_t user_id, const std::string& token_hash) {
  return {"refresh_tokens.revoke", true, [=](pqxx::dbtransaction& tx) {
            auto rows = tx.exec_params(
                "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now())"
                " WHERE token_hash = $1 AND user_id = $2 RETURNING id",
                token_hash, user_id);
            if (rows.empty())
              throw api_exception(errors::unauthenticated("the refresh token is not valid"));
            return caf::make_message(done{});
          }};
}

db_command purge_refresh_tokens(int64_t limit) {
  return {"refresh_tokens.purge", true,
          [=](pqxx::dbtransaction& tx) {
            // A token being checked or revoked right now is left for the next round. A revoked
            // one stays a day, so that a logout repeated by a client that missed the first answer
            // still gets its 204.
            auto r = tx.exec_params(
                "DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens"
                " WHERE expires_at <= now() OR revoked_at <= now() - interval '1 day' LIMIT $1"
                " FOR UPDATE SKIP LOCKED)",
                limit);
            return caf::make_message(static_cast<int64_t>(r.affected_rows()));
          },
          caf::make_message(limit)};
}

db_command login_wait(const std::vector<std::string>& keys, int max_failures, int window_s) {
  return {"login_failures.wait", false, [=](pqxx::dbtransaction& tx) {
            auto r = tx.exec_params(
                "SELECT coalesce(max(wait), 0) FROM ("
                " SELECT CASE WHEN count(*) >= $2 THEN greatest(1, ceil(extract(epoch FROM"
                "   min(failed_at) + $3 * interval '1 second' - now())))::bigint ELSE 0 END AS wait"
                " FROM login_failures WHERE key = ANY($1::text[])"
                "   AND failed_at > now() - $3 * interval '1 second' GROUP BY key) AS per_key",
                db::quoted_array(keys), max_failures, window_s);
            return caf::make_message(r[0][0].as<int64_t>());
          }};
}

db_command record_login_failure(const std::vector<std::string>& keys, int window_s) {
  return {"login_failures.record", true, [=](pqxx::dbtransaction& tx) {
            tx.exec_params(
                "DELETE FROM login_failures WHERE failed_at <= now() - $1 * interval '1 second'",
                window_s);
            tx.exec_params("INSERT INTO login_failures (key) SELECT unnest($1::text[])",
                           db::quoted_array(keys));
            return caf::make_message(done{});
          }};
}

db_command clear_login_failures(const std::string& key) {
  return {"login_failures.clear", true, [=](pqxx::dbtransaction& tx) {
            tx.exec_params("DELETE FROM login_failures WHERE key = $1", key);
            return caf::make_message(done{});
          }};
}

}  // namespace wassally::users_sql
