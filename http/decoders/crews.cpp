#include "http/decoders/crews.hpp"

#include <cstdint>

#include "http/decoders/fields.hpp"
#include "http/json_body.hpp"
#include "protocols/errors.hpp"

namespace wassally::http {

set_crew_location decode_crew_location(const nlohmann::json& body) {
  field_reader f(body);
  set_crew_location r;
  r.latitude = f.number("latitude", true, -90, 90).value_or(0);
  r.longitude = f.number("longitude", true, -180, 180).value_or(0);
  f.finish();
  return r;
}

set_crew_status decode_crew_status(const nlohmann::json& body) {
  field_reader f(body);
  set_crew_status r;
  r.status = f.required_string("status", 1, 20);
  if (f.ok() && r.status != crew_status::available && r.status != crew_status::offline)
    f.fail("status", "one of available, offline");
  f.finish();
  return r;
}

std::string decode_delivery_code(const nlohmann::json& body) {
  field_reader f(body);
  auto code = f.required_string("code", 1, 64);
  f.finish();
  return code;
}

int64_t decode_assignment(const nlohmann::json& body) {
  field_reader f(body);
  auto crew = f.integer("crew_id", true, 1, INT64_MAX).value_or(0);
  f.finish();
  return crew;
}

create_delivery_request decode_delivery_request(const nlohmann::json& body) {
  field_reader f(body);
  create_delivery_request r;
  fields::read_receiver(f, body, r);
  if (auto price = fields::read_money(f, body, "price", true, false)) {
    if (price->cents == 0)
      f.fail("price", "must be > 0");
    else
      r.price = *price;
  }
  f.finish();
  return r;
}

double decode_radius(const std::map<std::string, std::string>& query) {
  auto it = query.find("radius_km");
  if (it == query.end() || it->second.empty()) return 10;
  auto r = fields::number_param(it->second);
  if (!r || *r <= 0 || *r > 20040)
    throw api_exception(errors::validation("radius_km", "a number of kilometres in (0, 20040]"));
  return *r;
}

crew_query decode_crew_query(const std::map<std::string, std::string>& query) {
  crew_query q;
  if (auto it = query.find("status"); it != query.end() && !it->second.empty()) {
    if (it->second != crew_status::available && it->second != crew_status::offline)
      throw api_exception(errors::validation("status", "one of available, offline"));
    q.status = it->second;
  }
  return q;
}

}  // namespace wassally::http
