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
  return sys.spawn([=](caf::event_based_actor* self) -> caf::behavior {
    return {
        [=](shop_of_atom, int64_t product_id) {
          auto rp = self->make_response_promise();
          if (auto it = product_shops->find(product_id); it != product_shops->end()) {
            rp.deliver(it->second);
            return;
          }
          self->request(persistence, timeout, catalog_sql::shop_of_product(product_id))
              .then(
                  [=](int64_t shop_id) mutable {
                    (*product_shops)[product_id] = shop_id;
                    rp.deliver(shop_id);
                  },
                  [rp](caf::error& e) mutable { rp.deliver(e); });
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
