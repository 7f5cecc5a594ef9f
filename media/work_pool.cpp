#include "media/work_pool.hpp"

namespace wassally::media {

work_pool::work_pool(int threads, std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {
  for (int i = 0; i < (threads < 1 ? 1 : threads); ++i) threads_.emplace_back([this] { run(); });
}

work_pool::~work_pool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

bool work_pool::try_submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || admitted_ >= capacity_) return false;
    ++admitted_;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

std::size_t work_pool::load() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return admitted_;
}

void work_pool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      job();
    } catch (...) {
      // A job answers its own failures; one that throws must not end the thread.
    }
    std::lock_guard<std::mutex> lock(mutex_);
    --admitted_;
  }
}

}  // namespace wassally::media
