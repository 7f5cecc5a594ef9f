// The HTTP edge end to end: service endpoints, unknown routes, methods, shutdown, odd bytes.
#include <signal.h>

#include <boost/test/unit_test.hpp>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/server_fixture.hpp"

using namespace wassally::test;
using nlohmann::json;

namespace {
server_process::options fast() {
  server_process::options o;
  o.env = {{"WASSALLY_PASSWORD_OPS_LIMIT", "1"}, {"WASSALLY_PASSWORD_MEM_LIMIT_KIB", "8"}};
  return o;
}
struct edge_fixture {
  server_process server{fast()};
  http_client client = server.client();
};
}  // namespace

BOOST_FIXTURE_TEST_SUITE(edge, edge_fixture)

BOOST_AUTO_TEST_CASE(health_and_ready) {
  auto h = client.get("/health");
  BOOST_TEST(h.status == 200);
  BOOST_TEST(h.json()["status"] == "ok");
  BOOST_TEST(client.get("/ready").status == 200);
}

BOOST_AUTO_TEST_CASE(unknown_routes_and_methods_get_json_errors) {
  auto r = client.get("/api/v1/no-such-thing");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(r.json()["error"]["code"] == "not_found");
  auto m = client.del("/api/v1/me");
  BOOST_TEST(m.status == 405);
  BOOST_TEST(m.json()["error"]["code"] == "method_not_allowed");
  auto p = client.request("PUT", "/health", "{}", {{"Content-Type", "application/json"}});
  BOOST_TEST(p.status == 405);
}

BOOST_AUTO_TEST_CASE(openapi_document_and_docs_page) {
  auto r = client.get("/api/openapi.json");
  BOOST_REQUIRE(r.status == 200);
  auto doc = r.json();
  BOOST_TEST(doc["openapi"].get<std::string>().rfind("3.", 0) == 0u);
  BOOST_TEST(doc["paths"].contains("/api/v1/auth/login"));
  auto docs = client.get("/api/docs");
  BOOST_TEST(docs.status == 200);
  BOOST_TEST(docs.header("content-type").find("text/html") == 0u);
  BOOST_TEST(docs.header("content-security-policy").find("script-src 'self'") != std::string::npos);
  BOOST_TEST(docs.body.find("/api/docs/assets/swagger-ui-bundle.js") != std::string::npos);
  // (That it renders, and "try it out" works, is tests/browser/docs_test.py.)
  auto init = client.get("/api/docs/assets/docs.js");
  BOOST_TEST(init.status == 200);
  BOOST_TEST(init.body.find("/api/openapi.json") != std::string::npos);
  BOOST_TEST(client.get("/api/docs/assets/swagger-ui-bundle.js").status == 200);
  BOOST_TEST(client.get("/api/docs/assets/package.json").status == 404);
  BOOST_TEST(client.get("/api/docs/assets/..%2fpackage.json").status == 404);
}

BOOST_AUTO_TEST_CASE(console_page_and_its_files) {
  auto page = client.get("/console");
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.header("content-type").find("text/html") == 0u);
  // No inline script, nothing from another host (tests/browser/console_test.py runs it).
  auto csp = page.header("content-security-policy");
  BOOST_TEST(csp.find("script-src 'self';") != std::string::npos);
  BOOST_TEST(csp.find("unsafe-inline") == std::string::npos);
  BOOST_TEST(csp.find("connect-src 'self'") != std::string::npos);
  BOOST_TEST(page.body.find("/console/assets/app.js") != std::string::npos);
  auto app = client.get("/console/assets/app.js");
  BOOST_TEST(app.status == 200);
  BOOST_TEST(app.header("content-type").find("text/javascript") == 0u);
  auto chart = client.get("/console/assets/chart.umd.min.js");
  BOOST_TEST(chart.status == 200);
  BOOST_TEST(chart.body.size() > 100000u);
  BOOST_TEST(client.get("/console/assets/console.css").header("content-type").find("text/css") ==
             0u);
  // Only the console's own files: not its page under another name, nothing outside web/console.
  BOOST_TEST(client.get("/console/assets/index.html").status == 404);
  BOOST_TEST(client.get("/console/assets/swagger-ui-bundle.js").status == 404);
  BOOST_TEST(client.get("/console/assets/..%2f..%2fpackage.json").status == 404);
  BOOST_TEST(client.get("/api/docs/assets/app.js").status == 404);
}

