#pragma once
// Request decoders of API.md "Catalog" and "Offers": products, product categories, offers.
// Every field is checked and every problem named; nothing here decides business outcomes.

#include <nlohmann/json.hpp>
#include <string>

#include "protocols/catalog.hpp"

namespace wassally::http {

/// POST (creating: name and price required) or PATCH (any field) of a product.
save_product decode_save_product(const nlohmann::json& body, bool creating);
std::string decode_category_name(const nlohmann::json& body);
/// POST (creating: title, discount, start_date, end_date, product_ids required) or PATCH.
save_offer decode_save_offer(const nlohmann::json& body, bool creating);

}  // namespace wassally::http
