#pragma once
// JSON renderings of value types several route files share.

#include <nlohmann/json.hpp>
#include <string>

#include "protocols/money.hpp"

namespace wassally::http {

/// Quantities are JSON numbers: whole ones as integers, others with up to three decimals.
inline nlohmann::json quantity_json(quantity q) {
  if (q.milli % 1000 == 0) return q.milli / 1000;
  return q.as_double();
}

/// An id that may be absent (0) → the id or null.
inline nlohmann::json optional_id(int64_t id) { return id ? nlohmann::json(id) : nlohmann::json(); }

/// Text that may be absent (empty) → the text or null.
inline nlohmann::json optional_text(const std::string& s) {
  return s.empty() ? nlohmann::json() : nlohmann::json(s);
}

}  // namespace wassally::http
