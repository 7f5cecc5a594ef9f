// wassally: the server binary. Subcommands: serve (default), migrate, create-staff USER.
#include <sys/resource.h>
#include <sys/stat.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/after.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <csignal>
#include <fstream>
#include <functional>
#include <iostream>
#include <pqxx/pqxx>
#include <thread>

#include "actors/accounts.hpp"
#include "actors/cart.hpp"
#include "actors/crew.hpp"
#include "actors/db_worker.hpp"
#include "actors/dispatcher.hpp"
#include "actors/event_bus.hpp"
#include "actors/housekeeping.hpp"
#include "actors/lease_keeper.hpp"
#include "actors/media_sweeper.hpp"
#include "actors/order.hpp"
#include "actors/order_desk.hpp"
#include "actors/order_recovery.hpp"
#include "actors/password_hasher.hpp"
#include "actors/persistence_actor.hpp"
#include "actors/reconciler.hpp"
#include "actors/registry.hpp"
#include "actors/shard_router.hpp"
#include "actors/shop.hpp"
#include "actors/shop_directory.hpp"
#include "actors/staff_desk.hpp"
#include "config/config.hpp"
#include "http/event_streams.hpp"
#include "http/json_body.hpp"
#include "http/media_cache.hpp"
#include "http/metrics.hpp"
#include "http/server.hpp"
#include "http/web_assets.hpp"
#include "media/image_pipeline.hpp"
#include "media/media_store.hpp"
#include "media/work_pool.hpp"
#include "persistence/database.hpp"
#include "persistence/migrations.hpp"
#include "protocols/accounts.hpp"
#include "protocols/errors.hpp"
#include "protocols/types.hpp"
#include "security/tokens.hpp"

extern char** environ;

