#pragma once
// Renditions kept in memory for GET /media/{key}: a hit is answered from the reactor without a
// file system call. Keys are content-addressed (a key's bytes never change), so nothing is ever
// stale; the bound is in bytes, and a shard that would exceed its share starts over (as
// page_cache does: no bookkeeping per hit). Thread-safe.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace wassally::http {

class media_cache {
 public:
  /// At most `capacity_bytes` of renditions (0: none kept).
  explicit media_cache(std::size_t capacity_bytes);
  /// `key` is a media key plus its encoding ("<digest>-thumb.webp").
  std::shared_ptr<const std::string> find(const std::string& key);
  void store(const std::string& key, std::shared_ptr<const std::string> bytes);
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  std::size_t bytes() const { return bytes_; }

 private:
  struct shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<const std::string>> entries;
    std::size_t bytes = 0;
  };
  static constexpr std::size_t shard_count = 8;
  shard& shard_of(const std::string& key) {
    return shards_[std::hash<std::string>{}(key) % shard_count];
  }
  std::size_t per_shard_;
  std::array<shard, shard_count> shards_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<std::size_t> bytes_{0};
};

/// Picture uploads each user may start per minute (a token bucket per user: `per_minute`
/// tokens, refilled continuously). Thread-safe.
class upload_rate_limit {
 public:
  explicit upload_rate_limit(int per_minute) : per_minute_(per_minute < 1 ? 1 : per_minute) {}
  /// 0 when `user` may upload now (a token is taken), else the seconds until one is back.
  int take(int64_t user, std::chrono::steady_clock::time_point now);

 private:
  struct bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  const int per_minute_;
  std::mutex mutex_;
  std::unordered_map<int64_t, bucket> buckets_;
};

}  // namespace wassally::http
