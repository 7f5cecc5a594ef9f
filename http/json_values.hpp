#pragma once
// JSON renderings of value types several route files share.

#include <nlohmann/json.hpp>

#include "protocols/money.hpp"

namespace wassally::http {

/// Quantities are JSON numbers: whole ones as integers, others with up to three decimals.
inline nlohmann::json quantity_json(quantity q) {
  if (q.milli % 1000 == 0) return q.milli / 1000;
  return q.as_double();
}

/// An id that may be absent (0) → the id or null.
inline nlohmann::json optional_id(int64_t id) { return id ? nlohmann::json(id) : nlohmann::json(); }

}  // namespace wassally::http