namespace wassally {
namespace {

void print_help() {
  std::cout
      << "wassally — multi-vendor delivery platform backend\n\n"
         "usage: wassally [--config FILE] [serve | migrate | create-staff USERNAME]\n\n"
         "  serve                 apply migrations and serve the REST API (default)\n"
         "  migrate               apply pending database migrations and exit\n"
         "  create-staff USERNAME create a staff account if it does not exist; the password\n"
         "                        comes from WASSALLY_STAFF_PASSWORD or the first line of stdin\n\n"
         "Configuration: built-in defaults, then the config file (--config or\n"
         "WASSALLY_CONFIG), then environment variables WASSALLY_<KEY> (DATABASE_URL for\n"
         "database_url). Keys:\n";
  for (auto& [key, help] : config::describe())
    std::cout << "  " << key << std::string(key.size() < 24 ? 24 - key.size() : 1, ' ') << help
              << "\n";
}

std::unique_ptr<pqxx::connection> connect_with_retry(const config& cfg, int attempts) {
  for (int i = 1;; ++i) {
    try {
      return db::connect(cfg.database_url, cfg.db_connect_timeout_s);
    } catch (const std::exception& e) {
      if (i >= attempts) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
}

std::string ensure_token_secret(const config& cfg) {
  if (!cfg.token_secret.empty()) return cfg.token_secret;
  auto path = cfg.var_dir + "/token_secret";
  std::ifstream in(path);
  std::string secret;
  if (in && std::getline(in, secret) && secret.size() >= 32) return secret;
  ::mkdir(cfg.var_dir.c_str(), 0700);
  secret = security::random_secret();
  auto old = ::umask(077);
  std::ofstream out(path, std::ios::trunc);
  ::umask(old);
  out << secret << "\n";
  if (!out) throw std::runtime_error("cannot write the token secret to " + path);
  std::cerr << "wassally: generated a token secret in " << path << "\n";
  return secret;
}

struct runtime {
  caf::actor_system_config caf_cfg;
  std::unique_ptr<caf::actor_system> system;
  caf::actor persistence, event_bus, registry, hashers, accounts, shop_directory, order_desk,
      dispatcher, staff_desk;
  caf::actor event_streams;  // spawned with the HTTP edge; ended here on every path
  std::shared_ptr<catalog_stamps> stamps = std::make_shared<catalog_stamps>();
  std::shared_ptr<recovery_progress> recovery = std::make_shared<recovery_progress>();
  caf::actor recoverer;      // order recovery, while it runs
  caf::actor housekeeping;   // purges (serve only)
  caf::actor reconciler;     // anti-entropy (serve only)
  caf::actor media_sweeper;  // unreferenced pictures removed (serve only)
  caf::actor lease_keeper;   // cluster mode: this node's shard leases (serve only)
  caf::actor shard_router;   // cluster mode with NATS: forwards to other nodes (serve only)
  std::shared_ptr<cluster_status> cluster = std::make_shared<cluster_status>();
  int64_t incarnation = new_incarnation();  // cluster mode: this process, in heartbeats and claims
  std::shared_ptr<order_actor_counters> order_counters = std::make_shared<order_actor_counters>();
  std::shared_ptr<reconcile_figures> reconciled = std::make_shared<reconcile_figures>();
  std::shared_ptr<housekeeping_figures> purged = std::make_shared<housekeeping_figures>();
  shop_directory_caches directory_caches;

  explicit runtime(const config& cfg) {
    register_message_types(caf_cfg);
    caf_cfg.set("scheduler.max-threads", static_cast<size_t>(cfg.scheduler_threads));
    caf_cfg.set("scheduler.policy",
                cfg.scheduler_policy == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
    caf_cfg.set("work-stealing.moderate-sleep-duration",
                caf::timespan(std::chrono::microseconds(cfg.scheduler_poll_sleep_us)));
    caf_cfg.set("logger.console", caf::atom("none"));
    system = std::make_unique<caf::actor_system>(caf_cfg);
    persistence = spawn_persistence(
        *system, {cfg.database_url, cfg.db_pool_size, cfg.db_connect_timeout_s, cfg.batch_max_size,
                  cfg.batch_max_wait_us, cfg.db_lock_timeout_ms, cfg.db_plan_refresh_ms,
                  cfg.db_read_pool_size, cfg.db_statement_timeout_ms, cfg.db_hang_timeout_ms,
                  cfg.db_hot_key_ms, cfg.db_hot_key_cool_ms, cfg.cluster_node_id,
                  cfg.cluster_node_id.empty() ? 0 : cfg.cluster_lease_ttl_ms,
                  cfg.cluster_node_id.empty() ? 0 : cfg.cluster_zone_deg});
    event_bus = spawn_event_bus(*system);
    auto db_timeout = std::chrono::milliseconds(cfg.request_timeout_ms);
    auto idle = std::chrono::seconds(cfg.idle_passivation_s);
    hashers = spawn_password_hashers(*system, cfg.hash_workers, cfg.password_ops_limit,
                                     cfg.password_mem_limit_kib);
    directory_caches.product_shops = static_cast<std::size_t>(cfg.product_shop_cache_size);
    directory_caches.offer_shops = static_cast<std::size_t>(cfg.offer_shop_cache_size);
    shop_directory =
        spawn_shop_directory(*system, persistence, hashers, db_timeout, directory_caches);
    placement_services ps;
    ps.shop_directory = shop_directory;
    ps.persistence = persistence;
    ps.event_bus = event_bus;
    ps.timeout = db_timeout;
    auto fee = money::parse(cfg.delivery_fee);
    if (!fee || fee->cents < 0)
      throw std::runtime_error("config key 'delivery_fee': expected a decimal amount >= 0");
    ps.delivery_fee = *fee;
    ps.coins_per_order = cfg.coins_per_order;
    ps.idempotency_stale_s = cfg.idempotency_stale_s;
    if (!cfg.cluster_node_id.empty())
      ps.claim_prefix = cfg.cluster_node_id + "/" + std::to_string(incarnation) + "/";
    escalation_options escalation;
    escalation.alert = std::chrono::seconds(cfg.pending_alert_s);
    escalation.expiry = std::chrono::seconds(cfg.pending_expiry_s);
    escalation.check_interval = std::chrono::milliseconds(cfg.pending_check_interval_ms);
    dispatch_options dispatch;
    dispatch.offers = cfg.dispatch_mode == "offer";
    dispatch.offer_timeout_s = cfg.offer_timeout_s;
    dispatch.radius_km = cfg.dispatch_radius_km;
    dispatch.radius_step_km = cfg.dispatch_radius_step_km;
    dispatch.widen_every = std::chrono::seconds(cfg.dispatch_widen_every_s);
    dispatch.max_radius_km = cfg.dispatch_max_radius_km;
    dispatch.reoffer_after = std::chrono::seconds(cfg.reoffer_after_s);
    dispatch.crew_max_orders = cfg.crew_max_orders;
    dispatch.crew_stale_after = std::chrono::seconds(cfg.dispatch_crew_stale_s);
    auto cluster_shards = cfg.cluster_node_id.empty() ? 0 : cfg.cluster_shards;
    dispatcher = spawn_dispatcher(*system, persistence, event_bus, db_timeout, escalation, dispatch,
                                  cluster_shards);
    shop_options so;
    so.idle = idle;
    so.db_timeout = db_timeout;
    so.reservation_timeout = std::chrono::seconds(cfg.reservation_timeout_s);
    so.event_bus = event_bus;
    so.coins_per_order = cfg.coins_per_order;
    so.stamps = stamps;
    if (cluster_shards > 0) so.placements = std::make_shared<const placement_services>(ps);
    crew_options co;
    co.max_orders = cfg.crew_max_orders;
    co.idle = idle;
    co.db_timeout = db_timeout;
    registry = spawn_registry(
        *system,
        {{entity_kind::shop, shop_factory(persistence, so)},
         {entity_kind::order,
          order_factory(persistence, event_bus, idle, db_timeout, order_counters,
                        std::chrono::seconds(cfg.crew_location_event_s),
                        eta_rules::settings{cfg.average_speed_kmh, cfg.route_factor})},
         {entity_kind::cart, cart_factory(ps, idle)},
         {entity_kind::crew, crew_factory(persistence, dispatcher, event_bus, co)}},
        cluster_shards);
    ps.registry = registry;
    set_dispatcher_registry(dispatcher, registry);
    if (cluster_shards > 0) watch_served_shards(registry, dispatcher);
    // Placed at the first shop's node only when requests can reach it (NATS routing).
    order_desk = spawn_order_desk(*system, ps, cluster_shards > 0 && !cfg.cluster_nats_url.empty());
    staff_desk = spawn_staff_desk(*system, persistence, db_timeout);
    accounts_options ao;
    ao.token_secret = ensure_token_secret(cfg);
    ao.access_ttl_s = cfg.access_ttl_s;
    ao.refresh_ttl_s = cfg.refresh_ttl_s;
    ao.login_max_failures = cfg.login_max_failures;
    ao.login_window_s = cfg.login_window_s;
    ao.request_timeout_ms = cfg.request_timeout_ms;
    ao.shared_limits = !cfg.cluster_node_id.empty();
    accounts = spawn_accounts(*system, ao, persistence, hashers);
  }

  ~runtime() {
    // The lease keeper first, and to its end: it drains this node's shards (nothing new served,
    // what the entities are doing ends) and releases the leases (the edge has drained by now),
    // so the other nodes take the shards over without waiting for the leases to expire; the
    // router and the entities keep answering until then.
    // Then the shard router, to its end too: it answers what other nodes sent before they
    // heard this node serves nothing, while the registry and entities still run.
    for (auto* first : {&lease_keeper, &shard_router})
      if (*first) {
        caf::scoped_actor waiter{*system};
        waiter->monitor(*first);
        caf::anon_send_exit(*first, caf::exit_reason::user_shutdown);
        waiter->receive([](caf::down_msg&) {}, caf::after(std::chrono::seconds(10)) >> [] {});
        *first = caf::actor{};
      }
    for (auto* a : {&media_sweeper, &reconciler, &housekeeping, &recoverer, &event_streams,
                    &staff_desk, &order_desk, &dispatcher, &shop_directory, &accounts, &hashers,
                    &registry, &event_bus, &persistence})
      if (*a) {
        caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
        // A detached actor's thread ends only once nothing refers to the actor any more.
        *a = caf::actor{};
      }
    system.reset();  // waits for every actor to finish
  }
};

/// Creates the staff account `spec` = "username:password" unless it exists. Throws with the
/// validation problem.
void create_staff(runtime& rt, const std::string& username, const std::string& password) {
  nlohmann::json body = {
      {"username", username}, {"password", password}, {"phone_number", "+1000000000"}};
  if (!http::valid_username(username)) throw std::runtime_error("invalid staff username");
  if (password.size() < 8) throw std::runtime_error("the staff password needs 8+ characters");
  register_user u;
  u.username = username;
  u.password = password;
  u.role = roles::staff;
  u.if_absent = true;
  // Staff phone numbers are unique like everyone's: derive a placeholder from the username.
  u.phone_number = "+999" + std::to_string(std::hash<std::string>{}(username) % 100000000000ULL);
  caf::scoped_actor self{*rt.system};
  bool ok = false;
  std::string problem;
  self->request(rt.accounts, std::chrono::seconds(30), u)
      .receive(
          [&](user_record& r) {
            ok = r.role == roles::staff;
            if (!ok) problem = "user " + username + " exists with role " + r.role;
          },
          [&](caf::error& e) { problem = from_caf_error(e).message; });
  if (!ok) throw std::runtime_error("create-staff failed: " + problem);
  std::cerr << "wassally: staff account '" << username << "' is present\n";
}

/// Cluster mode: the lease keeper, and its first round before anything is served or recovered
/// (the registry serves no shard until then).
void start_cluster_mode(runtime& rt, const config& cfg) {
  lease_keeper_options lo;
  lo.database_url = cfg.database_url;
  lo.connect_timeout_s = cfg.db_connect_timeout_s;
  lo.node = cfg.cluster_node_id;
  lo.url = cfg.cluster_public_url.empty() ? "http://" + cfg.host + ":" + std::to_string(cfg.port)
                                          : cfg.cluster_public_url;
  lo.shards = cfg.cluster_shards;
  lo.ttl = std::chrono::milliseconds(cfg.cluster_lease_ttl_ms);
  lo.max_moves = cfg.cluster_rebalance_moves;
  lo.registry = rt.registry;
  lo.status = rt.cluster;
  lo.incarnation = rt.incarnation;
  if (!cfg.cluster_nats_url.empty()) {
    shard_router_options ro;
    ro.nats_url = cfg.cluster_nats_url;
    ro.node = cfg.cluster_node_id;
    ro.shards = cfg.cluster_shards;
    ro.registry = rt.registry;
    ro.event_bus = rt.event_bus;
    ro.budget = std::chrono::milliseconds(cfg.request_timeout_ms);
    ro.status = rt.cluster;
    rt.shard_router = spawn_shard_router(*rt.system, ro);
    set_shard_router(rt.registry, rt.shard_router);
    relay_events(rt.event_bus, rt.shard_router);
  }
  rt.lease_keeper = spawn_lease_keeper(*rt.system, lo);
  // Ready once a lease round succeeded and (with routing) NATS is reached, or after a bound:
  // a node that cannot reach NATS still serves its own shards.
  auto deadline = std::chrono::steady_clock::now() +
                  std::max<std::chrono::milliseconds>(3 * lo.ttl, std::chrono::seconds(5));
  auto settled = [&] {
    auto s = rt.cluster->get();
    return s.rounds > 0 && (!rt.shard_router || s.routing == "connected");
  };
  while (std::chrono::steady_clock::now() < deadline && !settled())
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto s = rt.cluster->get();
  std::cerr << "wassally: cluster node " << cfg.cluster_node_id << ": holds " << s.held.size()
            << " of " << cfg.cluster_shards << " shards"
            << (s.rounds == 0 ? " (no lease round has succeeded yet: " + s.last_error + ")" : "")
            << "; routing " << s.routing << "\n";
}

int run_migrate(const config& cfg) {
  auto conn = connect_with_retry(cfg, 20);
  auto n = db::apply_migrations(*conn, db::embedded_migrations());
  std::cout << "applied " << n << " migration(s)\n";
  return 0;
}

/// Every open connection (event streams included) is a descriptor: use all the system allows.
void raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int run_serve(const config& cfg) {
  raise_file_limit();
  if (!cfg.cluster_node_id.empty() && cfg.token_secret.size() < 32)
    // A token one node signs must pass on every other: a secret each node generated for itself
    // in its own var_dir would not.
    throw std::runtime_error(
        "cluster mode needs token_secret (WASSALLY_TOKEN_SECRET, 32+ characters), the same on "
        "every node");
  if (cfg.run_migrations) {
    auto conn = connect_with_retry(cfg, 60);
    auto n = db::apply_migrations(*conn, db::embedded_migrations());
    if (n) std::cerr << "wassally: applied " << n << " migration(s)\n";
  }
  runtime rt(cfg);
  if (!cfg.bootstrap_staff.empty()) {
    auto colon = cfg.bootstrap_staff.find(':');
    if (colon == std::string::npos)
      throw std::runtime_error("WASSALLY_BOOTSTRAP_STAFF must be username:password");
    create_staff(rt, cfg.bootstrap_staff.substr(0, colon), cfg.bootstrap_staff.substr(colon + 1));
  }
  if (!cfg.cluster_node_id.empty()) start_cluster_mode(rt, cfg);
  if (cfg.recover_open_orders)
    rt.recoverer = spawn_order_recovery(*rt.system, rt.persistence, rt.registry, rt.recovery,
                                        cfg.recovery_page_size,
                                        std::chrono::milliseconds(cfg.request_timeout_ms));
  housekeeping_options hk;
  hk.interval = std::chrono::seconds(cfg.purge_interval_s);
  hk.batch_size = cfg.purge_batch_size;
  hk.db_timeout = std::chrono::milliseconds(cfg.request_timeout_ms);
  rt.housekeeping = spawn_housekeeping(*rt.system, rt.persistence, hk, rt.purged);
  reconciler_options ro;
  ro.persistence = rt.persistence;
  ro.registry = rt.registry;
  ro.dispatcher = rt.dispatcher;
  ro.interval = std::chrono::seconds(cfg.reconcile_interval_s);
  ro.db_timeout = std::chrono::milliseconds(cfg.request_timeout_ms);
  ro.figures = rt.reconciled;
  rt.reconciler = spawn_reconciler(*rt.system, ro);
  // Pictures: libvips with every loader but JPEG/PNG/WebP/HEIF blocked, the store, the pool
  // uploads are decoded on, and the sweep of files no row refers to.
  media::start_image_library("wassally", cfg.image_threads);
  auto media_store = std::make_shared<media::directory_store>(
      cfg.media_dir.empty() ? cfg.var_dir + "/media" : cfg.media_dir);
  media::work_pool image_pool(cfg.image_workers, static_cast<std::size_t>(cfg.image_queue));
  http::media_cache media_cache(cfg.media_cache_bytes);
  http::upload_rate_limit upload_rate(cfg.upload_rate_per_minute);
  auto media_sweeps = std::make_shared<media_sweep_figures>();
  media_sweep_options mso;
  mso.interval = std::chrono::seconds(cfg.media_sweep_interval_s);
  mso.grace = std::chrono::seconds(cfg.media_sweep_grace_s);
  rt.media_sweeper =
      spawn_media_sweeper(*rt.system, rt.persistence, media_store, mso, media_sweeps);
  http::http_metrics metrics;
  security::token_signer signer(ensure_token_secret(cfg));
  http::services svc;
  svc.system = rt.system.get();
  svc.persistence = rt.persistence;
  svc.registry = rt.registry;
  svc.event_bus = rt.event_bus;
  svc.accounts = rt.accounts;
  svc.shop_directory = rt.shop_directory;
  svc.order_desk = rt.order_desk;
  svc.staff_desk = rt.staff_desk;
  svc.dispatcher = rt.dispatcher;
  svc.event_streams = http::spawn_event_streams(*rt.system, rt.event_bus, rt.registry,
                                                std::chrono::milliseconds(cfg.request_timeout_ms),
                                                std::chrono::seconds(cfg.sse_keepalive_s));
  svc.timeout = std::chrono::milliseconds(cfg.request_timeout_ms);
  svc.metrics = &metrics;
  svc.signer = &signer;
  svc.stamps = rt.stamps.get();
  svc.recovery = rt.recovery.get();
  svc.cluster = rt.cluster.get();
  http::page_cache product_pages(static_cast<std::size_t>(cfg.product_page_cache_size));
  svc.product_pages = &product_pages;
  http::web_assets web(cfg.web_dir.empty() ? WASSALLY_WEB_DIR : cfg.web_dir);
  if (!web.missing().empty())
    std::cerr << "wassally: browser files missing (/api/docs or /console answer 503 or 404): "
              << web.missing() << " (scripts/setup installs them)\n";
  svc.web = &web;
  svc.media.store = media_store.get();
  svc.media.pool = &image_pool;
  svc.media.cache = &media_cache;
  svc.media.rate = &upload_rate;
  svc.media.sweeps = media_sweeps.get();
  svc.media.max_pixels = static_cast<uint64_t>(cfg.max_image_pixels);
  svc.media.max_image_bytes = cfg.max_image_bytes;
  svc.media.public_base_url = cfg.public_base_url;
  while (!svc.media.public_base_url.empty() && svc.media.public_base_url.back() == '/')
    svc.media.public_base_url.pop_back();
  {
    // Pictures: the pool's load, the rendition cache, libvips' pixel memory, the sweep.
    auto* pool = &image_pool;
    metrics.add_figure("wassally_image_jobs", "gauge",
                       "Picture uploads admitted to the image pool (running or waiting).", "",
                       [pool] { return static_cast<int64_t>(pool->load()); });
    metrics.add_figure("wassally_image_jobs_capacity", "gauge",
                       "Picture uploads the image pool admits at once.", "",
                       [pool] { return static_cast<int64_t>(pool->capacity()); });
    metrics.add_figure("wassally_image_memory_bytes", "gauge", "Pixel memory libvips holds now.",
                       "",
                       [] { return static_cast<int64_t>(media::image_library_memory().current); });
    metrics.add_figure("wassally_image_memory_highwater_bytes", "gauge",
                       "Most pixel memory libvips held at once since the start.", "", [] {
                         return static_cast<int64_t>(media::image_library_memory().highwater);
                       });
    auto* mc = &media_cache;
    metrics.add_figure("wassally_media_cache_bytes", "gauge",
                       "Rendition bytes kept in memory for GET /media.", "",
                       [mc] { return static_cast<int64_t>(mc->bytes()); });
    metrics.add_figure("wassally_media_cache_hits_total", "counter",
                       "GET /media answered from memory.", "",
                       [mc] { return static_cast<int64_t>(mc->hits()); });
    auto sweeps = media_sweeps;
    metrics.add_figure("wassally_media_sweep_runs_total", "counter", "Media sweeps done.", "",
                       [sweeps] { return sweeps->runs.load(); });
    metrics.add_figure("wassally_media_swept_total", "counter",
                       "Pictures (one size, both encodings) removed as no row refers to them.", "",
                       [sweeps] { return sweeps->removed.load(); });
  }
  if (!cfg.cluster_node_id.empty()) {
    // Cluster mode (CLUSTER.md): leases held, rounds, moves, fenced writes.
    auto cluster = rt.cluster;
    metrics.add_figure("wassally_cluster_shards_held", "gauge",
                       "Shards whose lease this node held after its last lease round.", "",
                       [cluster] { return static_cast<int64_t>(cluster->get().held.size()); });
    metrics.add_figure("wassally_cluster_lease_rounds_total", "counter",
                       "Lease rounds (heartbeat, renewal, claims, releases) by outcome.",
                       "outcome=\"ok\"", [cluster] { return cluster->get().rounds; });
    metrics.add_figure("wassally_cluster_lease_rounds_total", "counter",
                       "Lease rounds (heartbeat, renewal, claims, releases) by outcome.",
                       "outcome=\"failed\"", [cluster] { return cluster->get().failed_rounds; });
    for (auto how : {"claimed", "released", "lost"}) {
      std::string kind = how;
      metrics.add_figure(
          "wassally_cluster_shard_moves_total", "counter",
          "Shards this node claimed, gave up (rebalancing, shutdown) or found taken / run out.",
          "how=\"" + kind + "\"", [cluster, kind] {
            auto s = cluster->get();
            return kind == "claimed" ? s.claimed : kind == "released" ? s.released : s.lost;
          });
    }
    metrics.add_figure("wassally_fenced_writes_total", "counter",
                       "Writes refused because their shard's lease moved before they ran.", "",
                       [] { return fenced_writes_total(); });
    for (auto [outcome, field] : {std::pair{"answered", &cluster_snapshot::forwarded},
                                  std::pair{"not_owner", &cluster_snapshot::forward_fallbacks},
                                  std::pair{"timeout", &cluster_snapshot::forward_timeouts}})
      metrics.add_figure("wassally_cluster_forwards_total", "counter",
                         "Requests forwarded over NATS to the node serving their entity, by "
                         "outcome (not_owner: nobody served it in time or NATS was unreachable).",
                         "outcome=\"" + std::string(outcome) + "\"",
                         [cluster, field = field] { return cluster->get().*field; });
    metrics.add_figure("wassally_cluster_served_for_others_total", "counter",
                       "Requests other nodes forwarded here over NATS.", "",
                       [cluster] { return cluster->get().served_for_others; });
    metrics.add_figure("wassally_cluster_events_total", "counter",
                       "Events relayed over NATS: published for the other nodes (out), and "
                       "theirs delivered here (in).",
                       "direction=\"out\"", [cluster] { return cluster->get().events_out; });
    metrics.add_figure("wassally_cluster_events_total", "counter",
                       "Events relayed over NATS: published for the other nodes (out), and "
                       "theirs delivered here (in).",
                       "direction=\"in\"", [cluster] { return cluster->get().events_in; });
  }
  {
    // Bounded caches of derived data, and what housekeeping deleted.
    auto cache = [&](const std::string& name, std::function<int64_t()> entries,
                     std::function<int64_t()> evictions, int64_t capacity) {
      auto label = "cache=\"" + name + "\"";
      metrics.add_figure("wassally_cache_entries", "gauge", "Entries in a bounded cache.", label,
                         std::move(entries));
      metrics.add_figure("wassally_cache_capacity", "gauge", "Bound of a cache.", label,
                         [capacity] { return capacity; });
      metrics.add_figure("wassally_cache_evictions_total", "counter",
                         "Entries dropped from a full cache.", label, std::move(evictions));
    };
    for (auto& [name, f] :
         {std::make_pair(std::string("product_shop"), rt.directory_caches.product_figures),
          std::make_pair(std::string("offer_shop"), rt.directory_caches.offer_figures)})
      cache(
          name, [f = f] { return f->entries.load(); }, [f = f] { return f->evictions.load(); },
          static_cast<int64_t>(f->capacity));
    auto* pages = &product_pages;
    cache(
        "product_page", [pages] { return static_cast<int64_t>(pages->size()); },
        [pages] { return static_cast<int64_t>(pages->evictions()); },
        static_cast<int64_t>(pages->capacity()));
    auto purged = rt.purged;
    metrics.add_figure("wassally_purged_rows_total", "counter",
                       "Rows deleted by housekeeping purges.", "kind=\"idempotency_keys\"",
                       [purged] { return purged->idempotency_keys.load(); });
    metrics.add_figure("wassally_purged_rows_total", "counter",
                       "Rows deleted by housekeeping purges.", "kind=\"refresh_tokens\"",
                       [purged] { return purged->refresh_tokens.load(); });
    metrics.add_figure("wassally_purge_runs_total", "counter", "Housekeeping purge rounds done.",
                       "", [purged] { return purged->runs.load(); });
  }
  {
    // Anti-entropy: what the reconciler repaired, by kind (0 while nothing went wrong).
    auto r = rt.reconciled;
    auto repairs = [&](const char* kind, std::atomic<int64_t> reconcile_figures::*field) {
      metrics.add_figure("wassally_reconcile_repairs_total", "counter",
                         "Differences between actors and PostgreSQL repaired by anti-entropy.",
                         std::string("kind=\"") + kind + "\"",
                         [r, field] { return ((*r).*field).load(); });
    };
    repairs("shop_stock", &reconcile_figures::shop_stock);
    repairs("crew_holdings", &reconcile_figures::crew_holdings);
    repairs("dispatcher_index", &reconcile_figures::dispatcher_index);
    repairs("order_actors", &reconcile_figures::order_actors);
    metrics.add_figure("wassally_reconcile_rounds_total", "counter",
                       "Anti-entropy rounds completed.", "", [r] { return r->rounds.load(); });
    auto oc = rt.order_counters;
    metrics.add_figure("wassally_order_reloads_total", "counter",
                       "Order actors that reloaded from PostgreSQL: a write it refused, a commit "
                       "of unknown outcome, or news anti-entropy found they missed.",
                       "", [oc] { return oc->reloads.load(); });
  }
  svc.user_recheck = std::chrono::seconds(cfg.auth_recheck_s);
  if (cfg.sse_keepalive_s >= cfg.header_timeout_s)
    throw std::runtime_error(
        "config: sse_keepalive_s must be below header_timeout_s, or "
        "Pistache closes idle event streams");
  http::server_options so;
  so.host = cfg.host;
  so.port = cfg.port;
  so.threads = cfg.http_threads;
  so.max_body_bytes = cfg.max_body_bytes;
  so.keepalive_timeout_s = cfg.keepalive_timeout_s;
  so.header_timeout_s = cfg.header_timeout_s;
  // A picture and its multipart envelope (part headers, boundaries: a few hundred bytes).
  so.max_upload_body_bytes = cfg.max_image_bytes + 64 * 1024;
  so.upload_timeout_s = cfg.upload_timeout_s;
  so.cors_allowed_origins = cfg.cors_allowed_origins;
  so.cors_max_age_s = cfg.cors_max_age_s;
  so.test_clock = cfg.test_clock;
  http::server srv(so, svc);
  try {
    srv.start();
  } catch (const std::exception& e) {
    // Nothing was served, so nothing acknowledged is at stake: end at once rather than wind
    // down actors that may be waiting on a database that is not answering.
    std::cerr << "wassally: cannot serve on " << cfg.host << ":" << cfg.port << ": " << e.what()
              << "\n";
    std::_Exit(1);
  }
  std::cerr << "wassally: serving on http://" << cfg.host << ":" << srv.port() << "\n";

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int sig = 0;
  sigwait(&signals, &sig);
  std::cerr << "wassally: signal " << sig << ", draining\n";
  // The drain time bounds the whole shutdown: past it the process ends even if something is
  // still stuck (a statement waiting on a row lock keeps its worker, and the actor system, from
  // ending). Nothing unanswered was acknowledged, and PostgreSQL rolls back what did not commit.
  auto drain = std::chrono::seconds(cfg.shutdown_drain_s);
  std::thread([drain] {
    std::this_thread::sleep_for(drain);
    std::cerr << "wassally: drain time over; exiting with work unfinished\n";
    std::_Exit(0);
  }).detach();
  srv.drain();
  auto deadline = std::chrono::steady_clock::now() + drain;
  while (http::responder::in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    // The hub touches Pistache transports: it ends before the endpoint does.
    caf::scoped_actor self{*rt.system};
    self->send_exit(svc.event_streams, caf::exit_reason::user_shutdown);
    self->wait_for(svc.event_streams);
  }
  srv.stop();
  std::cerr << "wassally: stopped\n";
  return 0;
}

}  // namespace
}  // namespace wassally

int main(int argc, char** argv) {
  using namespace wassally;
  // Signals are taken by sigwait in the main thread; every other thread inherits the block.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  // A write past the file size limit (RLIMIT_FSIZE) fails with EFBIG like one on a full disk
  // (ENOSPC) — the media store answers 503 — instead of ending the process.
  std::signal(SIGXFSZ, SIG_IGN);

  std::vector<std::string> args(argv + 1, argv + argc);
  std::string config_path = getenv("WASSALLY_CONFIG") ? getenv("WASSALLY_CONFIG") : "";
  std::string command = "serve";
  std::vector<std::string> rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      print_help();
      return 0;
    } else if (args[i] == "--config" && i + 1 < args.size()) {
      config_path = args[++i];
    } else if (rest.empty() && command == "serve" &&
               (args[i] == "serve" || args[i] == "migrate" || args[i] == "create-staff")) {
      command = args[i];
      rest.push_back(args[i]);
    } else {
      rest.push_back(args[i]);
    }
  }
  try {
    auto cfg = load_config(config_path, environ);
    if (cfg.database_url.empty()) {
      std::cerr << "wassally: no database configured (set DATABASE_URL, or use ./scripts/run)\n";
      return 2;
    }
    if (command == "migrate") return run_migrate(cfg);
    if (command == "create-staff") {
      if (rest.size() < 2) {
        std::cerr << "usage: wassally create-staff USERNAME\n";
        return 2;
      }
      std::string password =
          getenv("WASSALLY_STAFF_PASSWORD") ? getenv("WASSALLY_STAFF_PASSWORD") : "";
      if (password.empty()) std::getline(std::cin, password);
      auto conn = connect_with_retry(cfg, 20);
      db::apply_migrations(*conn, db::embedded_migrations());
      runtime rt(cfg);
      create_staff(rt, rest[1], password);
      return 0;
    }
    return run_serve(cfg);
  } catch (const std::exception& e) {
    std::cerr << "wassally: " << e.what() << "\n";
    return 1;
  }
}
