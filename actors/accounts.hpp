#pragma once

#include <caf/fwd.hpp>
#include <string>

namespace wassally {

struct accounts_options {
  std::string token_secret;
  int access_ttl_s = 900;
  int refresh_ttl_s = 604800;
  int login_max_failures = 5;
  int login_window_s = 60;
  int request_timeout_ms = 5000;
  /// Cluster mode: failed logins are counted in PostgreSQL (users_sql::login_wait), so the
  /// limit holds across nodes; otherwise in this actor's memory.
  bool shared_limits = false;
};

/// The accounts service actor: register_user → user_record, login_request → login_reply,
/// refresh_request → access_reply, logout_request → done, me_request → user_record. It owns the
/// login rate limiter (failures per username and per client address in a sliding window).
caf::actor spawn_accounts(caf::actor_system& sys, accounts_options opts,
                          const caf::actor& persistence, const caf::actor& hashers);

}  // namespace wassally
