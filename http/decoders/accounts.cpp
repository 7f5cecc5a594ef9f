#include "http/decoders/accounts.hpp"

#include "http/decoders/fields.hpp"
#include "http/json_body.hpp"

namespace wassally::http {

register_user decode_register(const nlohmann::json& body, const std::string& role) {
  field_reader f(body);
  register_user u;
  u.role = role;
  u.username = f.required_string("username", 1, 150);
  if (f.ok() && !valid_username(u.username))
    f.fail("username", "3 to 150 characters of letters, digits and _ . @ + -");
  u.password = f.required_string("password", 1, 1024);
  if (!u.password.empty() && u.password.size() < 8)
    f.fail("password", "must be at least 8 characters");
  u.phone_number = f.required_string("phone_number", 1, 16);
  if (!u.phone_number.empty() && !valid_phone(u.phone_number))
    f.fail("phone_number", "an optional + and 7 to 15 digits");
  u.first_name = f.optional_string("first_name", 150);
  u.last_name = f.optional_string("last_name", 150);
  u.email = f.optional_string("email", 254);
  if (!u.email.empty() && !valid_email(u.email)) f.fail("email", "not a valid email address");
  if (auto home = fields::read_point(f, body, "home_location")) {
    u.has_home = true;
    u.home_latitude = home->first;
    u.home_longitude = home->second;
  }
  f.finish();
  return u;
}

login_request decode_login(const nlohmann::json& body) {
  field_reader f(body);
  login_request r;
  r.username = f.required_string("username", 1, 150);
  r.password = f.required_string("password", 1, 1024);
  f.finish();
  return r;
}

refresh_request decode_refresh(const nlohmann::json& body) {
  field_reader f(body);
  refresh_request r;
  r.refresh = f.required_string("refresh", 1, 512);
  f.finish();
  return r;
}

}  // namespace wassally::http
