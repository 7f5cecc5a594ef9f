#pragma once

#include <atomic>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

namespace wassally {

/// How far recovery got; read by /metrics (any thread).
struct recovery_progress {
  std::atomic<int64_t> orders{0};        // open orders adopted so far
  std::atomic<int64_t> microseconds{0};  // from start until every adoption was done
  std::atomic<bool> done{false};
};

/// Order recovery after a (re)start: reads every order not yet delivered or cancelled in pages
/// of `page_size` (three queries a page: orders, lines, events; the next page is read while the
/// registry adopts the previous one) and has the registry adopt each as a live order actor, so
/// that the first request, event stream or crew action on an open
/// order after a restart finds it in memory instead of each loading it alone. Requests that
/// arrive first are not held up: an order asked for before its adoption loads itself as
/// always, and the adoption of a live order is ignored. Quits when done (or on a database
/// error, leaving the rest to load lazily).
caf::actor spawn_order_recovery(caf::actor_system& sys, caf::actor persistence, caf::actor registry,
                                std::shared_ptr<recovery_progress> progress, int64_t page_size,
                                std::chrono::milliseconds db_timeout);

}  // namespace wassally
