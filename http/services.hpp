#pragma once
// The actor handles and settings the routes talk to, one set per server.

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/page_cache.hpp"
#include "protocols/catalog_stamps.hpp"
#include "security/tokens.hpp"

namespace wassally {
struct recovery_progress;
class cluster_status;
struct media_sweep_figures;
namespace media {
class media_store;
class work_pool;
}  // namespace media
}  // namespace wassally

namespace wassally::http {

class http_metrics;
class media_cache;
class web_assets;
class upload_rate_limit;

/// What picture uploads and GET /media use (API.md "Images").
struct media_services {
  media::media_store* store = nullptr;
  media::work_pool* pool = nullptr;
  media_cache* cache = nullptr;
  upload_rate_limit* rate = nullptr;
  const media_sweep_figures* sweeps = nullptr;
  uint64_t max_pixels = 40'000'000;
  std::size_t max_image_bytes = 10 << 20;
  std::string public_base_url;  // empty: from the Host header
};

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
  /// The docs page and its files (null: not served).
  const web_assets* web = nullptr;
  std::size_t max_body_bytes = 1 << 20;
  media_services media;
  /// Rendered public product pages and the shop stamps that keep them honest (both may be
  /// null: every page is rendered by its shop actor).
  const catalog_stamps* stamps = nullptr;
  page_cache* product_pages = nullptr;
  /// Order recovery's progress (null: no recovery ran), for /metrics.
  const recovery_progress* recovery = nullptr;
  /// Cluster mode's view of leases and nodes (null or mode "single": single-node mode).
  const cluster_status* cluster = nullptr;
  /// How long a confirmation that an access token's user still exists, is active and has the
  /// token's role holds before the next request asks again (0: every request).
  std::chrono::milliseconds user_recheck{5000};
};

}  // namespace wassally::http
