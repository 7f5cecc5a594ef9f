#include "actors/cart.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "actors/entity.hpp"
#include "persistence/carts.hpp"
#include "protocols/accounts.hpp"
#include "protocols/entity_interfaces.hpp"
#include "protocols/inspection.hpp"
#include "protocols/registry.hpp"

namespace wassally {
namespace {

struct cart_state {
  entity_lifecycle lc;
  placement_services svc;
  int64_t user_id = 0;
  std::map<int64_t, cart_line> lines;  // by line id
  static inline const char* name = "cart";
};

using self_ptr = cart_actor::stateful_pointer<cart_state>;
using item_promise = caf::typed_response_promise<cart_item_reply>;

std::set<int64_t> shops_of(const cart_state& st) {
  std::set<int64_t> out;
  for (auto& [id, l] : st.lines) out.insert(l.shop_id);
  return out;
}

cart_item_view view(const cart_line& line, const product_quote& q, bool shop_active) {
  cart_item_view v;
  v.line = line;
  v.name = q.name;
  v.unit_price = q.unit_price;
  v.line_total = line_total(q.unit_price, line.amount);
  v.available = q.found && shop_active;
  return v;
}

/// Asks the product's shop for its quote, waiting (nothing else runs in this cart meanwhile,
/// so the rules see a cart that cannot change under them). `then(shop_id, quotes)`.
template <class Then>
void with_quote(self_ptr self, item_promise rp, int64_t product_id, Then then) {
  auto& svc = self->state.svc;
  self->request(svc.shop_directory, svc.timeout, shop_of_atom::value, product_id)
      .await(
          [=](int64_t shop_id) mutable {
            ask_entity(self, shop_ref(self->state.svc.registry, shop_id), self->state.svc.timeout,
                       quote_products{{product_id}})
                .await([=](product_quotes& q) mutable { then(shop_id, q); },
                       [=](caf::error& e) mutable { rp.deliver(e); });
          },
          [=](caf::error& e) mutable { rp.deliver(e); });
}

/// The rules for putting `amount` of the quoted product in the cart: the refusal, or nothing.
std::optional<api_error> refusal_of_line(const cart_state& st, int64_t shop_id,
                                         const product_quotes& q, quantity amount) {
  if (q.items.empty() || !q.items.front().found) return errors::not_found("no such product");
  if (!q.shop_active)
    return errors::conflict("shop_unavailable", "the shop is not taking orders", "product_id");
  auto& p = q.items.front();
  // The line is stored as numeric(12,3) and its total must fit numeric(12,2) (API.md: 400).
  if (!fits_quantity_column(amount))
    return errors::validation(
        "quantity", "the line's quantity must be less than 1000000000 (at most 999999999.999)");
  if (!checked_line_total(p.unit_price, amount)) {
    std::string why = "the line total would reach 10000000000 (at most 9999999999.99)";
    return errors::validation({{"items", why}, {"quantity", why}});
  }
  if (!quantity_allowed(amount, p.minimum_quantity, p.increment_rate))
    return api_error{400,
                     "invalid_quantity",
                     p.name + " is sold from " + p.minimum_quantity.str() + " in steps of " +
                         p.increment_rate.str(),
                     {{"quantity", "not allowed for this product"}},
                     {{"product_id", p.product_id}},
                     {}};
  auto shops = shops_of(st);
  if (!shops.count(shop_id) && shops.size() >= max_shops_per_order)
    return errors::conflict(
        "cart_shop_limit",
        "a cart may hold products of at most " + std::to_string(max_shops_per_order) + " shops",
        "product_id");
  return std::nullopt;
}

void save(self_ptr self, item_promise rp, cart_line line, cart_item_view shown, bool created) {
  entity_write<cart_line>(
      self, self->state.lc, carts_sql::save_line(self->state.user_id, line),
      [=](cart_line& saved) mutable {
        self->state.lines[saved.id] = saved;
        shown.line = saved;
        shown.line_total = line_total(shown.unit_price, saved.amount);
        rp.deliver(cart_item_reply{shown, created});
      },
      [=](const api_error& e) mutable { rp.deliver(to_caf_error(e)); });
}

/// GET /cart: every shop quotes its lines at today's prices, in parallel.
void show(self_ptr self, caf::typed_response_promise<cart_view> rp) {
  auto& st = self->state;
  std::map<int64_t, std::vector<int64_t>> by_shop;
  for (auto& [id, l] : st.lines) by_shop[l.shop_id].push_back(l.product_id);
  if (by_shop.empty()) {
    rp.deliver(cart_view{});
    return;
  }
  auto quotes = std::make_shared<std::map<int64_t, product_quotes>>();
  auto left = std::make_shared<int>(static_cast<int>(by_shop.size()));
  auto lines = st.lines;
  auto finish = [=]() mutable {
    cart_view out;
    for (auto& [id, l] : lines) {
      auto& q = (*quotes)[l.shop_id];
      auto it = std::find_if(q.items.begin(), q.items.end(),
                             [&](auto& p) { return p.product_id == l.product_id; });
      product_quote missing;
      auto item = view(l, it != q.items.end() ? *it : missing, q.shop_active);
      if (item.available) out.total = out.total + item.line_total;
      out.items.push_back(item);
    }
    for (auto& [shop, ids] : by_shop) out.shops.push_back(shop);
    rp.deliver(out);
  };
  for (auto& [shop, ids] : by_shop) {
    auto shop_id = shop;
    ask_entity(self, shop_ref(st.svc.registry, shop_id), st.svc.timeout, quote_products{ids})
        .then(
            [=](product_quotes& q) mutable {
              (*quotes)[shop_id] = q;
              if (--*left == 0) finish();
            },
            [=](caf::error&) mutable {
              (*quotes)[shop_id] = product_quotes{};  // shown as unavailable
              if (--*left == 0) finish();
            });
  }
}

cart_actor::behavior_type running(self_ptr self) {
  return {
      [=](const get_cart&) {
        auto rp = self->make_response_promise<cart_view>();
        show(self, rp);
        return rp;
      },
      [=](const add_cart_item& req) {
        auto rp = self->make_response_promise<cart_item_reply>();
        with_quote(self, rp, req.product_id, [=](int64_t shop_id, const product_quotes& q) mutable {
          auto& st = self->state;
          auto it = std::find_if(st.lines.begin(), st.lines.end(),
                                 [&](auto& kv) { return kv.second.product_id == req.product_id; });
          cart_line line;
          bool created = it == st.lines.end();
          if (!created) line = it->second;
          line.product_id = req.product_id;
          line.shop_id = shop_id;
          line.amount.milli += req.amount.milli;
          if (auto refused = refusal_of_line(st, shop_id, q, line.amount)) {
            refused->extra["product_id"] = req.product_id;
            rp.deliver(to_caf_error(*refused));
            return;
          }
          save(self, rp, line, view(line, q.items.front(), q.shop_active), created);
        });
        return rp;
      },
      [=](const set_cart_item& req) {
        auto rp = self->make_response_promise<cart_item_reply>();
        auto it = self->state.lines.find(req.item_id);
        if (it == self->state.lines.end()) {
          rp.deliver(to_caf_error(errors::not_found("no such cart item")));
          return rp;
        }
        auto line = it->second;
        line.amount = req.amount;
        with_quote(self, rp, line.product_id,
                   [=](int64_t shop_id, const product_quotes& q) mutable {
                     if (auto refused = refusal_of_line(self->state, shop_id, q, line.amount)) {
                       rp.deliver(to_caf_error(*refused));
                       return;
                     }
                     save(self, rp, line, view(line, q.items.front(), q.shop_active), false);
                   });
        return rp;
      },
      [=](const remove_cart_item& req) {
        auto rp = self->make_response_promise<done>();
        auto& st = self->state;
        if (req.item_id != 0 && !st.lines.count(req.item_id)) {
          rp.deliver(to_caf_error(errors::not_found("no such cart item")));
          return rp;
        }
        auto id = req.item_id;
        auto cmd = id == 0 ? carts_sql::clear(st.user_id) : carts_sql::delete_line(st.user_id, id);
        entity_write<done>(
            self, st.lc, std::move(cmd),
            [=](done& d) mutable {
              if (id == 0)
                self->state.lines.clear();
              else
                self->state.lines.erase(id);
              rp.deliver(d);
            },
            [=](const api_error& e) mutable { rp.deliver(to_caf_error(e)); });
        return rp;
      },
      [=](checkout_atom, place_order& req) {
        auto rp = self->make_response_promise<order_placed>();
        auto& st = self->state;
        req.lines.clear();
        for (auto& [id, l] : st.lines) req.lines.push_back({l.product_id, l.amount});
        req.from_cart = true;
        auto placement = spawn_order_placement(self->system(), st.svc);
        // The cart waits for the outcome: it is emptied (in the order's transaction) only if
        // the order committed, and no change slips in between.
        ++st.lc.in_flight;
        self->request(placement, caf::infinite, std::move(req))
            .await(
                [=](order_placed& placed) mutable {
                  --self->state.lc.in_flight;
                  if (!placed.replayed) self->state.lines.clear();
                  rp.deliver(placed);
                },
                [=](caf::error& e) mutable {
                  --self->state.lc.in_flight;
                  // The order's transaction (which empties the cart) may have committed: the
                  // cart reloads its lines before it answers anything else.
                  if (!errors::outcome_unknown(from_caf_error(e))) {
                    rp.deliver(e);
                    return;
                  }
                  entity_reload_then<cart_lines>(
                      self, self->state.lc,
                      [id = self->state.user_id] { return carts_sql::load(id); },
                      [self](cart_lines& loaded) {
                        self->state.lines.clear();
                        for (auto& l : loaded.lines) self->state.lines[l.id] = l;
                      },
                      [rp, e]() mutable { rp.deliver(e); });
                });
        return rp;
      },
      [=](state_atom) {
        cart_lines out;
        for (auto& [id, l] : self->state.lines) out.lines.push_back(l);
        return to_actor_state(out);
      },
      [=](mailbox_atom) { return static_cast<int64_t>(self->mailbox().size()); },
      [=](release_atom) { entity_release(self, self->state.lc); },
      entity_idle_handler(self, self->state.lc),
  };
}

}  // namespace

entity_factory cart_factory(placement_services svc, std::chrono::milliseconds idle) {
  return [=](caf::actor_system& sys, const caf::actor& registry, int64_t id, const caf::message&,
             const shard_fence& fence) {
    auto cart = sys.spawn([=](self_ptr self) -> cart_actor::behavior_type {
      auto& st = self->state;
      st.svc = svc;
      st.svc.registry = registry;
      st.user_id = id;
      st.lc.key = {entity_kind::cart, id};
      st.lc.registry = registry;
      st.lc.persistence = svc.persistence;
      st.lc.idle = idle;
      st.lc.db_timeout = svc.timeout;
      st.lc.fence = fence;
      self->set_default_handler(caf::skip);
      entity_persist<cart_lines>(
          self, st.lc, carts_sql::load(id),
          [self](cart_lines& loaded) {
            for (auto& l : loaded.lines) self->state.lines[l.id] = l;
            self->become(running(self));
          },
          [self](const api_error& e) { entity_fail_activation(self, self->state.lc, e); });
      return entity_loading_behavior<cart_actor>();
    });
    return caf::actor_cast<caf::actor>(cart);
  };
}

}  // namespace wassally
