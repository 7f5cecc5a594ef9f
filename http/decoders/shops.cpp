#include "http/decoders/shops.hpp"

#include <cstdint>

#include "http/decoders/accounts.hpp"
#include "http/decoders/fields.hpp"
#include "http/json_body.hpp"
#include "protocols/errors.hpp"

namespace wassally::http {
namespace {
// Minutes a shop needs to prepare an order (the database's CHECK says the same).
constexpr int64_t min_preparation_min = 0;
constexpr int64_t max_preparation_min = 240;
}  // namespace

shop_category decode_shop_category(const nlohmann::json& body) {
  field_reader f(body);
  shop_category c;
  c.name = f.required_string("name", 1, 200);
  c.image = f.optional_string("image", fields::max_url);
  fields::check_picture_url(f, "image", c.image);
  f.finish();
  return c;
}

create_shop decode_create_shop(const nlohmann::json& body) {
  field_reader f(body);
  create_shop c;
  auto& s = c.shop;
  s.name = f.required_string("name", 1, 200);
  s.description = f.optional_string("description", fields::max_text);
  s.phone_number = f.required_string("phone_number", 1, 16);
  fields::check_phone(f, "phone_number", s.phone_number);
  s.facebook_url = f.optional_string("facebook_url", fields::max_url);
  s.image = f.optional_string("image", fields::max_url);
  fields::check_picture_url(f, "image", s.image);
  s.category_id = f.integer("category_id", true, 1, INT64_MAX).value_or(0);
  s.preparation_min = f.integer("preparation_min", false, min_preparation_min, max_preparation_min)
                          .value_or(s.preparation_min);
  fields::read_location(f, body, s.location, false, nullptr);
  bool has_owner = body.contains("owner") && !body["owner"].is_null();
  bool has_owner_id = body.contains("owner_id") && !body["owner_id"].is_null();
  if (has_owner && has_owner_id) {
    f.fail("owner_id", "give either owner or owner_id, not both");
  } else if (has_owner_id) {
    c.owner_id = f.integer("owner_id", true, 1, INT64_MAX).value_or(0);
  } else if (!has_owner) {
    f.fail("owner", "give the new owner's account, or owner_id of an existing shop owner");
  } else if (!body["owner"].is_object()) {
    f.fail("owner", "must be an object");
  } else {
    try {
      c.owner = decode_register(body["owner"], roles::shop_owner);
    } catch (const api_exception& e) {
      for (auto& [k, v] : e.error.fields) f.fail("owner." + k, v);
    }
  }
  f.finish();
  return c;
}

patch_shop decode_patch_shop(const nlohmann::json& body) {
  field_reader f(body);
  patch_shop p;
  auto& v = p.values;
  auto text = [&](const char* name, std::size_t min, std::size_t max, std::string& out) {
    if (auto s = f.string(name, false, min, max)) {
      out = *s;
      p.set.push_back(name);
    }
  };
  text("name", 1, 200, v.name);
  text("description", 0, fields::max_text, v.description);
  text("phone_number", 1, 16, v.phone_number);
  fields::check_phone(f, "phone_number", v.phone_number);
  text("facebook_url", 0, fields::max_url, v.facebook_url);
  text("image", 0, fields::max_url, v.image);
  fields::check_picture_url(f, "image", v.image);
  if (auto id = f.integer("category_id", false, 1, INT64_MAX)) {
    v.category_id = *id;
    p.set.push_back("category_id");
  }
  if (auto st = f.string("status", false, 1, 20)) {
    if (*st != "active" && *st != "suspended") f.fail("status", "one of active, suspended");
    v.status = *st;
    p.set.push_back("status");
  }
  if (auto m = f.integer("preparation_min", false, min_preparation_min, max_preparation_min)) {
    v.preparation_min = *m;
    p.set.push_back("preparation_min");
  }
  fields::read_location(f, body, v.location, true, &p.set);
  for (auto key : {"id", "owner_id", "confirmed_orders"})
    if (body.contains(key)) f.fail(key, "cannot be changed");
  f.finish();
  return p;
}

shop_query decode_shop_query(const std::map<std::string, std::string>& query) {
  nlohmann::json none = nlohmann::json::object();
  field_reader f(none);
  shop_query q;
  q.category_id = fields::positive_param(query, "category_id", f).value_or(0);
  if (auto it = query.find("q"); it != query.end()) {
    if (it->second.size() > 200) f.fail("q", "must be at most 200 characters");
    q.q = it->second;
  }
  if (auto it = query.find("near"); it != query.end()) {
    auto comma = it->second.find(',');
    auto lat = comma == std::string::npos ? std::nullopt
                                          : fields::number_param(it->second.substr(0, comma));
    auto lng = comma == std::string::npos ? std::nullopt
                                          : fields::number_param(it->second.substr(comma + 1));
    if (!lat || !lng || *lat < -90 || *lat > 90 || *lng < -180 || *lng > 180) {
      f.fail("near", "latitude,longitude with latitude in -90..90 and longitude in -180..180");
    } else {
      q.near = true;
      q.latitude = *lat;
      q.longitude = *lng;
    }
  }
  if (auto it = query.find("radius_km"); it != query.end()) {
    auto r = fields::number_param(it->second);
    if (!r || *r <= 0 || *r > 20038)
      f.fail("radius_km", "a number of kilometres in (0, 20038]");
    else
      q.radius_km = *r;
  }
  f.finish();
  return q;
}

}  // namespace wassally::http
