// API.md "Staff": crews, the overview, and the live staff event stream.
#include "http/ask.hpp"
#include "http/decoders/accounts.hpp"
#include "http/decoders/crews.hpp"
#include "http/event_streams.hpp"
#include "http/pagination.hpp"
#include "http/routes.hpp"
#include "protocols/crews.hpp"
#include "protocols/dispatch.hpp"

namespace wassally::http {

nlohmann::json user_json(const user_record& u);
nlohmann::json crew_record_json(const crew_record& c);

void add_staff_routes(router& r) {
  r.add(
      "POST", "/api/v1/staff/crews", staff_only,
      [](request_context& ctx) {
        auto msg = decode_register(ctx.json_body(), roles::delivery_crew);
        auto out = ctx.out;
        ask<user_record>(
            ctx, ctx.svc->accounts, [out](user_record& u) { out->json(201, user_json(u)); },
            std::move(msg));
      },
      "Register a delivery crew");
  r.add(
      "GET", "/api/v1/staff/crews", staff_only,
      [](request_context& ctx) {
        auto page = parse_page(ctx.query);
        auto q = decode_crew_query(ctx.query);
        q.offset = page.offset();
        q.limit = page.page_size;
        ask_page<crew_page>(ctx, page, ctx.svc->staff_desk, crew_record_json, q);
      },
      "Crews with position, last_seen, current orders, coins and deliveries");
  r.add(
      "GET", "/api/v1/staff/overview", staff_only,
      [](request_context& ctx) {
        auto c = ctx;
        ask<staff_overview>(
            ctx, ctx.svc->staff_desk,
            [c](staff_overview& o) {
              c.out->json(200, {{"orders_by_status", o.orders_by_status},
                                {"active_crews", o.active_crews},
                                {"orders_last_hour", o.orders_last_hour},
                                {"revenue_today", o.revenue_today.str()}});
            },
            overview_atom::value);
      },
      "Orders by status, active crews, orders in the last hour, revenue today");
  r.add(
      "GET", "/api/v1/staff/offers", staff_only,
      [](request_context& ctx) {
        auto c = ctx;
        ask<open_offers>(
            ctx, ctx.svc->dispatcher,
            [c](open_offers& o) {
              auto out = nlohmann::json::array();
              for (auto& f : o.offers)
                out.push_back({{"order_id", f.order_id},
                               {"crew_id", f.crew_id},
                               {"expires_at", f.expires_at},
                               {"distance_km", f.distance_km}});
              c.out->json(200, out);
            },
            list_open_offers{});
      },
      "Every open offer: which crew each pending order is offered to, until when");
  r.add(
      "GET", "/api/v1/staff/events", staff_only,
      [](request_context& ctx) {
        open_staff_stream s;
        s.out = ctx.out;
        caf::anon_send(ctx.svc->event_streams, std::move(s));
      },
      "Live order and crew changes (Server-Sent Events)");
}

}  // namespace wassally::http
