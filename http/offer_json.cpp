#include "http/offer_json.hpp"

namespace wassally::http {

nlohmann::json offer_json(const crew_offer& o) {
  auto shops = nlohmann::json::array();
  for (auto& s : o.shops)
    shops.push_back(
        {{"id", s.id}, {"name", s.name}, {"latitude", s.latitude}, {"longitude", s.longitude}});
  return {{"order_id", o.order_id},
          {"shops", std::move(shops)},
          {"location",
           {{"address", o.location.address},
            {"latitude", o.location.latitude},
            {"longitude", o.location.longitude}}},
          {"distance_km", o.distance_km},
          {"items_total", o.items_total.str()},
          {"delivery_fee", o.delivery_fee.str()},
          {"expires_at", o.expires_at}};
}

}  // namespace wassally::http
