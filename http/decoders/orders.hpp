#pragma once
// Request decoders of API.md "Cart" and "Orders": cart items, placing an order, the order
// list's filters. Every field is checked and every problem named; nothing here decides
// business outcomes.

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "protocols/orders.hpp"

namespace wassally::http {

/// POST /cart/items and PATCH /cart/items/{id}.
add_cart_item decode_add_cart_item(const nlohmann::json& body);
set_cart_item decode_set_cart_item(const nlohmann::json& body);
/// POST /orders: without `items` the cart is checked out (from_cart).
place_order decode_place_order(const nlohmann::json& body);
/// POST /orders/{id}/cancel: the raw body, which may be empty (no note), or {note?}: a string
/// of at most max_cancel_note characters (an empty one is no note) → a cancel action.
order_action decode_cancel_order(const std::string& body);
/// GET /orders filters (page and page_size are read by the pagination helper).
order_query decode_order_query(const std::map<std::string, std::string>& query);

}  // namespace wassally::http
