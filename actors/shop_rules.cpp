#include "actors/shop_rules.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

namespace wassally::shop_rules {
namespace {

caf::error refuse(api_error e) { return to_caf_error(std::move(e)); }

/// Whether the request sets `field` (a PATCH names the fields it changes).
template <class Request>
bool sets(const Request& req, const char* field) {
  return std::find(req.set.begin(), req.set.end(), field) != req.set.end();
}

bool contains_ci(const std::string& hay, const std::string& needle) {
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  return lower(hay).find(lower(needle)) != std::string::npos;
}

int64_t available_milli(const shop_catalog& c, const product_record& p) {
  auto it = c.reserved_milli.find(p.id);
  return p.stock.milli - (it == c.reserved_milli.end() ? 0 : it->second);
}

api_error about_product(api_error e, int64_t product_id) {
  e.extra["product_id"] = product_id;
  return e;
}

}  // namespace

void shop_catalog::load(const catalog_snapshot& c) {
  categories.clear();
  products.clear();
  offers.clear();
  for (auto& cat : c.categories) categories[cat.id] = cat;
  for (auto& p : c.products) products[p.id] = p;
  for (auto& o : c.offers) offers[o.id] = o;
  versions.clear();
  stock_check = {};
}

void seen_versions::mark(int64_t version) {
  if (version <= upto) return;
  if (version != upto + 1) {  // out of order: kept until the gap closes
    ahead.insert(version);
    return;
  }
  ++upto;  // the usual case, without touching the set
  while (!ahead.empty() && *ahead.begin() <= upto + 1) {
    upto = std::max(upto, *ahead.begin());
    ahead.erase(ahead.begin());
  }
}

bool may_manage(const shop_record& shop, const caller& who) {
  return who.is_staff() || (who.role == roles::shop_owner && who.user_id == shop.owner_id);
}

std::optional<api_error> refusal_unless_manager(const shop_record& shop, const caller& who) {
  if (may_manage(shop, who)) return std::nullopt;
  return errors::forbidden("not your shop");
}

std::optional<api_error> refusal_of_picture_access(const shop_catalog& shop,
                                                   const check_picture_access& q) {
  if (auto refused = refusal_unless_manager(shop.shop, q.who)) return refused;
  switch (q.subject) {
    case picture_subject::shop:
      break;
    case picture_subject::product: {
      auto it = shop.products.find(q.id);
      if (it == shop.products.end() || it->second.is_deleted)
        return errors::not_found("no such product");
      break;
    }
    case picture_subject::offer:
      if (!shop.offers.count(q.id)) return errors::not_found("no such offer");
      break;
  }
  return std::nullopt;
}

std::optional<api_error> refusal_unless_visible(const shop_record& shop, const caller& who) {
  if (shop.status == "active" || may_manage(shop, who)) return std::nullopt;
  return errors::not_found("no such shop");
}

caf::expected<shop_record> patched(const shop_record& current, const patch_shop& p) {
  if (auto refused = refusal_unless_manager(current, p.who)) return refuse(*refused);
  if (sets(p, "status") && !p.who.is_staff())
    return refuse(errors::forbidden("only staff may change a shop's status"));
  auto next = current;
  const auto& v = p.values;
  if (sets(p, "name")) next.name = v.name;
  if (sets(p, "description")) next.description = v.description;
  if (sets(p, "phone_number")) next.phone_number = v.phone_number;
  if (sets(p, "facebook_url")) next.facebook_url = v.facebook_url;
  if (sets(p, "image")) next.image = v.image;
  if (sets(p, "category_id")) next.category_id = v.category_id;
  if (sets(p, "status")) next.status = v.status;
  if (sets(p, "preparation_min")) next.preparation_min = v.preparation_min;
  if (sets(p, "location.address")) next.location.address = v.location.address;
  if (sets(p, "location.latitude")) next.location.latitude = v.location.latitude;
  if (sets(p, "location.longitude")) next.location.longitude = v.location.longitude;
  return next;
}

std::optional<api_error> refusal_of_category(const shop_catalog& c,
                                             const save_product_category& req) {
  if (auto refused = refusal_unless_manager(c.shop, req.who)) return refused;
  if (req.id != 0 && !c.categories.count(req.id)) return errors::not_found("no such category");
  for (auto& [id, cat] : c.categories)
    if (cat.name == req.name && id != req.id)
      return errors::conflict("conflict", "this shop has a category with that name", "name");
  return std::nullopt;
}

const offer_record* active_offer(const shop_catalog& c, int64_t product_id, int64_t now) {
  for (auto& [id, o] : c.offers)
    if (o.is_active(now) &&
        std::find(o.product_ids.begin(), o.product_ids.end(), product_id) != o.product_ids.end())
      return &o;
  return nullptr;
}

product_record view(const shop_catalog& c, product_record p, const caller& who, int64_t now) {
  p.cost_visible = may_manage(c.shop, who);
  if (!p.cost_visible) p.cost_price = {};
  p.effective_price = p.price;
  if (auto* o = active_offer(c, p.id, now)) {
    p.offer_id = o->id;
    p.offer_title = o->title;
    p.offer_discount = o->discount;
    p.effective_price = apply_discount(p.price, o->discount);
  }
  return p;
}

bool visible(const shop_catalog& c, const product_record& p, const caller& who) {
  if (may_manage(c.shop, who)) return true;
  return !p.is_hidden && !p.is_deleted && c.shop.status == "active";
}

caf::expected<product_page> list(const shop_catalog& c, const list_products& req, int64_t now) {
  if (auto refused = refusal_unless_visible(c.shop, req.who)) return refuse(*refused);
  product_page page;
  std::tie(page.valid_from, page.valid_until) = price_window(c, now);
  for (auto& [id, p] : c.products) {
    if (p.is_deleted || !visible(c, p, req.who)) continue;
    if (req.category_id && p.category_id != req.category_id) continue;
    if (!req.q.empty() && !contains_ci(p.name, req.q)) continue;
    if (req.offer_only && !active_offer(c, p.id, now)) continue;
    if (page.count >= req.offset && page.count < req.offset + req.limit)
      page.results.push_back(view(c, p, req.who, now));
    ++page.count;
  }
  return page;
}

std::pair<int64_t, int64_t> price_window(const shop_catalog& c, int64_t now) {
  int64_t from = std::numeric_limits<int64_t>::min();
  int64_t until = std::numeric_limits<int64_t>::max();
  for (auto& [id, o] : c.offers)
    for (auto boundary : {o.start, o.end}) {
      if (boundary <= now)
        from = std::max(from, boundary);
      else
        until = std::min(until, boundary);
    }
  return {from, until};
}

caf::expected<product_record> product_after(const shop_catalog& c, const product_record& current,
                                            const save_product& req) {
  auto next = current;
  const auto& v = req.values;
  if (sets(req, "category_id")) next.category_id = v.category_id;
  if (sets(req, "name")) next.name = v.name;
  if (sets(req, "description")) next.description = v.description;
  if (sets(req, "price")) next.price = v.price;
  if (sets(req, "cost_price")) {
    next.has_cost_price = v.has_cost_price;
    next.cost_price = v.cost_price;
  }
  if (sets(req, "stock")) next.stock = v.stock;
  if (sets(req, "is_unlimited")) next.is_unlimited = v.is_unlimited;
  if (sets(req, "quantity_type")) next.quantity_type = v.quantity_type;
  if (sets(req, "minimum_quantity")) next.minimum_quantity = v.minimum_quantity;
  if (sets(req, "increment_rate")) next.increment_rate = v.increment_rate;
  if (sets(req, "image")) next.image = v.image;
  if (sets(req, "is_hidden")) next.is_hidden = v.is_hidden;
  if (next.category_id != 0 && !c.categories.count(next.category_id))
    return refuse(errors::validation("category_id", "no such category in this shop"));
  return next;
}

caf::expected<offer_record> offer_after(const shop_catalog& c, const offer_record& current,
                                        const save_offer& req) {
  if (sets(req, "is_sponsored") && !req.who.is_staff())
    return refuse(errors::forbidden("only staff may sponsor an offer"));
  auto next = current;
  const auto& v = req.values;
  if (sets(req, "title")) next.title = v.title;
  if (sets(req, "description")) next.description = v.description;
  if (sets(req, "url")) next.url = v.url;
  if (sets(req, "image")) next.image = v.image;
  if (sets(req, "discount")) next.discount = v.discount;
  if (sets(req, "start_date")) next.start = v.start;
  if (sets(req, "end_date")) next.end = v.end;
  if (sets(req, "is_sponsored")) next.is_sponsored = v.is_sponsored;
  if (sets(req, "product_ids")) next.product_ids = v.product_ids;
  if (next.end <= next.start)
    return refuse(errors::validation("end_date", "must be after start_date"));
  for (auto pid : next.product_ids) {
    auto it = c.products.find(pid);
    if (it == c.products.end() || it->second.is_deleted)
      return refuse(errors::validation(
          "product_ids", "product " + std::to_string(pid) + " is not a product of this shop"));
  }
  for (auto& [id, other] : c.offers) {
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
        return refuse(e);
      }
  }
  return next;
}

