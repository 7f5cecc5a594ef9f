#pragma once
// SQL of the user aggregate: users, delivery_crews rows of crew users, refresh tokens.

#include <cstdint>
#include <string>
#include <vector>

#include "protocols/accounts.hpp"
#include "protocols/persistence.hpp"

namespace wassally {

namespace users_sql {

/// Inserts the user (and its delivery_crews row for a crew) → user_record.
/// Duplicate username / phone: 409 conflict with the field named.
db_command insert(const register_user& u, const std::string& password_hash);
/// The same inside a larger command's transaction (e.g. a shop with its new owner).
user_record insert_in(pqxx::dbtransaction& tx, const register_user& u,
                      const std::string& password_hash);
/// The user `id` inside a transaction; 404 when unknown.
user_record load_in(pqxx::dbtransaction& tx, int64_t id);
/// Like insert, but an existing username answers the existing user unchanged.
db_command insert_if_absent(const register_user& u, const std::string& password_hash);
/// Active user by username → user_credentials; unknown: 404 (callers map it to 401).
db_command find_credentials(const std::string& username);
/// User by id with role-specific members → user_record; unknown or inactive: 404.
db_command find(int64_t id);

/// Stores a refresh token's hash → done.
db_command insert_refresh_token(int64_t user_id, const std::string& token_hash, int64_t ttl_s);
/// Owner of a valid refresh token → refresh_owner; else 401 unauthenticated.
db_command find_refresh_owner(const std::string& token_hash);
/// Revokes the token if it belongs to user_id → done (idempotent; unknown: 401).
db_command revoke_refresh_token(int64_t user_id, const std::string& token_hash);
/// Housekeeping: deletes up to `limit` expired or revoked refresh tokens → int64_t (rows
/// deleted). A purged token answers like an unknown one (401).
db_command purge_refresh_tokens(int64_t limit);

/// Cluster mode's login limits (CLUSTER.md), shared by every node: seconds until `keys` may try
/// again → int64_t (0: now): the longest wait of a key with `max_failures` failures or more in
/// the last `window_s`, until its oldest one leaves the window.
db_command login_wait(const std::vector<std::string>& keys, int max_failures, int window_s);
/// Records a failed login for each of `keys` (and deletes failures older than `window_s`) → done.
db_command record_login_failure(const std::vector<std::string>& keys, int window_s);
/// Forgets the failures of `key` (a successful login) → done.
db_command clear_login_failures(const std::string& key);

}  // namespace users_sql
}  // namespace wassally
