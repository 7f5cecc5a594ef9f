#include "http/json_body.hpp"

#include <cctype>
#include <cmath>
#include <sstream>

#include "protocols/errors.hpp"

namespace wassally::http {

nlohmann::json parse_object(const std::string& body, int max_depth) {
  // Depth check first: a string of 100,000 '[' must not reach a recursive parser or destructor.
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth)
        throw api_exception(errors::malformed_json("the JSON body is nested too deeply"));
    } else if (c == ']' || c == '}')
      --depth;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error&) {
    throw api_exception(errors::malformed_json("the body is not valid JSON"));
  } catch (const nlohmann::json::out_of_range&) {
    // A number no double holds (1e400) is out_of_range, not parse_error: it was a 500.
    throw api_exception(errors::malformed_json("a number in the body is out of range"));
  }
  if (!j.is_object()) throw api_exception(errors::malformed_json("the body must be a JSON object"));
  return j;
}

field_reader::field_reader(const nlohmann::json& object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {}

void field_reader::fail(const std::string& name, const std::string& message) {
  errors_.emplace(prefix_ + name, message);
}

void field_reader::finish() const {
  if (!errors_.empty()) throw api_exception(errors::validation(errors_));
}

const nlohmann::json* field_reader::find(const std::string& name, bool required) {
  auto it = object_.find(name);
  if (it == object_.end() || it->is_null()) {
    if (required) fail(name, "this field is required");
    return nullptr;
  }
  return &*it;
}

std::optional<std::string> field_reader::string(const std::string& name, bool required,
                                                std::size_t min_len, std::size_t max_len) {
  auto* v = find(name, required);
  if (!v) return std::nullopt;
  if (!v->is_string()) {
    fail(name, "must be a string");
    return std::nullopt;
  }
  auto s = v->get<std::string>();
  if (s.find('\0') != std::string::npos) {
    fail(name, "must not contain NUL characters");
    return std::nullopt;
  }
  if (s.size() < min_len) {
    fail(name, min_len == 1 ? "must not be empty"
                            : "must be at least " + std::to_string(min_len) + " characters");
    return std::nullopt;
  }
  if (s.size() > max_len) {
    fail(name, "must be at most " + std::to_string(max_len) + " characters");
    return std::nullopt;
  }
  return s;
}

std::optional<double> field_reader::number(const std::string& name, bool required, double min,
                                           double max) {
  auto* v = find(name, required);
  if (!v) return std::nullopt;
  if (!v->is_number()) {
    fail(name, "must be a number");
    return std::nullopt;
  }
  auto d = v->get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    std::ostringstream range;
    range << "must be between " << min << " and " << max;
    fail(name, range.str());
    return std::nullopt;
  }
  return d;
}

std::optional<int64_t> field_reader::integer(const std::string& name, bool required, int64_t min,
                                             int64_t max) {
  auto* v = find(name, required);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) {
    fail(name, "must be an integer");
    return std::nullopt;
  }
  int64_t i = 0;
  if (v->is_number_unsigned()) {
    auto u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) {
      fail(name, "is out of range");
      return std::nullopt;
    }
    i = static_cast<int64_t>(u);
  } else {
    i = v->get<int64_t>();
  }
  if (i < min || i > max) {
    fail(name, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return i;
}

std::optional<bool> field_reader::boolean(const std::string& name, bool required) {
  auto* v = find(name, required);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) {
    fail(name, "must be true or false");
    return std::nullopt;
  }
  return v->get<bool>();
}

bool valid_username(const std::string& s) {
  if (s.size() < 3 || s.size() > 150) return false;
  for (unsigned char c : s)
    if (!(std::isalnum(c) || c == '_' || c == '.' || c == '@' || c == '+' || c == '-'))
      return false;
  return true;
}

bool valid_phone(const std::string& s) {
  std::size_t i = (!s.empty() && s[0] == '+') ? 1 : 0;
  auto digits = s.size() - i;
  if (digits < 7 || digits > 15) return false;
  for (; i < s.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

bool valid_email(const std::string& s) {
  auto at = s.find('@');
  if (at == std::string::npos || at == 0 || at + 1 >= s.size() || s.size() > 254) return false;
  if (s.find('@', at + 1) != std::string::npos) return false;
  if (s.find('.', at) == std::string::npos) return false;
  for (unsigned char c : s)
    if (c <= ' ' || c == 0x7f) return false;
  return true;
}

bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : -1;
    if (n < 0) return false;
    uint32_t cp = n == 0 ? c : n == 1 ? (c & 0x1f) : n == 2 ? (c & 0x0f) : (c & 0x07);
    for (int k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += static_cast<std::size_t>(n) + 1;
  }
  return true;
}

}  // namespace wassally::http
