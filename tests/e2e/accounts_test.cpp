// API.md "Accounts" end to end: a real server process, real PostgreSQL, HTTP on loopback.
#include <boost/test/unit_test.hpp>
#include <pqxx/pqxx>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/server_fixture.hpp"

using namespace wassally::test;
using nlohmann::json;

namespace {

std::map<std::string, std::string> fast_env() {
  return {{"WASSALLY_PASSWORD_OPS_LIMIT", "1"},
          {"WASSALLY_PASSWORD_MEM_LIMIT_KIB", "8"},
          {"WASSALLY_LOGIN_MAX_FAILURES", "1000"},
          {"WASSALLY_BOOTSTRAP_STAFF", "root.staff:staff-password-1"}};
}

server_process::options opts(std::map<std::string, std::string> extra = {}) {
  server_process::options o;
  o.env = fast_env();
  for (auto& [k, v] : extra) o.env[k] = v;
  return o;
}

std::string unique(const std::string& prefix) {
  static int n = 0;
  return prefix + std::to_string(getpid() % 10000) + "_" + std::to_string(++n);
}

std::string unique_phone() {
  static int n = 0;
  return "+2010" + std::to_string(1000000 + getpid() % 1000 * 1000 + ++n);
}

json new_user_body(const std::string& username, const std::string& password = "password-123") {
  return {{"username", username}, {"password", password}, {"phone_number", unique_phone()}};
}

struct accounts_fixture {
  server_process server{opts()};
  http_client client = server.client();

  json register_user(const std::string& username, const std::string& password = "password-123") {
    auto r = client.post_json("/api/v1/auth/register", new_user_body(username, password));
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.json();
  }
  json login(const std::string& username, const std::string& password = "password-123") {
    auto r =
        client.post_json("/api/v1/auth/login", {{"username", username}, {"password", password}});
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return r.json();
  }
  static std::map<std::string, std::string> bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }
};

