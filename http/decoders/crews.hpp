#pragma once
// Request decoders of API.md "Delivery crew" and delivery requests: the crew's location and
// status, order assignment and delivery, a shop's delivery request, the crew filters. Every
// field is checked and every problem named; nothing here decides business outcomes.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "protocols/crews.hpp"

namespace wassally::http {

set_crew_location decode_crew_location(const nlohmann::json& body);
set_crew_status decode_crew_status(const nlohmann::json& body);
/// POST /orders/{id}/deliver: the confirmation code.
std::string decode_delivery_code(const nlohmann::json& body);
/// POST /orders/{id}/assign: the crew id.
int64_t decode_assignment(const nlohmann::json& body);
create_delivery_request decode_delivery_request(const nlohmann::json& body);
/// `radius_km` (default 10).
double decode_radius(const std::map<std::string, std::string>& query);
crew_query decode_crew_query(const std::map<std::string, std::string>& query);

}  // namespace wassally::http
