#include "protocols/catalog_stamps.hpp"

namespace wassally {

uint64_t catalog_stamps::next_stamp() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

void catalog_stamps::publish(int64_t shop_id, uint64_t stamp) {
  auto& s = shard_of(shop_id);
  std::lock_guard<std::mutex> guard(s.mutex);
  s.stamps[shop_id] = stamp;
}

void catalog_stamps::withdraw(int64_t shop_id, uint64_t stamp) {
  auto& s = shard_of(shop_id);
  std::lock_guard<std::mutex> guard(s.mutex);
  auto it = s.stamps.find(shop_id);
  if (it != s.stamps.end() && it->second == stamp) s.stamps.erase(it);
}

uint64_t catalog_stamps::current(int64_t shop_id) const {
  auto& s = shard_of(shop_id);
  std::lock_guard<std::mutex> guard(s.mutex);
  auto it = s.stamps.find(shop_id);
  return it == s.stamps.end() ? 0 : it->second;
}

}  // namespace wassally