void expect_error(const http_response& r, int status, const std::string& code,
                  const std::string& field = {}) {
  BOOST_TEST(r.status == status, "status " << r.status << " body " << r.body);
  auto j = r.json();
  BOOST_TEST(j["error"]["code"] == code, r.body);
  BOOST_TEST(j["error"]["message"].is_string());
  if (!field.empty()) BOOST_TEST(j["error"]["fields"].contains(field), r.body);
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(accounts, accounts_fixture)

BOOST_AUTO_TEST_CASE(register_creates_a_customer) {
  auto name = unique("nour");
  auto body = new_user_body(name);
  body["first_name"] = "Nour";
  body["last_name"] = "Hassan";
  body["email"] = "nour@example.com";
  auto r = client.post_json("/api/v1/auth/register", body);
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  BOOST_TEST(r.header("content-type").find("application/json") == 0u);
  auto u = r.json();
  BOOST_TEST(u["username"] == name);
  BOOST_TEST(u["role"] == "customer");
  BOOST_TEST(u["first_name"] == "Nour");
  BOOST_TEST(u["last_name"] == "Hassan");
  BOOST_TEST(u["email"] == "nour@example.com");
  BOOST_TEST(u["phone_number"] == body["phone_number"]);
  BOOST_TEST(u["id"].is_number_integer());
  auto joined = u["date_joined"].get<std::string>();
  BOOST_TEST(joined.size() == 20u);
  BOOST_TEST(joined.back() == 'Z');
  BOOST_TEST(!u.contains("password"));
  BOOST_TEST(!u.contains("password_hash"));
  BOOST_TEST(r.body.find("password-123") == std::string::npos);
  // A customer has no crew or owner members.
  BOOST_TEST(!u.contains("coins"));
  BOOST_TEST(!u.contains("shop_ids"));
}

BOOST_AUTO_TEST_CASE(passwords_are_stored_as_argon2id_hashes_only) {
  auto name = unique("hashcheck");
  register_user(name, "my-secret-pass");
  auto c = pqxx::connection(server.database_url());
  pqxx::read_transaction tx(c);
  auto hash = tx.exec_params("SELECT password_hash FROM users WHERE username = $1", name)[0][0]
                  .as<std::string>();
  BOOST_TEST(hash.rfind("$argon2id$", 0) == 0u);
  BOOST_TEST(hash.find("my-secret-pass") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(duplicates_are_conflicts_naming_the_field) {
  auto name = unique("dup");
  auto body = new_user_body(name);
  BOOST_REQUIRE(client.post_json("/api/v1/auth/register", body).status == 201);
  auto same_name = new_user_body(name);
  expect_error(client.post_json("/api/v1/auth/register", same_name), 409, "conflict", "username");
  auto same_phone = new_user_body(unique("dup"));
  same_phone["phone_number"] = body["phone_number"];
  expect_error(client.post_json("/api/v1/auth/register", same_phone), 409, "conflict",
               "phone_number");
}

BOOST_AUTO_TEST_CASE(register_validates_every_field) {
  expect_error(client.post_json("/api/v1/auth/register", json::object()), 400, "validation_error",
               "username");
  auto r = client.post_json("/api/v1/auth/register", json::object());
  auto fields = r.json()["error"]["fields"];
  BOOST_TEST(fields.contains("password"));
  BOOST_TEST(fields.contains("phone_number"));

  auto body = new_user_body(unique("val"));
  body["password"] = "short";
  expect_error(client.post_json("/api/v1/auth/register", body), 400, "validation_error",
               "password");
  body = new_user_body("x");
  expect_error(client.post_json("/api/v1/auth/register", body), 400, "validation_error",
               "username");
  body = new_user_body("bad name!");
  expect_error(client.post_json("/api/v1/auth/register", body), 400, "validation_error",
               "username");
  body = new_user_body(unique("val"));
  body["phone_number"] = "12-34";
  expect_error(client.post_json("/api/v1/auth/register", body), 400, "validation_error",
               "phone_number");
  body = new_user_body(unique("val"));
  body["phone_number"] = 201234567;
  expect_error(client.post_json("/api/v1/auth/register", body), 400, "validation_error",
               "phone_number");
  body = new_user_body(unique("val"));
  body["email"] = "not-an-email";
  expect_error(client.post_json("/api/v1/auth/register", body), 400, "validation_error", "email");
  body = new_user_body(unique("val"));
  body["first_name"] = json::array();
  expect_error(client.post_json("/api/v1/auth/register", body), 400, "validation_error",
               "first_name");
}

BOOST_AUTO_TEST_CASE(bodies_that_are_not_json_objects) {
  auto h = std::map<std::string, std::string>{{"Content-Type", "application/json"}};
  expect_error(client.request("POST", "/api/v1/auth/register", "{\"username\":", h), 400,
               "malformed_json");
  expect_error(client.request("POST", "/api/v1/auth/register", "[1,2,3]", h), 400,
               "malformed_json");
  expect_error(client.request("POST", "/api/v1/auth/register", std::string(5000, '['), h), 400,
               "malformed_json");
  expect_error(client.request("POST", "/api/v1/auth/register", "{\"a\":\"\xff\xfe\"}", h), 400,
               "malformed_json");
  expect_error(client.request("POST", "/api/v1/auth/register", "username=x",
                              {{"Content-Type", "application/x-www-form-urlencoded"}}),
               415, "unsupported_media_type");
  expect_error(
      client.request("POST", "/api/v1/auth/register", "{}", {{"Content-Type", "text/plain"}}), 415,
      "unsupported_media_type");
}

BOOST_AUTO_TEST_CASE(bodies_over_one_mebibyte_are_refused) {
  json big = new_user_body(unique("big"));
  big["first_name"] = std::string(1024 * 1024 + 10, 'a');
  auto r = client.post_json("/api/v1/auth/register", big);
  BOOST_TEST(r.status == 413, r.body);
  BOOST_TEST(r.json()["error"]["code"] == "payload_too_large");
  // The server is fine afterwards.
  auto fresh = server.client();
  BOOST_TEST(fresh.get("/health").status == 200);
}

BOOST_AUTO_TEST_CASE(login_returns_tokens_and_the_user) {
  auto name = unique("login");
  auto user = register_user(name);
  auto r = login(name);
  BOOST_TEST(r["access"].get<std::string>().size() > 20u);
  BOOST_TEST(r["refresh"].get<std::string>().size() > 20u);
  BOOST_TEST(r["user"]["id"] == user["id"]);
  BOOST_TEST(r["user"]["role"] == "customer");
}

BOOST_AUTO_TEST_CASE(bad_credentials_are_401_invalid_credentials) {
  auto name = unique("cred");
  register_user(name);
  expect_error(
      client.post_json("/api/v1/auth/login", {{"username", name}, {"password", "wrong-pass"}}), 401,
      "invalid_credentials");
  expect_error(client.post_json("/api/v1/auth/login",
                                {{"username", unique("ghost")}, {"password", "password-123"}}),
               401, "invalid_credentials");
  expect_error(client.post_json("/api/v1/auth/login", {{"username", name}}), 400,
               "validation_error", "password");
}

BOOST_AUTO_TEST_CASE(me_needs_a_valid_token) {
  auto name = unique("me");
  auto user = register_user(name);
  auto tokens = login(name);
  auto r = client.get("/api/v1/me", bearer(tokens["access"]));
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  auto me = r.json();
  BOOST_TEST(me["id"] == user["id"]);
  BOOST_TEST(me["username"] == name);
  for (auto key : {"id", "username", "role", "first_name", "last_name", "email", "phone_number",
                   "date_joined"})
    BOOST_TEST(me.contains(key), key);
  expect_error(client.get("/api/v1/me"), 401, "unauthenticated");
  expect_error(client.get("/api/v1/me", bearer("not-a-token")), 401, "unauthenticated");
  expect_error(client.get("/api/v1/me", {{"Authorization", "Basic abc"}}), 401, "unauthenticated");
  auto forged = tokens["access"].get<std::string>();
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'a' ? 'b' : 'a';
  expect_error(client.get("/api/v1/me", bearer(forged)), 401, "unauthenticated");
}

BOOST_AUTO_TEST_CASE(refresh_issues_a_new_access_token_and_logout_revokes) {
  auto name = unique("refresh");
  register_user(name);
  auto tokens = login(name);
  auto r = client.post_json("/api/v1/auth/refresh", {{"refresh", tokens["refresh"]}});
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  auto access = r.json()["access"].get<std::string>();
  BOOST_TEST(client.get("/api/v1/me", bearer(access)).status == 200);
  expect_error(client.post_json("/api/v1/auth/refresh", {{"refresh", "nonsense"}}), 401,
               "unauthenticated");
  // Logout needs authentication, and revokes only the caller's token.
  expect_error(client.post_json("/api/v1/auth/logout", {{"refresh", tokens["refresh"]}}), 401,
               "unauthenticated");
  auto other = unique("other");
  register_user(other);
  auto other_tokens = login(other);
  expect_error(client.post_json("/api/v1/auth/logout", {{"refresh", tokens["refresh"]}},
                                bearer(other_tokens["access"])),
               401, "unauthenticated");
  auto out =
      client.post_json("/api/v1/auth/logout", {{"refresh", tokens["refresh"]}}, bearer(access));
  BOOST_TEST(out.status == 204, out.body);
  BOOST_TEST(out.body.empty());
  expect_error(client.post_json("/api/v1/auth/refresh", {{"refresh", tokens["refresh"]}}), 401,
               "unauthenticated");
  // The access token stays valid until it expires (API.md).
  BOOST_TEST(client.get("/api/v1/me", bearer(access)).status == 200);
  // The other user's session is untouched.
  BOOST_TEST(
      client.post_json("/api/v1/auth/refresh", {{"refresh", other_tokens["refresh"]}}).status ==
      200);
}

BOOST_AUTO_TEST_CASE(bootstrap_staff_can_log_in) {
  auto r = login("root.staff", "staff-password-1");
  BOOST_TEST(r["user"]["role"] == "staff");
  // Restarting with the same bootstrap setting keeps one account and its password.
  server.restart();
  client = server.client();
  auto again = login("root.staff", "staff-password-1");
  BOOST_TEST(again["user"]["id"] == r["user"]["id"]);
}

BOOST_AUTO_TEST_CASE(passwords_and_tokens_never_reach_the_log) {
  auto name = unique("logcheck");
  register_user(name, "log-secret-pass");
  auto tokens = login(name, "log-secret-pass");
  client.post_json("/api/v1/auth/login", {{"username", name}, {"password", "wrong-secret-x"}});
  client.get("/api/v1/me", bearer(tokens["access"]));
  auto log = server.log();
  BOOST_TEST(log.find("log-secret-pass") == std::string::npos);
  BOOST_TEST(log.find("wrong-secret-x") == std::string::npos);
  BOOST_TEST(log.find("staff-password-1") == std::string::npos);
  BOOST_TEST(log.find(tokens["access"].get<std::string>()) == std::string::npos);
  BOOST_TEST(log.find(tokens["refresh"].get<std::string>()) == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(accounts_limits)

BOOST_AUTO_TEST_CASE(repeated_login_failures_are_rate_limited) {
  auto o = opts();
  o.env["WASSALLY_LOGIN_MAX_FAILURES"] = "5";
  o.env["WASSALLY_LOGIN_WINDOW_S"] = "60";
  server_process server(o);
  auto client = server.client();
  auto name = unique("limited");
  BOOST_REQUIRE(client.post_json("/api/v1/auth/register", new_user_body(name)).status == 201);
  for (int i = 0; i < 5; ++i)
    BOOST_TEST(
        client.post_json("/api/v1/auth/login", {{"username", name}, {"password", "wrong-pass"}})
            .status == 401);
  auto r =
      client.post_json("/api/v1/auth/login", {{"username", name}, {"password", "password-123"}});
  BOOST_TEST(r.status == 429, r.body);
  BOOST_TEST(r.json()["error"]["code"] == "rate_limited");
  auto retry = std::stoi(r.header("retry-after"));
  BOOST_TEST(retry >= 1);
  BOOST_TEST(retry <= 60);
}

BOOST_AUTO_TEST_CASE(failures_per_address_are_limited_across_usernames) {
  auto o = opts();
  o.env["WASSALLY_LOGIN_MAX_FAILURES"] = "3";
  server_process server(o);
  auto client = server.client();
  for (int i = 0; i < 3; ++i)
    client.post_json("/api/v1/auth/login",
                     {{"username", unique("nobody")}, {"password", "x-123456"}});
  auto r =
      client.post_json("/api/v1/auth/login", {{"username", unique("nobody")}, {"password", "x"}});
  BOOST_TEST(r.status == 429, r.body);
  BOOST_TEST(!r.header("retry-after").empty());
}

BOOST_AUTO_TEST_CASE(access_tokens_expire) {
  auto o = opts();
  o.env["WASSALLY_ACCESS_TTL_S"] = "1";
  server_process server(o);
  auto client = server.client();
  auto name = unique("expiry");
  BOOST_REQUIRE(client.post_json("/api/v1/auth/register", new_user_body(name)).status == 201);
  auto tokens =
      client.post_json("/api/v1/auth/login", {{"username", name}, {"password", "password-123"}})
          .json();
  auto auth = std::map<std::string, std::string>{
      {"Authorization", "Bearer " + tokens["access"].get<std::string>()}};
  BOOST_TEST(client.get("/api/v1/me", auth).status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto r = client.get("/api/v1/me", auth);
  BOOST_TEST(r.status == 401);
  BOOST_TEST(r.json()["error"]["code"] == "unauthenticated");
  // The refresh token still works and yields a fresh access token.
  auto fresh = client.post_json("/api/v1/auth/refresh", {{"refresh", tokens["refresh"]}});
  BOOST_REQUIRE(fresh.status == 200);
  auth["Authorization"] = "Bearer " + fresh.json()["access"].get<std::string>();
  BOOST_TEST(client.get("/api/v1/me", auth).status == 200);
}

BOOST_AUTO_TEST_CASE(create_staff_command_makes_a_staff_account) {
  auto url = create_test_database("cstaff");
  std::string bin = std::getenv("WASSALLY_BINARY");
  auto cmd = "DATABASE_URL='" + url +
             "' WASSALLY_PASSWORD_OPS_LIMIT=1 WASSALLY_PASSWORD_MEM_LIMIT_KIB=8 "
             "WASSALLY_VAR_DIR=/tmp/wassally-test-var WASSALLY_STAFF_PASSWORD=cli-staff-pass '" +
             bin + "' create-staff cli.staff > /dev/null 2>&1";
  BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
  auto bad = "DATABASE_URL='" + url + "' WASSALLY_STAFF_PASSWORD=short '" + bin +
             "' create-staff x.staff > /dev/null 2>&1";
  BOOST_TEST(std::system(bad.c_str()) != 0);
  auto o = opts();
  o.env["DATABASE_URL"] = url;
  server_process server(o);
  auto client = server.client();
  auto r = client.post_json("/api/v1/auth/login",
                            {{"username", "cli.staff"}, {"password", "cli-staff-pass"}});
  BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
  BOOST_TEST(r.json()["user"]["role"] == "staff");
}

BOOST_AUTO_TEST_SUITE_END()
