#pragma once
// JSON of shops, shop categories, products and offers: what several route files answer
// (their own routes, and the picture routes of http/routes_media.cpp).
//
// `media_base` is where picture URLs start (request_context::media_base): every resource with a
// picture carries `image` (the large rendition's URL, an external URL, or null) and `images`
// ({large, medium, thumb} URLs of an uploaded picture, else null), API.md "Images".

#include <nlohmann/json.hpp>
#include <string>

#include "protocols/catalog.hpp"
#include "protocols/shops.hpp"

namespace wassally::http {

/// Sets `j["image"]` and `j["images"]` from a stored `image` value (protocols/pictures.hpp).
void add_picture(nlohmann::json& j, const std::string& image, const std::string& media_base);

nlohmann::json shop_json(const shop_record& s, const std::string& media_base);
nlohmann::json shop_category_json(const shop_category& c, const std::string& media_base);
nlohmann::json product_json(const product_record& p, const std::string& media_base);
nlohmann::json offer_json(const offer_record& o, const std::string& media_base);

}  // namespace wassally::http
