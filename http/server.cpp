#include "http/server.hpp"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <algorithm>

#include <atomic>
#include <caf/event_based_actor.hpp>
#include <mutex>
#include <unordered_map>

#include "http/cors.hpp"
#include "http/event_streams.hpp"
#include "http/metrics.hpp"
#include "http/pagination.hpp"
#include "http/request_guard.hpp"
#include "http/routes.hpp"
#include "protocols/accounts.hpp"

namespace wassally::http {
namespace {

using namespace Pistache;

/// Users whose access tokens were lately confirmed against the database (the user still exists,
/// is active and has the token's role): a signature alone cannot tell that a user was
/// deactivated or deleted after the token was issued. Entries live `services::user_recheck`.
class confirmed_users {
 public:
  using clock = std::chrono::steady_clock;
  bool fresh(const security::principal& p, clock::time_point now) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(p.user_id);
    return it != entries_.end() && it->second.until > now && it->second.role == p.role;
  }
  void remember(int64_t user_id, const std::string& role, clock::time_point until) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.size() >= max_entries) {
      auto now = clock::now();
      for (auto it = entries_.begin(); it != entries_.end();)
        it = it->second.until <= now ? entries_.erase(it) : std::next(it);
      if (entries_.size() >= max_entries) entries_.clear();
    }
    entries_[user_id] = {role, until};
  }

 private:
  static constexpr std::size_t max_entries = 100000;
  struct entry {
    std::string role;
    clock::time_point until;
  };
  std::mutex mutex_;
  std::unordered_map<int64_t, entry> entries_;
};

struct edge_state {
  router routes;
  services svc;
  std::shared_ptr<const body_limits> limits;
  cors_policy cors;
  confirmed_users users;
  std::atomic<bool> draining{false};
};

/// The role check (403), then the route.
void authorize_and_handle(const route& r, request_context& ctx) {
  if (!r.roles.empty() && !r.roles.count(ctx.caller->role))
    throw api_exception(errors::forbidden("your role may not do this"));
  r.handle(ctx);
}

/// Confirms the caller's user (exists, active, same role as the token) with the accounts actor,
/// then runs the route from the reply. A token of a user who is gone or deactivated is 401 on a
/// protected route and no token at all on a public one (so /health never needs the database).
void confirm_user_then_handle(std::shared_ptr<edge_state> st, const route* r, request_context ctx) {
  auto accounts = st->svc.accounts;
  auto timeout = st->svc.timeout;
  me_request ask_user{ctx.caller->user_id};
  st->svc.system->spawn([=](caf::event_based_actor* self) mutable {
    auto run = [=](request_context c) mutable {
      answering_errors(*c.out, [&] {
        if (c.caller)
          authorize_and_handle(*r, c);
        else
          r->handle(c);
      });
    };
    auto gone = [=](request_context c) mutable {
      if (!r->roles.empty()) {
        c.out->error(errors::unauthenticated(
            "the user of this access token no longer exists or is deactivated"));
        return;
      }
      c.caller.reset();
      run(std::move(c));
    };
    self->request(accounts, timeout, ask_user)
        .then(
            [=](user_record& u) mutable {
              if (!u.is_active || u.role != ctx.caller->role) {
                gone(ctx);
                return;
              }
              st->users.remember(u.id, u.role,
                                 confirmed_users::clock::now() + st->svc.user_recheck);
              run(ctx);
            },
            [=](caf::error& err) mutable {
              // Gone, or unknown for now (database unreachable): a public route answers as to
              // anyone without a token, a protected one with the error.
              auto e = from_caf_error(err);
              if (e.status == 401 || e.status == 404 || r->roles.empty())
                gone(ctx);
              else
                ctx.out->error(e);
            });
  });
}

bool has_body_method(const std::string& m) { return m == "POST" || m == "PUT" || m == "PATCH"; }

