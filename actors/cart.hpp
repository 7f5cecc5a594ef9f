#pragma once

#include <chrono>

#include "actors/order_placement.hpp"
#include "actors/registry.hpp"

namespace wassally {

/// The cart entity actor: one per customer (key "cart", user id), durable (every line is
/// persisted before the reply). Its rules: at most 3 distinct shops (409 cart_shop_limit),
/// quantities the product allows (400 invalid_quantity), an existing product's quantity grows,
/// hidden or deleted products (404) and suspended shops (409 shop_unavailable) refused.
/// get_cart → cart_view (current prices); add_cart_item / set_cart_item → cart_item_reply;
/// remove_cart_item → done; (checkout_atom, place_order) → order_placed, emptying the cart
/// only if the order committed.
entity_factory cart_factory(placement_services svc, std::chrono::milliseconds idle);

}  // namespace wassally