BOOST_AUTO_TEST_CASE(metrics_expose_the_promised_families) {
  client.get("/health");
  client.get("/api/v1/nope");
  client.post_json("/api/v1/auth/login", {{"username", "nobody.here"}, {"password", "whatever1"}});
  auto r = client.get("/metrics");
  BOOST_REQUIRE(r.status == 200);
  BOOST_TEST(r.header("content-type").find("text/plain") == 0u);
  for (auto family :
       {"wassally_http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"}",
        "wassally_http_requests_total{route=\"/api/v1/auth/login\",method=\"POST\",status=\"401\"}",
        "wassally_http_request_duration_seconds_bucket", "wassally_actors_live",
        "wassally_persistence_batch_size_bucket", "wassally_persistence_commit_seconds_bucket",
        "wassally_db_pool_in_use", "wassally_persistence_queue_depth"})
    BOOST_TEST(r.body.find(family) != std::string::npos, family);
  // Every sample line is "name{labels} value" or "name value" with a numeric value.
  std::istringstream lines(r.body);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    BOOST_REQUIRE(space != std::string::npos);
    BOOST_CHECK_NO_THROW(std::stod(line.substr(space + 1)));
    ++samples;
  }
  BOOST_TEST(samples > 20);
}

BOOST_AUTO_TEST_CASE(garbage_on_the_port_does_not_take_the_server_down) {
  for (const std::string& bytes : std::vector<std::string>{
           std::string("\x00\x01\x02\r\n\r\n", 7), std::string("GET\r\n\r\n"),
           std::string("GET / HTTP/9.9\r\n\r\n"),
           "GET /health HTTP/1.1\r\nHost: x\r\nX: " + std::string(2 << 20, 'a') + "\r\n\r\n",
           std::string("GET /api/v1/") + std::string(20000, 'x') +
               " HTTP/1.1\r\nHost: x\r\n\r\n"}) {
    auto reply = client.raw(bytes, std::chrono::milliseconds(2000));
    if (!reply.empty()) BOOST_TEST(reply.rfind("HTTP/1.1 4", 0) == 0u, reply.substr(0, 40));
  }
  auto fresh = server.client();
  BOOST_TEST(fresh.get("/health").status == 200);
}

BOOST_AUTO_TEST_CASE(sigterm_drains_and_exits_zero) {
  BOOST_TEST(client.get("/health").status == 200);
  BOOST_TEST(server.stop_and_status() == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(edge_faults)

BOOST_AUTO_TEST_CASE(an_unreachable_database_gives_quick_503s_not_hangs) {
  auto o = fast();
  o.env["DATABASE_URL"] = "postgresql://postgres@127.0.0.1:" + std::to_string(free_port()) + "/x";
  o.env["WASSALLY_RUN_MIGRATIONS"] = "false";
  o.ready_path = "/health";
  server_process server(o);
  auto client = server.client();
  auto started = std::chrono::steady_clock::now();
  auto ready = client.get("/ready");
  BOOST_TEST(ready.status == 503);
  BOOST_TEST(ready.json()["error"]["code"] == "unavailable");
  auto login = client.post_json("/api/v1/auth/login", {{"username", "someone"}, {"password", "x"}});
  BOOST_TEST(login.status == 503, login.body);
  BOOST_TEST(login.json()["error"]["code"] == "unavailable");
  BOOST_CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  BOOST_TEST(client.get("/health").status == 200);
}

BOOST_AUTO_TEST_CASE(a_request_past_its_deadline_gets_504) {
  auto o = fast();
  // Real argon2id cost (64 MiB, 3 passes) cannot finish within 10 ms.
  o.env["WASSALLY_PASSWORD_OPS_LIMIT"] = "3";
  o.env["WASSALLY_PASSWORD_MEM_LIMIT_KIB"] = "65536";
  o.env["WASSALLY_REQUEST_TIMEOUT_MS"] = "10";
  server_process server(o);
  auto client = server.client();
  auto r = client.post_json(
      "/api/v1/auth/register",
      {{"username", "slowpoke"}, {"password", "password-123"}, {"phone_number", "+2010999888"}});
  BOOST_TEST(r.status == 504, r.body);
  BOOST_TEST(r.json()["error"]["code"] == "timeout");
  BOOST_TEST(client.get("/health").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