std::string bearer_token(const Http::Request& req) {
  if (auto auth = req.headers().tryGet<Http::Header::Authorization>()) {
    auto value = auth->value();
    if (value.rfind("Bearer ", 0) == 0) return value.substr(7);
  }
  if (auto q = req.query().get("access_token")) return url_decode(*q);
  return {};
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class edge_handler : public Http::Handler {
 public:
  HTTP_PROTOTYPE(edge_handler)

  explicit edge_handler(std::shared_ptr<edge_state> st) : st_(std::move(st)) {}

  void onConnection(const std::shared_ptr<Tcp::Peer>& peer) override {
    install_guarded_parser(peer, getMaxRequestSize(), st_->limits);
    mark_connection_open(peer);
  }

  void onDisconnection(const std::shared_ptr<Tcp::Peer>& peer) override {
    mark_connection_closed(peer);
    Http::Handler::onDisconnection(peer);
  }

  void onRequest(const Http::Request& req, Http::ResponseWriter response) override {
    auto verdict = check_parsed_request(response);
    if (verdict.drop) return;
    if (verdict.refusal) {
      auto out = std::make_shared<responder>(std::move(response), st_->svc.metrics, "-", false);
      out->set_transport(transport());
      out->add_headers(st_->cors.answer_headers(origin_of(req)));
      out->error(*verdict.refusal);
      return;
    }
    auto method = Http::methodString(req.method());
    auto connection = req.headers().tryGet<Http::Header::Connection>();
    bool keep_alive = connection ? connection->control() == Http::ConnectionControl::KeepAlive
                                 : req.version() == Http::Version::Http11;
    auto out =
        std::make_shared<responder>(std::move(response), st_->svc.metrics, method, keep_alive);
    out->set_transport(transport());
    // Every answer of this exchange, refusals included, carries the CORS headers its origin
    // gets: a browser shows a dashboard the real error only then.
    auto origin = origin_of(req);
    out->add_headers(st_->cors.answer_headers(origin));
    if (req.method() == Http::Method::Options) {
      answer_options(req, out, origin);
      return;
    }
    answering_errors(*out, [&] { handle(req, out, method); });
  }

 private:
  static std::string origin_of(const Http::Request& req) {
    auto raw = req.headers().tryGetRaw("Origin");
    return raw ? raw->value() : std::string();
  }

  /// OPTIONS (a CORS preflight, or a plain question): 204 with the methods of the path's routes.
  void answer_options(const Http::Request& req, const responder_ptr& out,
                      const std::string& origin) {
    auto methods = st_->routes.methods_for(req.resource());
    if (methods.empty()) {
      out->error(errors::not_found("no such endpoint"));
      return;
    }
    out->set_route("OPTIONS");
    out->text(204, "", "", st_->cors.preflight_headers(origin, methods));
  }

  void handle(const Http::Request& req, const responder_ptr& out, const std::string& method) {
    if (st_->draining.load()) {
      out->error(errors::unavailable("the server is shutting down"));
      return;
    }
    request_context ctx;
    ctx.svc = &st_->svc;
    ctx.out = out;
    ctx.method = method;
    ctx.path = req.resource();
    if (!valid_utf8(ctx.path)) throw api_exception(errors::not_found("no such endpoint"));
    for (const auto& name : req.query().parameters())
      if (auto v = req.query().get(name)) ctx.query[name] = decode_query_value(name, *v);
    if (auto host = req.headers().tryGet<Http::Header::Host>()) {
      ctx.host = host->host();
      auto port = host->port().toString();
      if (!port.empty() && port != "80" && port != "0") ctx.host += ":" + port;
    }
    for (auto [name, key] :
         {std::pair<const char*, const char*>{"Idempotency-Key", "idempotency-key"},
          {"Last-Event-ID", "last-event-id"},
          {"If-None-Match", "if-none-match"}})
      if (auto raw = req.headers().tryGetRaw(name)) ctx.headers[key] = raw->value();
    // Pistache keeps Accept only parsed (media ranges with their q): its types, listed again.
    if (auto accept = req.headers().tryGet<Http::Header::Accept>()) {
      std::string listed;
      for (const auto& range : accept->media()) {
        if (!listed.empty()) listed += ", ";
        listed += range.toString();
      }
      ctx.headers["accept"] = listed;
    }
    ctx.client_address = req.address().host();
    ctx.loopback = ctx.client_address == "127.0.0.1" || ctx.client_address == "::1" ||
                   ctx.client_address.rfind("127.", 0) == 0;
    api_error not_matched;
    auto* r = st_->routes.match(method, ctx.path, ctx.params, not_matched);
    if (!r) {
      out->error(not_matched);
      return;
    }
    ctx.route = r->pattern;
    out->set_route(r->pattern);

    if (auto host = ctx.host; !host.empty() || !st_->svc.media.public_base_url.empty())
      ctx.media_base = st_->svc.media.public_base_url.empty() ? "http://" + host
                                                              : st_->svc.media.public_base_url;
    if (r->picture_upload) {
      // The route judges the bytes itself (raw picture or multipart); one copy out of
      // Pistache's buffer (it hands out no other), shared from here on.
      if (req.body().size() > st_->limits->upload_bytes)
        throw api_exception(errors::payload_too_large(st_->svc.media.max_image_bytes));
      if (auto raw = req.headers().tryGetRaw("Content-Type")) ctx.content_type = raw->value();
      ctx.upload = std::make_shared<const std::string>(req.body());
    } else if (has_body_method(method) && !req.body().empty()) {
      if (req.body().size() > st_->svc.max_body_bytes)
        throw api_exception(errors::payload_too_large(st_->svc.max_body_bytes));
      auto type = req.headers().tryGet<Http::Header::ContentType>();
      auto mime = type ? type->mime().toString() : std::string();
      if (mime.rfind("application/json", 0) != 0)
        throw api_exception(errors::unsupported_media_type());
      if (!valid_utf8(req.body()))
        throw api_exception(errors::malformed_json("the body is not valid UTF-8"));
    }
    if (!r->picture_upload) ctx.body = req.body();

    auto token = bearer_token(req);
    if (!token.empty()) ctx.caller = st_->svc.signer->verify_access(token, unix_now());
    if (!r->roles.empty() && !ctx.caller)
      throw api_exception(errors::unauthenticated(
          token.empty() ? "authentication required" : "the access token is invalid or expired"));
    if (!ctx.caller) {
      r->handle(ctx);
      return;
    }
    if (!st_->users.fresh(*ctx.caller, confirmed_users::clock::now())) {
      confirm_user_then_handle(st_, r, std::move(ctx));
      return;
    }
    authorize_and_handle(*r, ctx);
  }

  std::shared_ptr<edge_state> st_;
};

}  // namespace

