#include "actors/shop.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>

#include "actors/entity.hpp"
#include "persistence/shops.hpp"
#include "protocols/shops.hpp"

namespace wassally {
namespace {

struct shop_state {
  entity_lifecycle lc;
  shop_record shop;
  static inline const char* name = "shop";
};

using self_ptr = caf::stateful_actor<shop_state>*;

bool may_manage(const shop_record& shop, const caller& who) {
  return who.is_staff() || (who.role == roles::shop_owner && who.user_id == shop.owner_id);
}

bool has(const patch_shop& p, const char* field) {
  return std::find(p.set.begin(), p.set.end(), field) != p.set.end();
}

/// The shop after applying the patch, or the reason it may not be applied.
shop_record apply(const shop_record& current, const patch_shop& p) {
  if (!may_manage(current, p.who)) throw api_exception(errors::forbidden("not your shop"));
  if (has(p, "status") && !p.who.is_staff())
    throw api_exception(errors::forbidden("only staff may change a shop's status"));
  auto next = current;
  const auto& v = p.values;
  if (has(p, "name")) next.name = v.name;
  if (has(p, "description")) next.description = v.description;
  if (has(p, "phone_number")) next.phone_number = v.phone_number;
  if (has(p, "facebook_url")) next.facebook_url = v.facebook_url;
  if (has(p, "image")) next.image = v.image;
  if (has(p, "category_id")) next.category_id = v.category_id;
  if (has(p, "status")) next.status = v.status;
  if (has(p, "location.address")) next.location.address = v.location.address;
  if (has(p, "location.latitude")) next.location.latitude = v.location.latitude;
  if (has(p, "location.longitude")) next.location.longitude = v.location.longitude;
  return next;
}

caf::behavior running(self_ptr self) {
  return {
      [=](const get_shop& q) -> caf::result<shop_record> {
        const auto& shop = self->state.shop;
        if (shop.status != "active" && !may_manage(shop, q.who))
          return to_caf_error(errors::not_found("no such shop"));
        return shop;
      },
      [=](const patch_shop& p) {
        auto rp = self->make_response_promise();
        shop_record next;
        try {
          next = apply(self->state.shop, p);
        } catch (const api_exception& e) {
          rp.deliver(to_caf_error(e.error));
          return;
        }
        entity_write<shop_record>(
            self, self->state.lc, shops_sql::update(next),
            [=](shop_record& saved) mutable {
              self->state.shop = saved;
              rp.deliver(saved);
            },
            [=](const api_error& e) mutable { rp.deliver(to_caf_error(e)); });
      },
      entity_idle_handler(self, self->state.lc),
  };
}

}  // namespace

entity_factory shop_factory(caf::actor persistence, std::chrono::milliseconds idle,
                            std::chrono::milliseconds db_timeout) {
  return [=](caf::actor_system& sys, const caf::actor& registry, int64_t id) {
    return sys.spawn([=](self_ptr self) -> caf::behavior {
      auto& lc = self->state.lc;
      lc.key = {"shop", id};
      lc.registry = registry;
      lc.persistence = persistence;
      lc.idle = idle;
      lc.db_timeout = db_timeout;
      // Until the shop is loaded, requests wait in the mailbox.
      self->set_default_handler(caf::skip);
      entity_persist<shop_record>(
          self, lc, shops_sql::find(id),
          [self](shop_record& s) {
            self->state.shop = std::move(s);
            self->become(running(self));
          },
          [self](const api_error& e) { entity_fail_activation(self, self->state.lc, e); });
      return {[](int) {}};
    });
  };
}

}  // namespace wassally
