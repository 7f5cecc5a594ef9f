#pragma once

#include <atomic>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

namespace wassally {

namespace media {
class media_store;
}

struct media_sweep_options {
  std::chrono::seconds interval{3600};  // between sweeps (the first one `interval` after start)
  std::chrono::seconds grace{3600};     // files younger than this are never removed
  std::chrono::milliseconds db_timeout{30000};
};

/// What the sweeps did so far, for /metrics (read from any thread).
struct media_sweep_figures {
  std::atomic<int64_t> runs{0};
  std::atomic<int64_t> removed{0};  // keys removed (both files of each)
  std::atomic<int64_t> kept{0};     // keys referenced or young at the last sweep
};

/// The media sweep: every `interval`, lists the store, then asks PostgreSQL which pictures any
/// row still refers to, and removes the keys that no row refers to and that were last written
/// more than `grace` ago (and temporary files of writes a crash interrupted). Listing first
/// means a picture whose row commits after the question was stored (or stored again) after
/// the listing began, so the grace period — longer than any upload takes — protects it.
/// Runs on a thread of its own (file system calls block).
caf::actor spawn_media_sweeper(caf::actor_system& sys, caf::actor persistence,
                               std::shared_ptr<media::media_store> store, media_sweep_options opts,
                               std::shared_ptr<media_sweep_figures> figures);

}  // namespace wassally
