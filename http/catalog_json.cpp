#include "http/catalog_json.hpp"

#include <cmath>

#include "http/json_values.hpp"
#include "protocols/clock.hpp"
#include "protocols/pictures.hpp"

namespace wassally::http {

void add_picture(nlohmann::json& j, const std::string& image, const std::string& media_base) {
  if (auto digest = pictures::uploaded_digest(image)) {
    auto url = [&](const char* size) { return media_base + "/media/" + *digest + "-" + size; };
    j["image"] = url("large");
    j["images"] = {{"large", url("large")}, {"medium", url("medium")}, {"thumb", url("thumb")}};
    return;
  }
  j["image"] = image.empty() ? nlohmann::json() : nlohmann::json(image);
  j["images"] = nullptr;
}

nlohmann::json shop_json(const shop_record& s, const std::string& media_base) {
  nlohmann::json j = {{"id", s.id},
                      {"name", s.name},
                      {"description", s.description},
                      {"phone_number", s.phone_number},
                      {"facebook_url", s.facebook_url},
                      {"category_id", s.category_id},
                      {"status", s.status},
                      {"confirmed_orders", s.confirmed_orders},
                      {"preparation_min", s.preparation_min},
                      {"location",
                       {{"address", s.location.address},
                        {"latitude", s.location.latitude},
                        {"longitude", s.location.longitude}}},
                      {"owner_id", s.owner_id}};
  add_picture(j, s.image, media_base);
  if (s.distance_km >= 0) j["distance_km"] = std::round(s.distance_km * 1000) / 1000;
  return j;
}

nlohmann::json shop_category_json(const shop_category& c, const std::string& media_base) {
  nlohmann::json j = {{"id", c.id}, {"name", c.name}};
  add_picture(j, c.image, media_base);
  return j;
}

nlohmann::json product_json(const product_record& p, const std::string& media_base) {
  nlohmann::json j = {
      {"id", p.id},
      {"shop_id", p.shop_id},
      {"category_id", p.category_id ? nlohmann::json(p.category_id) : nlohmann::json()},
      {"name", p.name},
      {"description", p.description},
      {"price", p.price.str()},
      {"effective_price", p.effective_price.str()},
      {"stock", quantity_json(p.stock)},
      {"is_unlimited", p.is_unlimited},
      {"quantity_type", p.quantity_type},
      {"minimum_quantity", quantity_json(p.minimum_quantity)},
      {"increment_rate", quantity_json(p.increment_rate)},
      {"is_hidden", p.is_hidden},
      {"sales_count", quantity_json(p.sales_count)},
      {"offer", p.offer_id ? nlohmann::json{{"id", p.offer_id},
                                            {"title", p.offer_title},
                                            {"discount", p.offer_discount.str()}}
                           : nlohmann::json()},
      {"created_at", p.created_at},
      {"updated_at", p.updated_at}};
  add_picture(j, p.image, media_base);
  if (p.cost_visible)
    j["cost_price"] = p.has_cost_price ? nlohmann::json(p.cost_price.str()) : nlohmann::json();
  if (p.is_deleted) j["is_deleted"] = true;
  return j;
}

nlohmann::json offer_json(const offer_record& o, const std::string& media_base) {
  nlohmann::json j = {{"id", o.id},
                      {"shop_id", o.shop_id},
                      {"title", o.title},
                      {"description", o.description},
                      {"url", o.url},
                      {"discount", o.discount.str()},
                      {"start_date", service_clock::format_iso(o.start)},
                      {"end_date", service_clock::format_iso(o.end)},
                      {"is_sponsored", o.is_sponsored},
                      {"is_active", o.is_active(service_clock::now())},
                      {"product_ids", o.product_ids}};
  add_picture(j, o.image, media_base);
  return j;
}

}  // namespace wassally::http
