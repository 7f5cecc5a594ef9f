#pragma once
// Messages of the accounts service (register, login, refresh, logout, /me).

#include <cstdint>
#include <string>
#include <vector>

#include "protocols/fields.hpp"

namespace wassally {

namespace roles {
inline const std::string customer = "customer";
inline const std::string shop_owner = "shop_owner";
inline const std::string delivery_crew = "delivery_crew";
inline const std::string staff = "staff";
/// The server itself (the dispatcher cancelling an order nobody took): never a user's role, so
/// no token carries it (security::verify_access refuses any role but the four above) and
/// PostgreSQL's users.role CHECK refuses it too.
inline const std::string system = "system";
}  // namespace roles

/// A user as the API shows it; crew and owner members are filled for those roles only.
struct user_record {
  int64_t id = 0;
  std::string username;
  std::string role;
  std::string first_name;
  std::string last_name;
  std::string email;
  std::string phone_number;
  std::string date_joined;  // ISO-8601 UTC
  bool is_active = true;
  int64_t coins = 0;
  int64_t number_of_deliveries = 0;
  std::string crew_status;
  std::vector<int64_t> shop_ids;

  WASSALLY_FIELDS(user_record, id, username, role, first_name, last_name, email, phone_number,
                  date_joined, is_active, coins, number_of_deliveries, crew_status, shop_ids)
};

/// Creates a user of `role` (validated by the HTTP layer's decoder).
struct register_user {
  std::string username;
  std::string password;
  std::string phone_number;
  std::string first_name;
  std::string last_name;
  std::string email;
  std::string role;
  bool if_absent = false;  // bootstrap: an existing username is not an error
  // home_location (optional): in cluster mode the user's id is in its zone's shard
  bool has_home = false;
  double home_latitude = 0;
  double home_longitude = 0;

  WASSALLY_FIELDS(register_user, username, password, phone_number, first_name, last_name, email,
                  role, if_absent, has_home, home_latitude, home_longitude)
};

struct login_request {
  std::string username;
  std::string password;
  std::string client_address;

  WASSALLY_FIELDS(login_request, username, password, client_address)
};

struct login_reply {
  std::string access;
  std::string refresh;
  user_record user;

  WASSALLY_FIELDS(login_reply, access, refresh, user)
};

struct refresh_request {
  std::string refresh;
  WASSALLY_FIELDS(refresh_request, refresh)
};

struct access_reply {
  std::string access;
  WASSALLY_FIELDS(access_reply, access)
};

struct logout_request {
  int64_t user_id = 0;
  std::string refresh;
  WASSALLY_FIELDS(logout_request, user_id, refresh)
};

struct me_request {
  int64_t user_id = 0;
  WASSALLY_FIELDS(me_request, user_id)
};

/// Reply with no content (e.g. logout → 204).
struct done {
  bool ok = true;
  WASSALLY_FIELDS(done, ok)
};

/// A user with the stored password hash (never leaves the accounts actor).
struct user_credentials {
  user_record user;
  std::string password_hash;
  WASSALLY_FIELDS(user_credentials, user, password_hash)
};

/// The owner of a valid (unexpired, unrevoked) refresh token.
struct refresh_owner {
  int64_t user_id = 0;
  std::string role;
  WASSALLY_FIELDS(refresh_owner, user_id, role)
};

}  // namespace wassally
