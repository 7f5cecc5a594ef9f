// CORS on the wire (API.md "Browsers"; the browser's view is tests/browser/cors_test.py): the
// headers of answers and preflights for a listed origin, for `*`, and for anyone else.
#include <boost/test/unit_test.hpp>

#include "tests/support/http_client.hpp"
#include "tests/support/server_fixture.hpp"

using namespace wassally::test;

namespace {
const std::string listed = "https://dashboard.example.com";

server_process start(const std::string& origins) {
  server_process::options o;
  o.env = {{"WASSALLY_CORS_ALLOWED_ORIGINS", origins}, {"WASSALLY_CORS_MAX_AGE_S", "321"}};
  return server_process(o);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(cors)

BOOST_AUTO_TEST_CASE(a_listed_origin_is_answered_with_cors_headers_and_preflights) {
  auto server = start("http://other.example.org, " + listed + "/");
  auto client = server.client();
  auto r = client.get("/api/v1/shop-categories", {{"Origin", listed}});
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.header("access-control-allow-origin") == listed);
  BOOST_TEST(r.header("vary").find("Origin") != std::string::npos);
  auto exposed = r.header("access-control-expose-headers");
  for (auto h : {"Retry-After", "Location", "ETag"})
    BOOST_TEST(exposed.find(h) != std::string::npos, exposed);
  BOOST_TEST(r.header("access-control-allow-credentials").empty());
  // Errors carry them too (a dashboard must be able to read the error body).
  auto e = client.get("/api/v1/me", {{"Origin", listed}});
  BOOST_TEST(e.status == 401);
  BOOST_TEST(e.header("access-control-allow-origin") == listed);

  auto pre = client.request("OPTIONS", "/api/v1/products/12", "",
                            {{"Origin", listed},
                             {"Access-Control-Request-Method", "PATCH"},
                             {"Access-Control-Request-Headers", "authorization,content-type"}});
  BOOST_TEST(pre.status == 204);
  BOOST_TEST(pre.header("access-control-allow-origin") == listed);
  BOOST_TEST(pre.header("access-control-allow-methods") == "GET, PATCH, DELETE, OPTIONS");
  BOOST_TEST(pre.header("access-control-allow-headers") ==
             "Authorization, Content-Type, Idempotency-Key, Last-Event-ID");
  BOOST_TEST(pre.header("access-control-max-age") == "321");
  // A path no route has is 404 even to a preflight.
  BOOST_TEST(client.request("OPTIONS", "/api/v1/nothing", "", {{"Origin", listed}}).status == 404);
}

BOOST_AUTO_TEST_CASE(other_origins_get_no_cors_headers_and_a_normal_answer) {
  auto server = start(listed);
  auto client = server.client();
  auto r = client.get("/api/v1/shop-categories", {{"Origin", "https://evil.example.net"}});
  BOOST_TEST(r.status == 200);  // answered as usual: refusing is the browser's job
  BOOST_TEST(r.header("access-control-allow-origin").empty());
  BOOST_TEST(r.header("vary").find("Origin") != std::string::npos);
  auto pre = client.request(
      "OPTIONS", "/api/v1/orders", "",
      {{"Origin", "https://evil.example.net"}, {"Access-Control-Request-Method", "POST"}});
  BOOST_TEST(pre.status == 204);
  BOOST_TEST(pre.header("access-control-allow-origin").empty());
  BOOST_TEST(pre.header("access-control-allow-methods").empty());
  BOOST_TEST(pre.header("allow") == "GET, POST, OPTIONS");
}

BOOST_AUTO_TEST_CASE(star_admits_any_origin_without_credentials) {
  auto server = start("*");
  auto r = server.client().get("/api/v1/shop-categories", {{"Origin", "https://any.example"}});
  BOOST_TEST(r.header("access-control-allow-origin") == "*");
  BOOST_TEST(r.header("access-control-allow-credentials").empty());
}

BOOST_AUTO_TEST_CASE(without_a_list_nothing_changes) {
  server_process::options o;
  server_process server(o);
  auto r = server.client().get("/api/v1/shop-categories", {{"Origin", listed}});
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.header("access-control-allow-origin").empty());
  BOOST_TEST(r.header("vary").empty());
}

BOOST_AUTO_TEST_SUITE_END()
