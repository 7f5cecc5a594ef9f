#pragma once
// A fixed set of threads for CPU-heavy work (decoding and encoding pictures) that must run
// neither on a Pistache reactor (it would stall every connection of that reactor) nor on a CAF
// scheduler thread (it would stall every actor). Bounded: a job is refused, not queued, when
// `capacity` jobs are already waiting or running, so that a burst of uploads is answered 503
// at once instead of piling up memory and latency.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace wassally::media {

class work_pool {
 public:
  work_pool(int threads, std::size_t capacity);
  ~work_pool();  // finishes the queued jobs, then joins
  work_pool(const work_pool&) = delete;
  work_pool& operator=(const work_pool&) = delete;

  /// Queues `job`; false (and `job` dropped) when `capacity` jobs are already admitted.
  bool try_submit(std::function<void()> job);
  /// Jobs admitted and not yet finished.
  std::size_t load() const;
  std::size_t capacity() const { return capacity_; }

 private:
  void run();
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  std::size_t admitted_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace wassally::media
