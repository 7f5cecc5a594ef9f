#include "http/media_cache.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace wassally::http {

media_cache::media_cache(std::size_t capacity_bytes) : per_shard_(capacity_bytes / shard_count) {}

std::shared_ptr<const std::string> media_cache::find(const std::string& key) {
  auto& s = shard_of(key);
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.entries.find(key);
  if (it == s.entries.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  return it->second;
}

void media_cache::store(const std::string& key, std::shared_ptr<const std::string> bytes) {
  if (!bytes || bytes->size() > per_shard_) return;
  auto& s = shard_of(key);
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.entries.count(key)) return;
  if (s.bytes + bytes->size() > per_shard_) {
    bytes_ -= s.bytes;
    s.entries.clear();
    s.bytes = 0;
  }
  s.bytes += bytes->size();
  bytes_ += bytes->size();
  s.entries.emplace(key, std::move(bytes));
}

int upload_rate_limit::take(int64_t user, std::chrono::steady_clock::time_point now) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Users who have not uploaded for a minute have full buckets: forget them.
  if (buckets_.size() > 10000)
    for (auto it = buckets_.begin(); it != buckets_.end();)
      it = now - it->second.at > std::chrono::minutes(1) ? buckets_.erase(it) : std::next(it);
  auto [it, fresh] = buckets_.try_emplace(user, bucket{double(per_minute_), now});
  auto& b = it->second;
  if (!fresh) {
    double elapsed_min = std::chrono::duration<double>(now - b.at).count() / 60.0;
    b.tokens = std::min<double>(per_minute_, b.tokens + elapsed_min * per_minute_);
    b.at = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return static_cast<int>(std::ceil((1.0 - b.tokens) * 60.0 / per_minute_));
}

}  // namespace wassally::http
