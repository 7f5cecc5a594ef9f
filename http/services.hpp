#pragma once
// The actor handles and settings the routes talk to, one set per server.

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <chrono>
#include <cstddef>
#include <string>

#include "http/page_cache.hpp"
#include "protocols/catalog_stamps.hpp"
#include "security/tokens.hpp"

namespace wassally {
struct recovery_progress;
}

namespace wassally::http {

class http_metrics;

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

}  // namespace wassally::http
