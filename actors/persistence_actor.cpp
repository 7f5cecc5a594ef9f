#include "actors/persistence_actor.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <chrono>
#include <deque>

#include "actors/db_worker.hpp"
#include "protocols/errors.hpp"
#include "protocols/persistence.hpp"
#include "protocols/registry.hpp"

namespace wassally {

const double commit_latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                        0.05,   0.1,   0.25,   0.5,   1,    2.5};
const int commit_latency_bound_count = sizeof(commit_latency_bounds) / sizeof(double);
const int batch_size_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
const int batch_size_bound_count = sizeof(batch_size_bounds) / sizeof(int);

namespace {

using clock_type = std::chrono::steady_clock;

struct pending_command {
  db_command command;
  caf::response_promise promise;
  clock_type::time_point queued_at;
};

struct persistence_state {
  persistence_options opts;
  std::deque<pending_command> writes;
  std::deque<pending_command> reads;
  std::vector<caf::actor> idle;
  std::shared_ptr<std::vector<caf::actor>> all_workers =
      std::make_shared<std::vector<caf::actor>>();
  bool timer_armed = false;
  persistence_stats stats;
  static inline const char* name = "persistence";
};

using self_ptr = caf::stateful_actor<persistence_state>*;

void record(persistence_state& st, std::size_t batch_size, const db_batch_result& r, bool write) {
  ++st.stats.batches;
  st.stats.commands += static_cast<int64_t>(batch_size);
  if (!r.committed) ++st.stats.failed_batches;
  if (r.committed) st.stats.merged_commands += r.merged;
  int b = 0;
  while (b<batch_size_bound_count&& static_cast<int>(batch_size)> batch_size_bounds[b]) ++b;
  ++st.stats.batch_size_buckets[b];
  if (write && r.committed) {
    st.stats.commit_seconds_total += r.commit_seconds;
    int l = 0;
    while (l < commit_latency_bound_count && r.commit_seconds > commit_latency_bounds[l]) ++l;
    ++st.stats.commit_latency_buckets[l];
  }
}

void dispatch(self_ptr self);

void send_batch(self_ptr self, std::deque<pending_command>& queue, bool write) {
  auto& st = self->state;
  auto worker = st.idle.back();
  st.idle.pop_back();
  auto n = std::min<std::size_t>(queue.size(), static_cast<std::size_t>(st.opts.batch_max_size));
  db_batch batch;
  batch.write = write;
  auto promises = std::make_shared<std::vector<caf::response_promise>>();
  for (std::size_t i = 0; i < n; ++i) {
    batch.commands.push_back(std::move(queue.front().command));
    promises->push_back(std::move(queue.front().promise));
    queue.pop_front();
  }
  self->request(worker, caf::infinite, std::move(batch))
      .then(
          [=](db_batch_result& r) {
            record(self->state, promises->size(), r, write);
            for (std::size_t i = 0; i < promises->size(); ++i) {
              auto& msg = r.results[i];
              if (msg.match_elements<caf::error>())
                (*promises)[i].deliver(msg.get_as<caf::error>(0));
              else
                (*promises)[i].deliver(std::move(msg));
            }
            self->state.idle.push_back(worker);
            dispatch(self);
          },
          [=](caf::error&) {
            // The worker died: its commands fail alone; a replacement takes its place.
            for (auto& p : *promises) p.deliver(to_caf_error(errors::unavailable()));
            auto fresh = spawn_db_worker(
                self->system(), self->state.opts.database_url, self->state.opts.connect_timeout_s,
                self->state.opts.lock_timeout_ms, self->state.opts.plan_refresh_ms);
            auto& workers = *self->state.all_workers;
            workers.erase(std::remove(workers.begin(), workers.end(), worker), workers.end());
            workers.push_back(fresh);
            self->state.idle.push_back(fresh);
            dispatch(self);
          });
}

void dispatch(self_ptr self) {
  auto& st = self->state;
  while (!st.idle.empty() && (!st.reads.empty() || !st.writes.empty())) {
    bool writes_ready = !st.writes.empty();
    if (writes_ready && st.opts.batch_max_wait_us > 0 &&
        st.writes.size() < static_cast<std::size_t>(st.opts.batch_max_size)) {
      auto waited = clock_type::now() - st.writes.front().queued_at;
      if (waited < std::chrono::microseconds(st.opts.batch_max_wait_us)) {
        writes_ready = false;
        if (!st.timer_armed) {
          st.timer_armed = true;
          self->delayed_send(self, std::chrono::microseconds(st.opts.batch_max_wait_us) - waited,
                             flush_atom::value);
        }
      }
    }
    bool reads_first = !st.reads.empty() &&
                       (!writes_ready || st.reads.front().queued_at <= st.writes.front().queued_at);
    if (reads_first)
      send_batch(self, st.reads, false);
    else if (writes_ready)
      send_batch(self, st.writes, true);
    else
      break;
  }
  st.stats.queue_depth = static_cast<int64_t>(st.reads.size() + st.writes.size());
  st.stats.busy_workers = static_cast<int64_t>(st.all_workers->size() - st.idle.size());
}

caf::behavior persistence(self_ptr self, persistence_options opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.stats.batch_size_buckets.assign(batch_size_bound_count + 1, 0);
  st.stats.commit_latency_buckets.assign(commit_latency_bound_count + 1, 0);
  for (int i = 0; i < st.opts.workers; ++i) {
    auto w = spawn_db_worker(self->system(), st.opts.database_url, st.opts.connect_timeout_s,
                             st.opts.lock_timeout_ms, st.opts.plan_refresh_ms);
    st.all_workers->push_back(w);
    st.idle.push_back(w);
  }
  st.stats.workers = st.opts.workers;
  // Workers run on their own threads: they stop with the persistence actor.
  self->attach_functor([workers = st.all_workers] {
    for (auto& w : *workers) caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
  });
  return {
      [=](db_command& cmd) {
        auto& s = self->state;
        auto& queue = cmd.write ? s.writes : s.reads;
        queue.push_back({std::move(cmd), self->make_response_promise(), clock_type::now()});
        dispatch(self);
      },
      [=](flush_atom) {
        self->state.timer_armed = false;
        dispatch(self);
      },
      [=](stats_atom) { return self->state.stats; },
  };
}

}  // namespace

caf::actor spawn_persistence(caf::actor_system& sys, persistence_options opts) {
  return sys.spawn(persistence, std::move(opts));
}

}  // namespace wassally
