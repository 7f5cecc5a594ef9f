#pragma once

#include <nlohmann/json.hpp>

#include "protocols/orders.hpp"

namespace wassally::http {

/// An order as API.md renders it (the code only when the record says the caller may see it).
nlohmann::json order_json(const order_record& o);

}  // namespace wassally::http
