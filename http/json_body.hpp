#pragma once
// Request body decoding shared by every route: JSON object parsing with a nesting limit, and a
// field reader that collects precise validation errors (API.md error shape, dotted paths).

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace wassally::http {

/// Parses a request body into a JSON object. Throws api_exception: malformed_json (400) for
/// invalid JSON, a non-object, or nesting deeper than `max_depth`.
nlohmann::json parse_object(const std::string& body, int max_depth = 32);

/// Reads typed fields from a JSON object, remembering every problem; `finish()` throws one
/// validation_error naming them all.
class field_reader {
 public:
  explicit field_reader(const nlohmann::json& object, std::string prefix = {});
  /// The reader keeps a reference: a temporary object would dangle.
  explicit field_reader(nlohmann::json&& object, std::string prefix = {}) = delete;

  std::optional<std::string> string(const std::string& name, bool required, std::size_t min_len,
                                    std::size_t max_len);
  std::string required_string(const std::string& name, std::size_t min_len = 1,
                              std::size_t max_len = 10000) {
    return string(name, true, min_len, max_len).value_or("");
  }
  std::string optional_string(const std::string& name, std::size_t max_len = 10000) {
    return string(name, false, 0, max_len).value_or("");
  }
  std::optional<double> number(const std::string& name, bool required, double min, double max);
  std::optional<int64_t> integer(const std::string& name, bool required, int64_t min, int64_t max);
  std::optional<bool> boolean(const std::string& name, bool required);

  /// Records an error for `name` (prefixed) unless one is recorded already.
  void fail(const std::string& name, const std::string& message);
  bool ok() const { return errors_.empty(); }
  const std::map<std::string, std::string>& errors() const { return errors_; }
  /// Throws validation_error with every recorded field, if any.
  void finish() const;

 private:
  const nlohmann::json* find(const std::string& name, bool required);
  const nlohmann::json& object_;
  std::string prefix_;
  std::map<std::string, std::string> errors_;
};

bool valid_username(const std::string& s);
bool valid_phone(const std::string& s);
bool valid_email(const std::string& s);
/// Well-formed UTF-8 (no overlongs, no surrogates).
bool valid_utf8(const std::string& s);

}  // namespace wassally::http