product_quote quote(const shop_catalog& c, const product_record& p, int64_t now) {
  product_quote q;
  q.product_id = p.id;
  q.shop_id = c.shop.id;
  q.found = !p.is_deleted && !p.is_hidden;
  q.name = p.name;
  q.unit_price = p.price;
  if (auto* o = active_offer(c, p.id, now)) q.unit_price = apply_discount(p.price, o->discount);
  q.unit_cost = p.has_cost_price ? p.cost_price : money{};
  q.minimum_quantity = p.minimum_quantity;
  q.increment_rate = p.increment_rate;
  q.available = {std::max<int64_t>(0, available_milli(c, p))};
  q.is_unlimited = p.is_unlimited;
  return q;
}

caf::expected<product_quotes> reserve(shop_catalog& c, const reserve_stock& req, int64_t now) {
  if (c.shop.status != "active")
    return refuse(about_product(
        errors::conflict("shop_unavailable", "the shop " + c.shop.name + " is not taking orders"),
        req.lines.empty() ? 0 : req.lines.front().product_id));
  product_quotes out;
  out.shop_active = true;
  out.shop_location = c.shop.location;
  for (auto& line : req.lines) {
    auto it = c.products.find(line.product_id);
    if (it == c.products.end() || it->second.is_deleted || it->second.is_hidden)
      return refuse(about_product(errors::not_found("no such product"), line.product_id));
    auto& p = it->second;
    if (!quantity_allowed(line.amount, p.minimum_quantity, p.increment_rate))
      return refuse(about_product(api_error{400,
                                            "invalid_quantity",
                                            p.name + " is sold from " + p.minimum_quantity.str() +
                                                " in steps of " + p.increment_rate.str(),
                                            {{"quantity", "not allowed for this product"}},
                                            {},
                                            {}},
                                  p.id));
    if (!p.is_unlimited && available_milli(c, p) < line.amount.milli)
      return refuse(
          about_product(errors::conflict("out_of_stock", "not enough stock of " + p.name), p.id));
    out.items.push_back(quote(c, p, now));
  }
  for (auto& line : req.lines) c.reserved_milli[line.product_id] += line.amount.milli;
  c.reservations[req.placement] = req.lines;
  return out;
}

