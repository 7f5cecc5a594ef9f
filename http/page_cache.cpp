#include "http/page_cache.hpp"

namespace wassally::http {

page_cache::page_cache(std::size_t capacity)
    : per_shard_((capacity + shard_count - 1) / shard_count) {}

std::shared_ptr<const std::string> page_cache::find(const std::string& key, uint64_t current_stamp,
                                                    int64_t now) {
  if (current_stamp != 0) {
    auto& s = shard_of(key);
    std::lock_guard<std::mutex> guard(s.mutex);
    auto it = s.pages.find(key);
    if (it != s.pages.end() && it->second.stamp == current_stamp && it->second.valid_from <= now &&
        now < it->second.valid_until) {
      ++hits_;
      return it->second.body;
    }
  }
  ++misses_;
  return nullptr;
}

void page_cache::store(const std::string& key, page p) {
  if (per_shard_ == 0 || p.stamp == 0) return;
  auto& s = shard_of(key);
  std::lock_guard<std::mutex> guard(s.mutex);
  // A full shard starts over: pages of changed catalogs are dead weight anyway, and the live
  // ones come back on their next miss.
  // (Clear-on-full rather than LRU: find() stays a lookup under the shard's lock, with no list
  // to reorder on every hit of the hottest path.)
  if (s.pages.size() >= per_shard_ && !s.pages.count(key)) {
    evictions_ += s.pages.size();
    s.pages.clear();
  }
  s.pages[key] = std::move(p);
}

std::size_t page_cache::size() const {
  std::size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard<std::mutex> guard(s.mutex);
    n += s.pages.size();
  }
  return n;
}

}  // namespace wassally::http
