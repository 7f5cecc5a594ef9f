#pragma once
// JSON body → protocol message, one function per request type. Every field is checked and every
// problem named (validation_error with `fields`); nothing here decides business outcomes.

#include <nlohmann/json.hpp>

#include "protocols/accounts.hpp"

namespace wassally::http {

register_user decode_register(const nlohmann::json& body, const std::string& role);
login_request decode_login(const nlohmann::json& body);
refresh_request decode_refresh(const nlohmann::json& body);

}  // namespace wassally::http

#include "protocols/shops.hpp"

namespace wassally::http {

shop_category decode_shop_category(const nlohmann::json& body);
create_shop decode_create_shop(const nlohmann::json& body);
/// The fields present in the body, validated; `who` is filled by the route.
patch_shop decode_patch_shop(const nlohmann::json& body);
/// GET /shops query parameters (page and page_size are read by the pagination helper).
shop_query decode_shop_query(const std::map<std::string, std::string>& query);

}  // namespace wassally::http

#include "protocols/catalog.hpp"

namespace wassally::http {

/// POST (creating: name and price required) or PATCH (any field) of a product.
save_product decode_save_product(const nlohmann::json& body, bool creating);
std::string decode_category_name(const nlohmann::json& body);

}  // namespace wassally::http

namespace wassally::http {
/// POST (creating: title, discount, start_date, end_date, product_ids required) or PATCH.
save_offer decode_save_offer(const nlohmann::json& body, bool creating);
}  // namespace wassally::http

#include "protocols/orders.hpp"

namespace wassally::http {
/// POST /cart/items and PATCH /cart/items/{id}.
add_cart_item decode_add_cart_item(const nlohmann::json& body);
set_cart_item decode_set_cart_item(const nlohmann::json& body);
/// POST /orders: without `items` the cart is checked out (from_cart).
place_order decode_place_order(const nlohmann::json& body);
/// GET /orders filters (page and page_size are read by the pagination helper).
order_query decode_order_query(const std::map<std::string, std::string>& query);
}  // namespace wassally::http

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

#include "protocols/analytics.hpp"

namespace wassally::http {
/// GET /shops/{id}/analytics/{kind}: from, to (YYYY-MM-DD), granularity, tz, limit.
analytics_query decode_analytics_query(const std::map<std::string, std::string>& query,
                                       const std::string& kind);
}  // namespace wassally::http
