#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

namespace wassally {
namespace {

struct key_spec {
  const char* name;
  const char* help;
  std::function<void(config&, const std::string&)> apply;
};

long long parse_int(const std::string& key, const std::string& value, long long lo, long long hi) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || v < lo || v > hi)
    throw std::invalid_argument("config key '" + key + "': expected an integer in [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
                                value + "'");
  return v;
}

bool parse_bool(const std::string& key, const std::string& value) {
  if (value == "1" || value == "true" || value == "yes" || value == "on") return true;
  if (value == "0" || value == "false" || value == "no" || value == "off") return false;
  throw std::invalid_argument("config key '" + key + "': expected true/false, got '" + value + "'");
}

template <class T>
std::function<void(config&, const std::string&)> int_field(T config::*field, long long lo,
                                                           long long hi, const char* name) {
  return [=](config& c, const std::string& v) {
    c.*field = static_cast<T>(parse_int(name, v, lo, hi));
  };
}

double parse_double(const std::string& key, const std::string& value, double lo, double hi) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size() || !(v >= lo && v <= hi))
    throw std::invalid_argument("config key '" + key + "': expected a number in [" +
                                std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
                                value + "'");
  return v;
}

std::function<void(config&, const std::string&)> double_field(double config::*field, double lo,
                                                              double hi, const char* name) {
  return [=](config& c, const std::string& v) { c.*field = parse_double(name, v, lo, hi); };
}

std::function<void(config&, const std::string&)> string_field(std::string config::*field) {
  return [=](config& c, const std::string& v) { c.*field = v; };
}

