#include "actors/shop_directory.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>

#include "actors/password_hasher.hpp"
#include "persistence/catalog.hpp"
#include "persistence/shops.hpp"
#include "protocols/registry.hpp"
#include "protocols/shops.hpp"

namespace wassally {
namespace {

/// Runs `cmd` and hands its reply (or error) to the promise.
template <class Reply>
void forward(caf::event_based_actor* self, const caf::actor& persistence,
             std::chrono::milliseconds timeout, db_command cmd, caf::response_promise rp) {
  self->request(persistence, timeout, std::move(cmd))
      .then([rp](Reply& r) mutable { rp.deliver(std::move(r)); },
            [rp](caf::error& e) mutable { rp.deliver(e); });
}

/// id → id, at most `capacity` entries; the least recently used one leaves for a new one. Used
/// by one actor only (no locking); the figures are atomics for /metrics.
class lru_ids {
 public:
  lru_ids(std::size_t capacity, std::shared_ptr<cache_figures> figures)
      : capacity_(std::max<std::size_t>(capacity, 1)), figures_(std::move(figures)) {
    figures_->capacity = capacity_;
  }
  std::optional<int64_t> find(int64_t key) {
    auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }
  void put(int64_t key, int64_t value) {
    if (auto it = index_.find(key); it != index_.end()) {
      it->second->second = value;
      order_.splice(order_.begin(), order_, it->second);
      return;
    }
    if (index_.size() >= capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
      ++figures_->evictions;
    }
    order_.emplace_front(key, value);
    index_[key] = order_.begin();
    figures_->entries = static_cast<int64_t>(index_.size());
  }

 private:
  std::size_t capacity_;
  std::shared_ptr<cache_figures> figures_;
  std::list<std::pair<int64_t, int64_t>> order_;  // most recently used first
  std::unordered_map<int64_t, std::list<std::pair<int64_t, int64_t>>::iterator> index_;
};

}  // namespace

caf::actor spawn_shop_directory(caf::actor_system& sys, const caf::actor& persistence,
                                const caf::actor& hashers, std::chrono::milliseconds timeout,
                                shop_directory_caches caches) {
  // Which shop a product or offer belongs to never changes, so an entry never goes stale; the
  // bound is only about memory. LRU rather than clear-on-full: the working set (products in
  // carts and placements right now) is far smaller than the catalog, and clearing would send
  // all of it back to the database at once on every wrap.
  auto product_shops = std::make_shared<lru_ids>(caches.product_shops, caches.product_figures);
  auto offer_shops = std::make_shared<lru_ids>(caches.offer_shops, caches.offer_figures);
  // The shop of a product or offer: from the cache, else from the database (then cached).
  auto shop_of = [=](caf::event_based_actor* self, std::shared_ptr<lru_ids> cache, int64_t id,
                     db_command lookup) {
    auto rp = self->make_response_promise();
    if (auto hit = cache->find(id)) {
      rp.deliver(*hit);
      return;
    }
    self->request(persistence, timeout, std::move(lookup))
        .then(
            [=](int64_t shop_id) mutable {
              cache->put(id, shop_id);
              rp.deliver(shop_id);
            },
            [rp](caf::error& e) mutable { rp.deliver(e); });
  };
  return sys.spawn([=](caf::event_based_actor* self) -> caf::behavior {
    return {
        [=](shop_of_atom, int64_t product_id) {
          shop_of(self, product_shops, product_id, catalog_sql::shop_of_product(product_id));
        },
        [=](offer_shop_atom, int64_t offer_id) {
          shop_of(self, offer_shops, offer_id, catalog_sql::shop_of_offer(offer_id));
        },
        [=](offer_query& q) {
          forward<offer_list>(self, persistence, timeout, catalog_sql::list_active_offers(q),
                              self->make_response_promise());
        },
        [=](create_shop& c) {
          auto rp = self->make_response_promise();
          if (c.owner_id != 0) {
            forward<shop_record>(self, persistence, timeout, shops_sql::create(c, ""), rp);
            return;
          }
          self->request(hashers, timeout, hash_atom::value, c.owner.password)
              .then(
                  [=](std::string& hash) {
                    forward<shop_record>(self, persistence, timeout, shops_sql::create(c, hash),
                                         rp);
                  },
                  [rp](caf::error& e) mutable { rp.deliver(e); });
        },
        [=](shop_query& q) {
          forward<shop_page>(self, persistence, timeout, shops_sql::list(q),
                             self->make_response_promise());
        },
        [=](list_atom, int64_t offset, int64_t limit) {
          forward<shop_category_list>(self, persistence, timeout,
                                      shops_sql::list_categories(offset, limit),
                                      self->make_response_promise());
        },
        [=](shop_category& c) {
          forward<shop_category>(self, persistence, timeout,
                                 shops_sql::insert_category(c.name, c.image),
                                 self->make_response_promise());
        },
        [=](set_shop_category_image& c) {
          forward<shop_category>(self, persistence, timeout,
                                 shops_sql::set_category_image(c.category_id, c.image),
                                 self->make_response_promise());
        },
    };
  });
}

}  // namespace wassally
