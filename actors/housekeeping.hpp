#pragma once

#include <atomic>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

namespace wassally {

struct housekeeping_options {
  std::chrono::seconds interval{3600};  // between purges
  int64_t batch_size = 10000;           // rows one purge statement deletes at most
  std::chrono::milliseconds db_timeout{5000};
};

/// What the purges deleted so far, for /metrics (read from any thread).
struct housekeeping_figures {
  std::atomic<int64_t> idempotency_keys{0};
  std::atomic<int64_t> refresh_tokens{0};
  std::atomic<int64_t> runs{0};  // purge rounds finished
};

/// Housekeeping: every `interval` (the first one `interval` after the start) deletes
/// Idempotency-Keys older than 24 h and expired or revoked refresh tokens, `batch_size` rows
/// per statement until none are left, and counts the rows in `figures`. A round that fails
/// (database unavailable) is tried again with the next one.
caf::actor spawn_housekeeping(caf::actor_system& sys, caf::actor persistence,
                              housekeeping_options opts,
                              std::shared_ptr<housekeeping_figures> figures);

}  // namespace wassally
