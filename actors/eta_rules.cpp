#include "actors/eta_rules.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "actors/dispatcher.hpp"

namespace wassally::eta_rules {

std::vector<order_stop> stops_to_visit(const order_record& o,
                                       const std::vector<order_stop>& stops) {
  std::vector<order_stop> out;
  if (o.status != order_status::assigned) return out;
  std::set<int64_t> open;  // shops with a line not bought yet
  for (auto& i : o.items)
    if (!i.is_bought) open.insert(i.shop_id);
  for (auto& s : stops)
    if (open.count(s.shop_id) || (o.requesting_shop_id && s.shop_id == o.requesting_shop_id))
      out.push_back(s);
  return out;
}

std::optional<int64_t> estimate(int64_t now, const std::string& status, int64_t created_at,
                                const crew_position& crew, const std::vector<order_stop>& to_visit,
                                const geo_location& customer, const settings& s) {
  bool assigned = status == order_status::assigned;
  if ((!assigned && status != order_status::picked_up) || !crew.known) return std::nullopt;
  if (s.average_speed_kmh <= 0) return std::nullopt;
  auto travel_s = [&](double lat1, double lng1, double lat2, double lng2) {
    return distance_km(lat1, lng1, lat2, lng2) * s.route_factor / s.average_speed_kmh * 3600.0;
  };
  double at = static_cast<double>(now);
  double lat = crew.latitude;
  double lng = crew.longitude;
  if (assigned) {
    auto left = to_visit;
    while (!left.empty()) {
      auto nearest = std::min_element(left.begin(), left.end(), [&](auto& a, auto& b) {
        return distance_km(lat, lng, a.latitude, a.longitude) <
               distance_km(lat, lng, b.latitude, b.longitude);
      });
      at += travel_s(lat, lng, nearest->latitude, nearest->longitude);
      at = std::max(at, static_cast<double>(created_at + nearest->preparation_min * 60));
      lat = nearest->latitude;
      lng = nearest->longitude;
      left.erase(nearest);
    }
  }
  at += travel_s(lat, lng, customer.latitude, customer.longitude);
  return static_cast<int64_t>(std::llround(at));
}

bool worth_announcing(const std::optional<int64_t>& published, const std::optional<int64_t>& now) {
  if (published.has_value() != now.has_value()) return true;
  return published && std::llabs(*published - *now) >= 60;
}

}  // namespace wassally::eta_rules
