#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wassally {

/// Every tunable of the server. Defaults live in config.cpp (and in the documented
/// config/wassally.conf); a config file overrides them, then WASSALLY_* environment variables.
struct config {
  // HTTP edge
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  int http_threads = 2;
  std::size_t max_body_bytes = 1024 * 1024;
  int product_page_cache_size = 4096;  // rendered public product pages (~8 KiB each)
  int request_timeout_ms = 5000;
  int shutdown_drain_s = 10;  // SIGTERM: in-flight requests finish within this, then exit
  int keepalive_timeout_s = 75;
  int header_timeout_s = 60;  // a request not fully received by then gets 408
  std::string web_dir;        // browser files (docs page); empty: the web/ of the build's checkout
  std::string cors_allowed_origins;  // browser origins allowed to call the API ("*": any)
  int cors_max_age_s = 600;          // how long browsers may keep a preflight's answer

  // Actor system
  int scheduler_threads = 2;
  // How an idle scheduler thread waits for work: "sharing" (one queue, idle threads sleep at
  // once) or "stealing" (CAF's default: spin, then poll every scheduler_poll_sleep_us, then
  // sleep). On 2 cores shared with PostgreSQL, polling took the CPU the database needed:
  // sharing placed 1.34x the orders per second (bench W2).
  std::string scheduler_policy = "sharing";
  int scheduler_poll_sleep_us = 50;
  int idle_passivation_s = 300;
  int db_lock_timeout_ms = 2000;
  int db_plan_refresh_ms = 1000;    // foreign-key check plans remade this often (0: never)    // a
                                    // statement waiting longer on a row lock fails alone (503)
  bool recover_open_orders = true;  // adopt every open order as a live actor at start
  int recovery_page_size = 5000;    // open orders read per recovery query
  int reconcile_interval_s = 10;    // anti-entropy: actors compared with PostgreSQL (0: never)
  int idempotency_stale_s = 60;     // an Idempotency-Key claim unanswered this long is taken over

  // Database
  std::string database_url;
  int db_pool_size = 2;       // write connections: about PostgreSQL's cores (see wassally.conf)
  int db_read_pool_size = 2;  // connections of their own for reads (lists, analytics)
  int db_statement_timeout_ms = 30000;  // every statement on every connection (0: none)
  int db_hang_timeout_ms = 0;           // a batch unanswered this long gets its worker replaced
                                        // (0: statement timeout + 10 s)
  int db_hot_key_ms = 500;              // a lock key whose command waited this long runs alone
  int db_hot_key_cool_ms = 5000;        // ... until this long passes without such a wait
  int db_connect_timeout_s = 2;
  int batch_max_size = 64;
  int batch_max_wait_us = 0;

  // Accounts and tokens
  std::string token_secret;
  int access_ttl_s = 900;
  int refresh_ttl_s = 604800;
  int password_ops_limit = 2;          // argon2id passes
  int password_mem_limit_kib = 65536;  // argon2id memory
  int hash_workers = 2;
  int login_max_failures = 5;
  int login_window_s = 60;
  int auth_recheck_s = 5;  // a token's user is re-checked (exists, active, role) this often

  // Business rules
  std::string delivery_fee = "10.00";
  int coins_per_order = 10;
  int reservation_timeout_s = 30;  // stock held for a placement that never finished
  int sse_keepalive_s = 15;        // comment lines on idle event streams
  int crew_location_event_s = 5;  // an order tells its streams where its crew is at most this often
  int crew_max_orders = 3;        // undelivered orders a crew may hold
  // An order's eta (API.md "Dispatch"): great-circle km × route_factor at average_speed_kmh;
  // its changes go out at most once per crew_location_event_s
  double average_speed_kmh = 25;
  double route_factor = 1.3;
  // Escalation of pending orders nobody takes (API.md "Dispatch"), from the order's created_at
  int pending_alert_s = 300;             // staff get event: order_unattended
  int pending_expiry_s = 1800;           // cancelled with reason no_crew (0: never)
  int pending_check_interval_ms = 1000;  // how often the dispatcher looks for such orders
  // Offers of pending orders to crews (API.md "Dispatch")
  std::string dispatch_mode = "offer";  // offer, or browse (crews only browse and accept)
  int offer_timeout_s = 45;             // a crew's time to accept or decline an offer
  double dispatch_radius_km = 3;        // how far from its shops an order first looks
  double dispatch_radius_step_km = 3;   // widened by this ...
  int dispatch_widen_every_s = 15;      // ... this often while nobody is found
  double dispatch_max_radius_km = 15;   // up to this
  int reoffer_after_s = 120;            // crews that refused may be offered it again after
  int dispatch_crew_stale_s = 300;      // crews not heard from this long get no offers (0: any)
  // (crew_location_flush_s is still accepted and ignored: positions are committed before 204)

