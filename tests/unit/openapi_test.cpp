#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <fstream>

#include "http/routes.hpp"

using namespace wassally;

BOOST_AUTO_TEST_SUITE(openapi)

BOOST_AUTO_TEST_CASE(every_route_is_documented_and_nothing_else) {
  std::ifstream in(std::string(WASSALLY_SOURCE_DIR) + "/http/openapi.json");
  BOOST_REQUIRE(in);
  auto doc = nlohmann::json::parse(in);
  http::router r;
  http::add_api_routes(r);
  std::size_t operations = 0;
  for (const auto& route : r.routes()) {
    auto method = route.method;
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    BOOST_TEST(doc["paths"].contains(route.pattern), route.pattern);
    if (doc["paths"].contains(route.pattern))
      BOOST_TEST(doc["paths"][route.pattern].contains(method),
                 route.method << " " << route.pattern);
    ++operations;
  }
  std::size_t documented = 0;
  for (auto& [path, item] : doc["paths"].items())
    for (auto& [method, op] : item.items())
      if (method != "parameters") ++documented;
  BOOST_TEST(documented == operations);
}

BOOST_AUTO_TEST_CASE(route_templates_match_paths) {
  http::router r;
  r.add("GET", "/api/v1/orders/{id}", {}, [](http::request_context&) {});
  r.add("POST", "/api/v1/orders/{id}/accept", {}, [](http::request_context&) {});
  std::map<std::string, std::string> params;
  api_error err;
  auto* m = r.match("GET", "/api/v1/orders/42", params, err);
  BOOST_REQUIRE(m);
  BOOST_TEST(params.at("id") == "42");
  BOOST_TEST(r.match("GET", "/api/v1/orders/42/", params, err) != nullptr);
  BOOST_TEST(!r.match("DELETE", "/api/v1/orders/42", params, err));
  BOOST_TEST(err.status == 405);
  BOOST_TEST(!r.match("GET", "/api/v1/orders", params, err));
  BOOST_TEST(err.status == 404);
  BOOST_TEST(!r.match("GET", "/api/v1/orders/42/accept/x", params, err));
  BOOST_TEST(err.status == 404);
}

BOOST_AUTO_TEST_SUITE_END()
