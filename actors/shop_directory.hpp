#pragma once

#include <atomic>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace wassally {

/// Size and evictions of one bounded cache, for /metrics (written by its actor, read by any
/// thread).
struct cache_figures {
  std::size_t capacity = 0;
  std::atomic<int64_t> entries{0};
  std::atomic<int64_t> evictions{0};
};

struct shop_directory_caches {
  std::size_t product_shops = 100000;  // product → shop lookups kept
  std::size_t offer_shops = 10000;     // offer → shop lookups kept
  std::shared_ptr<cache_figures> product_figures = std::make_shared<cache_figures>();
  std::shared_ptr<cache_figures> offer_figures = std::make_shared<cache_figures>();
};

/// Shop-wide work that belongs to no single shop: registering a shop with its owner account
/// (create_shop → shop_record), listing shops (shop_query → shop_page), and shop categories
/// (`(list_atom, offset, limit)` → shop_category_list, shop_category → shop_category), and the
/// shop of a product (`(shop_of_atom, product_id)` → int64_t, cached) or of an offer
/// (`(offer_shop_atom, offer_id)`), and active offers across shops (offer_query → offer_list).
/// The two lookups are cached, each within its bound in `caches` (least recently used dropped).
caf::actor spawn_shop_directory(caf::actor_system& sys, const caf::actor& persistence,
                                const caf::actor& hashers, std::chrono::milliseconds timeout,
                                shop_directory_caches caches = {});

}  // namespace wassally
