#pragma once
// Request deadlines as actors carry them: unix milliseconds (wall time, so that the number means
// the same on every node), 0 meaning none.

#include <chrono>
#include <cstdint>

namespace wassally {

inline int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// Whether a deadline (0: none) has passed.
inline bool deadline_passed(int64_t deadline_unix_ms) {
  return deadline_unix_ms > 0 && unix_ms_now() >= deadline_unix_ms;
}

}  // namespace wassally
