#include "actors/placement_builder.hpp"

#include <caf/send.hpp>
#include <utility>

#include "actors/order_rules.hpp"
#include "protocols/errors.hpp"
#include "protocols/events.hpp"
#include "protocols/registry.hpp"
#include "security/tokens.hpp"

namespace wassally::placement_builder {
namespace {

/// Confirmation codes a placement tries in turn (orders_sql::place skips a taken one): random,
/// eight digits; four make running out all but impossible.
constexpr int candidate_codes = 4;

/// A placement of `type` with no lines yet: who places it and where it goes, as `req` (a
/// place_order or a create_delivery_request) gives them, the fee, the coins and the codes.
template <class Request>
orders_sql::placement start(const char* type, const Request& req, money delivery_fee,
                            int64_t coins) {
  orders_sql::placement p;
  auto& o = p.order;
  o.type = type;
  o.user_id = req.who.user_id;
  o.receiver_name = req.receiver_name;
  o.receiver_phone = req.receiver_phone;
  o.location = req.location;
  o.notes = req.notes;
  o.delivery_fee = delivery_fee;
  o.coins = coins;
  for (int i = 0; i < candidate_codes; ++i) p.candidate_codes.push_back(security::random_digits(8));
  return p;
}

}  // namespace

caf::expected<orders_sql::placement> order(const place_order& req, const std::string& claim,
                                           const std::map<int64_t, int64_t>& shop_of,
                                           const std::map<int64_t, product_quotes>& quotes,
                                           money delivery_fee, int64_t coins) {
  auto p = start("order", req, delivery_fee, coins);
  auto& o = p.order;
  // Lines in the order the customer gave them, priced by their shops.
  for (auto& line : req.lines) {
    auto shop = shop_of.find(line.product_id);
    if (shop == shop_of.end()) continue;
    auto quoted = quotes.find(shop->second);
    if (quoted == quotes.end()) continue;
    for (auto& q : quoted->second.items) {
      if (q.product_id != line.product_id) continue;
      order_item i;
      i.product_id = q.product_id;
      i.shop_id = shop->second;
      i.name = q.name;
      i.amount = line.amount;
      i.unit_price = q.unit_price;
      i.unit_cost = q.unit_cost;
      i.line_total = line_total(q.unit_price, line.amount);
      o.items_total = o.items_total + i.line_total;
      o.items.push_back(i);
    }
  }
  // Valid prices and quantities can still add up past what an order's money columns hold.
  std::vector<std::pair<money, quantity>> priced;
  for (auto& i : o.items) priced.emplace_back(i.unit_price, i.amount);
  if (!checked_order_total(priced, o.delivery_fee))
    return to_caf_error(errors::validation(
        "items", "the order total would reach 10000000000 (at most 9999999999.99)"));
  o.total = o.items_total + o.delivery_fee;
  p.idempotency_key = req.idempotency_key;
  p.claim = claim;
  p.request_hash = req.request_hash;
  p.clear_cart = req.from_cart;
  return p;
}

orders_sql::placement delivery_request(const create_delivery_request& req, int64_t shop_id,
                                       int64_t coins) {
  auto p = start("delivery_request", req, req.price, coins);
  p.order.requesting_shop_id = shop_id;
  p.order.total = req.price;
  return p;
}

void announce(const caf::actor& registry, const caf::actor& event_bus, const order_snapshot& placed,
              std::vector<geo_location> shop_points) {
  caf::anon_send(registry, adopt_atom::value, entity_key{entity_kind::order, placed.order.id},
                 caf::make_message(order_snapshot{placed.order, placed.events, {}}));
  if (!placed.events.empty())
    publish(event_bus, order_rules::placed_change(placed, std::move(shop_points)));
}

}  // namespace wassally::placement_builder
