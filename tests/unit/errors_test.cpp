#include <boost/test/unit_test.hpp>
#include <caf/error.hpp>
#include <caf/sec.hpp>

#include "actors/entity.hpp"
#include "http/responder.hpp"
#include "protocols/errors.hpp"

using namespace wassally;

BOOST_AUTO_TEST_SUITE(error_shape)

BOOST_AUTO_TEST_CASE(validation_errors_render_with_fields) {
  auto j =
      http::render_error(errors::validation({{"location.latitude", "must be between -90 and 90"}}));
  BOOST_TEST(j["error"]["code"] == "validation_error");
  BOOST_TEST(j["error"]["fields"]["location.latitude"] == "must be between -90 and 90");
  BOOST_TEST(j["error"]["message"].is_string());
  BOOST_TEST(j.size() == 1u);
}

BOOST_AUTO_TEST_CASE(non_validation_errors_have_no_fields_member) {
  auto j = http::render_error(errors::not_found());
  BOOST_TEST(j["error"]["code"] == "not_found");
  BOOST_TEST(!j["error"].contains("fields"));
  BOOST_TEST(errors::not_found().status == 404);
}

BOOST_AUTO_TEST_CASE(extra_members_sit_beside_code) {
  auto e = errors::conflict("out_of_stock", "not enough stock");
  e.extra["product_id"] = 17;
  auto j = http::render_error(e);
  BOOST_TEST(j["error"]["code"] == "out_of_stock");
  BOOST_TEST(j["error"]["product_id"] == 17);
}

BOOST_AUTO_TEST_CASE(generic_codes_have_their_statuses) {
  BOOST_TEST(errors::malformed_json("x").status == 400);
  BOOST_TEST(errors::unauthenticated().status == 401);
  BOOST_TEST(errors::invalid_credentials().code == "invalid_credentials");
  BOOST_TEST(errors::forbidden().status == 403);
  BOOST_TEST(errors::method_not_allowed().status == 405);
  BOOST_TEST(errors::payload_too_large(10).status == 413);
  BOOST_TEST(errors::unsupported_media_type().status == 415);
  BOOST_TEST(errors::rate_limited(7).status == 429);
  BOOST_TEST(errors::rate_limited(7).extra.at("retry_after") == 7);
  BOOST_TEST(errors::unavailable().status == 503);
  BOOST_TEST(errors::timeout().status == 504);
}

BOOST_AUTO_TEST_CASE(api_errors_survive_the_trip_through_caf_errors) {
  auto e = errors::validation("username", "taken");
  auto back = from_caf_error(to_caf_error(e));
  BOOST_TEST(back.status == 400);
  BOOST_TEST(back.code == "validation_error");
  BOOST_TEST(back.fields.at("username") == "taken");
  BOOST_TEST(from_caf_error(caf::make_error(caf::sec::request_timeout)).status == 504);
  BOOST_TEST(from_caf_error(caf::make_error(caf::sec::request_receiver_down)).status == 503);
}

BOOST_AUTO_TEST_CASE(timeouts_say_whether_anything_may_have_been_written) {
  for (auto outcome : {"not_written", "unknown"}) {
    auto j = http::render_error(errors::timeout(outcome));
    BOOST_TEST(j["error"]["code"] == "timeout");
    BOOST_TEST(j["error"]["outcome"] == outcome);
  }
  // The outcome survives the trip between actors.
  auto back = from_caf_error(to_caf_error(errors::timeout("not_written")));
  BOOST_TEST(back.extra_text.at("outcome") == "not_written");
  auto busy = http::render_error(errors::request_in_progress(2));
  BOOST_TEST(busy["error"]["code"] == "request_in_progress");
  BOOST_TEST(busy["error"]["retry_after"] == 2);
  BOOST_TEST(errors::request_in_progress().status == 409);
}

BOOST_AUTO_TEST_CASE(only_refusals_and_unknown_outcomes_put_a_write_in_doubt) {
  // PostgreSQL refused what memory allowed, or the commit may have happened: reload.
  BOOST_TEST(write_in_doubt(errors::conflict("invalid_transition", "the order changed")));
  BOOST_TEST(write_in_doubt(errors::not_found("no such product")));
  BOOST_TEST(write_in_doubt(errors::timeout("unknown")));
  BOOST_TEST(write_in_doubt(errors::internal("database error")));
  // Nothing was written: nothing to doubt.
  BOOST_TEST(!write_in_doubt(errors::timeout("not_written")));
  BOOST_TEST(!write_in_doubt(errors::unavailable()));
}

BOOST_AUTO_TEST_SUITE_END()
