#include "actors/shop.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <cctype>
#include <functional>
#include <limits>
#include <map>
#include <tuple>

#include "actors/entity.hpp"
#include "actors/placement_builder.hpp"
#include "persistence/analytics.hpp"
#include "persistence/catalog.hpp"
#include "persistence/orders.hpp"
#include "persistence/shops.hpp"
#include "protocols/catalog.hpp"
#include "protocols/clock.hpp"
#include "protocols/crews.hpp"
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

struct shop_state {
  entity_lifecycle lc;
  shop_record shop;
  std::map<int64_t, product_category> categories;
  std::map<int64_t, product_record> products;  // deleted ones too, for owners and staff
  std::map<int64_t, offer_record> offers;      // not deleted
  // Stock held for placements in progress: by placement, and the sum per product.
  std::map<int64_t, std::vector<order_line_request>> reservations;
  std::map<int64_t, int64_t> reserved_milli;
  std::chrono::milliseconds reservation_timeout{30000};
  caf::actor event_bus;
  int64_t coins_per_order = 10;
  // The stamp of what customers see now (see protocols/catalog_stamps.hpp); shared with the
  // exit handler that withdraws it.
  std::shared_ptr<catalog_stamps> stamps;
  std::shared_ptr<uint64_t> stamp = std::make_shared<uint64_t>(0);
  caf::actor registry;
  bool stock_suspect = false;  // the last anti-entropy check found memory off the database
  static inline const char* name = "shop";
};

using self_ptr = caf::stateful_actor<shop_state>*;

void republish(shop_state& st);

/// The stock this actor holds in the form the reconciler's query sums it: limited products that
/// are not deleted, in thousandths.
std::pair<int64_t, int64_t> stock_fingerprint(const shop_state& st) {
  int64_t sum = 0, count = 0;
  for (auto& [id, p] : st.products)
    if (!p.is_deleted && !p.is_unlimited) {
      sum += p.stock.milli;
      ++count;
    }
  return {sum, count};
}

