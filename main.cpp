// wassally: the server binary. Subcommands: serve (default), migrate, create-staff USER.
#include <sys/resource.h>
#include <sys/stat.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <pqxx/pqxx>
#include <thread>

#include "actors/accounts.hpp"
#include "actors/cart.hpp"
#include "actors/crew.hpp"
#include "actors/dispatcher.hpp"
#include "actors/event_bus.hpp"
#include "actors/order.hpp"
#include "actors/order_desk.hpp"
#include "actors/order_recovery.hpp"
#include "actors/password_hasher.hpp"
#include "actors/persistence_actor.hpp"
#include "actors/registry.hpp"
#include "actors/shop.hpp"
#include "actors/shop_directory.hpp"
#include "actors/staff_desk.hpp"
#include "config/config.hpp"
#include "http/event_streams.hpp"
#include "http/json_body.hpp"
#include "http/metrics.hpp"
#include "http/server.hpp"
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
  caf::actor recoverer;  // order recovery, while it runs

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
                  cfg.batch_max_wait_us, cfg.db_lock_timeout_ms, cfg.db_plan_refresh_ms});
    event_bus = spawn_event_bus(*system);
    auto db_timeout = std::chrono::milliseconds(cfg.request_timeout_ms);
    auto idle = std::chrono::seconds(cfg.idle_passivation_s);
    hashers = spawn_password_hashers(*system, cfg.hash_workers, cfg.password_ops_limit,
                                     cfg.password_mem_limit_kib);
    shop_directory = spawn_shop_directory(*system, persistence, hashers, db_timeout);
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
    dispatcher = spawn_dispatcher(*system, persistence, event_bus, db_timeout);
    shop_options so;
    so.idle = idle;
    so.db_timeout = db_timeout;
    so.reservation_timeout = std::chrono::seconds(cfg.reservation_timeout_s);
    so.event_bus = event_bus;
    so.coins_per_order = cfg.coins_per_order;
    so.stamps = stamps;
    crew_options co;
    co.max_orders = cfg.crew_max_orders;
    co.location_flush = std::chrono::seconds(cfg.crew_location_flush_s);
    co.idle = idle;
    co.db_timeout = db_timeout;
    registry =
        spawn_registry(*system, {{"shop", shop_factory(persistence, so)},
                                 {"order", order_factory(persistence, event_bus, idle, db_timeout)},
                                 {"cart", cart_factory(ps, idle)},
                                 {"crew", crew_factory(persistence, dispatcher, event_bus, co)}});
    ps.registry = registry;
    order_desk = spawn_order_desk(*system, ps);
    staff_desk = spawn_staff_desk(*system, persistence, db_timeout);
    accounts_options ao;
    ao.token_secret = ensure_token_secret(cfg);
    ao.access_ttl_s = cfg.access_ttl_s;
    ao.refresh_ttl_s = cfg.refresh_ttl_s;
    ao.login_max_failures = cfg.login_max_failures;
    ao.login_window_s = cfg.login_window_s;
    ao.request_timeout_ms = cfg.request_timeout_ms;
    accounts = spawn_accounts(*system, ao, persistence, hashers);
  }

  ~runtime() {
    for (auto* a : {&recoverer, &event_streams, &staff_desk, &order_desk, &dispatcher,
                    &shop_directory, &accounts, &hashers, &registry, &event_bus, &persistence})
      if (*a) caf::anon_send_exit(*a, caf::exit_reason::user_shutdown);
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
  if (cfg.recover_open_orders)
    rt.recoverer = spawn_order_recovery(*rt.system, rt.persistence, rt.registry, rt.recovery,
                                        cfg.recovery_page_size,
                                        std::chrono::milliseconds(cfg.request_timeout_ms));
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
  http::page_cache product_pages(static_cast<std::size_t>(cfg.product_page_cache_size));
  svc.product_pages = &product_pages;
  svc.user_recheck = std::chrono::seconds(cfg.auth_recheck_s);
  if (cfg.sse_keepalive_s >= cfg.header_timeout_s)
    throw std::runtime_error(
        "config: sse_keepalive_s must be below header_timeout_s, or "
        "Pistache closes idle event streams");
  http::server srv({cfg.host, cfg.port, cfg.http_threads, cfg.max_body_bytes,
                    cfg.keepalive_timeout_s, cfg.header_timeout_s, cfg.test_clock},
                   svc);
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
