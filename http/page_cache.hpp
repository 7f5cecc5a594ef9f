#pragma once
// Rendered public product pages, kept while the shop still shows the catalog stamp they were
// made from (protocols/catalog_stamps.hpp) and the service clock is inside the period in which
// their effective prices hold. A hit answers GET /shops/{id}/products without an actor hop or
// JSON rendering; anything else goes to the shop actor as before. Thread-safe.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace wassally::http {

class page_cache {
 public:
  struct page {
    uint64_t stamp = 0;
    int64_t valid_from = 0;
    int64_t valid_until = 0;
    std::shared_ptr<const std::string> body;
  };
  /// At most capacity() pages are kept: `capacity` rounded up to a multiple of the shard count
  /// (0: none). A full shard starts over (see store()).
  explicit page_cache(std::size_t capacity);
  /// The body stored under `key` if it was made from `current_stamp` and `now` is inside its
  /// validity period.
  std::shared_ptr<const std::string> find(const std::string& key, uint64_t current_stamp,
                                          int64_t now);
  void store(const std::string& key, page p);
  std::size_t size() const;
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  /// Pages dropped to make room.
  uint64_t evictions() const { return evictions_; }
  std::size_t capacity() const { return per_shard_ * shard_count; }

 private:
  struct shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, page> pages;
  };
  shard& shard_of(const std::string& key) {
    return shards_[std::hash<std::string>{}(key) % shard_count];
  }
  static constexpr std::size_t shard_count = 16;
  std::size_t per_shard_;
  std::array<shard, shard_count> shards_;
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace wassally::http
