// Security end to end (issue 8), suite tokens_hostile: forged, malformed, expired, revoked and
// stale tokens are all 401. tests/SECURITY.md describes what it covers.
#include <sodium.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <pqxx/pqxx>
#include <thread>

#include "security/tokens.hpp"
#include "tests/e2e/authorization_support.hpp"
#include "tests/e2e/orders_support.hpp"

using namespace wassally::test;
using nlohmann::json;
namespace security = wassally::security;

namespace {

const std::string test_secret = "authorization-test-secret-0123456789abcdef";

std::string b64(const std::string& s) { return security::base64url_encode(s); }

std::string hmac256(const std::string& key, const std::string& input) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(input.data()),
                                input.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return std::string(reinterpret_cast<char*>(mac), sizeof mac);
}

std::string hmac512(const std::string& key, const std::string& input) {
  unsigned char mac[crypto_auth_hmacsha512_BYTES];
  crypto_auth_hmacsha512_state st;
  crypto_auth_hmacsha512_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha512_update(&st, reinterpret_cast<const unsigned char*>(input.data()),
                                input.size());
  crypto_auth_hmacsha512_final(&st, mac);
  return std::string(reinterpret_cast<char*>(mac), sizeof mac);
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// A JWT with the given header and payload, signed with HS256 under `key` (or not at all).
std::string jwt(const json& header, const json& payload, const std::string& key,
                bool hs512 = false) {
  auto input = b64(header.dump()) + "." + b64(payload.dump());
  if (key.empty()) return input + ".";
  return input + "." + b64(hs512 ? hmac512(key, input) : hmac256(key, input));
}

json claims(int64_t user, const std::string& role, int64_t exp_offset = 600) {
  auto now = unix_now();
  return {
      {"sub", user}, {"role", role}, {"iat", now}, {"exp", now + exp_offset}, {"typ", "access"}};
}

const json hs256 = {{"alg", "HS256"}, {"typ", "JWT"}};

/// A server whose token secret the test knows, so that it can sign tokens the server must
/// still refuse; users are re-checked on every request.
struct token_world : orders_world {
  token_world()
      : orders_world({{"WASSALLY_TOKEN_SECRET", test_secret}, {"WASSALLY_AUTH_RECHECK_S", "0"}}) {}

  void expect_401(const std::string& what, const std::string& token,
                  const std::string& path = "/api/v1/me") {
    auto r = client.get(path, {{"Authorization", "Bearer " + token}});
    BOOST_TEST(r.status == 401, what << ": " << r.status << " " << r.body);
    BOOST_TEST(error_shaped({r.status, r.body}, "unauthenticated"), what << ": " << r.body);
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(tokens_hostile)

BOOST_AUTO_TEST_CASE(the_test_can_sign_tokens_the_server_accepts) {
  // Proves the forged cases below fail for the reason each names, not for a wrong key.
  token_world w;
  auto [name, auth] = w.customer();
  auto me = w.client.get("/api/v1/me", auth).json();
  auto token = jwt(hs256, claims(me["id"], "customer"), test_secret);
  auto r = w.client.get("/api/v1/me", {{"Authorization", "Bearer " + token}});
  BOOST_TEST(r.status == 200, r.body);
  BOOST_TEST(r.json()["id"] == me["id"]);
}

BOOST_AUTO_TEST_CASE(tampered_signatures_and_payloads_are_401) {
  token_world w;
  auto [name, auth] = w.customer();
  auto token = auth.at("Authorization").substr(7);
  auto last_dot = token.rfind('.');
  auto first_dot = token.find('.');
  // One character of the signature changed.
  auto sig = token;
  sig[last_dot + 3] = sig[last_dot + 3] == 'A' ? 'B' : 'A';
  w.expect_401("flipped signature character", sig);
  // The signature cut short, dropped, or taken from another token.
  w.expect_401("truncated signature", token.substr(0, token.size() - 4));
  w.expect_401("empty signature", token.substr(0, last_dot + 1));
  auto [other, other_auth] = w.customer();
  auto other_token = other_auth.at("Authorization").substr(7);
  w.expect_401("signature of another token",
               token.substr(0, last_dot) + other_token.substr(other_token.rfind('.')));
  // The payload rewritten to claim staff, the original signature kept.
  auto payload = json::parse(
      *security::base64url_decode(token.substr(first_dot + 1, last_dot - first_dot - 1)));
  payload["role"] = "staff";
  auto escalated = token.substr(0, first_dot) + "." + b64(payload.dump()) + token.substr(last_dot);
  w.expect_401("payload claiming staff", escalated, "/api/v1/staff/overview");
  // Signed with a different key.
  auto me = w.client.get("/api/v1/me", auth).json();
  w.expect_401("another key", jwt(hs256, claims(me["id"], "customer"), "some-other-secret-123456"));
}

BOOST_AUTO_TEST_CASE(algorithms_other_than_hs256_are_401) {
  token_world w;
  auto [name, auth] = w.customer();
  int64_t id = w.client.get("/api/v1/me", auth).json()["id"];
  auto c = claims(id, "customer");
  w.expect_401("alg none, no signature", jwt({{"alg", "none"}, {"typ", "JWT"}}, c, ""));
  w.expect_401("alg none, signed anyway", jwt({{"alg", "none"}, {"typ", "JWT"}}, c, test_secret));
  w.expect_401("alg NONE", jwt({{"alg", "NONE"}}, c, ""));
  w.expect_401("alg HS512 with an HS512 signature under the real key",
               jwt({{"alg", "HS512"}, {"typ", "JWT"}}, c, test_secret, true));
  w.expect_401("alg HS512 with an HS256 signature under the real key",
               jwt({{"alg", "HS512"}, {"typ", "JWT"}}, c, test_secret));
  w.expect_401("alg RS256 with an HMAC of the real key",
               jwt({{"alg", "RS256"}, {"typ", "JWT"}}, c, test_secret));
  w.expect_401("no alg", jwt({{"typ", "JWT"}}, c, test_secret));
  w.expect_401("alg not a string", jwt({{"alg", 256}}, c, test_secret));
  w.expect_401("header an array", b64("[\"HS256\"]") + "." + b64(c.dump()) + ".sig");
}

BOOST_AUTO_TEST_CASE(malformed_tokens_are_401) {
  token_world w;
  auto [name, auth] = w.customer();
  auto token = auth.at("Authorization").substr(7);
  auto first_dot = token.find('.');
  auto last_dot = token.rfind('.');
  w.expect_401("one segment", "abc");
  w.expect_401("two segments", token.substr(0, last_dot));
  w.expect_401("four segments", token + ".abc");
  w.expect_401("empty segments", "..");
  w.expect_401("padding in base64url", token.substr(0, first_dot) + "=" + token.substr(first_dot));
  w.expect_401("standard base64 characters", "+/+/." + token.substr(first_dot + 1));
  w.expect_401("not base64 at all", "***." + token.substr(first_dot + 1));
  w.expect_401("header not JSON", b64("not json") + token.substr(first_dot));
  w.expect_401("payload not an object", jwt(hs256, json("x"), test_secret));
  auto input = b64(hs256.dump()) + "." + b64("not json");
  w.expect_401("payload not JSON", input + "." + b64(hmac256(test_secret, input)));
  w.expect_401("payload without sub",
               jwt(hs256, {{"role", "customer"}, {"exp", unix_now() + 600}, {"typ", "access"}},
                   test_secret));
  w.expect_401(
      "sub not a number",
      jwt(hs256, {{"sub", "1"}, {"role", "customer"}, {"exp", unix_now() + 600}, {"typ", "access"}},
          test_secret));
  w.expect_401("oversized", std::string(5000, 'a') + "." + token.substr(first_dot + 1));
  w.expect_401("token with spaces", token.substr(0, 10) + " " + token.substr(10));
  // Not Bearer at all, or Bearer with nothing.
  for (auto header :
       {std::string("Basic ") + token, std::string("Bearer"), std::string("Bearer "), token}) {
    auto r = w.client.get("/api/v1/me", {{"Authorization", header}});
    BOOST_TEST(r.status == 401, header.substr(0, 12) << ": " << r.body);
    BOOST_TEST(error_shaped({r.status, r.body}, "unauthenticated"), r.body);
  }
  // The query-string form (for EventSource) is held to the same rules.
  auto r = w.client.get("/api/v1/staff/events?access_token=" + token.substr(0, last_dot) + ".x");
  BOOST_TEST(r.status == 401, r.body);
  BOOST_TEST(error_shaped({r.status, r.body}, "unauthenticated"), r.body);
}

BOOST_AUTO_TEST_CASE(expired_and_wrong_type_tokens_are_401) {
  token_world w;
  auto [name, auth] = w.customer();
  int64_t id = w.client.get("/api/v1/me", auth).json()["id"];
  w.expect_401("expired a second ago", jwt(hs256, claims(id, "customer", -1), test_secret));
  w.expect_401("expiring now", jwt(hs256, claims(id, "customer", 0), test_secret));
  auto no_exp = claims(id, "customer");
  no_exp.erase("exp");
  w.expect_401("no exp", jwt(hs256, no_exp, test_secret));
  auto refresh_typ = claims(id, "customer");
  refresh_typ["typ"] = "refresh";
  w.expect_401("typ refresh", jwt(hs256, refresh_typ, test_secret));
  auto no_typ = claims(id, "customer");
  no_typ.erase("typ");
  w.expect_401("no typ", jwt(hs256, no_typ, test_secret));
}

BOOST_AUTO_TEST_CASE(refresh_and_access_tokens_are_not_interchangeable_and_revoked_is_final) {
  token_world w;
  auto [name, auth] = w.customer();
  auto login =
      w.client.post_json("/api/v1/auth/login", {{"username", name}, {"password", "password-1"}});
  BOOST_REQUIRE(login.status == 200);
  auto access = login.json()["access"].get<std::string>();
  auto refresh = login.json()["refresh"].get<std::string>();
  // A refresh token is not an access token, and an access token refreshes nothing.
  w.expect_401("refresh token as access token", refresh);
  auto r = w.client.post_json("/api/v1/auth/refresh", {{"refresh", access}});
  BOOST_TEST(r.status == 401, r.body);
  BOOST_TEST(error_shaped({r.status, r.body}, "unauthenticated"), r.body);
  // Tampered refresh token.
  auto tampered = refresh;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  r = w.client.post_json("/api/v1/auth/refresh", {{"refresh", tampered}});
  BOOST_TEST(r.status == 401, r.body);
  BOOST_TEST(error_shaped({r.status, r.body}, "unauthenticated"), r.body);
  // Revoked: refresh is refused from then on.
  BOOST_TEST(w.client.post_json("/api/v1/auth/refresh", {{"refresh", refresh}}).status == 200);
  auto out = w.client.post_json("/api/v1/auth/logout", {{"refresh", refresh}},
                                {{"Authorization", "Bearer " + access}});
  BOOST_TEST_REQUIRE(out.status == 204, out.body);
  for (int i = 0; i < 2; ++i) {
    r = w.client.post_json("/api/v1/auth/refresh", {{"refresh", refresh}});
    BOOST_TEST(r.status == 401, r.body);
    BOOST_TEST(error_shaped({r.status, r.body}, "unauthenticated"), r.body);
  }
}

BOOST_AUTO_TEST_CASE(tokens_of_deactivated_deleted_or_changed_users_are_401) {
  token_world w;
  auto [name, auth] = w.customer();
  auto login =
      w.client.post_json("/api/v1/auth/login", {{"username", name}, {"password", "password-1"}});
  BOOST_REQUIRE(login.status == 200);
  auto access = login.json()["access"].get<std::string>();
  auto refresh = login.json()["refresh"].get<std::string>();
  int64_t id = login.json()["user"]["id"];
  for (auto path : {"/api/v1/me", "/api/v1/cart", "/api/v1/orders"})
    BOOST_TEST_REQUIRE(w.client.get(path, auth).status == 200, path);

  // Deactivated (users.is_active = false: an operator's change; API.md has no route for it).
  {
    pqxx::connection c(w.server.database_url());
    pqxx::work tx(c);
    tx.exec_params("UPDATE users SET is_active = false WHERE id = $1", id);
    tx.commit();
  }
  for (auto path : {"/api/v1/me", "/api/v1/cart", "/api/v1/orders"})
    w.expect_401(path, access, path);
  auto r = w.client.post_json("/api/v1/auth/refresh", {{"refresh", refresh}});
  BOOST_TEST(r.status == 401, r.body);
  BOOST_TEST(error_shaped({r.status, r.body}, "unauthenticated"), r.body);
  r = w.client.post_json("/api/v1/auth/login", {{"username", name}, {"password", "password-1"}});
  BOOST_TEST(r.status == 401, r.body);
  BOOST_TEST(r.json()["error"]["code"] == "invalid_credentials", r.body);
  // On a public route the token counts for nothing: answered as anonymous.
  BOOST_TEST(w.client.get("/api/v1/shops", auth).status == 200);

  // Deleted.
  auto [gone_name, gone_auth] = w.customer();
  auto gone_id = w.client.get("/api/v1/me", gone_auth).json()["id"].get<int64_t>();
  {
    pqxx::connection c(w.server.database_url());
    pqxx::work tx(c);
    tx.exec_params("DELETE FROM users WHERE id = $1", gone_id);
    tx.commit();
  }
  w.expect_401("deleted user /me", gone_auth.at("Authorization").substr(7));
  w.expect_401("deleted user /cart", gone_auth.at("Authorization").substr(7), "/api/v1/cart");
  // A validly signed token for a user id that never existed.
  w.expect_401("unknown user", jwt(hs256, claims(987654321, "customer"), test_secret),
               "/api/v1/orders");
  // A validly signed token whose role is not the user's (a customer claiming staff).
  auto [c2, c2_auth] = w.customer();
  int64_t c2_id = w.client.get("/api/v1/me", c2_auth).json()["id"];
  w.expect_401("role not the user's", jwt(hs256, claims(c2_id, "staff"), test_secret),
               "/api/v1/staff/overview");
}

BOOST_AUTO_TEST_CASE(a_deactivated_users_token_is_refused_within_the_recheck_window) {
  // The default setting: users are confirmed at most every auth_recheck_s (here 1 s).
  orders_world w(std::map<std::string, std::string>{{"WASSALLY_AUTH_RECHECK_S", "1"}});
  auto [name, auth] = w.customer();
  BOOST_TEST_REQUIRE(w.client.get("/api/v1/orders", auth).status == 200);
  int64_t id = w.client.get("/api/v1/me", auth).json()["id"];
  {
    pqxx::connection c(w.server.database_url());
    pqxx::work tx(c);
    tx.exec_params("UPDATE users SET is_active = false WHERE id = $1", id);
    tx.commit();
  }
  // /me asks the database itself: refused at once.
  auto me = w.client.get("/api/v1/me", auth);
  BOOST_TEST(me.status == 401, me.body);
  BOOST_TEST(error_shaped({me.status, me.body}, "unauthenticated"), me.body);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto r = w.client.get("/api/v1/orders", auth);
  BOOST_TEST(r.status == 401, r.body);
  BOOST_TEST(error_shaped({r.status, r.body}, "unauthenticated"), r.body);
}

BOOST_AUTO_TEST_SUITE_END()
