#pragma once

#include <caf/fwd.hpp>
#include <chrono>

namespace wassally {

/// Shop-wide work that belongs to no single shop: registering a shop with its owner account
/// (create_shop → shop_record), listing shops (shop_query → shop_page), and shop categories
/// (`(list_atom, offset, limit)` → shop_category_list, shop_category → shop_category), and the
/// shop of a product (`(shop_of_atom, product_id)` → int64_t, cached) or of an offer
/// (`(offer_shop_atom, offer_id)`), and active offers across shops (offer_query → offer_list).
caf::actor spawn_shop_directory(caf::actor_system& sys, const caf::actor& persistence,
                                const caf::actor& hashers, std::chrono::milliseconds timeout);

}  // namespace wassally
