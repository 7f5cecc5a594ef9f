#pragma once
// What every route handler sees: the parsed request, the caller, the services, and a responder.

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/send.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "http/json_body.hpp"
#include "http/page_cache.hpp"
#include "http/pagination.hpp"
#include "http/responder.hpp"
#include "protocols/catalog_stamps.hpp"
#include "protocols/deadline.hpp"
#include "protocols/errors.hpp"
#include "protocols/shops.hpp"
#include "security/tokens.hpp"

namespace wassally {
struct recovery_progress;
}

namespace wassally::http {

/// Actor handles and settings the routes talk to.
struct services {
  caf::actor_system* system = nullptr;
  caf::actor persistence;
  caf::actor registry;
  caf::actor event_bus;
  caf::actor accounts;
  caf::actor shop_directory;
  caf::actor order_desk;
  caf::actor staff_desk;
  caf::actor dispatcher;
  caf::actor event_streams;
  std::chrono::milliseconds timeout{5000};
  http_metrics* metrics = nullptr;
  const security::token_signer* signer = nullptr;
  std::string openapi_json;
  std::size_t max_body_bytes = 1 << 20;
  /// Rendered public product pages and the shop stamps that keep them honest (both may be
  /// null: every page is rendered by its shop actor).
  const catalog_stamps* stamps = nullptr;
  page_cache* product_pages = nullptr;
  /// Order recovery's progress (null: no recovery ran), for /metrics.
  const recovery_progress* recovery = nullptr;
  /// How long a confirmation that an access token's user still exists, is active and has the
  /// token's role holds before the next request asks again (0: every request).
  std::chrono::milliseconds user_recheck{5000};
};

struct request_context {
  std::string method;
  std::string path;
  std::string route;  // the matched template
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> query;
  /// Headers the routes read by name (lower-case): idempotency-key, last-event-id.
  std::map<std::string, std::string> headers;
  std::string host;  // Host header, for absolute pagination links
  std::string body;
  std::string client_address;
  bool loopback = false;
  std::optional<security::principal> caller;
  const services* svc = nullptr;
  responder_ptr out;

  /// The body as a JSON object (400 malformed_json otherwise).
  nlohmann::json json_body() const { return parse_object(body); }
  /// A path parameter as a positive id; anything else is 404 (an id that cannot exist).
  int64_t id_param(const std::string& name) const;
  int64_t user_id() const { return caller ? caller->user_id : 0; }
};

/// The authenticated caller as actors see it (user 0, no role: anonymous), with the request's
/// deadline: work that has not started by then is not started at all.
inline caller caller_of(const request_context& ctx) {
  caller c = ctx.caller ? caller{ctx.caller->user_id, ctx.caller->role} : caller{};
  c.deadline_unix_ms = unix_ms_now() + ctx.svc->timeout.count();
  return c;
}

/// How much longer than the request deadline the edge waits for an actor's answer: a command
/// still queued for the database at the deadline is answered `504 not_written` by then.
inline constexpr std::chrono::milliseconds answer_grace{250};

/// The 504 for a request whose answer did not come in time: reads wrote nothing; a mutation
/// may still commit.
inline api_error edge_timeout(const std::string& method) {
  return errors::timeout(method == "GET" || method == "HEAD" ? "not_written" : "unknown");
}

/// Sends `msg...` to `target` with the request deadline and completes the exchange from the
/// reply: `on_reply` gets the reply of type `Reply`; any error (the actor's api_error, a timeout →
/// 504, a dead actor → 503) is rendered to the client. No thread waits: a one-shot actor awaits the
/// reply and runs the continuation.
template <class Reply, class OnReply, class... Ts>
void ask(const request_context& ctx, const caf::actor& target, OnReply on_reply, Ts&&... msg) {
  auto out = ctx.out;
  auto timeout = ctx.svc->timeout + answer_grace;
  auto method = ctx.method;
  ctx.svc->system->spawn([=](caf::event_based_actor* self) {
    self->request(target, timeout, msg...)
        .then(
            [=](Reply& reply) {
              try {
                on_reply(reply);
              } catch (const api_exception& e) {
                out->error(e.error);
              } catch (const std::exception& e) {
                out->error(errors::internal(e.what()));
              }
            },
            [=](caf::error& err) {
              auto e = from_caf_error(err);
              if (e.code == "timeout" && err.category() == caf::atom("system"))
                e = edge_timeout(method);
              out->error(e);
            });
  });
}

/// ask<Page>() for a paginated list: the reply's `results` are rendered one by one with
/// `render` and answered as `{count, next, previous, results}` (API.md "Lists are paginated").
template <class Page, class Render, class... Ts>
void ask_page(const request_context& ctx, const page_request& page, const caf::actor& target,
              Render render, Ts&&... msg) {
  auto c = ctx;
  ask<Page>(
      ctx, target,
      [c, page, render](Page& p) {
        auto results = nlohmann::json::array();
        for (auto& item : p.results) results.push_back(render(item));
        c.out->json(200, paginate(p.count, results, page, c.host, c.path, c.query));
      },
      std::forward<Ts>(msg)...);
}

/// The roles a route admits; empty means anyone, authenticated or not.
using role_set = std::set<std::string>;

struct route {
  std::string method;
  std::string pattern;  // "/api/v1/orders/{id}"
  role_set roles;
  std::function<void(request_context&)> handle;
  std::string summary;
};

/// The route table: every handler registers here; matching gives 404 / 405.
class router {
 public:
  void add(std::string method, std::string pattern, role_set roles,
           std::function<void(request_context&)> handle, std::string summary = {});
  /// The route for (method, path) with path parameters, or an error: 404 when no pattern
  /// matches the path, 405 when one does with another method.
  const route* match(const std::string& method, const std::string& path,
                     std::map<std::string, std::string>& params, api_error& error) const;
  const std::vector<route>& routes() const { return routes_; }

 private:
  struct compiled {
    std::vector<std::string> segments;
  };
  std::vector<route> routes_;
  std::vector<compiled> compiled_;
};

/// Route registration per API area (http/routes_*.cpp).
void add_service_routes(router& r);
void add_account_routes(router& r);
void add_shop_routes(router& r);
void add_catalog_routes(router& r);
void add_offer_routes(router& r);
void add_cart_routes(router& r);
void add_order_routes(router& r);
void add_crew_routes(router& r);
void add_staff_routes(router& r);
void add_analytics_routes(router& r);
void add_admin_routes(router& r);
/// Every route of the API, all areas above: what the server serves and what the OpenAPI and
/// authorization tests check against.
void add_api_routes(router& r);
/// PUT /api/v1/test/clock — registered only when the `test_clock` config key is on.
void add_test_clock_route(router& r);

/// Roles shorthand.
extern const role_set any_role;
extern const role_set staff_only;

}  // namespace wassally::http
