// Security end to end (issue 8), suite secrets_in_logs: a whole journey leaves no password,
// token or delivery code in the server's log. tests/SECURITY.md describes what it covers.
#include <boost/test/unit_test.hpp>

#include "security/tokens.hpp"
#include "tests/e2e/orders_support.hpp"

using namespace wassally::test;
using nlohmann::json;
namespace security = wassally::security;

BOOST_AUTO_TEST_SUITE(secrets_in_logs)

BOOST_AUTO_TEST_CASE(a_whole_journey_leaves_no_password_token_or_code_in_the_log) {
  orders_world w;
  std::vector<std::pair<std::string, std::string>> secrets = {
      {"staff password", "staff-password-1"}, {"owner password", "owner-pass-1"}};
  auto s = w.shop();
  auto product = w.product(s, {{"price", "4.00"}, {"stock", 50}});

  // Register and log in a customer; refresh; a few wrong passwords.
  auto name = "journey" + unique_suffix();
  std::string password = "journey-secret-pass-1";
  auto reg = w.client.post_json(
      "/api/v1/auth/register",
      {{"username", name}, {"password", password}, {"phone_number", unique_phone()}});
  BOOST_REQUIRE_MESSAGE(reg.status == 201, reg.body);
  secrets.push_back({"customer password", password});
  for (auto wrong : {"journey-wrong-pass-1", "journey-wrong-pass-2"}) {
    auto r = w.client.post_json("/api/v1/auth/login", {{"username", name}, {"password", wrong}});
    BOOST_TEST(r.status == 401);
    secrets.push_back({"wrong password", wrong});
  }
  auto login =
      w.client.post_json("/api/v1/auth/login", {{"username", name}, {"password", password}});
  BOOST_REQUIRE_MESSAGE(login.status == 200, login.body);
  auto access = login.json()["access"].get<std::string>();
  auto refresh = login.json()["refresh"].get<std::string>();
  secrets.push_back({"access token", access});
  secrets.push_back({"refresh token", refresh});
  auto refreshed = w.client.post_json("/api/v1/auth/refresh", {{"refresh", refresh}});
  BOOST_REQUIRE(refreshed.status == 200);
  auto access2 = refreshed.json()["access"].get<std::string>();
  secrets.push_back({"refreshed access token", access2});
  header_map customer = {{"Authorization", "Bearer " + access2}};

  // A crew created by staff, logging in with a wrong password first.
  auto crew_name = "jcrew" + unique_suffix();
  std::string crew_password = "journey-crew-pass-1";
  auto made = w.client.post_json(
      "/api/v1/staff/crews",
      {{"username", crew_name}, {"password", crew_password}, {"phone_number", unique_phone()}},
      w.staff);
  BOOST_REQUIRE_MESSAGE(made.status == 201, made.body);
  secrets.push_back({"crew password", crew_password});
  w.client.post_json("/api/v1/auth/login",
                     {{"username", crew_name}, {"password", "journey-crew-wrong-1"}});
  secrets.push_back({"crew wrong password", "journey-crew-wrong-1"});
  auto crew_login = w.client.post_json("/api/v1/auth/login",
                                       {{"username", crew_name}, {"password", crew_password}});
  BOOST_REQUIRE(crew_login.status == 200);
  auto crew_access = crew_login.json()["access"].get<std::string>();
  secrets.push_back({"crew access token", crew_access});
  secrets.push_back({"crew refresh token", crew_login.json()["refresh"].get<std::string>()});
  header_map crew = {{"Authorization", "Bearer " + crew_access}};
  BOOST_REQUIRE(w.client.put_json("/api/v1/crew/status", {{"status", "available"}}, crew).status ==
                200);

  // The order, followed over its event stream with the token in the query string, accepted,
  // picked up, a wrong code, then delivered with the right one.
  auto placed = w.place(customer, {orders_world::line(product, 2)});
  BOOST_REQUIRE_MESSAGE(placed.status == 201, placed.body);
  int64_t id = placed.json()["id"];
  auto code = placed.json()["code"].get<std::string>();
  secrets.push_back({"delivery code", code});
  auto path = "/api/v1/orders/" + std::to_string(id);
  {
    sse_stream stream("127.0.0.1", w.server.port(), path + "/events?access_token=" + access2);
    BOOST_TEST(stream.status() == 200);
  }
  BOOST_TEST(w.client.post_json(path + "/accept", json::object(), crew).status == 200);
  BOOST_TEST(w.client.post_json(path + "/pickup", json::object(), crew).status == 200);
  auto wrong_code = code == "00000000" ? std::string("11111111") : std::string("00000000");
  BOOST_TEST(w.client.post_json(path + "/deliver", {{"code", wrong_code}}, crew).status == 400);
  auto done = w.client.post_json(path + "/deliver", {{"code", code}}, crew);
  BOOST_TEST_REQUIRE(done.status == 200, done.body);
  BOOST_TEST(done.json()["status"] == "delivered");
  // Logout, and a refresh with the revoked token.
  BOOST_TEST(w.client.post_json("/api/v1/auth/logout", {{"refresh", refresh}}, customer).status ==
             204);
  BOOST_TEST(w.client.post_json("/api/v1/auth/refresh", {{"refresh", refresh}}).status == 401);

  // Stop the server so that everything it would write is in the log.
  w.server.stop();
  auto log = w.server.log();
  BOOST_TEST_REQUIRE(log.find("serving on") != std::string::npos, "not the server's log: " << log);
  for (auto& [what, secret] : secrets) {
    BOOST_TEST(log.find(secret) == std::string::npos, what << " appears in the server log");
    // Parts of tokens as well: the signature or the random body alone is just as secret.
    if (secret.size() > 40)
      BOOST_TEST(log.find(secret.substr(secret.size() - 40)) == std::string::npos,
                 what << " (its tail) appears in the server log");
  }
  BOOST_TEST(log.find(security::hash_refresh_token(refresh)) == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
