#pragma once
// When an order's crew should reach its customer (API.md "Dispatch": eta), from great-circle
// distances: pure functions of the order, its stops, its crew's position and the time.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocols/orders.hpp"

namespace wassally::eta_rules {

/// The config keys average_speed_kmh and route_factor: travel takes
/// distance_km × route_factor / average_speed_kmh hours.
struct settings {
  double average_speed_kmh = 25;
  double route_factor = 1.3;
};

/// The stops of `o` (its shops, from orders_sql::stops) its crew has still to visit: a shop is
/// visited once every line of it is bought; a delivery request's requesting shop until the
/// order is picked up. None once picked up.
std::vector<order_stop> stops_to_visit(const order_record& o, const std::vector<order_stop>& stops);

/// When the crew should reach the customer, in unix seconds (rounded), or nullopt: not assigned
/// or picked up, or its crew's position unknown. Assigned: from the crew's position through
/// `to_visit` nearest-next (the nearest not yet visited from where the crew is), each shop
/// reached no earlier than `created_at` + its preparation_min (the crew waits), then to the
/// customer. Picked up: straight from the crew to the customer.
std::optional<int64_t> estimate(int64_t now, const std::string& status, int64_t created_at,
                                const crew_position& crew, const std::vector<order_stop>& to_visit,
                                const geo_location& customer, const settings& s);

/// Whether an eta that moved from `published` to `now` is news to the order's streams: it became
/// known or unknown, or moved by at least 60 seconds.
bool worth_announcing(const std::optional<int64_t>& published, const std::optional<int64_t>& now);

}  // namespace wassally::eta_rules
