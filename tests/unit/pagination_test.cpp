#include <boost/test/unit_test.hpp>

#include "http/pagination.hpp"
#include "protocols/errors.hpp"

using namespace wassally;
using http::paginate;
using http::parse_page;

BOOST_AUTO_TEST_SUITE(pagination)

BOOST_AUTO_TEST_CASE(defaults_and_cap) {
  auto p = parse_page({});
  BOOST_TEST(p.page == 1);
  BOOST_TEST(p.page_size == 20);
  BOOST_TEST(parse_page({{"page_size", "1000"}}).page_size == 100);
  BOOST_TEST(parse_page({{"page", "3"}, {"page_size", "10"}}).offset() == 20);
}

BOOST_AUTO_TEST_CASE(bad_values_name_the_parameter) {
  for (std::string bad : {"0", "-1", "abc", "1.5", "99999999999"}) {
    try {
      parse_page({{"page", bad}});
      BOOST_FAIL("accepted page=" + bad);
    } catch (const api_exception& e) {
      BOOST_TEST(e.error.code == "validation_error");
      BOOST_TEST(e.error.fields.count("page") == 1u);
    }
  }
  BOOST_CHECK_THROW(parse_page({{"page_size", "0"}}), api_exception);
}

BOOST_AUTO_TEST_CASE(links_are_absolute_and_keep_filters) {
  auto p = parse_page({{"page", "2"}, {"page_size", "10"}});
  std::map<std::string, std::string> q = {{"page", "2"}, {"page_size", "10"}, {"q", "a b"}};
  auto j = paginate(35, nlohmann::json::array({1, 2}), p, "example.test:8080", "/api/v1/shops", q);
  BOOST_TEST(j["count"] == 35);
  BOOST_TEST(j["next"] == "http://example.test:8080/api/v1/shops?q=a%20b&page=3&page_size=10");
  BOOST_TEST(j["previous"] == "http://example.test:8080/api/v1/shops?q=a%20b&page=1&page_size=10");
  BOOST_TEST(j["results"].size() == 2u);
}

BOOST_AUTO_TEST_CASE(first_and_last_pages_have_null_links) {
  auto first = paginate(5, nlohmann::json::array(), parse_page({}), "h", "/x", {});
  BOOST_TEST(first["next"].is_null());
  BOOST_TEST(first["previous"].is_null());
  auto last = paginate(40, nlohmann::json::array(), parse_page({{"page", "2"}}), "h", "/x", {});
  BOOST_TEST(last["next"].is_null());
  BOOST_TEST(!last["previous"].is_null());
}

BOOST_AUTO_TEST_CASE(a_page_past_the_end_is_empty_and_points_back) {
  auto j = paginate(5, nlohmann::json::array(), parse_page({{"page", "9"}}), "h", "/x", {});
  BOOST_TEST(j["results"].empty());
  BOOST_TEST(j["next"].is_null());
  BOOST_TEST(j["previous"] == "http://h/x?page=1&page_size=20");
}

BOOST_AUTO_TEST_SUITE_END()
