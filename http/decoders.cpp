#include "http/decoders.hpp"

#include <algorithm>
#include <cmath>

#include "http/json_body.hpp"
#include "protocols/errors.hpp"

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

namespace wassally::http {
namespace {

const std::size_t max_text = 5000;
const std::size_t max_url = 2000;

void read_location(field_reader& parent, const nlohmann::json& body, geo_location& out,
                   bool partial, std::vector<std::string>* set) {
  auto it = body.find("location");
  if (it == body.end() || it->is_null()) {
    if (!partial) parent.fail("location", "this field is required");
    return;
  }
  if (!it->is_object()) {
    parent.fail("location", "must be an object with address, latitude and longitude");
    return;
  }
  field_reader f(*it, "location.");
  bool required = !partial;
  if (auto a = f.string("address", false, 0, 500)) {
    out.address = *a;
    if (set) set->push_back("location.address");
  }
  if (auto lat = f.number("latitude", required, -90, 90)) {
    out.latitude = *lat;
    if (set) set->push_back("location.latitude");
  }
  if (auto lng = f.number("longitude", required, -180, 180)) {
    out.longitude = *lng;
    if (set) set->push_back("location.longitude");
  }
  for (auto& [k, v] : f.errors()) parent.fail(k, v);
}

void check_phone(field_reader& f, const std::string& field, const std::string& value) {
  if (!value.empty() && !valid_phone(value)) f.fail(field, "an optional + and 7 to 15 digits");
}

std::optional<int64_t> positive_param(const std::map<std::string, std::string>& q,
                                      const std::string& name, field_reader& f) {
  auto it = q.find(name);
  if (it == q.end() || it->second.empty()) return std::nullopt;
  const auto& s = it->second;
  if (s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos ||
      std::stoll(s) < 1) {
    f.fail(name, "must be a whole number >= 1");
    return std::nullopt;
  }
  return std::stoll(s);
}

std::optional<double> number_param(const std::string& s) {
  if (s.empty() || s.size() > 32) return std::nullopt;
  try {
    std::size_t used = 0;
    double d = std::stod(s, &used);
    if (used != s.size() || !std::isfinite(d)) return std::nullopt;
    return d;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

shop_category decode_shop_category(const nlohmann::json& body) {
  field_reader f(body);
  shop_category c;
  c.name = f.required_string("name", 1, 200);
  c.image = f.optional_string("image", max_url);
  f.finish();
  return c;
}

create_shop decode_create_shop(const nlohmann::json& body) {
  field_reader f(body);
  create_shop c;
  auto& s = c.shop;
  s.name = f.required_string("name", 1, 200);
  s.description = f.optional_string("description", max_text);
  s.phone_number = f.required_string("phone_number", 1, 16);
  check_phone(f, "phone_number", s.phone_number);
  s.facebook_url = f.optional_string("facebook_url", max_url);
  s.image = f.optional_string("image", max_url);
  s.category_id = f.integer("category_id", true, 1, INT64_MAX).value_or(0);
  read_location(f, body, s.location, false, nullptr);
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
  text("description", 0, max_text, v.description);
  text("phone_number", 1, 16, v.phone_number);
  check_phone(f, "phone_number", v.phone_number);
  text("facebook_url", 0, max_url, v.facebook_url);
  text("image", 0, max_url, v.image);
  if (auto id = f.integer("category_id", false, 1, INT64_MAX)) {
    v.category_id = *id;
    p.set.push_back("category_id");
  }
  if (auto st = f.string("status", false, 1, 20)) {
    if (*st != "active" && *st != "suspended") f.fail("status", "one of active, suspended");
    v.status = *st;
    p.set.push_back("status");
  }
  read_location(f, body, v.location, true, &p.set);
  for (auto key : {"id", "owner_id", "confirmed_orders"})
    if (body.contains(key)) f.fail(key, "cannot be changed");
  f.finish();
  return p;
}

shop_query decode_shop_query(const std::map<std::string, std::string>& query) {
  nlohmann::json none = nlohmann::json::object();
  field_reader f(none);
  shop_query q;
  q.category_id = positive_param(query, "category_id", f).value_or(0);
  if (auto it = query.find("q"); it != query.end()) {
    if (it->second.size() > 200) f.fail("q", "must be at most 200 characters");
    q.q = it->second;
  }
  if (auto it = query.find("near"); it != query.end()) {
    auto comma = it->second.find(',');
    auto lat =
        comma == std::string::npos ? std::nullopt : number_param(it->second.substr(0, comma));
    auto lng =
        comma == std::string::npos ? std::nullopt : number_param(it->second.substr(comma + 1));
    if (!lat || !lng || *lat < -90 || *lat > 90 || *lng < -180 || *lng > 180) {
      f.fail("near", "latitude,longitude with latitude in -90..90 and longitude in -180..180");
    } else {
      q.near = true;
      q.latitude = *lat;
      q.longitude = *lng;
    }
  }
  if (auto it = query.find("radius_km"); it != query.end()) {
    auto r = number_param(it->second);
    if (!r || *r <= 0 || *r > 20038)
      f.fail("radius_km", "a number of kilometres in (0, 20038]");
    else
      q.radius_km = *r;
  }
  f.finish();
  return q;
}

}  // namespace wassally::http

namespace wassally::http {
namespace {

const char* const money_too_large = "must be less than 10000000000 (at most 9999999999.99)";
const char* const quantity_too_large = "must be less than 1000000000 (at most 999999999.999)";

/// Whether `s` is [-]digits[.digits]: a decimal the parsers refused only for its size.
bool plain_decimal(const std::string& s) {
  std::size_t i = !s.empty() && s[0] == '-' ? 1 : 0;
  auto dot = s.find('.', i);
  auto whole = s.substr(i, dot == std::string::npos ? std::string::npos : dot - i);
  if (whole.empty() || whole.find_first_not_of("0123456789") != std::string::npos) return false;
  if (dot == std::string::npos) return true;
  auto fraction = s.substr(dot + 1);
  return !fraction.empty() && fraction.find_first_not_of("0123456789") == std::string::npos;
}

/// Whether the decimal string `s` (plain_decimal) has more than `digits` digits before the
/// point once leading zeros are dropped.
bool whole_part_longer_than(const std::string& s, std::size_t digits) {
  std::size_t i = !s.empty() && s[0] == '-' ? 1 : 0;
  while (i + 1 < s.size() && s[i] == '0' && s[i + 1] != '.') ++i;
  auto dot = s.find('.', i);
  return (dot == std::string::npos ? s.size() : dot) - i > digits;
}

/// Money from a decimal string ("12.50"); records an error on the field otherwise.
std::optional<money> read_money(field_reader& f, const nlohmann::json& body, const char* name,
                                bool required, bool nullable, bool* is_null = nullptr) {
  auto it = body.find(name);
  if (it == body.end() || (it->is_null() && !nullable)) {
    if (required) f.fail(name, "this field is required");
    return std::nullopt;
  }
  if (it->is_null()) {
    if (is_null) *is_null = true;
    return money{};
  }
  if (!it->is_string()) {
    f.fail(name, "must be a decimal string such as \"12.50\"");
    return std::nullopt;
  }
  const auto& text = it->get_ref<const std::string&>();
  auto m = money::parse(text);
  if (!m) {
    if (plain_decimal(text) && text[0] != '-' && whole_part_longer_than(text, 10))
      f.fail(name, money_too_large);
    else
      f.fail(name, "must be a decimal string with at most two decimals");
    return std::nullopt;
  }
  if (m->cents < 0) {
    f.fail(name, "must be >= 0");
    return std::nullopt;
  }
  if (!fits_money_column(*m)) {
    f.fail(name, money_too_large);
    return std::nullopt;
  }
  return m;
}

/// A quantity from a JSON number or decimal string with at most three decimals.
std::optional<quantity> read_quantity(field_reader& f, const nlohmann::json& body, const char* name,
                                      bool positive) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  std::optional<quantity> q;
  bool too_large = false;
  if (it->is_number()) {
    auto d = it->get<double>();
    too_large = std::isfinite(d) && d >= 1e9;
    if (std::isfinite(d) && d < 0) {
      f.fail(name, positive ? "must be > 0" : "must be >= 0");
      return std::nullopt;
    }
    if (!too_large) q = quantity::from_double(d);
  } else if (it->is_string()) {
    const auto& text = it->get_ref<const std::string&>();
    q = quantity::parse(text);
    too_large = !q && plain_decimal(text) && text[0] != '-' && whole_part_longer_than(text, 9);
  } else {
    f.fail(name, "must be a number");
    return std::nullopt;
  }
  if (too_large || (q && q->milli > max_quantity_milli)) {
    f.fail(name, quantity_too_large);
    return std::nullopt;
  }
  if (!q) {
    f.fail(name, "must be a number with at most three decimals");
    return std::nullopt;
  }
  if (positive ? q->milli <= 0 : q->milli < 0) {
    f.fail(name, positive ? "must be > 0" : "must be >= 0");
    return std::nullopt;
  }
  return q;
}

}  // namespace

std::string decode_category_name(const nlohmann::json& body) {
  field_reader f(body);
  auto name = f.required_string("name", 1, 200);
  f.finish();
  return name;
}

save_product decode_save_product(const nlohmann::json& body, bool creating) {
  field_reader f(body);
  save_product s;
  auto& v = s.values;
  auto mark = [&](const char* field) { s.set.push_back(field); };
  if (auto x = f.string("name", creating, 1, 200)) {
    v.name = *x;
    mark("name");
  }
  if (auto x = f.string("description", false, 0, max_text)) {
    v.description = *x;
    mark("description");
  }
  if (auto x = read_money(f, body, "price", creating, false)) {
    v.price = *x;
    mark("price");
  }
  bool cost_null = false;
  if (auto x = read_money(f, body, "cost_price", false, true, &cost_null)) {
    v.has_cost_price = !cost_null;
    v.cost_price = *x;
    mark("cost_price");
  }
  if (auto x = read_quantity(f, body, "stock", false)) {
    v.stock = *x;
    mark("stock");
  }
  if (auto x = f.boolean("is_unlimited", false)) {
    v.is_unlimited = *x;
    mark("is_unlimited");
  }
  if (auto x = f.string("quantity_type", false, 1, 10)) {
    if (*x != "unit" && *x != "kg" && *x != "gram" && *x != "liter" && *x != "box")
      f.fail("quantity_type", "one of unit, kg, gram, liter, box");
    v.quantity_type = *x;
    mark("quantity_type");
  }
  if (auto x = read_quantity(f, body, "minimum_quantity", true)) {
    v.minimum_quantity = *x;
    mark("minimum_quantity");
  }
  if (auto x = read_quantity(f, body, "increment_rate", true)) {
    v.increment_rate = *x;
    mark("increment_rate");
  }
  if (auto x = f.string("image", false, 0, max_url)) {
    v.image = *x;
    mark("image");
  }
  if (auto x = f.boolean("is_hidden", false)) {
    v.is_hidden = *x;
    mark("is_hidden");
  }
  if (body.contains("category_id")) {
    if (body["category_id"].is_null()) {
      v.category_id = 0;
      mark("category_id");
    } else if (auto x = f.integer("category_id", false, 1, INT64_MAX)) {
      v.category_id = *x;
      mark("category_id");
    }
  }
  for (auto key :
       {"id", "shop_id", "sales_count", "effective_price", "offer", "created_at", "updated_at"})
    if (body.contains(key)) f.fail(key, "cannot be set");
  f.finish();
  return s;
}

}  // namespace wassally::http

#include "protocols/clock.hpp"

namespace wassally::http {
namespace {
const char* const timestamp_format =
    "an ISO-8601 timestamp such as 2026-11-24T19:30:00Z or 2026-11-24T21:30:00.123+02:00";
}  // namespace

save_offer decode_save_offer(const nlohmann::json& body, bool creating) {
  field_reader f(body);
  save_offer s;
  auto& v = s.values;
  auto mark = [&](const char* field) { s.set.push_back(field); };
  if (auto x = f.string("title", creating, 1, 200)) {
    v.title = *x;
    mark("title");
  }
  if (auto x = f.string("description", false, 0, max_text)) {
    v.description = *x;
    mark("description");
  }
  if (auto x = f.string("url", false, 0, max_url)) {
    v.url = *x;
    mark("url");
  }
  if (auto x = f.string("image", false, 0, max_url)) {
    v.image = *x;
    mark("image");
  }
  if (auto x = f.string("discount", creating, 1, 10)) {
    auto d = percent::parse(*x);
    if (!d || d->basis_points <= 0 || d->basis_points > 10000)
      f.fail("discount", "a percentage as a decimal string, more than 0 and at most 100");
    else {
      v.discount = *d;
      mark("discount");
    }
  }
  for (auto [name, target] : {std::pair<const char*, int64_t*>{"start_date", &v.start},
                              std::pair<const char*, int64_t*>{"end_date", &v.end}}) {
    if (auto x = f.string(name, creating, 1, 40)) {
      auto t = service_clock::parse_iso(*x);
      if (!t)
        f.fail(name, timestamp_format);
      else {
        *target = *t;
        mark(name);
      }
    }
  }
  if (creating && v.start && v.end && v.end <= v.start)
    f.fail("end_date", "must be after start_date");
  if (auto x = f.boolean("is_sponsored", false)) {
    v.is_sponsored = *x;
    mark("is_sponsored");
  }
  auto ids = body.find("product_ids");
  if (ids == body.end() || ids->is_null()) {
    if (creating) f.fail("product_ids", "this field is required");
  } else if (!ids->is_array()) {
    f.fail("product_ids", "must be an array of product ids");
  } else {
    for (auto& id : *ids) {
      if (!id.is_number_integer() ||
          (id.is_number_unsigned() && id.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) ||
          id.get<int64_t>() < 1) {
        f.fail("product_ids", "must be an array of product ids");
        break;
      }
      if (std::find(v.product_ids.begin(), v.product_ids.end(), id.get<int64_t>()) ==
          v.product_ids.end())
        v.product_ids.push_back(id.get<int64_t>());
    }
    if (v.product_ids.size() > 1000) f.fail("product_ids", "at most 1000 products");
    mark("product_ids");
  }
  for (auto key : {"id", "shop_id", "is_active"})
    if (body.contains(key)) f.fail(key, "cannot be set");
  f.finish();
  return s;
}

}  // namespace wassally::http

#include "protocols/clock.hpp"
#include "protocols/orders.hpp"

namespace wassally::http {
namespace {

void require_quantity(field_reader& f, const nlohmann::json& body, quantity& out) {
  auto it = body.find("quantity");
  if (it == body.end() || it->is_null()) {
    f.fail("quantity", "this field is required");
    return;
  }
  if (auto q = read_quantity(f, body, "quantity", true)) out = *q;
}

/// Who receives a delivery and where: receiver_name, receiver_phone, location, notes.
template <class Request>
void read_receiver(field_reader& f, const nlohmann::json& body, Request& r) {
  r.receiver_name = f.required_string("receiver_name", 1, 200);
  r.receiver_phone = f.required_string("receiver_phone", 1, 16);
  check_phone(f, "receiver_phone", r.receiver_phone);
  read_location(f, body, r.location, false, nullptr);
  r.notes = f.optional_string("notes", max_text);
}

}  // namespace

add_cart_item decode_add_cart_item(const nlohmann::json& body) {
  field_reader f(body);
  add_cart_item r;
  r.product_id = f.integer("product_id", true, 1, INT64_MAX).value_or(0);
  require_quantity(f, body, r.amount);
  f.finish();
  return r;
}

set_cart_item decode_set_cart_item(const nlohmann::json& body) {
  field_reader f(body);
  set_cart_item r;
  require_quantity(f, body, r.amount);
  f.finish();
  return r;
}

place_order decode_place_order(const nlohmann::json& body) {
  field_reader f(body);
  place_order r;
  read_receiver(f, body, r);
  auto items = body.find("items");
  if (items == body.end() || items->is_null()) {
    r.from_cart = true;
  } else if (!items->is_array()) {
    f.fail("items", "must be an array of {product_id, quantity}");
  } else if (items->empty()) {
    f.fail("items", "must hold at least one item");
  } else if (items->size() > 100) {
    f.fail("items", "at most 100 items");
  } else {
    for (std::size_t i = 0; i < items->size(); ++i) {
      auto& item = (*items)[i];
      auto prefix = "items." + std::to_string(i) + ".";
      if (!item.is_object()) {
        f.fail("items." + std::to_string(i), "must be an object with product_id and quantity");
        continue;
      }
      field_reader fi(item, prefix);
      order_line_request line;
      line.product_id = fi.integer("product_id", true, 1, INT64_MAX).value_or(0);
      require_quantity(fi, item, line.amount);
      for (auto& [k, v] : fi.errors()) f.fail(k, v);
      r.lines.push_back(line);
    }
  }
  f.finish();
  return r;
}

order_query decode_order_query(const std::map<std::string, std::string>& query) {
  nlohmann::json none = nlohmann::json::object();
  field_reader f(none);
  order_query q;
  if (auto it = query.find("status"); it != query.end() && !it->second.empty()) {
    static const std::vector<std::string> statuses = {"pending", "assigned", "picked_up",
                                                      "delivered", "cancelled"};
    if (std::find(statuses.begin(), statuses.end(), it->second) == statuses.end())
      f.fail("status", "one of pending, assigned, picked_up, delivered, cancelled");
    else
      q.status = it->second;
  }
  q.shop_id = positive_param(query, "shop_id", f).value_or(0);
  q.crew_id = positive_param(query, "crew_id", f).value_or(0);
  for (auto [name, out] : {std::pair<const char*, std::string*>{"from", &q.from},
                           std::pair<const char*, std::string*>{"to", &q.to}}) {
    auto it = query.find(name);
    if (it == query.end() || it->second.empty()) continue;
    // An unencoded '+' of an offset arrives as a space ("...:00 02:00"): read it as the '+'.
    auto text = it->second;
    if (text.size() > 19 && (text[text.size() - 5] == ' ' || text[text.size() - 6] == ' ')) {
      auto space = text.find(' ', 19);
      if (space != std::string::npos) text[space] = '+';
    }
    auto t = service_clock::parse_iso(text);
    if (!t)
      f.fail(name, timestamp_format);
    else
      *out = service_clock::format_iso(*t);
  }
  f.finish();
  return q;
}

}  // namespace wassally::http

#include "protocols/crews.hpp"

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
  read_receiver(f, body, r);
  if (auto price = read_money(f, body, "price", true, false)) {
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
  auto r = number_param(it->second);
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

#include "protocols/analytics.hpp"

namespace wassally::http {

analytics_query decode_analytics_query(const std::map<std::string, std::string>& query,
                                       const std::string& kind) {
  std::map<std::string, std::string> problems;
  analytics_query q;
  q.kind = kind;
  auto get = [&](const char* name) {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  };
  for (auto [name, out] : {std::pair<const char*, std::string*>{"from", &q.from},
                           std::pair<const char*, std::string*>{"to", &q.to}}) {
    auto v = get(name);
    if (v.empty()) continue;
    if (v.size() != 10 || !service_clock::parse_iso(v))
      problems[name] = "a date YYYY-MM-DD";
    else
      *out = v;
  }
  if (!q.from.empty() && !q.to.empty() && q.from > q.to) problems["from"] = "must not be after to";
  q.granularity = get("granularity");
  if (q.granularity.empty()) q.granularity = "month";
  if (q.granularity != "month" && q.granularity != "year")
    problems["granularity"] = "month or year";
  auto tz = get("tz");
  if (!tz.empty()) {
    bool ok = tz.size() <= 64 && std::all_of(tz.begin(), tz.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' ||
                       c == '+' || c == '-';
              });
    if (!ok)
      problems["tz"] = "an IANA time zone such as Africa/Cairo";
    else
      q.tz = tz;
  }
  auto limit = get("limit");
  if (!limit.empty()) {
    if (limit.size() > 3 || limit.find_first_not_of("0123456789") != std::string::npos ||
        std::stoll(limit) < 1 || std::stoll(limit) > 100)
      problems["limit"] = "a whole number from 1 to 100";
    else
      q.limit = std::stoll(limit);
  }
  if (!problems.empty()) throw api_exception(errors::validation(problems));
  return q;
}

}  // namespace wassally::http
