// API.md "Delivery crew" and delivery requests: the crew's own routes go to its crew actor,
// order actions to the order actor, delivery requests to the shop actor.
#include "http/ask.hpp"
#include "http/ask_entity.hpp"
#include "http/decoders/crews.hpp"
#include "http/event_streams.hpp"
#include "http/offer_json.hpp"
#include "http/order_json.hpp"
#include "http/pagination.hpp"
#include "http/routes.hpp"
#include "protocols/crews.hpp"
#include "protocols/dispatch.hpp"
#include "protocols/entity_interfaces.hpp"
#include "protocols/registry.hpp"

namespace wassally::http {
namespace {

const role_set crews = {roles::delivery_crew};
const role_set owners = {roles::shop_owner};

entity_ref<crew_actor> my_crew(const request_context& ctx) {
  return crew_ref(ctx.svc->registry, ctx.user_id());
}

nlohmann::json crew_json(const crew_record& c) {
  return {{"id", c.user_id},
          {"username", c.username},
          {"status", c.status},
          {"location", c.has_location
                           ? nlohmann::json{{"latitude", c.latitude}, {"longitude", c.longitude}}
                           : nlohmann::json()},
          {"last_seen", c.last_seen.empty() ? nlohmann::json() : nlohmann::json(c.last_seen)},
          {"current_order_ids", c.current_order_ids},
          {"coins", c.coins},
          {"number_of_deliveries", c.number_of_deliveries}};
}

order_action action_of(order_action_kind kind, int64_t item_id = 0, const std::string& code = {},
                       int64_t crew_id = 0) {
  order_action a;
  a.action = kind;
  a.item_id = item_id;
  a.code = code;
  a.crew_id = crew_id;
  return a;
}

/// Sends an order action to the order actor and answers 200 with the whole order.
void order_action_route(request_context& ctx, order_action a) {
  auto c = ctx;
  a.who = caller_of(ctx);
  ask<order_record>(
      ctx, order_ref(ctx.svc->registry, ctx.id_param("id")),
      [c](order_record& o) { c.out->json(200, order_json(o)); }, a);
}

}  // namespace

nlohmann::json crew_record_json(const crew_record& c) { return crew_json(c); }

void add_crew_routes(router& r) {
  r.add(
      "PUT", "/api/v1/crew/location", crews,
      [](request_context& ctx) {
        auto loc = decode_crew_location(ctx.json_body());
        loc.deadline_unix_ms = caller_of(ctx).deadline_unix_ms;
        auto c = ctx;
        ask<done>(
            ctx, my_crew(ctx), [c](done&) { c.out->empty(204); }, loc);
      },
      "Report the crew's live position");
  r.add(
      "PUT", "/api/v1/crew/status", crews,
      [](request_context& ctx) {
        auto st = decode_crew_status(ctx.json_body());
        auto c = ctx;
        ask<crew_record>(
            ctx, my_crew(ctx), [c](crew_record& rec) { c.out->json(200, crew_json(rec)); }, st);
      },
      "Go available or offline");
  r.add(
      "GET", "/api/v1/crew/orders/pending", crews,
      [](request_context& ctx) {
        auto page = parse_page(ctx.query);
        crew_pending_query q{decode_radius(ctx.query), page.offset(), page.page_size};
        auto render = [](const pending_order& po) {
          auto j = order_json(po.order);
          j["distance_km"] = po.distance_km;
          return j;
        };
        ask_page<pending_page>(ctx, page, my_crew(ctx), render, q);
      },
      "Pending orders near the crew, nearest first");
  r.add(
      "GET", "/api/v1/crew/orders", crews,
      [](request_context& ctx) {
        auto page = parse_page(ctx.query);
        order_query q;
        q.who = caller_of(ctx);
        q.offset = page.offset();
        q.limit = page.page_size;
        ask_page<order_page>(ctx, page, ctx.svc->order_desk, order_json, q);
      },
      "The crew's current and past orders, newest first");
  r.add(
      "POST", "/api/v1/orders/{id}/accept", crews,
      [](request_context& ctx) { order_action_route(ctx, action_of(order_action_kind::accept)); },
      "Take a pending order (exactly one crew wins)");
  r.add(
      "POST", "/api/v1/orders/{id}/decline", crews,
      [](request_context& ctx) {
        decline_offer d{ctx.id_param("id"), ctx.user_id(), caller_of(ctx).deadline_unix_ms};
        auto c = ctx;
        ask<done>(
            ctx, my_crew(ctx), [c](done&) { c.out->empty(204); }, d);
      },
      "Decline the order offered to the crew: it is offered to the next crew");
  r.add(
      "GET", "/api/v1/crew/offer", crews,
      [](request_context& ctx) {
        auto c = ctx;
        ask<open_offer>(
            ctx, my_crew(ctx),
            [c](open_offer& o) {
              if (o.open)
                c.out->json(200, offer_json(o.offer));
              else
                c.out->empty(204);
            },
            get_crew_offer{ctx.user_id()});
      },
      "The crew's open offer (204: none)");
  r.add(
      "GET", "/api/v1/crew/events", crews,
      [](request_context& ctx) {
        open_crew_stream s;
        s.out = ctx.out;
        s.crew_id = ctx.user_id();
        caf::anon_send(ctx.svc->event_streams, std::move(s));
      },
      "Offers, withdrawn offers, assignments and cancellations for the crew (Server-Sent Events)");
  r.add(
      "POST", "/api/v1/orders/{id}/items/{item_id}/bought", crews,
      [](request_context& ctx) {
        order_action_route(ctx, action_of(order_action_kind::bought, ctx.id_param("item_id")));
      },
      "Mark an item bought at its shop");
  r.add(
      "POST", "/api/v1/orders/{id}/pickup", crews,
      [](request_context& ctx) { order_action_route(ctx, action_of(order_action_kind::pickup)); },
      "Out for delivery");
  r.add(
      "POST", "/api/v1/orders/{id}/deliver", crews,
      [](request_context& ctx) {
        auto code = decode_delivery_code(ctx.json_body());
        order_action_route(ctx, action_of(order_action_kind::deliver, 0, code));
      },
      "Delivered, with the customer's confirmation code");
  r.add(
      "POST", "/api/v1/orders/{id}/unlock-code", staff_only,
      [](request_context& ctx) { order_action_route(ctx, action_of(order_action_kind::unlock)); },
      "Let the crew try the delivery code again");
  r.add(
      "POST", "/api/v1/orders/{id}/assign", staff_only,
      [](request_context& ctx) {
        auto crew = decode_assignment(ctx.json_body());
        order_action_route(ctx, action_of(order_action_kind::assign, 0, {}, crew));
      },
      "Assign or reassign a pending or assigned order");
  r.add(
      "POST", "/api/v1/shops/{id}/delivery-requests", owners,
      [](request_context& ctx) {
        auto req = decode_delivery_request(ctx.json_body());
        req.who = caller_of(ctx);
        auto c = ctx;
        ask<order_placed>(
            ctx, shop_ref(ctx.svc->registry, ctx.id_param("id")),
            [c](order_placed& p) { c.out->json(201, order_json(p.order)); }, req);
      },
      "A shop asks for a package delivery");
}

}  // namespace wassally::http