void release(shop_catalog& c, int64_t placement) {
  auto it = c.reservations.find(placement);
  if (it == c.reservations.end()) return;
  for (auto& line : it->second) {
    auto r = c.reserved_milli.find(line.product_id);
    if (r == c.reserved_milli.end()) continue;
    r->second -= line.amount.milli;
    if (r->second <= 0) c.reserved_milli.erase(r);
  }
  c.reservations.erase(it);
}

void apply_stock(shop_catalog& c, const std::vector<order_line_request>& lines, int sign) {
  for (auto& line : lines) {
    auto it = c.products.find(line.product_id);
    if (it == c.products.end()) continue;
    auto& p = it->second;
    note_version(c, line.product_id, line.version);
    if (line.version != 0 && line.version <= p.stock_version) continue;
    if (!p.is_unlimited)
      p.stock.milli = std::max<int64_t>(0, p.stock.milli + sign * line.amount.milli);
    p.sales_count.milli = std::max<int64_t>(0, p.sales_count.milli - sign * line.amount.milli);
  }
}

void note_version(shop_catalog& c, int64_t product_id, int64_t version) {
  if (version == 0) return;
  auto p = c.products.find(product_id);
  if (p == c.products.end()) return;
  auto [it, fresh] = c.versions.try_emplace(product_id);
  if (fresh) it->second.upto = p->second.stock_version;
  it->second.mark(version);
}

bool stock_needs_repair(shop_catalog& c, const reconcile_stock& db) {
  auto& last = c.stock_check;
  stock_check_memory now;
  bool repair = false;
  std::set<int64_t> in_db;
  auto n = std::min({db.product_ids.size(), db.stock_milli.size(), db.versions.size()});
  for (std::size_t i = 0; i < n; ++i) {
    auto id = db.product_ids[i];
    auto version = db.versions[i];
    in_db.insert(id);
    auto p = c.products.find(id);
    if (p == c.products.end() || p->second.is_deleted || p->second.is_unlimited) {
      now.missing.insert(id);
      repair |= last.missing.count(id) > 0;
      continue;
    }
    auto seen = c.versions.find(id);
    auto heard = seen == c.versions.end() ? p->second.stock_version : seen->second.upto;
    bool gaps = seen != c.versions.end() && !seen->second.ahead.empty();
    if (heard < version) {  // on its way, unless it was already due at the last check
      now.behind[id] = version;
      auto was = last.behind.find(id);
      repair |= was != last.behind.end() && heard < was->second;
      continue;
    }
    if (heard > version || gaps) continue;  // changes after the read: nothing to compare
    if (p->second.stock.milli != db.stock_milli[i]) {
      now.differed.insert(id);
      repair |= last.differed.count(id) > 0;
    }
  }
  for (auto& [id, p] : c.products)
    if (!p.is_deleted && !p.is_unlimited && !in_db.count(id)) {
      now.missing.insert(id);
      repair |= last.missing.count(id) > 0;
    }
  if (db.confirmed_orders >= 0 && db.confirmed_orders != c.shop.confirmed_orders) {
    now.confirmed_differed = true;
    repair |= last.confirmed_differed;
  }
  last = std::move(now);
  return repair;
}

void note_confirmed_orders(shop_record& shop, int64_t committed) {
  shop.confirmed_orders = std::max(shop.confirmed_orders, committed);
}

std::optional<api_error> refusal_of_delivery_request(const shop_record& shop, const caller& who) {
  if (who.role != roles::shop_owner || who.user_id != shop.owner_id)
    return errors::forbidden("only the shop's owner requests deliveries");
  if (shop.status != "active")
    return errors::conflict("shop_unavailable", "a suspended shop cannot request deliveries");
  return std::nullopt;
}

}  // namespace wassally::shop_rules
