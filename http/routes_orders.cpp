// API.md "Cart" and "Orders": the cart actor of the caller, the order desk (placement from an
// explicit item list, listing), the order actors (one order), and the event stream hub.
#include "http/ask.hpp"
#include "http/ask_entity.hpp"
#include "http/decoders/orders.hpp"
#include "http/event_streams.hpp"
#include "http/json_values.hpp"
#include "http/order_json.hpp"
#include "http/pagination.hpp"
#include "http/routes.hpp"
#include "protocols/entity_interfaces.hpp"
#include "protocols/orders.hpp"
#include "protocols/registry.hpp"
#include "security/tokens.hpp"

namespace wassally::http {
namespace {

const role_set customers = {roles::customer};

entity_ref<cart_actor> cart_of(const request_context& ctx) {
  return cart_ref(ctx.svc->registry, ctx.user_id());
}

nlohmann::json cart_item_json(const cart_item_view& v) {
  return {{"id", v.line.id},
          {"product_id", v.line.product_id},
          {"shop_id", v.line.shop_id},
          {"name", v.name},
          {"quantity", quantity_json(v.line.amount)},
          {"unit_price", v.unit_price.str()},
          {"line_total", v.line_total.str()},
          {"available", v.available}};
}

nlohmann::json cart_json(const cart_view& c) {
  auto items = nlohmann::json::array();
  for (auto& i : c.items) items.push_back(cart_item_json(i));
  return {{"items", items}, {"shops", c.shops}, {"total", c.total.str()}};
}

}  // namespace

nlohmann::json crew_location_json(const crew_position& p) {
  if (!p.known) return nullptr;
  return {{"latitude", p.latitude}, {"longitude", p.longitude}, {"at", p.at}};
}

nlohmann::json eta_json(const std::string& eta) {
  return eta.empty() ? nlohmann::json() : nlohmann::json(eta);
}

nlohmann::json order_json(const order_record& o) {
  auto items = nlohmann::json::array();
  for (auto& i : o.items)
    items.push_back({{"id", i.id},
                     {"product_id", i.product_id},
                     {"shop_id", i.shop_id},
                     {"name", i.name},
                     {"quantity", quantity_json(i.amount)},
                     {"unit_price", i.unit_price.str()},
                     {"line_total", i.line_total.str()},
                     {"is_bought", i.is_bought}});
  nlohmann::json j = {{"id", o.id},
                      {"type", o.type},
                      {"status", o.status},
                      {"user_id", o.user_id},
                      {"crew_id", optional_id(o.crew_id)},
                      {"receiver_name", o.receiver_name},
                      {"receiver_phone", o.receiver_phone},
                      {"location",
                       {{"address", o.location.address},
                        {"latitude", o.location.latitude},
                        {"longitude", o.location.longitude}}},
                      {"notes", o.notes},
                      {"items", items},
                      {"items_total", o.items_total.str()},
                      {"delivery_fee", o.delivery_fee.str()},
                      {"total", o.total.str()},
                      {"coins", o.coins},
                      {"code_locked", o.code_locked},
                      {"created_at", o.created_at},
                      {"updated_at", o.updated_at}};
  // Null until cancelled (API.md: the note null when none was given, the user null for no_crew).
  j["cancel_reason"] = optional_text(o.cancel_reason);
  j["cancel_note"] = optional_text(o.cancel_note);
  j["cancelled_by"] = optional_id(o.cancelled_by);
  j["crew_location"] = crew_location_json(o.crew_location);
  j["eta"] = eta_json(o.eta);
  if (o.code_visible) j["code"] = o.code;
  if (o.type == "delivery_request") j["requesting_shop_id"] = o.requesting_shop_id;
  return j;
}

namespace {

nlohmann::json event_json(const order_event& e) {
  return {{"seq", e.seq},
          {"status", e.status},
          {"at", e.at},
          {"by_user_id", optional_id(e.by_user_id)},
          {"crew_id", optional_id(e.crew_id)},
          {"cancel_reason", optional_text(e.cancel_reason)},
          {"cancel_note", optional_text(e.cancel_note)},
          {"cancelled_by", optional_id(e.cancelled_by)}};
}

std::string header(const request_context& ctx, const std::string& name) {
  auto it = ctx.headers.find(name);
  return it == ctx.headers.end() ? std::string() : it->second;
}

/// Idempotency-Key: 1–255 visible ASCII characters.
std::string idempotency_key(const request_context& ctx) {
  auto key = header(ctx, "idempotency-key");
  if (key.empty()) return key;
  bool ok = key.size() <= 255 &&
            std::all_of(key.begin(), key.end(), [](char c) { return c > 32 && c < 127; });
  if (!ok)
    throw api_exception(errors::validation("Idempotency-Key", "1 to 255 visible ASCII characters"));
  return key;
}

void send_order(const request_context& c, int status, const order_record& o) {
  c.out->json(status, order_json(o));
}

}  // namespace

void add_cart_routes(router& r) {
  r.add(
      "GET", "/api/v1/cart", customers,
      [](request_context& ctx) {
        auto c = ctx;
        ask<cart_view>(
            ctx, cart_of(ctx), [c](cart_view& v) { c.out->json(200, cart_json(v)); }, get_cart{});
      },
      "The caller's cart at current prices");
  r.add(
      "POST", "/api/v1/cart/items", customers,
      [](request_context& ctx) {
        auto req = decode_add_cart_item(ctx.json_body());
        auto c = ctx;
        ask<cart_item_reply>(
            ctx, cart_of(ctx),
            [c](cart_item_reply& r) { c.out->json(r.created ? 201 : 200, cart_item_json(r.item)); },
            req);
      },
      "Put a product in the cart (quantities of a product already there add up)");
  r.add(
      "PATCH", "/api/v1/cart/items/{id}", customers,
      [](request_context& ctx) {
        auto req = decode_set_cart_item(ctx.json_body());
        req.item_id = ctx.id_param("id");
        auto c = ctx;
        ask<cart_item_reply>(
            ctx, cart_of(ctx),
            [c](cart_item_reply& r) { c.out->json(200, cart_item_json(r.item)); }, req);
      },
      "Change the quantity of a cart line");
  r.add(
      "DELETE", "/api/v1/cart/items/{id}", customers,
      [](request_context& ctx) {
        auto c = ctx;
        ask<done>(
            ctx, cart_of(ctx), [c](done&) { c.out->empty(204); },
            remove_cart_item{ctx.id_param("id")});
      },
      "Remove a cart line");
  r.add(
      "DELETE", "/api/v1/cart", customers,
      [](request_context& ctx) {
        auto c = ctx;
        ask<done>(
            ctx, cart_of(ctx), [c](done&) { c.out->empty(204); }, remove_cart_item{0});
      },
      "Empty the cart");
}

void add_order_routes(router& r) {
  r.add(
      "POST", "/api/v1/orders", customers,
      [](request_context& ctx) {
        auto body = ctx.json_body();
        auto req = decode_place_order(body);
        req.who = caller_of(ctx);
        req.idempotency_key = idempotency_key(ctx);
        // The fingerprint of a keyed request (a repeat must be the same request): the parsed
        // body, keys sorted, so formatting does not matter but every value does.
        if (!req.idempotency_key.empty()) req.request_hash = security::sha256_hex(body.dump());
        auto c = ctx;
        auto on_placed = [c](order_placed& p) { send_order(c, 201, p.order); };
        if (req.from_cart)
          ask<order_placed>(ctx, cart_of(ctx), on_placed, checkout_atom::value, req);
        else
          ask<order_placed>(ctx, ctx.svc->order_desk, on_placed, req);
      },
      "Place an order from the cart or from an item list (Idempotency-Key honoured)");
  r.add(
      "GET", "/api/v1/orders", any_role,
      [](request_context& ctx) {
        auto page = parse_page(ctx.query);
        auto q = decode_order_query(ctx.query);
        q.who = caller_of(ctx);
        q.offset = page.offset();
        q.limit = page.page_size;
        ask_page<order_page>(ctx, page, ctx.svc->order_desk, order_json, q);
      },
      "Orders the caller may see, newest first");
  r.add(
      "GET", "/api/v1/orders/{id}", any_role,
      [](request_context& ctx) {
        auto c = ctx;
        ask<order_record>(
            ctx, order_ref(ctx.svc->registry, ctx.id_param("id")),
            [c](order_record& o) { send_order(c, 200, o); }, get_order{caller_of(ctx)});
      },
      "One order as the caller may see it");
  r.add(
      "GET", "/api/v1/orders/{id}/history", any_role,
      [](request_context& ctx) {
        auto c = ctx;
        ask<order_history>(
            ctx, order_ref(ctx.svc->registry, ctx.id_param("id")),
            [c](order_history& h) {
              auto out = nlohmann::json::array();
              for (auto& e : h.events) out.push_back(event_json(e));
              c.out->json(200, out);
            },
            get_order_history{caller_of(ctx)});
      },
      "Status history, oldest first");
  r.add(
      "GET", "/api/v1/orders/{id}/events", any_role,
      [](request_context& ctx) {
        open_order_stream s;
        s.out = ctx.out;
        s.order_id = ctx.id_param("id");
        s.who = caller_of(ctx);
        auto last = header(ctx, "last-event-id");
        if (!last.empty()) {
          if (last.size() > 18 || last.find_first_not_of("0123456789") != std::string::npos)
            throw api_exception(errors::validation("Last-Event-ID", "must be an event id"));
          s.after_seq = std::stoll(last);
          s.resume = true;
        }
        caf::anon_send(ctx.svc->event_streams, std::move(s));
      },
      "Live status changes (Server-Sent Events)");
  r.add(
      "POST", "/api/v1/orders/{id}/cancel", any_role,
      [](request_context& ctx) {
        auto a = decode_cancel_order(ctx.body);
        a.who = caller_of(ctx);
        auto c = ctx;
        ask<order_record>(
            ctx, order_ref(ctx.svc->registry, ctx.id_param("id")),
            [c](order_record& o) { send_order(c, 200, o); }, a);
      },
      "Cancel with an optional note: the customer while pending, staff until picked up, the "
      "shop that requested a delivery while pending; stock is returned");
}

}  // namespace wassally::http
