// API.md "Shop analytics": the shop actor checks who may see them; the figures come from the
// sales rollups (see persistence/analytics.cpp).
#include "http/ask.hpp"
#include "http/ask_entity.hpp"
#include "http/decoders/analytics.hpp"
#include "http/json_values.hpp"
#include "http/routes.hpp"
#include "protocols/analytics.hpp"
#include "protocols/registry.hpp"

namespace wassally::http {
namespace {

const role_set managers = {roles::shop_owner, roles::staff};

nlohmann::json product_json(const product_sales& p) {
  return {{"product_id", p.product_id},
          {"name", p.name},
          {"quantity", quantity_json(p.amount)},
          {"revenue", p.revenue.str()}};
}

nlohmann::json render(const std::string& kind, const analytics_reply& r) {
  if (kind == "sales") {
    auto out = nlohmann::json::array();
    for (auto& p : r.periods)
      out.push_back({{"period", p.period},
                     {"orders", p.orders},
                     {"quantity", quantity_json(p.amount)},
                     {"revenue", p.revenue.str()},
                     {"cost", p.cost.str()},
                     {"profit", (p.revenue - p.cost).str()}});
    return out;
  }
  if (kind == "top-products") {
    auto out = nlohmann::json::array();
    for (auto& p : r.products) out.push_back(product_json(p));
    return out;
  }
  nlohmann::json top;
  if (r.has_top_product)
    top = {{"product_id", r.top_product.product_id},
           {"name", r.top_product.name},
           {"quantity", quantity_json(r.top_product.amount)}};
  return {{"orders_today", r.orders_today},
          {"revenue_today", r.revenue_today.str()},
          {"revenue_month", r.revenue_month.str()},
          {"revenue_year", r.revenue_year.str()},
          {"top_product", top}};
}

}  // namespace

void add_analytics_routes(router& r) {
  for (std::string kind : {"top-products", "sales", "summary"})
    r.add(
        "GET", "/api/v1/shops/{id}/analytics/" + kind, managers,
        [kind](request_context& ctx) {
          auto q = decode_analytics_query(ctx.query, kind);
          q.who = caller_of(ctx);
          q.shop_id = ctx.id_param("id");
          auto c = ctx;
          ask<analytics_reply>(
              ctx, shop_ref(ctx.svc->registry, q.shop_id),
              [c, kind](analytics_reply& reply) { c.out->json(200, render(kind, reply)); }, q);
        },
        kind == "sales"          ? "Revenue, cost and profit per month or year, zeros included"
        : kind == "top-products" ? "Products by quantity sold"
                                 : "Today, this month, this year, and this month's top product");
}

}  // namespace wassally::http
