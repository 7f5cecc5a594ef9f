// Service endpoints: /health, /ready, /metrics, /api/openapi.json, /api/docs.
#include <sstream>

#include "actors/order_recovery.hpp"
#include "actors/persistence_actor.hpp"
#include "http/ask.hpp"
#include "http/metrics.hpp"
#include "http/operator_figures.hpp"
#include "http/routes.hpp"
#include "http/web_assets.hpp"
#include "persistence/migrations.hpp"
#include "protocols/accounts.hpp"
#include "protocols/crews.hpp"
#include "protocols/registry.hpp"

namespace wassally::embedded {
extern const char* const openapi_json;
}  // namespace wassally::embedded

namespace wassally::http {
namespace {

std::string render_recovery_metrics(const recovery_progress* r) {
  if (!r) return {};
  std::string out;
  out +=
      "# HELP wassally_recovery_done 1 once open orders were recovered after the start.\n"
      "# TYPE wassally_recovery_done gauge\nwassally_recovery_done " +
      std::string(r->done ? "1" : "0") + "\n";
  out +=
      "# HELP wassally_recovery_orders Open orders adopted as live actors at start.\n"
      "# TYPE wassally_recovery_orders gauge\nwassally_recovery_orders " +
      std::to_string(r->orders.load()) + "\n";
  if (r->done)
    out +=
        "# HELP wassally_recovery_seconds How long recovering the open orders took.\n"
        "# TYPE wassally_recovery_seconds gauge\nwassally_recovery_seconds " +
        std::to_string(static_cast<double>(r->microseconds.load()) / 1e6) + "\n";
  return out;
}

std::string render_page_cache_metrics(const page_cache* pages) {
  if (!pages) return {};
  std::string out;
  out +=
      "# HELP wassally_product_page_cache_hits_total Product pages answered from the page "
      "cache.\n# TYPE wassally_product_page_cache_hits_total counter\n"
      "wassally_product_page_cache_hits_total " +
      std::to_string(pages->hits()) + "\n";
  out +=
      "# HELP wassally_product_page_cache_misses_total Product pages rendered by their shop "
      "actor.\n# TYPE wassally_product_page_cache_misses_total counter\n"
      "wassally_product_page_cache_misses_total " +
      std::to_string(pages->misses()) + "\n";
  out +=
      "# HELP wassally_product_page_cache_pages Rendered product pages kept.\n"
      "# TYPE wassally_product_page_cache_pages gauge\nwassally_product_page_cache_pages " +
      std::to_string(pages->size()) + "\n";
  return out;
}

std::string render_actor_metrics(const operator_figures& f) {
  const auto& rs = f.registry;
  const auto& ps = f.persistence;
  auto subscribers = f.subscribers;
  std::ostringstream out;
  out << "# HELP wassally_actors_live Live entity actors by kind.\n"
         "# TYPE wassally_actors_live gauge\n";
  for (auto& k : rs.kinds)
    out << "wassally_actors_live{kind=\"" << k.kind << "\"} " << k.live << "\n";
  out << "# HELP wassally_actor_activations_total Entity actor activations by kind.\n"
         "# TYPE wassally_actor_activations_total counter\n";
  for (auto& k : rs.kinds)
    out << "wassally_actor_activations_total{kind=\"" << k.kind << "\"} " << k.activations << "\n";
  out << "# HELP wassally_actor_passivations_total Entity actor passivations by kind.\n"
         "# TYPE wassally_actor_passivations_total counter\n";
  for (auto& k : rs.kinds)
    out << "wassally_actor_passivations_total{kind=\"" << k.kind << "\"} " << k.passivations
        << "\n";
  out << "# HELP wassally_persistence_queue_depth Database commands waiting for a worker.\n"
         "# TYPE wassally_persistence_queue_depth gauge\n"
      << "wassally_persistence_queue_depth " << ps.queue_depth << "\n";
  out << "# HELP wassally_db_pool_in_use Database connections running a batch.\n"
         "# TYPE wassally_db_pool_in_use gauge\n"
      << "wassally_db_pool_in_use " << ps.busy_workers << "\n"
      << "# HELP wassally_db_pool_size Database connections.\n"
         "# TYPE wassally_db_pool_size gauge\n"
      << "wassally_db_pool_size " << ps.workers << "\n";
  out << "# HELP wassally_persistence_batch_size Commands per database transaction.\n"
         "# TYPE wassally_persistence_batch_size histogram\n";
  int64_t cumulative = 0;
  for (int i = 0; i < batch_size_bound_count; ++i) {
    cumulative += ps.batch_size_buckets[i];
    out << "wassally_persistence_batch_size_bucket{le=\"" << batch_size_bounds[i] << "\"} "
        << cumulative << "\n";
  }
  cumulative += ps.batch_size_buckets.back();
  out << "wassally_persistence_batch_size_bucket{le=\"+Inf\"} " << cumulative << "\n"
      << "wassally_persistence_batch_size_sum " << ps.commands << "\n"
      << "wassally_persistence_batch_size_count " << ps.batches << "\n";
  out << "# HELP wassally_persistence_commit_seconds Latency of committed write batches.\n"
         "# TYPE wassally_persistence_commit_seconds histogram\n";
  cumulative = 0;
  for (int i = 0; i < commit_latency_bound_count; ++i) {
    cumulative += ps.commit_latency_buckets[i];
    out << "wassally_persistence_commit_seconds_bucket{le=\"" << commit_latency_bounds[i] << "\"} "
        << cumulative << "\n";
  }
  cumulative += ps.commit_latency_buckets.back();
  out << "wassally_persistence_commit_seconds_bucket{le=\"+Inf\"} " << cumulative << "\n"
      << "wassally_persistence_commit_seconds_sum " << ps.commit_seconds_total << "\n"
      << "wassally_persistence_commit_seconds_count " << cumulative << "\n";
  out << "# HELP wassally_persistence_merged_commands_total Commands written in one statement "
         "with others of their kind (placements of one group commit).\n"
         "# TYPE wassally_persistence_merged_commands_total counter\n"
      << "wassally_persistence_merged_commands_total " << ps.merged_commands << "\n";
  out << "# HELP wassally_persistence_failed_batches_total Batches that did not commit.\n"
         "# TYPE wassally_persistence_failed_batches_total counter\n"
      << "wassally_persistence_failed_batches_total " << ps.failed_batches << "\n";
  out << "# HELP wassally_db_read_pool_size Database connections that run only reads.\n"
         "# TYPE wassally_db_read_pool_size gauge\n"
      << "wassally_db_read_pool_size " << ps.read_workers << "\n"
      << "# HELP wassally_db_workers_replaced_total Database workers replaced because their "
         "batch hung (db_hang_timeout_ms).\n"
         "# TYPE wassally_db_workers_replaced_total counter\n"
      << "wassally_db_workers_replaced_total " << ps.replaced_workers << "\n"
      << "# HELP wassally_persistence_expired_commands_total Commands whose deadline passed "
         "while queued (answered 504 not_written, never run).\n"
         "# TYPE wassally_persistence_expired_commands_total counter\n"
      << "wassally_persistence_expired_commands_total " << ps.expired_commands << "\n"
      << "# HELP wassally_persistence_hot_keys Lock keys (shops) whose writes now run alone.\n"
         "# TYPE wassally_persistence_hot_keys gauge\n"
      << "wassally_persistence_hot_keys " << ps.hot_keys << "\n";
  out << "# HELP wassally_event_bus_subscriptions Event bus subscriptions.\n"
         "# TYPE wassally_event_bus_subscriptions gauge\n"
      << "wassally_event_bus_subscriptions " << subscribers << "\n";
  out << "# HELP wassally_sse_streams_open Server-Sent Event streams open (orders and staff).\n"
         "# TYPE wassally_sse_streams_open gauge\n"
      << "wassally_sse_streams_open " << f.streams_open << "\n";
  out << "# HELP wassally_dispatch_pending_orders Pending orders in the dispatcher's index.\n"
         "# TYPE wassally_dispatch_pending_orders gauge\n"
      << "wassally_dispatch_pending_orders " << f.pending_indexed << "\n";
  out << "# HELP wassally_actor_mailbox_max Largest mailbox among live actors of a kind (a survey "
         "asks at most 2000 per kind).\n"
         "# TYPE wassally_actor_mailbox_max gauge\n";
  for (auto& m : f.mailboxes.kinds)
    out << "wassally_actor_mailbox_max{kind=\"" << m.kind << "\"} " << m.max << "\n";
  out << "# HELP wassally_actor_mailbox_messages Messages waiting in the surveyed live actors' "
         "mailboxes.\n"
         "# TYPE wassally_actor_mailbox_messages gauge\n";
  for (auto& m : f.mailboxes.kinds)
    out << "wassally_actor_mailbox_messages{kind=\"" << m.kind << "\"} " << m.total << "\n";
  out << "# HELP wassally_orders Orders by status.\n"
         "# TYPE wassally_orders gauge\n";
  for (auto& [status, n] : f.overview.orders_by_status)
    out << "wassally_orders{status=\"" << status << "\"} " << n << "\n";
  out << "# HELP wassally_crews_available Crews with status available.\n"
         "# TYPE wassally_crews_available gauge\n"
      << "wassally_crews_available " << f.overview.active_crews << "\n";
  out << "# HELP wassally_http_requests_in_flight HTTP requests not yet answered.\n"
         "# TYPE wassally_http_requests_in_flight gauge\n"
      << "wassally_http_requests_in_flight " << responder::in_flight() << "\n";
  return out.str();
}

}  // namespace

namespace {

/// A page of the server's web files, under its Content-Security-Policy.
void send_page(request_context& ctx, web_assets::site site, const char* name,
               const std::string& policy) {
  const auto* page = ctx.svc->web ? ctx.svc->web->find(site, name) : nullptr;
  if (!page)
    throw api_exception(errors::unavailable(
        "this page's files are not installed (scripts/setup installs them into web/)"));
  ctx.out->text(200, page->bytes, page->content_type,
                {{"Content-Security-Policy", policy},
                 {"X-Content-Type-Options", "nosniff"},
                 {"Referrer-Policy", "no-referrer"},
                 {"Cache-Control", "no-cache"}});
}

/// One file a page loads ({file} of the path), never the page itself.
void send_asset(request_context& ctx, web_assets::site site, const char* page) {
  const auto& name = ctx.params.at("file");
  const auto* f = ctx.svc->web ? ctx.svc->web->find(site, name) : nullptr;
  if (!f || name == page) throw api_exception(errors::not_found("no such file"));
  ctx.out->text(200, f->bytes, f->content_type,
                {{"Cache-Control", "no-cache"}, {"X-Content-Type-Options", "nosniff"}});
}

}  // namespace

void add_service_routes(router& r) {
  r.add(
      "GET", "/health", {},
      [](request_context& ctx) {
        ctx.out->json(200, {{"status", "ok"}});
      },
      "Liveness");

  r.add(
      "GET", "/ready", {},
      [](request_context& ctx) {
        auto out = ctx.out;
        ask<done>(
            ctx, ctx.svc->persistence,
            [out](done&) {
              out->json(200, {{"status", "ready"}});
            },
            db::schema_check());
      },
      "Readiness: database reachable and migrated");

  r.add(
      "GET", "/metrics", {},
      [](request_context& ctx) {
        // Loopback, or a staff token.
        if (!ctx.loopback) {
          if (!ctx.caller) throw api_exception(errors::unauthenticated());
          if (ctx.caller->role != roles::staff) throw api_exception(errors::forbidden());
        }
        auto c = ctx;
        gather_operator_figures(ctx, [c](const operator_figures& f) {
          c.out->text(200,
                      c.svc->metrics->render() + render_actor_metrics(f) +
                          render_page_cache_metrics(c.svc->product_pages) +
                          render_recovery_metrics(c.svc->recovery),
                      "text/plain; version=0.0.4");
        });
      },
      "Prometheus metrics (loopback or staff)");

  r.add(
      "GET", "/api/openapi.json", {},
      [](request_context& ctx) { ctx.out->text(200, embedded::openapi_json, "application/json"); },
      "This API as OpenAPI 3");

  r.add(
      "GET", "/api/docs", {},
      [](request_context& ctx) {
        // Swagger UI sets inline styles; no inline script runs, and nothing loads from elsewhere.
        send_page(ctx, web_assets::site::docs, "docs.html",
                  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                  "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'");
      },
      "API documentation page (Swagger UI over /api/openapi.json, with try it out)");
  r.add(
      "GET", "/api/docs/assets/{file}", {},
      [](request_context& ctx) { send_asset(ctx, web_assets::site::docs, "docs.html"); },
      "Files of the API documentation page (Swagger UI from npm, shipped in web/)");

  r.add(
      "GET", "/console", {},
      [](request_context& ctx) {
        // The console's own modules and Chart.js only; every request goes to this server.
        // Pictures may come from the shops' external image URLs.
        send_page(ctx, web_assets::site::console, "index.html",
                  "default-src 'self'; script-src 'self'; style-src 'self'; "
                  "img-src 'self' data: https: http:; connect-src 'self'; "
                  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
                  "object-src 'none'");
      },
      "Staff and operator console (order board, crews, overview, actor inspector; owners' sales "
      "charts)");
  r.add(
      "GET", "/console/assets/{file}", {},
      [](request_context& ctx) { send_asset(ctx, web_assets::site::console, "index.html"); },
      "Files of the console (its modules, style sheet and Chart.js, shipped in web/)");
}

}  // namespace wassally::http
