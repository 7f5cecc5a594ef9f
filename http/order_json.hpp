#pragma once

#include <nlohmann/json.hpp>

#include "protocols/orders.hpp"

namespace wassally::http {

/// An order as API.md renders it (the code only when the record says the caller may see it).
nlohmann::json order_json(const order_record& o);

/// `{latitude, longitude, at}` of an order's crew, or null (API.md "Dispatch": crew_location).
nlohmann::json crew_location_json(const crew_position& p);

/// An order's eta: the ISO time, or null when not known (API.md "Dispatch": eta).
nlohmann::json eta_json(const std::string& eta);

}  // namespace wassally::http
