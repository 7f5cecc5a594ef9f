#include "http/decoders/fields.hpp"

#include <cctype>
#include <cmath>
#include <exception>

namespace wassally::http::fields {
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

}  // namespace

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

std::optional<std::pair<double, double>> read_point(field_reader& parent,
                                                    const nlohmann::json& body,
                                                    const std::string& name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) {
    parent.fail(name, "must be an object with latitude and longitude");
    return std::nullopt;
  }
  field_reader f(*it, name + ".");
  auto lat = f.number("latitude", true, -90, 90);
  auto lng = f.number("longitude", true, -180, 180);
  for (auto& [k, v] : f.errors()) parent.fail(k, v);
  if (!lat || !lng) return std::nullopt;
  return std::make_pair(*lat, *lng);
}

void check_phone(field_reader& f, const std::string& field, const std::string& value) {
  if (!value.empty() && !valid_phone(value)) f.fail(field, "an optional + and 7 to 15 digits");
}

void check_picture_url(field_reader& f, const std::string& field, const std::string& value) {
  if (value.empty()) return;
  auto lower = value.substr(0, 8);
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto scheme_end = lower.rfind("https://", 0) == 0 ? 8u : lower.rfind("http://", 0) == 0 ? 7u : 0u;
  bool blank = value.find_first_of(" \t\r\n") != std::string::npos;
  if (scheme_end == 0 || value.size() == scheme_end || value[scheme_end] == '/' || blank)
    f.fail(field, "an http or https URL (upload a picture with PUT .../image)");
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

std::optional<money> read_money(field_reader& f, const nlohmann::json& body, const char* name,
                                bool required, bool nullable, bool* is_null) {
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

}  // namespace wassally::http::fields
