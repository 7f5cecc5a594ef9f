#include "actors/order_desk.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>

#include "actors/order_rules.hpp"
#include "persistence/orders.hpp"

namespace wassally {

caf::actor spawn_order_desk(caf::actor_system& sys, placement_services svc) {
  return sys.spawn([svc](caf::event_based_actor* self) -> caf::behavior {
    return {
        [=](place_order& req) {
          auto placement = spawn_order_placement(self->system(), svc);
          return self->delegate(placement, std::move(req));
        },
        [=](order_query& q) {
          auto rp = self->make_response_promise();
          auto who = q.who;
          self->request(svc.persistence, svc.timeout,
                        orders_sql::list(q, order_rules::listing_scope(q.who)))
              .then(
                  [rp, who](order_page& page) mutable {
                    for (auto& o : page.results) o = order_rules::view_for(std::move(o), who);
                    rp.deliver(std::move(page));
                  },
                  [rp](caf::error& e) mutable { rp.deliver(e); });
          return rp;
        },
    };
  });
}

}  // namespace wassally
