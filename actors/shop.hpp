#pragma once

#include <chrono>

#include "actors/registry.hpp"

namespace wassally {

/// The shop entity actor: one per shop, activated by the registry. It owns the shop's record
/// (and, as the catalog grows, its products, categories and offers), serves reads from memory,
/// and decides who may see and change what: get_shop → shop_record, patch_shop → shop_record.
/// Stock: quote_products → product_quotes; reserve_stock → product_quotes (held until
/// commit_reservation / release_reservation, or `reservation_timeout`); stock_returned.
entity_factory shop_factory(caf::actor persistence, std::chrono::milliseconds idle,
                            std::chrono::milliseconds db_timeout,
                            std::chrono::milliseconds reservation_timeout);

}  // namespace wassally
