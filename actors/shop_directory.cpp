#include "actors/shop_directory.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <memory>
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

}  // namespace

caf::actor spawn_shop_directory(caf::actor_system& sys, const caf::actor& persistence,
                                const caf::actor& hashers, std::chrono::milliseconds timeout) {
  // Which shop a product belongs to never changes: the answer is cached for good.
  auto product_shops = std::make_shared<std::unordered_map<int64_t, int64_t>>();
  auto offer_shops = std::make_shared<std::unordered_map<int64_t, int64_t>>();
  // The shop of a product or offer: from the cache, else from the database (then cached).
  auto shop_of = [=](caf::event_based_actor* self,
                     std::shared_ptr<std::unordered_map<int64_t, int64_t>> cache, int64_t id,
                     db_command lookup) {
    auto rp = self->make_response_promise();
    if (auto it = cache->find(id); it != cache->end()) {
      rp.deliver(it->second);
      return;
    }
    self->request(persistence, timeout, std::move(lookup))
        .then(
            [=](int64_t shop_id) mutable {
              (*cache)[id] = shop_id;
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
    };
  });
}

}  // namespace wassally
