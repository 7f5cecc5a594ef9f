#pragma once

#include <caf/actor.hpp>
#include <chrono>
#include <memory>

#include "actors/order_placement.hpp"
#include "actors/registry.hpp"
#include "protocols/catalog_stamps.hpp"

namespace wassally {

/// The shop entity actor: one per shop, activated by the registry. It owns the shop's record
/// (and, as the catalog grows, its products, categories and offers), serves reads from memory,
/// and decides who may see and change what: get_shop → shop_record, patch_shop → shop_record.
/// Stock: quote_products → product_quotes; reserve_stock → product_quotes (held until
/// commit_reservation / release_reservation, or `reservation_timeout`); stock_returned.
/// Delivery requests: create_delivery_request → order_placed (published like a placed order).
struct shop_options {
  std::chrono::milliseconds idle{300000};
  std::chrono::milliseconds db_timeout{5000};
  std::chrono::milliseconds reservation_timeout{30000};
  caf::actor event_bus;  // may be null (tests): nothing is published
  int64_t coins_per_order = 10;
  /// Where the shop publishes the stamp of its public catalog (may be null: nothing is).
  std::shared_ptr<catalog_stamps> stamps;
  /// Cluster mode: what the placements of orders whose first line is this shop's use (their
  /// registry is the shop's own). Null: place_order is refused.
  std::shared_ptr<const placement_services> placements;
};
entity_factory shop_factory(caf::actor persistence, shop_options opts);

}  // namespace wassally