  // Housekeeping and caches
  int purge_interval_s = 3600;           // expired idempotency keys and refresh tokens deleted
  int purge_batch_size = 10000;          // rows per purge statement (repeated until done)
  int product_shop_cache_size = 100000;  // product → shop lookups kept (LRU)
  int offer_shop_cache_size = 10000;     // offer → shop lookups kept (LRU)

  // Pictures (API.md "Images")
  std::string media_dir;                     // empty: <var_dir>/media
  std::string public_base_url;               // e.g. https://api.example.com; empty: from Host
  std::size_t max_image_bytes = 10 << 20;    // upload body; larger gets 413
  int64_t max_image_pixels = 40'000'000;     // more gets 400 invalid_image (decompression bombs)
  int upload_timeout_s = 120;                // an upload's request must arrive within this
  int image_workers = 1;                     // threads decoding and encoding pictures
  int image_queue = 4;                       // uploads admitted at once (more: 503)
  int image_threads = 1;                     // libvips threads per image operation
  int upload_rate_per_minute = 20;           // uploads per user per minute (more: 429)
  std::size_t media_cache_bytes = 64 << 20;  // renditions kept in memory for GET /media
  int media_sweep_interval_s = 3600;         // unreferenced pictures removed this often
  int media_sweep_grace_s = 3600;            // ... once they are older than this

  // Cluster mode (CLUSTER.md); cluster_node_id empty: single-node mode, none of it used
  std::string cluster_node_id;  // this node's name ([a-z0-9][a-z0-9_-]*, unique in the cluster)
  int cluster_shards = 64;      // entities are spread over this many shards (same on every node)
  int cluster_lease_ttl_ms = 5000;  // a shard lease lasts this long unless renewed (every ttl / 3)
  // zones are cells of this many degrees; new shops, users with a home_location and orders get
  // ids in their zone's shard (0: ids not zoned, spread as by a hash)
  double cluster_zone_deg = 0.5;
  int cluster_rebalance_moves = 4;  // shards a node gives up per round when others hold too few
  // where other nodes' not_owner answers send clients (empty: http://host:port)
  std::string cluster_public_url;
  // NATS server(s) that carry requests to an entity's owner (empty: no routing; a node answers
  // 503 not_owner for the shards it does not hold, naming the owner)
  std::string cluster_nats_url;

  // Files and start-up
  std::string var_dir = "var";
  std::string bootstrap_staff;  // "username:password"
  bool run_migrations = true;
  bool test_clock = false;  // enables PUT /api/v1/test/clock (tests only)

  /// Applies one `key = value` setting; keys are the field names above. Throws on unknown
  /// keys or unparsable values, naming the key.
  void set(const std::string& key, const std::string& value);

  /// Names of every key, for --help.
  static std::vector<std::pair<std::string, std::string>> describe();
};

/// Loads defaults, then `path` (if not empty and present), then the environment:
/// WASSALLY_<KEY> for every key (upper-cased), plus DATABASE_URL.
config load_config(const std::string& path, char** envp);

/// Parses "key = value" lines (# comments) into pairs; throws with a line number on error.
std::vector<std::pair<std::string, std::string>> parse_config_text(const std::string& text);

}  // namespace wassally