/// Reloads the catalog (stock included) before answering anything else, then runs `next`.
/// Holds for placements in progress are kept (they are this actor's own promises, not the
/// database's).
void reload_then(self_ptr self, std::function<void()> next) {
  auto& st = self->state;
  entity_reload_then<catalog_snapshot>(
      self, st.lc, [id = st.shop.id] { return catalog_sql::load(id); },
      [self](catalog_snapshot& c) {
        auto& st = self->state;
        st.categories.clear();
        st.products.clear();
        st.offers.clear();
        for (auto& cat : c.categories) st.categories[cat.id] = cat;
        for (auto& p : c.products) st.products[p.id] = p;
        for (auto& o : c.offers) st.offers[o.id] = o;
        st.stock_suspect = false;
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

/// The period around `now` in which no offer of the shop starts or ends: effective prices
/// computed at `now` hold for all of it.
std::pair<int64_t, int64_t> price_window(const shop_state& st, int64_t now) {
  int64_t from = std::numeric_limits<int64_t>::min();
  int64_t until = std::numeric_limits<int64_t>::max();
  for (auto& [id, o] : st.offers)
    for (auto boundary : {o.start, o.end}) {
      if (boundary <= now)
        from = std::max(from, boundary);
      else
        until = std::min(until, boundary);
    }
  return {from, until};
}

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

// -- catalog rules ------------------------------------------------------------

void require_manager(const shop_state& st, const caller& who) {
  if (!may_manage(st.shop, who)) throw api_exception(errors::forbidden("not your shop"));
}

/// The offer active now for a product, if any (at most one can be: periods never overlap).
const offer_record* active_offer(const shop_state& st, int64_t product_id, int64_t now) {
  for (auto& [id, o] : st.offers)
    if (o.is_active(now) &&
        std::find(o.product_ids.begin(), o.product_ids.end(), product_id) != o.product_ids.end())
      return &o;
  return nullptr;
}

/// A product as `who` may see it now: cost only for the owner and staff; the active offer and
/// the price it gives, computed against the service clock on every read.
product_record view(const shop_state& st, product_record p, const caller& who) {
  p.cost_visible = may_manage(st.shop, who);
  if (!p.cost_visible) p.cost_price = {};
  p.effective_price = p.price;
  if (auto* o = active_offer(st, p.id, service_clock::now())) {
    p.offer_id = o->id;
    p.offer_title = o->title;
    p.offer_discount = o->discount;
    p.effective_price = apply_discount(p.price, o->discount);
  }
  return p;
}

bool has(const save_offer& req, const char* field) {
  return std::find(req.set.begin(), req.set.end(), field) != req.set.end();
}

/// The offer after applying `req`, checked: staff-only sponsoring, a period that ends after it
/// starts, products of this shop, and no product in two offers whose periods overlap.
offer_record apply(const shop_state& st, const offer_record& current, const save_offer& req) {
  if (has(req, "is_sponsored") && !req.who.is_staff())
    throw api_exception(errors::forbidden("only staff may sponsor an offer"));
  auto next = current;
  const auto& v = req.values;
  if (has(req, "title")) next.title = v.title;
  if (has(req, "description")) next.description = v.description;
  if (has(req, "url")) next.url = v.url;
  if (has(req, "image")) next.image = v.image;
  if (has(req, "discount")) next.discount = v.discount;
  if (has(req, "start_date")) next.start = v.start;
  if (has(req, "end_date")) next.end = v.end;
  if (has(req, "is_sponsored")) next.is_sponsored = v.is_sponsored;
  if (has(req, "product_ids")) next.product_ids = v.product_ids;
  if (next.end <= next.start)
    throw api_exception(errors::validation("end_date", "must be after start_date"));
  for (auto pid : next.product_ids) {
    auto it = st.products.find(pid);
    if (it == st.products.end() || it->second.is_deleted)
      throw api_exception(errors::validation(
          "product_ids", "product " + std::to_string(pid) + " is not a product of this shop"));
  }
  for (auto& [id, other] : st.offers) {
    if (id == next.id || other.end <= next.start || next.end <= other.start) continue;
    for (auto pid : next.product_ids)
      if (std::find(other.product_ids.begin(), other.product_ids.end(), pid) !=
          other.product_ids.end()) {
        auto e = errors::conflict("offer_overlap",
                                  "product " + std::to_string(pid) + " is in offer " +
                                      std::to_string(id) + " during an overlapping period",
                                  "product_ids");
        e.extra["product_id"] = pid;
        e.extra["offer_id"] = id;
        throw api_exception(e);
      }
  }
  return next;
}

bool visible(const shop_state& st, const product_record& p, const caller& who) {
  if (may_manage(st.shop, who)) return true;
  return !p.is_hidden && !p.is_deleted && st.shop.status == "active";
}

bool contains_ci(const std::string& hay, const std::string& needle) {
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  return lower(hay).find(lower(needle)) != std::string::npos;
}

bool has(const save_product& p, const char* field) {
  return std::find(p.set.begin(), p.set.end(), field) != p.set.end();
}

/// The product after applying `req` to `current` (a fresh one for creation), validated
/// against this shop's categories and the quantity rules.
product_record apply(const shop_state& st, const product_record& current, const save_product& req) {
  auto next = current;
  const auto& v = req.values;
  if (has(req, "category_id")) next.category_id = v.category_id;
  if (has(req, "name")) next.name = v.name;
  if (has(req, "description")) next.description = v.description;
  if (has(req, "price")) next.price = v.price;
  if (has(req, "cost_price")) {
    next.has_cost_price = v.has_cost_price;
    next.cost_price = v.cost_price;
  }
  if (has(req, "stock")) next.stock = v.stock;
  if (has(req, "is_unlimited")) next.is_unlimited = v.is_unlimited;
  if (has(req, "quantity_type")) next.quantity_type = v.quantity_type;
  if (has(req, "minimum_quantity")) next.minimum_quantity = v.minimum_quantity;
  if (has(req, "increment_rate")) next.increment_rate = v.increment_rate;
  if (has(req, "image")) next.image = v.image;
  if (has(req, "is_hidden")) next.is_hidden = v.is_hidden;
  if (next.category_id != 0 && !st.categories.count(next.category_id))
    throw api_exception(errors::validation("category_id", "no such category in this shop"));
  return next;
}

// -- stock held for placements ------------------------------------------------------------

int64_t available_milli(const shop_state& st, const product_record& p) {
  auto it = st.reserved_milli.find(p.id);
  return p.stock.milli - (it == st.reserved_milli.end() ? 0 : it->second);
}

product_quote quote(const shop_state& st, const product_record& p) {
  product_quote q;
  q.product_id = p.id;
  q.shop_id = st.shop.id;
  q.found = !p.is_deleted && !p.is_hidden;
  q.name = p.name;
  q.unit_price = p.price;
  if (auto* o = active_offer(st, p.id, service_clock::now()))
    q.unit_price = apply_discount(p.price, o->discount);
  q.unit_cost = p.has_cost_price ? p.cost_price : money{};
  q.minimum_quantity = p.minimum_quantity;
  q.increment_rate = p.increment_rate;
  q.available = {std::max<int64_t>(0, available_milli(st, p))};
  q.is_unlimited = p.is_unlimited;
  return q;
}

api_error about_product(api_error e, int64_t product_id) {
  e.extra["product_id"] = product_id;
  return e;
}

/// Checks every line against the catalog and the stock not yet held; on success holds it.
product_quotes reserve(shop_state& st, const reserve_stock& req) {
  if (st.shop.status != "active")
    throw api_exception(about_product(
        errors::conflict("shop_unavailable", "the shop " + st.shop.name + " is not taking orders"),
        req.lines.empty() ? 0 : req.lines.front().product_id));
  product_quotes out;
  out.shop_active = true;
  out.shop_location = st.shop.location;
  for (auto& line : req.lines) {
    auto it = st.products.find(line.product_id);
    if (it == st.products.end() || it->second.is_deleted || it->second.is_hidden)
      throw api_exception(about_product(errors::not_found("no such product"), line.product_id));
    auto& p = it->second;
    if (!quantity_allowed(line.amount, p.minimum_quantity, p.increment_rate))
      throw api_exception(
          about_product(api_error{400,
                                  "invalid_quantity",
                                  p.name + " is sold from " + p.minimum_quantity.str() +
                                      " in steps of " + p.increment_rate.str(),
                                  {{"quantity", "not allowed for this product"}},
                                  {},
                                  {}},
                        p.id));
    if (!p.is_unlimited && available_milli(st, p) < line.amount.milli)
      throw api_exception(
          about_product(errors::conflict("out_of_stock", "not enough stock of " + p.name), p.id));
    out.items.push_back(quote(st, p));
  }
  for (auto& line : req.lines) st.reserved_milli[line.product_id] += line.amount.milli;
  st.reservations[req.placement] = req.lines;
  return out;
}

void release(shop_state& st, int64_t placement) {
  auto it = st.reservations.find(placement);
  if (it == st.reservations.end()) return;
  for (auto& line : it->second) {
    auto r = st.reserved_milli.find(line.product_id);
    if (r == st.reserved_milli.end()) continue;
    r->second -= line.amount.milli;
    if (r->second <= 0) st.reserved_milli.erase(r);
  }
  st.reservations.erase(it);
}

/// Stock moved in the database by `sign` × each line (−1: sold, +1: returned) — unless the
/// row this actor loaded already contained that move (its version is not newer).
void apply_stock(shop_state& st, const std::vector<order_line_request>& lines, int sign) {
  for (auto& line : lines) {
    auto it = st.products.find(line.product_id);
    if (it == st.products.end()) continue;
    auto& p = it->second;
    if (line.version != 0 && line.version <= p.stock_version) continue;
    if (!p.is_unlimited)
      p.stock.milli = std::max<int64_t>(0, p.stock.milli + sign * line.amount.milli);
    p.sales_count.milli = std::max<int64_t>(0, p.sales_count.milli - sign * line.amount.milli);
  }
}

/// Handlers never throw into CAF (that would end the actor): `guard` answers an
/// api_exception thrown by `body` as the request's error.
template <class T, class F>
caf::result<T> guard(F body) {
  try {
    return body();
  } catch (const api_exception& e) {
    return to_caf_error(e.error);
  }
}

/// For handlers that answer after a commit: `body(rp)` starts the work; a thrown api_exception
/// answers at once.
template <class F>
caf::response_promise guard_async(self_ptr self, F body) {
  auto rp = self->make_response_promise();
  try {
    body(rp);
  } catch (const api_exception& e) {
    rp.deliver(to_caf_error(e.error));
  }
  return rp;
}

/// Commits `cmd` (not run if `who`'s deadline passes before it reaches a connection), then
/// applies it with `on_committed` and answers. A write PostgreSQL refused although memory allowed
/// it (or whose outcome is unknown) reloads the catalog, stock included, before the answer.
template <class Reply, class Fn>
void mutate(self_ptr self, caf::response_promise rp, db_command cmd, const caller& who,
            Fn on_committed) {
  entity_write<Reply>(
      self, self->state.lc, with_deadline(std::move(cmd), who),
      [=](Reply& r) mutable {
        auto answer = on_committed(r);
        republish(self->state);
        rp.deliver(std::move(answer));
      },
      [=](const api_error& e) mutable {
        if (!write_in_doubt(e)) {
          rp.deliver(to_caf_error(e));
          return;
        }
        reload_then(self, [rp, e]() mutable { rp.deliver(to_caf_error(e)); });
      });
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
        mutate<shop_record>(self, rp, shops_sql::update(next), p.who, [self](shop_record& saved) {
          self->state.shop = saved;
          return saved;
        });
      },
      [=](const list_product_categories& q) -> caf::result<product_category_list> {
        // A suspended shop is hidden (404) from all but its owner and staff, its categories too.
        const auto& shop = self->state.shop;
        if (shop.status != "active" && !may_manage(shop, q.who))
          return to_caf_error(errors::not_found("no such shop"));
        product_category_list out;
        for (auto& [id, c] : self->state.categories) out.items.push_back(c);
        return out;
      },
      [=](const save_product_category& req) {
        return guard_async(self, [&](caf::response_promise& rp) {
          auto& st = self->state;
          require_manager(st, req.who);
          if (req.id != 0 && !st.categories.count(req.id))
            throw api_exception(errors::not_found("no such category"));
          for (auto& [id, c] : st.categories)
            if (c.name == req.name && id != req.id)
              throw api_exception(
                  errors::conflict("conflict", "this shop has a category with that name", "name"));
          auto cmd = req.id == 0 ? catalog_sql::insert_category(st.shop.id, req.name)
                                 : catalog_sql::rename_category(st.shop.id, req.id, req.name);
          mutate<product_category>(self, rp, std::move(cmd), req.who, [self](product_category& c) {
            self->state.categories[c.id] = c;
            return c;
          });
        });
      },
      [=](const delete_product_category& req) {
        return guard_async(self, [&](caf::response_promise& rp) {
          auto& st = self->state;
          require_manager(st, req.who);
          if (!st.categories.count(req.id))
            throw api_exception(errors::not_found("no such category"));
          auto id = req.id;
          mutate<done>(self, rp, catalog_sql::delete_category(st.shop.id, id), req.who,
                       [self, id](done& d) {
                         self->state.categories.erase(id);
                         for (auto& [pid, p] : self->state.products)
                           if (p.category_id == id) p.category_id = 0;
                         return d;
                       });
        });
      },
      [=](const list_products& req) {
        return guard<product_page>([&] {
          auto& st = self->state;
          if (st.shop.status != "active" && !may_manage(st.shop, req.who))
            throw api_exception(errors::not_found("no such shop"));
          product_page page;
          page.stamp = *st.stamp;
          std::tie(page.valid_from, page.valid_until) = price_window(st, service_clock::now());
          for (auto& [id, p] : st.products) {
            if (p.is_deleted || !visible(st, p, req.who)) continue;
            if (req.category_id && p.category_id != req.category_id) continue;
            if (!req.q.empty() && !contains_ci(p.name, req.q)) continue;
            if (req.offer_only && !active_offer(st, p.id, service_clock::now())) continue;
            if (page.count >= req.offset && page.count < req.offset + req.limit)
              page.results.push_back(view(st, p, req.who));
            ++page.count;
          }
          return page;
        });
      },
      [=](const get_product& req) {
        return guard<product_record>([&] {
          auto& st = self->state;
          auto it = st.products.find(req.product_id);
          if (it == st.products.end() || !visible(st, it->second, req.who))
            throw api_exception(errors::not_found("no such product"));
          return view(st, it->second, req.who);
        });
      },
      [=](const save_product& req) {
        return guard_async(self, [&](caf::response_promise& rp) {
          auto& st = self->state;
          require_manager(st, req.who);
          product_record base;
          if (req.product_id != 0) {
            auto it = st.products.find(req.product_id);
            if (it == st.products.end() || it->second.is_deleted)
              throw api_exception(errors::not_found("no such product"));
            base = it->second;
          } else {
            base.shop_id = st.shop.id;
          }
          auto next = apply(st, base, req);
          auto cmd = req.product_id == 0 ? catalog_sql::insert_product(next)
                                         : catalog_sql::update_product(next, base.stock);
          auto who = req.who;
          bool creating = req.product_id == 0;
          mutate<product_record>(self, rp, std::move(cmd), req.who,
                                 [self, who, creating, next, base](product_record& p) {
                                   // The cache stays the shop's view of stock and sales: the
                                   // database row may already include orders whose commit
                                   // notice is still on its way here.
                                   if (!creating) {
                                     p.stock = next.stock;
                                     p.sales_count = base.sales_count;
                                     p.stock_version = base.stock_version;
                                   }
                                   self->state.products[p.id] = p;
                                   return view(self->state, p, who);
                                 });
        });
      },
      [=](const delete_product& req) {
        return guard_async(self, [&](caf::response_promise& rp) {
          auto& st = self->state;
          require_manager(st, req.who);
          auto it = st.products.find(req.product_id);
          if (it == st.products.end() || it->second.is_deleted)
            throw api_exception(errors::not_found("no such product"));
          auto id = req.product_id;
          mutate<done>(self, rp, catalog_sql::delete_product(st.shop.id, id), req.who,
                       [self, id](done& d) {
                         self->state.products[id].is_deleted = true;
                         return d;
                       });
        });
      },
      [=](const list_offers& req) {
        return guard<offer_list>([&] {
          auto& st = self->state;
          if (st.shop.status != "active" && !may_manage(st.shop, req.who))
            throw api_exception(errors::not_found("no such shop"));
          bool all = req.all && may_manage(st.shop, req.who);
          auto now = service_clock::now();
          offer_list out;
          for (auto& [id, o] : st.offers)
            if (all || o.is_active(now)) out.items.push_back(o);
          out.count = static_cast<int64_t>(out.items.size());
          return out;
        });
      },
      [=](const save_offer& req) {
        return guard_async(self, [&](caf::response_promise& rp) {
          auto& st = self->state;
          require_manager(st, req.who);
          offer_record base;
          if (req.offer_id != 0) {
            auto it = st.offers.find(req.offer_id);
            if (it == st.offers.end()) throw api_exception(errors::not_found("no such offer"));
            base = it->second;
          } else {
            base.shop_id = st.shop.id;
          }
          auto next = apply(st, base, req);
          auto cmd =
              req.offer_id == 0 ? catalog_sql::insert_offer(next) : catalog_sql::update_offer(next);
          mutate<offer_record>(self, rp, std::move(cmd), req.who, [self](offer_record& o) {
            self->state.offers[o.id] = o;
            return o;
          });
        });
      },
      [=](const delete_offer& req) {
        return guard_async(self, [&](caf::response_promise& rp) {
          auto& st = self->state;
          require_manager(st, req.who);
          if (!st.offers.count(req.offer_id))
            throw api_exception(errors::not_found("no such offer"));
          auto id = req.offer_id;
          mutate<done>(self, rp, catalog_sql::delete_offer(st.shop.id, id), req.who,
                       [self, id](done& d) {
                         self->state.offers.erase(id);
                         return d;
                       });
        });
      },
      [=](const quote_products& req) {
        auto& st = self->state;
        product_quotes out;
        out.shop_active = st.shop.status == "active";
        out.shop_location = st.shop.location;
        for (auto id : req.product_ids) {
          auto it = st.products.find(id);
          if (it != st.products.end()) {
            out.items.push_back(quote(st, it->second));
          } else {
            product_quote missing;
            missing.product_id = id;
            missing.shop_id = st.shop.id;
            out.items.push_back(missing);
          }
        }
        return out;
      },
      [=](const reserve_stock& req) {
        return guard<product_quotes>([&] {
          auto out = reserve(self->state, req);
          // A placement that neither commits nor releases (its coordinator died) lets go.
          self->delayed_send(self, self->state.reservation_timeout,
                             release_reservation{req.placement});
          return out;
        });
      },
      [=](const commit_reservation& req) {
        release(self->state, req.placement);
        apply_stock(self->state, req.lines, -1);
        republish(self->state);
      },
      [=](const release_reservation& req) { release(self->state, req.placement); },
      // PostgreSQL refused stock this shop had allowed, or a placement's outcome is unknown.
      [=](reload_atom) { reload_then(self, nullptr); },
      // Anti-entropy: the database's fingerprint of the stock. A difference seen once may be a
      // sale whose commit notice is still on its way; seen on two checks in a row it is repaired.
      [=](const reconcile_stock& db) -> reconcile_outcome {
        auto& st = self->state;
        reconcile_outcome out;
        auto [sum, count] = stock_fingerprint(st);
        if (sum == db.stock_milli_sum && count == db.products) {
          st.stock_suspect = false;
          return out;
        }
        if (!st.stock_suspect) {
          st.stock_suspect = true;
          return out;
        }
        out.repaired = 1;
        reload_then(self, nullptr);
        return out;
      },
      [=](const stock_returned& req) {
        apply_stock(self->state, req.lines, +1);
        republish(self->state);
      },
      [=](const analytics_query& q) {
        return guard_async(self, [&](caf::response_promise& rp) {
          require_manager(self->state, q.who);
          auto query = q;
          query.now_unix = service_clock::now();
          entity_persist<analytics_reply>(
              self, self->state.lc, analytics_sql::run(query),
              [=](analytics_reply& r) mutable { rp.deliver(std::move(r)); },
              [=](const api_error& e) mutable { rp.deliver(to_caf_error(e)); });
        });
      },
      [=](const create_delivery_request& req) {
        return guard_async(self, [&](caf::response_promise& rp) {
          auto& st = self->state;
          if (req.who.role != roles::shop_owner || req.who.user_id != st.shop.owner_id)
            throw api_exception(errors::forbidden("only the shop's owner requests deliveries"));
          if (st.shop.status != "active")
            throw api_exception(
                errors::conflict("shop_unavailable", "a suspended shop cannot request deliveries"));
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
        });
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
      entity_idle_handler(self, self->state.lc),
  };
}

}  // namespace

entity_factory shop_factory(caf::actor persistence, shop_options opts) {
  auto idle = opts.idle;
  auto db_timeout = opts.db_timeout;
  return [=](caf::actor_system& sys, const caf::actor& registry, int64_t id, const caf::message&) {
    return sys.spawn([=](self_ptr self) -> caf::behavior {
      auto& lc = self->state.lc;
      lc.key = {entity_kind::shop, id};
      lc.registry = registry;
      self->state.registry = registry;
      lc.persistence = persistence;
      lc.idle = idle;
      lc.db_timeout = db_timeout;
      self->state.reservation_timeout = opts.reservation_timeout;
      self->state.event_bus = opts.event_bus;
      self->state.coins_per_order = opts.coins_per_order;
      self->state.stamps = opts.stamps;
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
                  for (auto& cat : c.categories) self->state.categories[cat.id] = cat;
                  for (auto& p : c.products) self->state.products[p.id] = p;
                  for (auto& o : c.offers) self->state.offers[o.id] = o;
                  republish(self->state);
                  self->become(running(self));
                },
                [self](const api_error& e) { entity_fail_activation(self, self->state.lc, e); });
          },
          [self](const api_error& e) { entity_fail_activation(self, self->state.lc, e); });
      return {[](int) {}};
    });
  };
}

}  // namespace wassally
