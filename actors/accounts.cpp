#include "actors/accounts.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <chrono>
#include <deque>
#include <map>

#include "actors/password_hasher.hpp"
#include "persistence/users.hpp"
#include "protocols/accounts.hpp"
#include "protocols/errors.hpp"
#include "security/tokens.hpp"

namespace wassally {
namespace {

using clock_type = std::chrono::steady_clock;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;

/// Failed logins per key ("user:<name>" / "addr:<ip>") within a sliding window.
class login_limiter {
 public:
  login_limiter(int max_failures, int window_s) : max_(max_failures), window_(window_s) {}

  /// Seconds to wait before the next attempt for `key`, or 0 when allowed.
  int retry_after(const std::string& key, clock_type::time_point now) {
    auto it = failures_.find(key);
    if (it == failures_.end()) return 0;
    prune(it->second, now);
    if (static_cast<int>(it->second.size()) < max_) return 0;
    auto free_at = it->second.front() + window_;
    return std::max<int>(
        1, static_cast<int>(std::chrono::ceil<std::chrono::seconds>(free_at - now).count()));
  }
  void fail(const std::string& key, clock_type::time_point now) {
    auto& q = failures_[key];
    prune(q, now);
    q.push_back(now);
  }
  void reset(const std::string& key) { failures_.erase(key); }
  void sweep(clock_type::time_point now) {
    for (auto it = failures_.begin(); it != failures_.end();) {
      prune(it->second, now);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
  }

 private:
  void prune(std::deque<clock_type::time_point>& q, clock_type::time_point now) {
    while (!q.empty() && q.front() + window_ <= now) q.pop_front();
  }
  int max_;
  std::chrono::seconds window_;
  std::map<std::string, std::deque<clock_type::time_point>> failures_;
};

struct accounts_state {
  accounts_options opts;
  caf::actor persistence;
  caf::actor hashers;
  std::unique_ptr<security::token_signer> signer;
  std::unique_ptr<login_limiter> limiter;
  static inline const char* name = "accounts";
};

using self_ptr = caf::stateful_actor<accounts_state>*;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::chrono::milliseconds timeout_of(self_ptr self) {
  return std::chrono::milliseconds(self->state.opts.request_timeout_ms);
}

void fail(caf::response_promise& rp, const caf::error& e) { rp.deliver(e); }

void check_login(self_ptr self, login_request req, caf::response_promise rp,
                 const std::string& user_key, const std::string& addr_key);

void login(self_ptr self, login_request req, caf::response_promise rp) {
  auto& st = self->state;
  auto now = clock_type::now();
  auto user_key = "user:" + req.username;
  auto addr_key = "addr:" + req.client_address;
  if (st.opts.shared_limits) {
    // Cluster mode: the failures every node recorded.
    self->request(st.persistence, timeout_of(self),
                  users_sql::login_wait({user_key, addr_key}, st.opts.login_max_failures,
                                        st.opts.login_window_s))
        .then(
            [=](int64_t wait) mutable {
              if (wait > 0)
                rp.deliver(to_caf_error(errors::rate_limited(static_cast<int>(wait))));
              else
                check_login(self, std::move(req), rp, user_key, addr_key);
            },
            [=](caf::error& e) mutable { fail(rp, e); });
    return;
  }
  auto wait =
      std::max(st.limiter->retry_after(user_key, now), st.limiter->retry_after(addr_key, now));
  if (wait > 0) {
    rp.deliver(to_caf_error(errors::rate_limited(wait)));
    return;
  }
  check_login(self, std::move(req), rp, user_key, addr_key);
}

/// Checks the password (and counts a failure); the limit was checked by the caller.
void check_login(self_ptr self, login_request req, caf::response_promise rp,
                 const std::string& user_key, const std::string& addr_key) {
  auto& st = self->state;
  auto check_password = [=](user_credentials creds) mutable {
    self->request(self->state.hashers, timeout_of(self), verify_atom::value, req.password,
                  creds.password_hash)
        .then(
            [=](bool ok) mutable {
              auto& s = self->state;
              if (!ok) {
                if (s.opts.shared_limits) {
                  // Counted before the answer: the client's next attempt, on any node, sees it.
                  self->request(s.persistence, timeout_of(self),
                                users_sql::record_login_failure({user_key, addr_key},
                                                                s.opts.login_window_s))
                      .then(
                          [=](done) mutable {
                            rp.deliver(to_caf_error(errors::invalid_credentials()));
                          },
                          [=](caf::error& e) mutable { fail(rp, e); });
                  return;
                }
                s.limiter->fail(user_key, clock_type::now());
                s.limiter->fail(addr_key, clock_type::now());
                rp.deliver(to_caf_error(errors::invalid_credentials()));
                return;
              }
              if (s.opts.shared_limits)
                self->request(s.persistence, timeout_of(self),
                              users_sql::clear_login_failures(user_key))
                    .then([](done) {}, [](caf::error&) {});  // a later failure counts anyway
              else
                s.limiter->reset(user_key);
              login_reply reply;
              reply.user = creds.user;
              reply.access = s.signer->issue_access(creds.user.id, creds.user.role, unix_now(),
                                                    s.opts.access_ttl_s);
              reply.refresh = security::new_refresh_token();
              self->request(s.persistence, timeout_of(self),
                            users_sql::insert_refresh_token(
                                creds.user.id, security::hash_refresh_token(reply.refresh),
                                s.opts.refresh_ttl_s))
                  .then([=](done) mutable { rp.deliver(reply); },
                        [=](caf::error& e) mutable { fail(rp, e); });
            },
            [=](caf::error& e) mutable { fail(rp, e); });
  };
  self->request(st.persistence, timeout_of(self), users_sql::find_credentials(req.username))
      .then([=](user_credentials& creds) mutable { check_password(std::move(creds)); },
            [=](caf::error& e) mutable {
              if (from_caf_error(e).code == "not_found")
                check_password(user_credentials{});  // equal timing for unknown usernames
              else
                fail(rp, e);
            });
}

}  // namespace

caf::actor spawn_accounts(caf::actor_system& sys, accounts_options opts,
                          const caf::actor& persistence, const caf::actor& hashers) {
  return sys.spawn([=](self_ptr self) -> caf::behavior {
    auto& st = self->state;
    st.opts = opts;
    st.persistence = persistence;
    st.hashers = hashers;
    st.signer = std::make_unique<security::token_signer>(opts.token_secret);
    st.limiter = std::make_unique<login_limiter>(opts.login_max_failures, opts.login_window_s);
    self->delayed_send(self, std::chrono::seconds(opts.login_window_s), sweep_atom::value);
    return {
        [=](register_user& u) {
          auto rp = self->make_response_promise();
          self->request(self->state.hashers, timeout_of(self), hash_atom::value, u.password)
              .then(
                  [=](std::string& hash) mutable {
                    auto cmd = u.if_absent ? users_sql::insert_if_absent(u, hash)
                                           : users_sql::insert(u, hash);
                    self->request(self->state.persistence, timeout_of(self), std::move(cmd))
                        .then([=](user_record& r) mutable { rp.deliver(std::move(r)); },
                              [=](caf::error& e) mutable { fail(rp, e); });
                  },
                  [=](caf::error& e) mutable { fail(rp, e); });
        },
        [=](login_request& req) { login(self, std::move(req), self->make_response_promise()); },
        [=](refresh_request& req) {
          auto rp = self->make_response_promise();
          self->request(self->state.persistence, timeout_of(self),
                        users_sql::find_refresh_owner(security::hash_refresh_token(req.refresh)))
              .then(
                  [=](refresh_owner& owner) mutable {
                    auto& s = self->state;
                    rp.deliver(access_reply{s.signer->issue_access(
                        owner.user_id, owner.role, unix_now(), s.opts.access_ttl_s)});
                  },
                  [=](caf::error& e) mutable { fail(rp, e); });
        },
        [=](logout_request& req) {
          auto rp = self->make_response_promise();
          self->request(self->state.persistence, timeout_of(self),
                        users_sql::revoke_refresh_token(req.user_id,
                                                        security::hash_refresh_token(req.refresh)))
              .then([=](done d) mutable { rp.deliver(d); },
                    [=](caf::error& e) mutable { fail(rp, e); });
        },
        [=](me_request& req) {
          auto rp = self->make_response_promise();
          self->request(self->state.persistence, timeout_of(self), users_sql::find(req.user_id))
              .then([=](user_record& u) mutable { rp.deliver(std::move(u)); },
                    [=](caf::error& e) mutable {
                      // The caller's token names a user who is gone or deactivated: the token
                      // no longer authenticates anyone (401, never 404).
                      if (from_caf_error(e).code == "not_found")
                        rp.deliver(to_caf_error(errors::unauthenticated(
                            "the user of this access token no longer exists or is deactivated")));
                      else
                        fail(rp, e);
                    });
        },
        [=](sweep_atom) {
          self->state.limiter->sweep(clock_type::now());
          self->delayed_send(self, std::chrono::seconds(self->state.opts.login_window_s),
                             sweep_atom::value);
        },
    };
  });
}

}  // namespace wassally
