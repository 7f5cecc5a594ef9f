#pragma once
// Request decoders of API.md "Shops": shop categories, shops, the shop list's filters. Every
// field is checked and every problem named; nothing here decides business outcomes.

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "protocols/shops.hpp"

namespace wassally::http {

shop_category decode_shop_category(const nlohmann::json& body);
create_shop decode_create_shop(const nlohmann::json& body);
/// The fields present in the body, validated; `who` is filled by the route.
patch_shop decode_patch_shop(const nlohmann::json& body);
/// GET /shops query parameters (page and page_size are read by the pagination helper).
shop_query decode_shop_query(const std::map<std::string, std::string>& query);

}  // namespace wassally::http
