#include "actors/order.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <map>

#include "actors/entity.hpp"
#include "actors/order_rules.hpp"
#include "persistence/orders.hpp"
#include "protocols/orders.hpp"

namespace wassally {
namespace {

struct order_state {
  entity_lifecycle lc;
  caf::actor event_bus;
  order_record order;
  std::vector<order_event> events;
  static inline const char* name = "order";
};

using self_ptr = caf::stateful_actor<order_state>*;

api_error hidden() { return errors::not_found("no such order"); }

/// Stock moves of the order's products, per shop.
std::map<int64_t, std::vector<order_line_request>> lines_by_shop(
    const order_record& o, const std::vector<order_line_request>& moves) {
  std::map<int64_t, std::vector<order_line_request>> out;
  for (auto& m : moves)
    for (auto& i : o.items)
      if (i.product_id == m.product_id) {
        out[i.shop_id].push_back(m);
        break;
      }
  return out;
}

void act(self_ptr self, caf::response_promise rp, const order_action& a) {
  auto& st = self->state;
  std::string next;
  try {
    next = order_rules::decide(st.order, a);
  } catch (const api_exception& e) {
    rp.deliver(to_caf_error(e.error));
    return;
  }
  orders_sql::transition t;
  t.order_id = st.order.id;
  t.from = st.order.status;
  t.to = next;
  t.crew_id = st.order.crew_id;
  t.by_user_id = a.who.user_id;
  t.seq = st.events.empty() ? 1 : st.events.back().seq + 1;
  if (next == order_status::cancelled)
    for (auto& i : st.order.items) t.returned.push_back({i.product_id, i.amount});
  auto who = a.who;
  entity_write<order_transitioned>(
      self, st.lc, orders_sql::apply(std::move(t)),
      [=](order_transitioned& done) mutable {
        auto& st = self->state;
        auto& e = done.event;
        st.order.status = e.status;
        st.order.updated_at = e.at;
        st.events.push_back(e);
        for (auto& [shop, lines] : lines_by_shop(st.order, done.stock_moves))
          self->send(st.lc.registry, entity_key{"shop", shop},
                     caf::make_message(stock_returned{lines}));
        self->send(st.event_bus, publish_atom::value, std::string("order_status"),
                   caf::make_message(order_status_changed{st.order.id, e}));
        rp.deliver(order_rules::view_for(st.order, who));
      },
      [=](const api_error& e) mutable { rp.deliver(to_caf_error(e)); });
}

caf::behavior running(self_ptr self) {
  return {
      [=](const get_order& q) -> caf::result<order_record> {
        auto& o = self->state.order;
        if (!order_rules::may_see(o, q.who)) return to_caf_error(hidden());
        return order_rules::view_for(o, q.who);
      },
      [=](const get_order_history& q) -> caf::result<order_history> {
        if (!order_rules::may_see(self->state.order, q.who)) return to_caf_error(hidden());
        return order_history{self->state.events};
      },
      [=](const watch_order& q) -> caf::result<order_watch> {
        auto& st = self->state;
        if (!order_rules::may_see(st.order, q.who)) return to_caf_error(hidden());
        order_watch out;
        out.final = order_rules::is_final(st.order.status);
        if (q.resume) {
          for (auto& e : st.events)
            if (e.seq > q.after_seq) out.events.push_back(e);
        } else if (!st.events.empty()) {
          out.events.push_back(st.events.back());
        }
        return out;
      },
      [=](const order_action& a) {
        auto rp = self->make_response_promise();
        act(self, rp, a);
        return rp;
      },
      entity_idle_handler(self, self->state.lc),
  };
}

}  // namespace

entity_factory order_factory(caf::actor persistence, caf::actor event_bus,
                             std::chrono::milliseconds idle, std::chrono::milliseconds db_timeout) {
  return [=](caf::actor_system& sys, const caf::actor& registry, int64_t id) {
    return sys.spawn([=](self_ptr self) -> caf::behavior {
      auto& st = self->state;
      st.event_bus = event_bus;
      st.lc.key = {"order", id};
      st.lc.registry = registry;
      st.lc.persistence = persistence;
      st.lc.idle = idle;
      st.lc.db_timeout = db_timeout;
      self->set_default_handler(caf::skip);
      entity_persist<order_snapshot>(
          self, st.lc, orders_sql::load(id),
          [self](order_snapshot& s) {
            self->state.order = std::move(s.order);
            self->state.events = std::move(s.events);
            self->become(running(self));
          },
          [self](const api_error& e) { entity_fail_activation(self, self->state.lc, e); });
      return {[](int) {}};
    });
  };
}

}  // namespace wassally
