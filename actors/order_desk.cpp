#include "actors/order_desk.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <memory>

#include "actors/order_rules.hpp"
#include "persistence/orders.hpp"
#include "protocols/entity_interfaces.hpp"

namespace wassally {
namespace {

/// The eta lives in each order's actor, not in PostgreSQL: a page's orders on their way
/// (assigned or picked up) get it from their live actor (asked through the registry, all at
/// once), then the page is answered. An actor that does not answer in time leaves its eta null.
void add_live_etas(caf::event_based_actor* self, const placement_services& svc,
                   caf::response_promise rp, order_page page, const caller& who) {
  auto shared = std::make_shared<order_page>(std::move(page));
  auto waiting = std::make_shared<std::size_t>(0);
  for (auto& o : shared->results)
    if (order_rules::tracks_crew(o)) ++*waiting;
  if (*waiting == 0 || !svc.registry) {
    rp.deliver(std::move(*shared));
    return;
  }
  auto answered = [=]() mutable {
    if (--*waiting == 0) rp.deliver(std::move(*shared));
  };
  for (std::size_t i = 0; i < shared->results.size(); ++i) {
    auto& o = shared->results[i];
    if (!order_rules::tracks_crew(o)) continue;
    ask_entity(self, order_ref(svc.registry, o.id), svc.timeout, get_order{who})
        .then(
            [=](order_record& live) mutable {
              shared->results[i].eta = live.eta;
              answered();
            },
            [=](caf::error&) mutable { answered(); });
  }
}

}  // namespace

caf::actor spawn_order_desk(caf::actor_system& sys, placement_services svc, bool at_first_shop) {
  return sys.spawn([svc, at_first_shop](caf::event_based_actor* self) -> caf::behavior {
    return {
        [=](place_order& req) {
          auto rp = self->make_response_promise();
          auto place_here = [=](place_order& r) mutable {
            rp.delegate(spawn_order_placement(self->system(), svc), std::move(r));
          };
          if (!at_first_shop || req.lines.empty()) {
            place_here(req);
            return rp;
          }
          auto first = req.lines.front().product_id;
          self->request(svc.shop_directory, svc.timeout, shop_of_atom::value, first)
              .then(
                  [=](int64_t shop_id) mutable {
                    ask_entity(self, shop_ref(svc.registry, shop_id), caf::infinite, req)
                        .then([rp](order_placed& p) mutable { rp.deliver(std::move(p)); },
                              [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
                  },
                  [=](caf::error&) mutable { place_here(req); });
          return rp;
        },
        [=](order_query& q) {
          auto rp = self->make_response_promise();
          auto who = q.who;
          self->request(svc.persistence, svc.timeout,
                        orders_sql::list(q, order_rules::listing_scope(q.who)))
              .then(
                  [=](order_page& page) mutable {
                    for (auto& o : page.results) o = order_rules::view_for(std::move(o), who);
                    add_live_etas(self, svc, rp, std::move(page), who);
                  },
                  [rp](caf::error& e) mutable { rp.deliver(e); });
          return rp;
        },
    };
  });
}

}  // namespace wassally
