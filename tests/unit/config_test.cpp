#include <boost/test/unit_test.hpp>
#include <fstream>

#include "config/config.hpp"

using wassally::config;
using wassally::load_config;

namespace {
std::vector<char*> env_of(std::vector<std::string>& storage) {
  std::vector<char*> out;
  for (auto& s : storage) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(configuration)

BOOST_AUTO_TEST_CASE(defaults_match_the_documented_values) {
  std::vector<std::string> none;
  auto env = env_of(none);
  auto c = load_config("", env.data());
  BOOST_TEST(c.port == 8080);
  BOOST_TEST(c.host == "127.0.0.1");
  BOOST_TEST(c.access_ttl_s == 900);
  BOOST_TEST(c.refresh_ttl_s == 604800);
  BOOST_TEST(c.coins_per_order == 10);
  BOOST_TEST(c.login_max_failures == 5);
}

BOOST_AUTO_TEST_CASE(file_then_environment_override) {
  auto path = std::string("/tmp/wassally_config_test_") + std::to_string(getpid()) + ".conf";
  {
    std::ofstream f(path);
    f << "# comment\nport = 9000\naccess_ttl_s=60\n\nhost = 0.0.0.0\n";
  }
  std::vector<std::string> vars = {"WASSALLY_PORT=9100", "DATABASE_URL=postgresql://x@y/z",
                                   "WASSALLY_REFRESH_TTL_S=120", "UNRELATED=1"};
  auto env = env_of(vars);
  auto c = load_config(path, env.data());
  BOOST_TEST(c.port == 9100);        // env beats file
  BOOST_TEST(c.access_ttl_s == 60);  // file beats default
  BOOST_TEST(c.host == "0.0.0.0");
  BOOST_TEST(c.refresh_ttl_s == 120);
  BOOST_TEST(c.database_url == "postgresql://x@y/z");
  std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(a_missing_file_leaves_defaults) {
  std::vector<std::string> none;
  auto env = env_of(none);
  auto c = load_config("/nonexistent/wassally.conf", env.data());
  BOOST_TEST(c.port == 8080);
}

BOOST_AUTO_TEST_CASE(bad_values_and_unknown_keys_are_named) {
  config c;
  BOOST_CHECK_EXCEPTION(c.set("port", "80x"), std::invalid_argument, [](const auto& e) {
    return std::string(e.what()).find("port") != std::string::npos;
  });
  BOOST_CHECK_THROW(c.set("port", "70000"), std::invalid_argument);
  BOOST_CHECK_THROW(c.set("no_such_key", "1"), std::invalid_argument);
  BOOST_CHECK_THROW(c.set("run_migrations", "maybe"), std::invalid_argument);
  c.set("run_migrations", "false");
  BOOST_TEST(!c.run_migrations);
  BOOST_CHECK_THROW(wassally::parse_config_text("port 80"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(eta_settings_are_decimal_numbers) {
  std::vector<std::string> vars = {"WASSALLY_AVERAGE_SPEED_KMH=32.5", "WASSALLY_ROUTE_FACTOR=1.45"};
  auto env = env_of(vars);
  auto c = load_config("", env.data());
  BOOST_TEST(c.average_speed_kmh == 32.5);
  BOOST_TEST(c.route_factor == 1.45);
  config d;
  BOOST_TEST(d.average_speed_kmh == 25);
  BOOST_TEST(d.route_factor == 1.3);
  for (auto bad : {"0", "-5", "fast", "25km", "nan", "inf", ""})
    BOOST_CHECK_THROW(d.set("average_speed_kmh", bad), std::invalid_argument);
  BOOST_CHECK_THROW(d.set("route_factor", "0.9"), std::invalid_argument);  // shorter than a line
  d.set("route_factor", "1");
  BOOST_TEST(d.route_factor == 1.0);
}

BOOST_AUTO_TEST_CASE(stream_keepalives_must_come_before_the_request_timeout) {
  std::string keep = "WASSALLY_SSE_KEEPALIVE_S=30", timeout = "WASSALLY_HEADER_TIMEOUT_S=30";
  char* envp[] = {keep.data(), timeout.data(), nullptr};
  BOOST_CHECK_EXCEPTION(wassally::load_config("", envp), std::invalid_argument, [](const auto& e) {
    return std::string(e.what()).find("sse_keepalive_s") != std::string::npos;
  });
  std::string shorter = "WASSALLY_SSE_KEEPALIVE_S=29";
  char* ok[] = {shorter.data(), timeout.data(), nullptr};
  BOOST_TEST(wassally::load_config("", ok).sse_keepalive_s == 29);
}

BOOST_AUTO_TEST_CASE(the_shipped_config_file_parses_and_lists_known_keys) {
  config c;
  std::ifstream in(std::string(WASSALLY_SOURCE_DIR) + "/config/wassally.conf");
  BOOST_REQUIRE(in);
  std::stringstream buf;
  buf << in.rdbuf();
  for (auto& [k, v] : wassally::parse_config_text(buf.str())) BOOST_CHECK_NO_THROW(c.set(k, v));
  BOOST_TEST(config::describe().size() >= 20u);
}

BOOST_AUTO_TEST_SUITE_END()
