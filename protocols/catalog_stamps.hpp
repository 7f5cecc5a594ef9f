#pragma once
// The catalog stamps: which version of its public catalog each live shop actor holds. A shop
// actor publishes a fresh stamp after every change that can alter what customers see (products,
// offers, categories, stock, the shop's status) has been persisted, and withdraws it when it
// passivates. The HTTP edge keeps rendered product pages tagged with the stamp they were made
// from and serves one again only while the shop still shows that stamp — so a cached page is
// never older than the shop actor's own state. Thread-safe: shop actors write, HTTP threads read.

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace wassally {

class catalog_stamps {
 public:
  /// A stamp no other publication in this process used (0 means "none").
  static uint64_t next_stamp();
  void publish(int64_t shop_id, uint64_t stamp);
  /// Withdraws `shop_id`'s stamp if it is still `stamp` (a newer activation keeps its own).
  void withdraw(int64_t shop_id, uint64_t stamp);
  /// The shop's current stamp, 0 when no live shop actor published one.
  uint64_t current(int64_t shop_id) const;

 private:
  struct shard {
    mutable std::mutex mutex;
    std::unordered_map<int64_t, uint64_t> stamps;
  };
  shard& shard_of(int64_t shop_id) const {
    return shards_[static_cast<uint64_t>(shop_id) % shards_.size()];
  }
  mutable std::array<shard, 16> shards_;
};

}  // namespace wassally
