#include "actors/shop.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <functional>
#include <map>

#include "actors/entity.hpp"
#include "actors/placement_builder.hpp"
#include "actors/shop_rules.hpp"
#include "persistence/analytics.hpp"
#include "persistence/catalog.hpp"
#include "persistence/orders.hpp"
#include "persistence/shops.hpp"
#include "protocols/catalog.hpp"
#include "protocols/clock.hpp"
#include "protocols/crews.hpp"
#include "protocols/entity_interfaces.hpp"
#include "protocols/events.hpp"
#include "protocols/inspection.hpp"
#include "protocols/orders.hpp"
#include "protocols/reconcile.hpp"
#include "protocols/shops.hpp"

namespace wassally {
namespace {

/// What operators see of a shop actor.
struct shop_inspection {
  shop_record shop;
  catalog_snapshot catalog;
  std::vector<order_line_request> held;  // stock held for placements in progress, by product
  WASSALLY_FIELDS(shop_inspection, shop, catalog, held)
};

/// The shop, its catalog and the stock held for placements (shop_rules::shop_catalog: what the
/// rules read), and what the actor needs to carry decisions out.
struct shop_state : shop_rules::shop_catalog {
  entity_lifecycle lc;
  std::chrono::milliseconds reservation_timeout{30000};
  caf::actor event_bus;
  int64_t coins_per_order = 10;
  // The stamp of what customers see now (see protocols/catalog_stamps.hpp); shared with the
  // exit handler that withdraws it.
  std::shared_ptr<catalog_stamps> stamps;
  std::shared_ptr<const placement_services> placements;  // cluster mode (shop_options)
  std::shared_ptr<uint64_t> stamp = std::make_shared<uint64_t>(0);
  caf::actor registry;
  static inline const char* name = "shop";
};

using self_ptr = shop_actor::stateful_pointer<shop_state>;

void republish(shop_state& st);

/// Reloads the shop and its catalog (stock included) before answering anything else, then runs
/// `next`. Holds for placements in progress are kept (they are this actor's own promises, not
/// the database's).
void reload_then(self_ptr self, std::function<void()> next) {
  auto& st = self->state;
  entity_reload_then<shop_snapshot>(
      self, st.lc, [id = st.shop.id] { return shops_sql::load_with_catalog(id); },
      [self](shop_snapshot& s) {
        auto& st = self->state;
        st.shop = std::move(s.shop);
        st.load(s.catalog);
        republish(st);
      },
      std::move(next));
}

/// Something customers can see may have changed (and is persisted): a new stamp, so pages
/// rendered from the old state are no longer served.
void republish(shop_state& st) {
  if (!st.stamps) return;
  *st.stamp = catalog_stamps::next_stamp();
  st.stamps->publish(st.shop.id, *st.stamp);
}

/// Commits `cmd` for `who`, applies it with `on_committed` and answers (entity_commit). A write
/// PostgreSQL refused although memory allowed it (or whose outcome is unknown) reloads the
/// catalog, stock included, before the refusal is answered.
template <class Reply, class Answer, class Fn>
void mutate(self_ptr self, caf::typed_response_promise<Answer> rp, db_command cmd,
            const caller& who, Fn on_committed) {
  entity_commit<Reply>(
      self, self->state.lc, rp, std::move(cmd), who,
      [=](Reply& r) mutable {
        auto answer = on_committed(r);
        republish(self->state);
        return answer;
      },
      [=](const api_error& e) mutable {
        reload_then(self, [rp, e]() mutable { rp.deliver(to_caf_error(e)); });
      });
}

/// A promise for a reply of type T, answered at once with `refused`.
template <class T>
caf::typed_response_promise<T> refused_promise(self_ptr self, const api_error& refused) {
  auto rp = self->make_response_promise<T>();
  rp.deliver(to_caf_error(refused));
  return rp;
}

shop_actor::behavior_type running(self_ptr self) {
  using shop_rules::refusal_unless_manager;
  using shop_rules::refusal_unless_visible;
  return {
      [=](const get_shop& q) -> caf::result<shop_record> {
        const auto& shop = self->state.shop;
        if (auto refused = refusal_unless_visible(shop, q.who)) return to_caf_error(*refused);
        return shop;
      },
      [=](const patch_shop& p) {
        auto rp = self->make_response_promise<shop_record>();
        auto next = shop_rules::patched(self->state.shop, p);
        if (!next) {
          rp.deliver(next.error());
          return rp;
        }
        mutate<shop_record>(self, rp, shops_sql::update(*next), p.who, [self](shop_record& saved) {
          // The row read back may already count a delivery whose notice is still on its way
          // here, and the notice may have come before: the larger count stands.
          shop_rules::note_confirmed_orders(saved, self->state.shop.confirmed_orders);
          self->state.shop = saved;
          return saved;
        });
        return rp;
      },
      [=](const check_picture_access& q) -> caf::result<done> {
        if (auto refused = shop_rules::refusal_of_picture_access(self->state, q))
          return to_caf_error(*refused);
        return done{};
      },
      [=](const list_product_categories& q) -> caf::result<product_category_list> {
        const auto& shop = self->state.shop;
        if (auto refused = refusal_unless_visible(shop, q.who)) return to_caf_error(*refused);
        product_category_list out;
        for (auto& [id, c] : self->state.categories) out.items.push_back(c);
        return out;
      },
      [=](const save_product_category& req) {
        auto& st = self->state;
        if (auto refused = shop_rules::refusal_of_category(st, req))
          return refused_promise<product_category>(self, *refused);
        auto rp = self->make_response_promise<product_category>();
        auto cmd = req.id == 0 ? catalog_sql::insert_category(st.shop.id, req.name)
                               : catalog_sql::rename_category(st.shop.id, req.id, req.name);
        mutate<product_category>(self, rp, std::move(cmd), req.who, [self](product_category& c) {
          self->state.categories[c.id] = c;
          return c;
        });
        return rp;
      },
      [=](const delete_product_category& req) {
        auto& st = self->state;
        if (auto refused = refusal_unless_manager(st.shop, req.who))
          return refused_promise<done>(self, *refused);
        if (!st.categories.count(req.id))
          return refused_promise<done>(self, errors::not_found("no such category"));
        auto rp = self->make_response_promise<done>();
        auto id = req.id;
        mutate<done>(self, rp, catalog_sql::delete_category(st.shop.id, id), req.who,
                     [self, id](done& d) {
                       self->state.categories.erase(id);
                       for (auto& [pid, p] : self->state.products)
                         if (p.category_id == id) p.category_id = 0;
                       return d;
                     });
        return rp;
      },
      [=](const list_products& req) -> caf::result<product_page> {
        auto& st = self->state;
        auto page = shop_rules::list(st, req, service_clock::now());
        if (!page) return page.error();
        page->stamp = *st.stamp;
        return std::move(*page);
      },
      [=](const get_product& req) -> caf::result<product_record> {
        auto& st = self->state;
        auto it = st.products.find(req.product_id);
        if (it == st.products.end() || !shop_rules::visible(st, it->second, req.who))
          return to_caf_error(errors::not_found("no such product"));
        return shop_rules::view(st, it->second, req.who, service_clock::now());
      },
      [=](const save_product& req) {
        auto& st = self->state;
        if (auto refused = refusal_unless_manager(st.shop, req.who))
          return refused_promise<product_record>(self, *refused);
        product_record base;
        if (req.product_id != 0) {
          auto it = st.products.find(req.product_id);
          if (it == st.products.end() || it->second.is_deleted)
            return refused_promise<product_record>(self, errors::not_found("no such product"));
          base = it->second;
        } else {
          base.shop_id = st.shop.id;
        }
        auto next = shop_rules::product_after(st, base, req);
        if (!next) return refused_promise<product_record>(self, from_caf_error(next.error()));
        auto rp = self->make_response_promise<product_record>();
        auto cmd = req.product_id == 0 ? catalog_sql::insert_product(*next)
                                       : catalog_sql::update_product(*next, base.stock);
        auto who = req.who;
        bool creating = req.product_id == 0;
        mutate<product_record>(self, rp, std::move(cmd), req.who,
                               [self, who, creating, next = *next, base](product_record& p) {
                                 // The cache stays the shop's view of stock and sales: the
                                 // database row may already include orders whose commit
                                 // notice is still on its way here.
                                 if (!creating) {
                                   // The update's own version (the row was locked from the
                                   // update to this read): heard of.
                                   shop_rules::note_version(self->state, p.id, p.stock_version);
                                   p.stock = next.stock;
                                   p.sales_count = base.sales_count;
                                   p.stock_version = base.stock_version;
                                 }
                                 self->state.products[p.id] = p;
                                 return shop_rules::view(self->state, p, who, service_clock::now());
                               });
        return rp;
      },
      [=](const delete_product& req) {
        auto& st = self->state;
        if (auto refused = refusal_unless_manager(st.shop, req.who))
          return refused_promise<done>(self, *refused);
        auto it = st.products.find(req.product_id);
        if (it == st.products.end() || it->second.is_deleted)
          return refused_promise<done>(self, errors::not_found("no such product"));
        auto rp = self->make_response_promise<done>();
        auto id = req.product_id;
        mutate<done>(self, rp, catalog_sql::delete_product(st.shop.id, id), req.who,
                     [self, id](done& d) {
                       self->state.products[id].is_deleted = true;
                       return d;
                     });
        return rp;
      },
      [=](const list_offers& req) -> caf::result<offer_list> {
        auto& st = self->state;
        if (auto refused = refusal_unless_visible(st.shop, req.who)) return to_caf_error(*refused);
        bool all = req.all && shop_rules::may_manage(st.shop, req.who);
        auto now = service_clock::now();
        offer_list out;
        for (auto& [id, o] : st.offers)
          if (all || o.is_active(now)) out.items.push_back(o);
        out.count = static_cast<int64_t>(out.items.size());
        return out;
      },
      [=](const save_offer& req) {
        auto& st = self->state;
        if (auto refused = refusal_unless_manager(st.shop, req.who))
          return refused_promise<offer_record>(self, *refused);
        offer_record base;
        if (req.offer_id != 0) {
          auto it = st.offers.find(req.offer_id);
          if (it == st.offers.end())
            return refused_promise<offer_record>(self, errors::not_found("no such offer"));
          base = it->second;
        } else {
          base.shop_id = st.shop.id;
        }
        auto next = shop_rules::offer_after(st, base, req);
        if (!next) return refused_promise<offer_record>(self, from_caf_error(next.error()));
        auto rp = self->make_response_promise<offer_record>();
        auto cmd =
            req.offer_id == 0 ? catalog_sql::insert_offer(*next) : catalog_sql::update_offer(*next);
        mutate<offer_record>(self, rp, std::move(cmd), req.who, [self](offer_record& o) {
          self->state.offers[o.id] = o;
          return o;
        });
        return rp;
      },
      [=](const delete_offer& req) {
        auto& st = self->state;
        if (auto refused = refusal_unless_manager(st.shop, req.who))
          return refused_promise<done>(self, *refused);
        if (!st.offers.count(req.offer_id))
          return refused_promise<done>(self, errors::not_found("no such offer"));
        auto rp = self->make_response_promise<done>();
        auto id = req.offer_id;
        mutate<done>(self, rp, catalog_sql::delete_offer(st.shop.id, id), req.who,
                     [self, id](done& d) {
                       self->state.offers.erase(id);
                       return d;
                     });
        return rp;
      },
      [=](const quote_products& req) {
        auto& st = self->state;
        auto now = service_clock::now();
        product_quotes out;
        out.shop_active = st.shop.status == "active";
        out.shop_location = st.shop.location;
        for (auto id : req.product_ids) {
          auto it = st.products.find(id);
          if (it != st.products.end()) {
            out.items.push_back(shop_rules::quote(st, it->second, now));
          } else {
            product_quote missing;
            missing.product_id = id;
            missing.shop_id = st.shop.id;
            out.items.push_back(missing);
          }
        }
        return out;
      },
      [=](const reserve_stock& req) -> caf::result<product_quotes> {
        auto out = shop_rules::reserve(self->state, req, service_clock::now());
        if (!out) return out.error();
        out->fence = self->state.lc.fence;
        // A placement that neither commits nor releases (its coordinator died) lets go.
        self->delayed_send(self, self->state.reservation_timeout,
                           release_reservation{req.placement});
        return std::move(*out);
      },
      [=](const commit_reservation& req) {
        shop_rules::release(self->state, req.placement);
        shop_rules::apply_stock(self->state, req.lines, -1);
        republish(self->state);
      },
      [=](const release_reservation& req) { shop_rules::release(self->state, req.placement); },
      // PostgreSQL refused stock this shop had allowed, or a placement's outcome is unknown.
      [=](reload_atom) { reload_then(self, nullptr); },
      // Anti-entropy: the database's stock rows and confirmed orders (see
      // shop_rules::stock_needs_repair for when a difference is one).
      [=](const reconcile_stock& db) -> reconcile_outcome {
        reconcile_outcome out;
        if (!shop_rules::stock_needs_repair(self->state, db)) return out;
        out.repaired = 1;
        reload_then(self, nullptr);
        return out;
      },
      [=](const stock_returned& req) {
        shop_rules::apply_stock(self->state, req.lines, +1);
        republish(self->state);
      },
      // An order with lines of this shop was delivered (committed).
      [=](const shop_orders_confirmed& n) {
        shop_rules::note_confirmed_orders(self->state.shop, n.confirmed_orders);
      },
      [=](const analytics_query& q) {
        if (auto refused = refusal_unless_manager(self->state.shop, q.who))
          return refused_promise<analytics_reply>(self, *refused);
        auto rp = self->make_response_promise<analytics_reply>();
        auto query = q;
        query.now_unix = service_clock::now();
        entity_persist<analytics_reply>(
            self, self->state.lc, analytics_sql::run(query),
            [=](analytics_reply& r) mutable { rp.deliver(std::move(r)); },
            [=](const api_error& e) mutable { rp.deliver(to_caf_error(e)); });
        return rp;
      },
      [=](const create_delivery_request& req) {
        auto& st = self->state;
        if (auto refused = shop_rules::refusal_of_delivery_request(st.shop, req.who))
          return refused_promise<order_placed>(self, *refused);
        auto rp = self->make_response_promise<order_placed>();
        {
          auto p = placement_builder::delivery_request(req, st.shop.id, st.coins_per_order);
          auto who = req.who;
          entity_persist<order_snapshot>(
              self, st.lc, with_deadline(orders_sql::place(std::move(p)), req.who),
              [=](order_snapshot& placed) mutable {
                auto& st = self->state;
                placement_builder::announce(st.registry, st.event_bus, placed, {st.shop.location});
                rp.deliver(order_placed{placed.order, false});
              },
              [=](const api_error& e) mutable { rp.deliver(to_caf_error(e)); });
        }
        return rp;
      },
      [=](place_order& req) {
        // Placed here, on the node serving the shop (and the order, whose id takes its first
        // shop's shard): the order's shops of this zone are asked without leaving the node.
        auto rp = self->make_response_promise<order_placed>();
        auto& st = self->state;
        if (!st.placements) {
          rp.deliver(to_caf_error(errors::internal("this shop does not place orders")));
          return rp;
        }
        auto svc = *st.placements;
        svc.registry = st.registry;
        auto placement = spawn_order_placement(self->system(), svc);
        // The placement answers by itself (its commit is finished by its outcome).
        self->request(placement, caf::infinite, std::move(req))
            .then([rp](order_placed& p) mutable { rp.deliver(std::move(p)); },
                  [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [=](state_atom) {
        // The shop's cache as served: the shop, its catalog, and the stock held for placements.
        auto& st = self->state;
        shop_inspection out;
        out.shop = st.shop;
        for (auto& [id, c] : st.categories) out.catalog.categories.push_back(c);
        for (auto& [id, p] : st.products) out.catalog.products.push_back(p);
        for (auto& [id, o] : st.offers) out.catalog.offers.push_back(o);
        for (auto& [product, milli] : st.reserved_milli) out.held.push_back({product, {milli}, 0});
        return to_actor_state(out);
      },
      [=](mailbox_atom) { return static_cast<int64_t>(self->mailbox().size()); },
      [=](release_atom) { entity_release(self, self->state.lc); },
      entity_idle_handler(self, self->state.lc),
  };
}

}  // namespace

entity_factory shop_factory(caf::actor persistence, shop_options opts) {
  auto idle = opts.idle;
  auto db_timeout = opts.db_timeout;
  return [=](caf::actor_system& sys, const caf::actor& registry, int64_t id, const caf::message&,
             const shard_fence& fence) {
    auto shop = sys.spawn([=](self_ptr self) -> shop_actor::behavior_type {
      auto& lc = self->state.lc;
      lc.key = {entity_kind::shop, id};
      lc.registry = registry;
      self->state.registry = registry;
      lc.persistence = persistence;
      lc.idle = idle;
      lc.db_timeout = db_timeout;
      lc.fence = fence;
      self->state.reservation_timeout = opts.reservation_timeout;
      self->state.event_bus = opts.event_bus;
      self->state.coins_per_order = opts.coins_per_order;
      self->state.stamps = opts.stamps;
      self->state.placements = opts.placements;
      if (opts.stamps)
        self->attach_functor([stamps = opts.stamps, stamp = self->state.stamp, id] {
          stamps->withdraw(id, *stamp);
        });
      // Until the shop is loaded, requests wait in the mailbox.
      self->set_default_handler(caf::skip);
      entity_persist<shop_record>(
          self, lc, shops_sql::find(id),
          [self](shop_record& s) {
            self->state.shop = std::move(s);
            entity_persist<catalog_snapshot>(
                self, self->state.lc, catalog_sql::load(self->state.shop.id),
                [self](catalog_snapshot& c) {
                  self->state.load(c);
                  republish(self->state);
                  self->become(running(self));
                },
                [self](const api_error& e) { entity_fail_activation(self, self->state.lc, e); });
          },
          [self](const api_error& e) { entity_fail_activation(self, self->state.lc, e); });
      return entity_loading_behavior<shop_actor>();
    });
    return caf::actor_cast<caf::actor>(shop);
  };
}

}  // namespace wassally