struct server::impl {
  server_options opts;
  std::shared_ptr<edge_state> state = std::make_shared<edge_state>();
  std::unique_ptr<Http::Endpoint> endpoint;
};

void add_api_routes(router& r) {
  add_service_routes(r);
  add_account_routes(r);
  add_shop_routes(r);
  add_catalog_routes(r);
  add_offer_routes(r);
  add_cart_routes(r);
  add_order_routes(r);
  add_crew_routes(r);
  add_staff_routes(r);
  add_analytics_routes(r);
  add_admin_routes(r);
  add_media_routes(r);
}

server::server(server_options opts, services svc) : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(opts);
  impl_->state->svc = std::move(svc);
  impl_->state->svc.max_body_bytes = impl_->opts.max_body_bytes;
  add_api_routes(impl_->state->routes);
  if (impl_->opts.test_clock) add_test_clock_route(impl_->state->routes);
  auto limits = std::make_shared<body_limits>();
  limits->json_bytes = impl_->opts.max_body_bytes;
  limits->upload_bytes = impl_->opts.max_upload_body_bytes;
  // The route table outlives every connection (both belong to the server's edge state).
  limits->is_upload = [routes = &impl_->state->routes](const std::string& m, const std::string& p) {
    return routes->is_upload(m, p);
  };
  impl_->state->limits = std::move(limits);
  impl_->state->cors =
      cors_policy::parse(impl_->opts.cors_allowed_origins, impl_->opts.cors_max_age_s);
}

server::~server() { stop(); }

void server::start() {
  Address addr(impl_->opts.host, Port(impl_->opts.port));
  impl_->endpoint = std::make_unique<Http::Endpoint>(addr);
  // Headers may add up to 16 KiB beyond the largest body we accept (a picture upload's); the
  // guard refuses a body over its route's limit before Pistache buffers it.
  auto options =
      Http::Endpoint::options()
          .threads(impl_->opts.threads)
          .flags(Tcp::Options::ReuseAddr)
          .maxRequestSize(std::max(impl_->opts.max_body_bytes, impl_->opts.max_upload_body_bytes) +
                          16 * 1024)
          .maxResponseSize(64 * 1024 * 1024)
          .keepaliveTimeout(std::chrono::seconds(impl_->opts.keepalive_timeout_s))
          .headerTimeout(std::chrono::seconds(impl_->opts.header_timeout_s))
          // Uploads only (http/request_guard.hpp): JSON bodies keep the header timeout.
          .bodyTimeout(std::chrono::seconds(
              std::max(impl_->opts.header_timeout_s, impl_->opts.upload_timeout_s)));
  impl_->endpoint->init(options);
  impl_->endpoint->setHandler(std::make_shared<edge_handler>(impl_->state));
  impl_->endpoint->serveThreaded();
}

void server::drain() { impl_->state->draining = true; }

void server::stop() {
  if (impl_ && impl_->endpoint) {
    impl_->endpoint->shutdown();
    impl_->endpoint.reset();
  }
}

uint16_t server::port() const {
  return impl_->endpoint ? static_cast<uint16_t>(impl_->endpoint->getPort()) : impl_->opts.port;
}

const router& server::routes() const { return impl_->state->routes; }

}  // namespace wassally::http