const std::vector<key_spec>& specs() {
  static const std::vector<key_spec> all = {
      {"host", "address the HTTP edge binds (WASSALLY_HOST)", string_field(&config::host)},
      {"port", "HTTP port (WASSALLY_PORT)", int_field(&config::port, 0, 65535, "port")},
      {"http_threads", "Pistache reactor threads",
       int_field(&config::http_threads, 1, 256, "http_threads")},
      {"max_body_bytes", "largest accepted request body; larger gets 413",
       int_field(&config::max_body_bytes, 1024, 64 << 20, "max_body_bytes")},
      {"product_page_cache_size",
       "rendered public product pages kept for reuse while their shop's catalog is unchanged "
       "(0: none)",
       int_field(&config::product_page_cache_size, 0, 1000000, "product_page_cache_size")},
      {"request_timeout_ms", "per-request deadline; past it the answer is 504",
       int_field(&config::request_timeout_ms, 10, 600000, "request_timeout_ms")},
      {"shutdown_drain_s",
       "on SIGTERM/SIGINT: seconds for in-flight requests to finish before the process exits "
       "(keep it above request_timeout_ms)",
       int_field(&config::shutdown_drain_s, 1, 3600, "shutdown_drain_s")},
      {"keepalive_timeout_s", "idle keep-alive connections are closed after this",
       int_field(&config::keepalive_timeout_s, 1, 86400, "keepalive_timeout_s")},
      {"header_timeout_s",
       "a request whose headers and body have not arrived by then is answered 408 and closed",
       int_field(&config::header_timeout_s, 2, 3600, "header_timeout_s")},
      {"scheduler_threads", "CAF scheduler worker threads",
       int_field(&config::scheduler_threads, 1, 256, "scheduler_threads")},
      {"scheduler_policy",
       "how idle scheduler threads wait: stealing (spin, then poll, then sleep) or sharing",
       [](config& c, const std::string& v) {
         if (v != "stealing" && v != "sharing")
           throw std::runtime_error("config: scheduler_policy must be stealing or sharing");
         c.scheduler_policy = v;
       }},
      {"scheduler_poll_sleep_us",
       "stealing: an idle thread polls for work this often before it sleeps (CPU for latency)",
       int_field(&config::scheduler_poll_sleep_us, 1, 100000, "scheduler_poll_sleep_us")},
      {"idle_passivation_s", "entity actors idle this long are passivated",
       int_field(&config::idle_passivation_s, 1, 86400 * 7, "idle_passivation_s")},
      {"db_lock_timeout_ms",
       "a statement waiting longer than this for a row lock fails alone with 503 unavailable, so "
       "one blocked row cannot hold a whole group commit (0: wait up to the request timeout)",
       int_field(&config::db_lock_timeout_ms, 0, 3600000, "db_lock_timeout_ms")},
      {"db_plan_refresh_ms",
       "PostgreSQL's cached plans (its foreign-key checks) are remade this often on each "
       "connection, so that plans made while a table was small do not outlive its growth (0: "
       "never)",
       int_field(&config::db_plan_refresh_ms, 0, 3600000, "db_plan_refresh_ms")},
      {"recover_open_orders",
       "at start, load every order not yet delivered or cancelled as a live actor (in bulk)",
       [](config& c, const std::string& v) {
         c.recover_open_orders = parse_bool("recover_open_orders", v);
       }},
      {"recovery_page_size", "open orders read per recovery query",
       int_field(&config::recovery_page_size, 1, 1000000, "recovery_page_size")},
      {"reconcile_interval_s",
       "anti-entropy: the dispatcher's index, crews' held orders, shops' stock and the live order "
       "actors are compared with PostgreSQL this often and repaired (0: never)",
       int_field(&config::reconcile_interval_s, 0, 86400, "reconcile_interval_s")},
      {"idempotency_stale_s",
       "a placement's Idempotency-Key claim that has no answer after this long may be taken over "
       "by a repeat (the first placement can then no longer commit)",
       int_field(&config::idempotency_stale_s, 1, 86400, "idempotency_stale_s")},
      {"database_url", "PostgreSQL URL (DATABASE_URL)", string_field(&config::database_url)},
      {"db_pool_size", "database connections that run writes (one per persistence write worker)",
       int_field(&config::db_pool_size, 1, 128, "db_pool_size")},
      {"db_read_pool_size",
       "database connections of their own for reads (lists, analytics), so reads never wait "
       "behind writes",
       int_field(&config::db_read_pool_size, 1, 128, "db_read_pool_size")},
      {"db_statement_timeout_ms",
       "every statement on every database connection fails after this long (0: never)",
       int_field(&config::db_statement_timeout_ms, 0, 3600000, "db_statement_timeout_ms")},
      {"db_hang_timeout_ms",
       "a database batch unanswered this long (a stopped backend) gets a replacement connection "
       "while it finishes (0: db_statement_timeout_ms + 10 s)",
       int_field(&config::db_hang_timeout_ms, 0, 3600000, "db_hang_timeout_ms")},
      {"db_hot_key_ms",
       "a shop whose write waited this long on a row lock (or hit db_lock_timeout_ms) is hot: "
       "its writes run alone, one connection at a time, so they cannot hold other shops' writes",
       int_field(&config::db_hot_key_ms, 1, 3600000, "db_hot_key_ms")},
      {"db_hot_key_cool_ms", "a hot shop stays hot until this long passes without such a wait",
       int_field(&config::db_hot_key_cool_ms, 0, 3600000, "db_hot_key_cool_ms")},
      {"db_connect_timeout_s", "seconds to wait for a database connection",
       int_field(&config::db_connect_timeout_s, 1, 60, "db_connect_timeout_s")},
      {"batch_max_size", "most write commands committed in one transaction",
       int_field(&config::batch_max_size, 1, 10000, "batch_max_size")},
      {"batch_max_wait_us", "how long a write may wait for companions (0: only while busy)",
       int_field(&config::batch_max_wait_us, 0, 1000000, "batch_max_wait_us")},
      {"token_secret", "HMAC secret for access tokens (generated into var_dir when empty)",
       string_field(&config::token_secret)},
      {"access_ttl_s", "access token lifetime (WASSALLY_ACCESS_TTL_S)",
       int_field(&config::access_ttl_s, 1, 86400 * 30, "access_ttl_s")},
      {"refresh_ttl_s", "refresh token lifetime (WASSALLY_REFRESH_TTL_S)",
       int_field(&config::refresh_ttl_s, 1, 86400 * 365, "refresh_ttl_s")},
      {"password_ops_limit", "argon2id passes (>= 1)",
       int_field(&config::password_ops_limit, 1, 64, "password_ops_limit")},
      {"password_mem_limit_kib", "argon2id memory in KiB (>= 8)",
       int_field(&config::password_mem_limit_kib, 8, 4 << 20, "password_mem_limit_kib")},
      {"hash_workers", "threads that hash and verify passwords",
       int_field(&config::hash_workers, 1, 64, "hash_workers")},
      {"login_max_failures", "failed logins per username or address per window before 429",
       int_field(&config::login_max_failures, 1, 1000000, "login_max_failures")},
      {"login_window_s", "the login rate-limit window",
       int_field(&config::login_window_s, 1, 86400, "login_window_s")},
      {"auth_recheck_s",
       "an access token's user is confirmed (still exists, active, same role) at most this "
       "often; a deactivated user's token is refused within this window (0: every request)",
       int_field(&config::auth_recheck_s, 0, 3600, "auth_recheck_s")},
      {"delivery_fee", "delivery fee added to every order (decimal string)",
       string_field(&config::delivery_fee)},
      {"coins_per_order", "coins a crew earns per delivered order",
       int_field(&config::coins_per_order, 0, 1000000, "coins_per_order")},
      {"reservation_timeout_s",
       "stock a shop holds for an unfinished placement is released after this",
       int_field(&config::reservation_timeout_s, 1, 3600, "reservation_timeout_s")},
      {"sse_keepalive_s",
       "seconds between keepalive comments on order event streams (< header_timeout_s)",
       int_field(&config::sse_keepalive_s, 1, 3599, "sse_keepalive_s")},
      {"crew_location_event_s",
       "an order's stream gets its crew's position (event: crew_location) at most this often",
       int_field(&config::crew_location_event_s, 1, 3600, "crew_location_event_s")},
      {"average_speed_kmh",
       "the speed an order's eta assumes for its crew (km/h; eta events are throttled by "
       "crew_location_event_s)",
       double_field(&config::average_speed_kmh, 1, 1000, "average_speed_kmh")},
      {"route_factor",
       "how much longer than the great-circle distance the eta takes the road to be (>= 1)",
       double_field(&config::route_factor, 1, 10, "route_factor")},
      {"crew_max_orders", "undelivered orders a crew may hold (409 crew_busy beyond)",
       int_field(&config::crew_max_orders, 1, 100, "crew_max_orders")},
      {"pending_alert_s",
       "an order pending this long after it was placed raises event: order_unattended on "
       "GET /staff/events (once per order per server run)",
       int_field(&config::pending_alert_s, 1, 31536000, "pending_alert_s")},
      {"pending_expiry_s",
       "an order pending this long after it was placed is cancelled with reason no_crew (0: "
       "never)",
       int_field(&config::pending_expiry_s, 0, 31536000, "pending_expiry_s")},
      {"pending_check_interval_ms",
       "how often the dispatcher looks for pending orders past their alert or expiry time",
       int_field(&config::pending_check_interval_ms, 10, 3600000, "pending_check_interval_ms")},
      {"dispatch_mode",
       "offer: pending orders are offered to the nearest free crew, one crew at a time; browse: "
       "crews only find them in their pending list",
       [](config& c, const std::string& v) {
         if (v != "offer" && v != "browse")
           throw std::runtime_error("config key 'dispatch_mode': expected offer or browse");
         c.dispatch_mode = v;
       }},
      {"offer_timeout_s", "how long a crew has to accept or decline an offer",
       int_field(&config::offer_timeout_s, 1, 3600, "offer_timeout_s")},
      {"dispatch_radius_km", "how far from its shops a new order looks for a crew to offer it to",
       double_field(&config::dispatch_radius_km, 0.01, 20000, "dispatch_radius_km")},
      {"dispatch_radius_step_km",
       "the radius widens by this every dispatch_widen_every_s while nobody is found",
       double_field(&config::dispatch_radius_step_km, 0, 20000, "dispatch_radius_step_km")},
      {"dispatch_widen_every_s", "how often an order's radius widens (0: never)",
       int_field(&config::dispatch_widen_every_s, 0, 86400, "dispatch_widen_every_s")},
      {"dispatch_max_radius_km", "the widest an order's radius gets",
       double_field(&config::dispatch_max_radius_km, 0.01, 20000, "dispatch_max_radius_km")},
      {"reoffer_after_s",
       "a crew that declined an order or let its offer expire may be offered it again after this",
       int_field(&config::reoffer_after_s, 0, 86400, "reoffer_after_s")},
      {"dispatch_crew_stale_s",
       "a crew whose last reported position is older than this is offered nothing until it "
       "reports again (0: positions never go stale)",
       int_field(&config::dispatch_crew_stale_s, 0, 86400, "dispatch_crew_stale_s")},
      {"crew_location_flush_s",
       "ignored (accepted for old config files): a crew's position is committed before its 204",
       [](config&, const std::string& v) { parse_int("crew_location_flush_s", v, 1, 3600); }},
      {"purge_interval_s",
       "idempotency keys older than 24 h and expired or revoked refresh tokens are deleted this "
       "often",
       int_field(&config::purge_interval_s, 1, 604800, "purge_interval_s")},
      {"purge_batch_size", "rows one purge statement deletes (repeated until none are left)",
       int_field(&config::purge_batch_size, 1, 1000000, "purge_batch_size")},
      {"product_shop_cache_size",
       "product → shop lookups kept in memory (least recently used dropped beyond)",
       int_field(&config::product_shop_cache_size, 1, 100000000, "product_shop_cache_size")},
      {"offer_shop_cache_size",
       "offer → shop lookups kept in memory (least recently used dropped beyond)",
       int_field(&config::offer_shop_cache_size, 1, 100000000, "offer_shop_cache_size")},
      {"cluster_node_id",
       "cluster mode: this node's name, unique in the cluster (empty: single-node mode)",
       [](config& c, const std::string& v) {
         bool ok = !v.empty() && v.size() <= 63 &&
                   ((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= '0' && v[0] <= '9'));
         for (char ch : v)
           ok = ok &&
                ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_');
         if (!v.empty() && !ok)
           throw std::runtime_error(
               "config key 'cluster_node_id': expected [a-z0-9][a-z0-9_-]*, at most 63 "
               "characters");
         c.cluster_node_id = v;
       }},
      {"cluster_shards",
       "cluster mode: number of shards entities are spread over (an entity's shard is its id "
       "modulo this; every node must use the same)",
       int_field(&config::cluster_shards, 1, 1024, "cluster_shards")},
      {"cluster_lease_ttl_ms",
       "cluster mode: a shard lease lasts this long unless renewed (renewed every third of it)",
       int_field(&config::cluster_lease_ttl_ms, 300, 600000, "cluster_lease_ttl_ms")},
      {"cluster_zone_deg",
       "cluster mode: service zones are cells of this many degrees (0.5: about 55 km); a new "
       "shop, a user registered with a home_location and an order (by its first shop) get ids "
       "in their zone's shard, so a zone's work stays on one node (0: ids are not zoned)",
       double_field(&config::cluster_zone_deg, 0, 10, "cluster_zone_deg")},
      {"cluster_rebalance_moves",
       "cluster mode: shards a node gives up per lease round while another node holds fewer "
       "than its share",
       int_field(&config::cluster_rebalance_moves, 1, 1024, "cluster_rebalance_moves")},
      {"cluster_public_url",
       "cluster mode: scheme://host[:port] other nodes name in not_owner answers (empty: "
       "http://host:port)",
       string_field(&config::cluster_public_url)},
      {"cluster_nats_url",
       "cluster mode: NATS server URL(s), comma-separated (nats://127.0.0.1:4222), that carry "
       "requests to the node owning an entity; empty: a node answers 503 not_owner for shards "
       "it does not hold",
       string_field(&config::cluster_nats_url)},
      {"var_dir", "directory for generated state (token secret)", string_field(&config::var_dir)},
      {"web_dir",
       "directory of the browser files (docs page, Swagger UI from npm); empty: the checkout's "
       "web/",
       string_field(&config::web_dir)},
      {"cors_allowed_origins",
       "origins (scheme://host[:port], comma-separated) whose browsers may call the API; * for "
       "any; empty: same origin only",
       string_field(&config::cors_allowed_origins)},
      {"cors_max_age_s", "how long a browser may keep a preflight's answer",
       int_field(&config::cors_max_age_s, 0, 86400, "cors_max_age_s")},
      {"media_dir", "directory of uploaded pictures' renditions (empty: <var_dir>/media)",
       string_field(&config::media_dir)},
      {"public_base_url",
       "scheme://host[:port] of picture URLs in responses (empty: the request's Host header)",
       string_field(&config::public_base_url)},
      {"max_image_bytes", "largest picture upload body; larger gets 413",
       int_field(&config::max_image_bytes, 1024, 256 << 20, "max_image_bytes")},
      {"max_image_pixels", "most pixels an uploaded picture may have; more gets 400 invalid_image",
       int_field(&config::max_image_pixels, 1, 1000000000, "max_image_pixels")},
      {"upload_timeout_s",
       "a picture upload must be received within this (JSON routes: "
       "header_timeout_s)",
       int_field(&config::upload_timeout_s, 1, 3600, "upload_timeout_s")},
      {"image_workers", "threads that decode and encode uploaded pictures",
       int_field(&config::image_workers, 1, 64, "image_workers")},
      {"image_queue", "uploads admitted at once (running or waiting); more get 503",
       int_field(&config::image_queue, 1, 1024, "image_queue")},
      {"image_threads", "libvips threads per image operation",
       int_field(&config::image_threads, 1, 64, "image_threads")},
      {"upload_rate_per_minute", "picture uploads one user may make per minute; more get 429",
       int_field(&config::upload_rate_per_minute, 1, 100000, "upload_rate_per_minute")},
      {"media_cache_bytes", "rendition bytes kept in memory for GET /media (0: none)",
       int_field(&config::media_cache_bytes, 0, 1LL << 40, "media_cache_bytes")},
      {"media_sweep_interval_s", "pictures no row refers to are looked for this often",
       int_field(&config::media_sweep_interval_s, 1, 604800, "media_sweep_interval_s")},
      {"media_sweep_grace_s", "an unreferenced picture is removed once older than this",
       int_field(&config::media_sweep_grace_s, 0, 31536000, "media_sweep_grace_s")},
      {"bootstrap_staff", "username:password of a staff account created at start if missing",
       string_field(&config::bootstrap_staff)},
      {"test_clock", "enable PUT /api/v1/test/clock (staff) to move the service clock; tests only",
       [](config& c, const std::string& v) { c.test_clock = parse_bool("test_clock", v); }},
      {"run_migrations", "apply pending migrations at start",
       [](config& c, const std::string& v) { c.run_migrations = parse_bool("run_migrations", v); }},
  };
  return all;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string env_name(const std::string& key) {
  std::string out = "WASSALLY_";
  for (char c : key) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

void config::set(const std::string& key, const std::string& value) {
  for (const auto& s : specs()) {
    if (key == s.name) {
      s.apply(*this, value);
      return;
    }
  }
  throw std::invalid_argument("unknown config key '" + key + "'");
}

std::vector<std::pair<std::string, std::string>> config::describe() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : specs()) out.emplace_back(s.name, s.help);
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_config_text(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    auto t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    auto eq = t.find('=');
    if (eq == std::string::npos)
      throw std::invalid_argument("config line " + std::to_string(number) +
                                  ": expected key = value");
    out.emplace_back(trim(t.substr(0, eq)), trim(t.substr(eq + 1)));
  }
  return out;
}

config load_config(const std::string& path, char** envp) {
  config c;
  if (!path.empty()) {
    std::ifstream in(path);
    if (in) {
      std::stringstream buf;
      buf << in.rdbuf();
      for (const auto& [k, v] : parse_config_text(buf.str())) c.set(k, v);
    }
  }
  std::map<std::string, std::string> env;
  for (char** e = envp; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (auto it = env.find("DATABASE_URL"); it != env.end() && !it->second.empty())
    c.database_url = it->second;
  for (const auto& s : specs()) {
    if (auto it = env.find(env_name(s.name)); it != env.end()) s.apply(c, it->second);
  }
  // Pistache closes a connection whose request clock ran past header_timeout_s; event streams
  // restart that clock with every keepalive, so the keepalive has to come first.
  if (c.sse_keepalive_s >= c.header_timeout_s)
    throw std::invalid_argument("config key 'sse_keepalive_s': must be below header_timeout_s (" +
                                std::to_string(c.header_timeout_s) + "), or streams are cut");
  return c;
}

}  // namespace wassally
