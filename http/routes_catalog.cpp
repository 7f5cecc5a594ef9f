// API.md "Catalog": product categories and products. The shop actor owns both; product routes
// first learn the product's shop from the directory (cached), then ask that shop.
#include "http/ask.hpp"
#include "http/ask_entity.hpp"
#include "http/catalog_json.hpp"
#include "http/decoders/catalog.hpp"
#include "http/json_values.hpp"
#include "http/pagination.hpp"
#include "http/routes.hpp"
#include "protocols/accounts.hpp"
#include "protocols/catalog.hpp"
#include "protocols/clock.hpp"
#include "protocols/registry.hpp"

namespace wassally::http {
namespace {

const role_set managers = {roles::shop_owner, roles::staff};

nlohmann::json category_json(const product_category& c) { return {{"id", c.id}, {"name", c.name}}; }

template <class Reply, class OnReply, class Msg>
void ask_product_shop(const request_context& ctx, int64_t product_id, OnReply on_reply, Msg msg) {
  ask_owning_shop<Reply>(ctx, shop_of_atom::value, product_id, on_reply, std::move(msg));
}

/// The page cache key: the shop, and everything the rendered body depends on besides the shop's
/// state (the Host header goes into the pagination links).
std::string page_key(int64_t shop_id, const std::string& host,
                     const std::map<std::string, std::string>& query) {
  std::string key = std::to_string(shop_id);
  key += '\x1f';
  key += host;
  for (auto& [name, value] : query) {
    key += '\x1f';
    key += name;
    key += '=';
    key += value;
  }
  return key;
}

void send_offer_page(const request_context& c, const page_request& page, const offer_list& list,
                     bool already_paged) {
  auto results = nlohmann::json::array();
  if (already_paged) {
    for (auto& o : list.items) results.push_back(offer_json(o, c.media_base));
  } else {
    auto end = std::min<int64_t>(page.offset() + page.page_size, list.items.size());
    for (auto i = page.offset(); i < end; ++i)
      results.push_back(offer_json(list.items[i], c.media_base));
  }
  c.out->json(200, paginate(list.count, results, page, c.host, c.path, c.query));
}

}  // namespace

void add_catalog_routes(router& r) {
  const std::string shop = "/api/v1/shops/{id}";

  r.add(
      "GET", shop + "/categories", {},
      [](request_context& ctx) {
        auto page = parse_page(ctx.query);
        auto c = ctx;
        ask<product_category_list>(
            ctx, shop_ref(ctx.svc->registry, ctx.id_param("id")),
            [c, page](product_category_list& list) {
              auto results = nlohmann::json::array();
              auto end = std::min<int64_t>(page.offset() + page.page_size, list.items.size());
              for (auto i = page.offset(); i < end; ++i)
                results.push_back(category_json(list.items[i]));
              c.out->json(200, paginate(list.items.size(), results, page, c.host, c.path, c.query));
            },
            list_product_categories{caller_of(ctx)});
      },
      "Product categories of a shop");

  r.add(
      "POST", shop + "/categories", managers,
      [](request_context& ctx) {
        auto out = ctx.out;
        ask<product_category>(
            ctx, shop_ref(ctx.svc->registry, ctx.id_param("id")),
            [out](product_category& c) { out->json(201, category_json(c)); },
            save_product_category{caller_of(ctx), 0, decode_category_name(ctx.json_body())});
      },
      "Create a product category");

  r.add(
      "PATCH", shop + "/categories/{cid}", managers,
      [](request_context& ctx) {
        auto out = ctx.out;
        ask<product_category>(
            ctx, shop_ref(ctx.svc->registry, ctx.id_param("id")),
            [out](product_category& c) { out->json(200, category_json(c)); },
            save_product_category{caller_of(ctx), ctx.id_param("cid"),
                                  decode_category_name(ctx.json_body())});
      },
      "Rename a product category");

  r.add(
      "DELETE", shop + "/categories/{cid}", managers,
      [](request_context& ctx) {
        auto out = ctx.out;
        ask<done>(
            ctx, shop_ref(ctx.svc->registry, ctx.id_param("id")), [out](done&) { out->empty(204); },
            delete_product_category{caller_of(ctx), ctx.id_param("cid")});
      },
      "Delete a product category (its products become uncategorised)");

  r.add(
      "GET", shop + "/products", {},
      [](request_context& ctx) {
        auto page = parse_page(ctx.query);
        list_products q;
        q.who = caller_of(ctx);
        q.offset = page.offset();
        q.limit = page.page_size;
        if (auto it = ctx.query.find("category_id"); it != ctx.query.end()) {
          const auto& v = it->second;
          if (v.empty() || v.size() > 18 ||
              v.find_first_not_of("0123456789") != std::string::npos || std::stoll(v) < 1)
            throw api_exception(errors::validation("category_id", "must be a whole number >= 1"));
          q.category_id = std::stoll(v);
        }
        if (auto it = ctx.query.find("q"); it != ctx.query.end()) q.q = it->second;
        if (auto it = ctx.query.find("offer"); it != ctx.query.end()) {
          if (it->second != "true" && it->second != "false")
            throw api_exception(errors::validation("offer", "true or false"));
          q.offer_only = it->second == "true";
        }
        auto shop_id = ctx.id_param("id");
        // Everyone but the shop's managers sees the same page: those are served from the page
        // cache while the shop's catalog stamp and the offers' periods say it is current.
        auto* cache = ctx.svc->product_pages;
        bool shared_view = cache && ctx.svc->stamps &&
                           (!ctx.caller || ctx.caller->role == roles::customer ||
                            ctx.caller->role == roles::delivery_crew);
        std::string key;
        if (shared_view) {
          key = page_key(shop_id, ctx.host, ctx.query);
          if (auto body =
                  cache->find(key, ctx.svc->stamps->current(shop_id), service_clock::now())) {
            ctx.out->text(200, *body, "application/json");
            return;
          }
        }
        auto c = ctx;
        ask<product_page>(
            ctx, shop_ref(ctx.svc->registry, shop_id),
            [c, page, key = std::move(key), cache, shared_view](product_page& p) {
              auto results = nlohmann::json::array();
              for (auto& item : p.results) results.push_back(product_json(item, c.media_base));
              auto body = std::make_shared<const std::string>(
                  paginate(p.count, results, page, c.host, c.path, c.query)
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
              if (shared_view) cache->store(key, {p.stamp, p.valid_from, p.valid_until, body});
              c.out->text(200, *body, "application/json");
            },
            std::move(q));
      },
      "Products of a shop");

  r.add(
      "POST", shop + "/products", managers,
      [](request_context& ctx) {
        auto req = decode_save_product(ctx.json_body(), true);
        req.who = caller_of(ctx);
        auto out = ctx.out;
        ask<product_record>(
            ctx, shop_ref(ctx.svc->registry, ctx.id_param("id")),
            [out, base = ctx.media_base](product_record& p) {
              out->json(201, product_json(p, base));
            },
            std::move(req));
      },
      "Create a product");

  r.add(
      "GET", "/api/v1/products/{id}", {},
      [](request_context& ctx) {
        auto id = ctx.id_param("id");
        auto out = ctx.out;
        ask_product_shop<product_record>(
            ctx, id,
            [out, base = ctx.media_base](product_record& p) {
              out->json(200, product_json(p, base));
            },
            get_product{caller_of(ctx), id});
      },
      "A product");

  r.add(
      "PATCH", "/api/v1/products/{id}", managers,
      [](request_context& ctx) {
        auto id = ctx.id_param("id");
        auto req = decode_save_product(ctx.json_body(), false);
        req.who = caller_of(ctx);
        req.product_id = id;
        auto out = ctx.out;
        ask_product_shop<product_record>(
            ctx, id,
            [out, base = ctx.media_base](product_record& p) {
              out->json(200, product_json(p, base));
            },
            std::move(req));
      },
      "Change a product");

  r.add(
      "DELETE", "/api/v1/products/{id}", managers,
      [](request_context& ctx) {
        auto id = ctx.id_param("id");
        auto out = ctx.out;
        ask_product_shop<done>(
            ctx, id, [out](done&) { out->empty(204); }, delete_product{caller_of(ctx), id});
      },
      "Delete a product (past orders keep their lines)");
}

void add_offer_routes(router& r) {
  r.add(
      "POST", "/api/v1/shops/{id}/offers", managers,
      [](request_context& ctx) {
        auto req = decode_save_offer(ctx.json_body(), true);
        req.who = caller_of(ctx);
        auto out = ctx.out;
        ask<offer_record>(
            ctx, shop_ref(ctx.svc->registry, ctx.id_param("id")),
            [out, base = ctx.media_base](offer_record& o) { out->json(201, offer_json(o, base)); },
            std::move(req));
      },
      "Create an offer");

  r.add(
      "GET", "/api/v1/shops/{id}/offers", {},
      [](request_context& ctx) {
        auto page = parse_page(ctx.query);
        auto all = ctx.query.find("all");
        list_offers q{caller_of(ctx), all != ctx.query.end() && all->second == "true"};
        auto c = ctx;
        ask<offer_list>(
            ctx, shop_ref(ctx.svc->registry, ctx.id_param("id")),
            [c, page](offer_list& list) { send_offer_page(c, page, list, false); }, q);
      },
      "Offers of a shop active now (all=true: every offer, for its owner and staff)");

  r.add(
      "GET", "/api/v1/offers", {},
      [](request_context& ctx) {
        auto page = parse_page(ctx.query);
        auto c = ctx;
        ask<offer_list>(
            ctx, ctx.svc->shop_directory,
            [c, page](offer_list& list) { send_offer_page(c, page, list, true); },
            offer_query{service_clock::now(), page.offset(), page.page_size});
      },
      "Active offers across active shops, sponsored first");

  r.add(
      "PATCH", "/api/v1/offers/{id}", managers,
      [](request_context& ctx) {
        auto id = ctx.id_param("id");
        auto req = decode_save_offer(ctx.json_body(), false);
        req.who = caller_of(ctx);
        req.offer_id = id;
        auto out = ctx.out;
        ask_owning_shop<offer_record>(
            ctx, offer_shop_atom::value, id,
            [out, base = ctx.media_base](offer_record& o) { out->json(200, offer_json(o, base)); },
            std::move(req));
      },
      "Change an offer (is_sponsored: staff only)");

  r.add(
      "DELETE", "/api/v1/offers/{id}", managers,
      [](request_context& ctx) {
        auto id = ctx.id_param("id");
        auto out = ctx.out;
        ask_owning_shop<done>(
            ctx, offer_shop_atom::value, id, [out](done&) { out->empty(204); },
            delete_offer{caller_of(ctx), id});
      },
      "Delete an offer");
}

void add_test_clock_route(router& r) {
  r.add(
      "PUT", "/api/v1/test/clock", staff_only,
      [](request_context& ctx) {
        auto body = ctx.json_body();
        field_reader f(body);
        auto now = f.required_string("now", 1, 40);
        auto t = service_clock::parse_iso(now);
        if (!t) f.fail("now", "an ISO-8601 timestamp such as 2026-11-24T19:30:00Z");
        f.finish();
        service_clock::set_now(*t);
        ctx.out->json(200, {{"now", service_clock::format_iso(service_clock::now())}});
      },
      "Set the service clock (only with test_clock enabled)");
}

}  // namespace wassally::http
