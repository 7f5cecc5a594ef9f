// API.md "Shops": shop categories, registering shops, browsing them, editing them.
#include <cmath>

#include "http/ask.hpp"
#include "http/ask_entity.hpp"
#include "http/catalog_json.hpp"
#include "http/decoders/shops.hpp"
#include "http/pagination.hpp"
#include "http/routes.hpp"
#include "protocols/registry.hpp"
#include "protocols/shops.hpp"

namespace wassally::http {
void add_shop_routes(router& r) {
  const std::string base = "/api/v1";

  r.add(
      "GET", base + "/shop-categories", {},
      [](request_context& ctx) {
        auto page = parse_page(ctx.query);
        auto c = ctx;
        ask<shop_category_list>(
            ctx, ctx.svc->shop_directory,
            [c, page](shop_category_list& list) {
              auto results = nlohmann::json::array();
              for (auto& item : list.items)
                results.push_back(shop_category_json(item, c.media_base));
              c.out->json(200, paginate(list.count, results, page, c.host, c.path, c.query));
            },
            list_atom::value, page.offset(), page.page_size);
      },
      "Shop categories");

  r.add(
      "POST", base + "/shop-categories", staff_only,
      [](request_context& ctx) {
        auto out = ctx.out;
        ask<shop_category>(
            ctx, ctx.svc->shop_directory,
            [out, media = ctx.media_base](shop_category& c) {
              out->json(201, shop_category_json(c, media));
            },
            decode_shop_category(ctx.json_body()));
      },
      "Create a shop category (staff)");

  r.add(
      "POST", base + "/shops", staff_only,
      [](request_context& ctx) {
        auto out = ctx.out;
        ask<shop_record>(
            ctx, ctx.svc->shop_directory,
            [out, media = ctx.media_base](shop_record& s) { out->json(201, shop_json(s, media)); },
            decode_create_shop(ctx.json_body()));
      },
      "Register a shop with its owner (staff)");

  r.add(
      "GET", base + "/shops", {},
      [](request_context& ctx) {
        auto page = parse_page(ctx.query);
        auto q = decode_shop_query(ctx.query);
        // Staff may list suspended shops too with status=all; everyone else sees active shops.
        auto status = ctx.query.find("status");
        q.include_suspended = ctx.caller && ctx.caller->role == roles::staff &&
                              status != ctx.query.end() && status->second == "all";
        q.offset = page.offset();
        q.limit = page.page_size;
        auto c = ctx;
        ask<shop_page>(
            ctx, ctx.svc->shop_directory,
            [c, page](shop_page& p) {
              auto results = nlohmann::json::array();
              for (auto& s : p.results) results.push_back(shop_json(s, c.media_base));
              c.out->json(200, paginate(p.count, results, page, c.host, c.path, c.query));
            },
            std::move(q));
      },
      "Browse active shops");

  r.add(
      "GET", base + "/shops/{id}", {},
      [](request_context& ctx) {
        auto out = ctx.out;
        ask<shop_record>(
            ctx, shop_ref(ctx.svc->registry, ctx.id_param("id")),
            [out, media = ctx.media_base](shop_record& s) { out->json(200, shop_json(s, media)); },
            get_shop{caller_of(ctx)});
      },
      "A shop");

  r.add(
      "PATCH", base + "/shops/{id}", {roles::shop_owner, roles::staff},
      [](request_context& ctx) {
        auto patch = decode_patch_shop(ctx.json_body());
        patch.who = caller_of(ctx);
        auto out = ctx.out;
        ask<shop_record>(
            ctx, shop_ref(ctx.svc->registry, ctx.id_param("id")),
            [out, media = ctx.media_base](shop_record& s) { out->json(200, shop_json(s, media)); },
            std::move(patch));
      },
      "Edit a shop (its owner; status: staff only)");
}

}  // namespace wassally::http
