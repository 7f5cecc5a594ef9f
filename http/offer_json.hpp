#pragma once

#include <nlohmann/json.hpp>

#include "protocols/dispatch.hpp"

namespace wassally::http {

/// An offer as GET /crew/offer and `event: offer` show it (API.md "Dispatch"): `{order_id,
/// shops:[{id, name, latitude, longitude}], location, distance_km, items_total, delivery_fee,
/// expires_at}`.
nlohmann::json offer_json(const crew_offer& o);

}  // namespace wassally::http
