#include "actors/persistence_actor.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <chrono>
#include <deque>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "actors/db_worker.hpp"
#include "protocols/deadline.hpp"
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
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;
using hang_tick_atom = caf::atom_constant<caf::atom("hangtick")>;

struct pending_command {
  db_command command;
  caf::response_promise promise;
  clock_type::time_point queued_at;
};

/// Workers of one kind (writes or reads) and the commands waiting for them.
struct worker_pool {
  bool write = true;
  int size = 0;  // connections wanted
  int live = 0;  // workers alive: idle + running a batch (a hung one included)
  std::vector<caf::actor> idle;
  std::deque<pending_command> queue;
};

/// A batch handed to a worker, until its outcome returns.
struct running_batch {
  caf::actor worker;
  bool write = true;
  clock_type::time_point started;
  std::vector<std::string> keys;  // the lock keys of its commands (held while it runs)
  bool replaced = false;          // taken for hung: a replacement worker was spawned
};

struct persistence_state {
  persistence_options opts;
  worker_pool writers, readers;
  std::unordered_map<uint64_t, running_batch> running;
  uint64_t next_batch = 1;
  std::unordered_set<std::string> busy_keys;  // keys of commands in running batches
  std::unordered_map<std::string, clock_type::time_point> hot_until;
  std::multiset<int64_t> deadlines;  // of queued commands (unix ms)
  int64_t deadline_timer_at = 0;     // the earliest deadline a timer is armed for (0: none)
  std::shared_ptr<std::vector<caf::actor>> all_workers =
      std::make_shared<std::vector<caf::actor>>();
  bool flush_armed = false;
  bool hang_tick_armed = false;
  std::chrono::milliseconds hang_timeout{40000};
  persistence_stats stats;
  static inline const char* name = "persistence";
};

using self_ptr = caf::stateful_actor<persistence_state>*;

worker_pool& pool_of(persistence_state& st, bool write) { return write ? st.writers : st.readers; }

caf::actor new_worker(self_ptr self, worker_pool& pool) {
  const auto& o = self->state.opts;
  auto w = spawn_db_worker(
      self->system(),
      {o.database_url, o.connect_timeout_s, pool.write ? o.lock_timeout_ms : 0, o.plan_refresh_ms,
       o.statement_timeout_ms, o.cluster_node, o.idle_in_transaction_timeout_ms, o.zone_deg});
  self->state.all_workers->push_back(w);
  ++pool.live;
  return w;
}

void retire_worker(self_ptr self, worker_pool& pool, const caf::actor& w) {
  auto& workers = *self->state.all_workers;
  workers.erase(std::remove(workers.begin(), workers.end(), w), workers.end());
  --pool.live;
  caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
}

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

bool is_hot(persistence_state& st, const std::vector<std::string>& keys,
            clock_type::time_point now) {
  for (auto& k : keys) {
    auto it = st.hot_until.find(k);
    if (it == st.hot_until.end()) continue;
    if (it->second > now) return true;
    st.hot_until.erase(it);  // cooled
  }
  return false;
}

void forget_deadline(persistence_state& st, int64_t deadline) {
  if (deadline <= 0) return;
  auto it = st.deadlines.find(deadline);
  if (it != st.deadlines.end()) st.deadlines.erase(it);
}

void answer_expired(persistence_state& st, pending_command& p) {
  forget_deadline(st, p.command.deadline_unix_ms);
  ++st.stats.expired_commands;
  p.promise.deliver(to_caf_error(errors::timeout("not_written")));
}

/// Answers every queued command whose deadline has passed: it never reaches the database.
void expire_queued(persistence_state& st) {
  for (auto* pool : {&st.writers, &st.readers}) {
    auto& q = pool->queue;
    auto keep = q.begin();
    for (auto it = q.begin(); it != q.end(); ++it) {
      if (deadline_passed(it->command.deadline_unix_ms))
        answer_expired(st, *it);
      else if (keep != it)
        *keep++ = std::move(*it);
      else
        ++keep;
    }
    q.erase(keep, q.end());
  }
}

/// A timer for the earliest queued deadline, so that a command is answered at its deadline and
/// not only when a worker frees up (the HTTP edge waits only a little past it).
void arm_deadline_timer(self_ptr self) {
  auto& st = self->state;
  if (st.deadlines.empty()) return;
  auto earliest = *st.deadlines.begin();
  if (st.deadline_timer_at != 0 && st.deadline_timer_at <= earliest) return;
  st.deadline_timer_at = earliest;
  auto wait = std::max<int64_t>(0, earliest - unix_ms_now() + 1);  // not a moment early
  self->delayed_send(self, std::chrono::milliseconds(wait), deadline_atom::value, earliest);
}

void arm_hang_tick(self_ptr self) {
  auto& st = self->state;
  if (st.hang_tick_armed || st.running.empty()) return;
  st.hang_tick_armed = true;
  auto tick = std::clamp(st.hang_timeout / 10, std::chrono::milliseconds(10),
                         std::chrono::milliseconds(1000));
  self->delayed_send(self, tick, hang_tick_atom::value);
}

void dispatch(self_ptr self);

/// Takes the commands of the next batch out of `pool.queue`: in queue order, skipping (and
/// keeping in place) those that share a lock key with a running batch or with a command skipped
/// before them (so that commands of one key keep their order). A command of a hot key goes
/// alone. Commands whose deadline has passed are answered on the way.
std::vector<pending_command> take_batch(persistence_state& st, worker_pool& pool) {
  std::vector<pending_command> batch;
  std::unordered_set<std::string> skipped_keys;
  auto now = clock_type::now();
  auto max = static_cast<std::size_t>(std::max(1, st.opts.batch_max_size));
  auto& q = pool.queue;
  auto keep = q.begin();
  auto it = q.begin();
  bool alone = false;
  auto skip = [&] {
    for (auto& k : it->command.lock_keys) skipped_keys.insert(k);
    if (keep != it) *keep = std::move(*it);
    ++keep;
  };
  for (; it != q.end() && batch.size() < max && !alone; ++it) {
    if (deadline_passed(it->command.deadline_unix_ms)) {
      answer_expired(st, *it);
      continue;
    }
    const auto& keys = it->command.lock_keys;
    bool held = std::any_of(keys.begin(), keys.end(), [&](const std::string& k) {
      return st.busy_keys.count(k) || skipped_keys.count(k);
    });
    if (held) {
      skip();
      continue;
    }
    if (!keys.empty() && is_hot(st, keys, now)) {
      if (!batch.empty()) {
        skip();
        continue;
      }
      alone = true;
    }
    forget_deadline(st, it->command.deadline_unix_ms);
    batch.push_back(std::move(*it));
  }
  // The rest of the queue stays as it was.
  if (keep != it)
    keep = std::move(it, q.end(), keep);
  else
    keep = q.end();
  q.erase(keep, q.end());
  return batch;
}

void finish_batch(self_ptr self, uint64_t id, worker_pool& pool) {
  auto& st = self->state;
  auto found = st.running.find(id);
  if (found == st.running.end()) return;
  auto rb = std::move(found->second);
  st.running.erase(found);
  for (auto& k : rb.keys) st.busy_keys.erase(k);
  // A worker whose batch hung was replaced meanwhile: it retires if the pool is full without
  // it (healthy workers that finish meanwhile stay: capacity is what the replacement restored).
  if (rb.replaced && pool.live > pool.size)
    retire_worker(self, pool, rb.worker);
  else
    pool.idle.push_back(rb.worker);
}

void send_batch(self_ptr self, worker_pool& pool, std::vector<pending_command> taken) {
  auto& st = self->state;
  auto worker = pool.idle.back();
  pool.idle.pop_back();
  auto id = st.next_batch++;
  running_batch rb;
  rb.worker = worker;
  rb.write = pool.write;
  rb.started = clock_type::now();
  db_batch batch;
  batch.write = pool.write;
  auto promises = std::make_shared<std::vector<caf::response_promise>>();
  auto keys = std::make_shared<std::vector<std::vector<std::string>>>();
  for (auto& p : taken) {
    for (auto& k : p.command.lock_keys)
      if (st.busy_keys.insert(k).second) rb.keys.push_back(k);
    keys->push_back(p.command.lock_keys);
    batch.commands.push_back(std::move(p.command));
    promises->push_back(std::move(p.promise));
  }
  st.running.emplace(id, std::move(rb));
  bool write = pool.write;
  // No timeout on this request: a batch is finished by its outcome, however late (a hung one is
  // replaced, not abandoned; see hang_tick_atom).
  self->request(worker, caf::infinite, std::move(batch))
      .then(
          [=](db_batch_result& r) {
            auto& s = self->state;
            record(s, promises->size(), r, write);
            // Keys whose commands waited on someone else's lock run alone for a while.
            auto now = clock_type::now();
            auto slow =
                std::chrono::duration<double>(std::chrono::milliseconds(s.opts.hot_key_ms)).count();
            for (std::size_t i = 0; i < keys->size(); ++i) {
              bool trouble = (i < r.stalled.size() && r.stalled[i]) ||
                             (i < r.seconds.size() && r.seconds[i] > slow);
              if (!trouble) continue;
              for (auto& k : (*keys)[i])
                s.hot_until[k] = now + std::chrono::milliseconds(s.opts.hot_key_cool_ms);
            }
            for (std::size_t i = 0; i < promises->size(); ++i) {
              if (i >= r.results.size()) {
                (*promises)[i].deliver(to_caf_error(errors::internal("no result")));
                continue;
              }
              auto& msg = r.results[i];
              if (msg.match_elements<caf::error>())
                (*promises)[i].deliver(msg.get_as<caf::error>(0));
              else
                (*promises)[i].deliver(std::move(msg));
            }
            finish_batch(self, id, pool_of(s, write));
            dispatch(self);
          },
          [=](caf::error&) {
            // The worker died: its commands fail alone; a replacement takes its place.
            auto& s = self->state;
            for (auto& p : *promises) p.deliver(to_caf_error(errors::unavailable()));
            auto& pl = pool_of(s, write);
            auto found = s.running.find(id);
            if (found != s.running.end()) {
              for (auto& k : found->second.keys) s.busy_keys.erase(k);
              s.running.erase(found);
            }
            auto& workers = *s.all_workers;
            workers.erase(std::remove(workers.begin(), workers.end(), worker), workers.end());
            --pl.live;
            if (pl.live < pl.size) pl.idle.push_back(new_worker(self, pl));
            dispatch(self);
          });
  arm_hang_tick(self);
}

/// Whether writes should wait a little for company (batch_max_wait_us).
bool writes_wait(self_ptr self) {
  auto& st = self->state;
  auto& q = st.writers.queue;
  if (st.opts.batch_max_wait_us <= 0 ||
      q.size() >= static_cast<std::size_t>(st.opts.batch_max_size))
    return false;
  auto waited = clock_type::now() - q.front().queued_at;
  if (waited >= std::chrono::microseconds(st.opts.batch_max_wait_us)) return false;
  if (!st.flush_armed) {
    st.flush_armed = true;
    self->delayed_send(self, std::chrono::microseconds(st.opts.batch_max_wait_us) - waited,
                       flush_atom::value);
  }
  return true;
}

void dispatch(self_ptr self) {
  auto& st = self->state;
  for (auto* pool : {&st.readers, &st.writers}) {
    while (!pool->idle.empty() && !pool->queue.empty()) {
      if (pool->write && writes_wait(self)) break;
      auto taken = take_batch(st, *pool);
      if (taken.empty()) break;  // all waiting on a key, or expired
      send_batch(self, *pool, std::move(taken));
    }
  }
  arm_deadline_timer(self);
  st.stats.queue_depth = static_cast<int64_t>(st.readers.queue.size() + st.writers.queue.size());
  // `workers` / `busy_workers`: the write connections (db_pool_size), as /metrics reports the
  // pool; read connections apart.
  st.stats.busy_workers = static_cast<int64_t>(
      std::count_if(st.running.begin(), st.running.end(), [](auto& r) { return r.second.write; }));
  st.stats.workers = st.writers.live;
  st.stats.read_workers = st.readers.live;
}

/// Batches running longer than the hang timeout: their worker is stuck (a stopped backend, a
/// network that drops without a reset). Capacity comes back with a replacement worker while
/// the hung one keeps its batch, whose outcome is still delivered whenever it comes; extra
/// workers are bounded by the pool's size.
void check_hangs(self_ptr self) {
  auto& st = self->state;
  auto now = clock_type::now();
  for (auto& [id, rb] : st.running) {
    if (rb.replaced || now - rb.started < st.hang_timeout) continue;
    auto& pool = pool_of(st, rb.write);
    if (pool.live >= 2 * pool.size) continue;  // bounded: at most `size` extra workers
    rb.replaced = true;
    ++st.stats.replaced_workers;
    pool.idle.push_back(new_worker(self, pool));
  }
}

caf::behavior persistence(self_ptr self, persistence_options opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.opts.workers = std::max(1, st.opts.workers);
  st.opts.read_workers = std::max(1, st.opts.read_workers);
  st.hang_timeout = std::chrono::milliseconds(
      st.opts.hang_timeout_ms > 0
          ? st.opts.hang_timeout_ms
          : (st.opts.statement_timeout_ms > 0 ? st.opts.statement_timeout_ms : 30000) + 10000);
  st.stats.batch_size_buckets.assign(batch_size_bound_count + 1, 0);
  st.stats.commit_latency_buckets.assign(commit_latency_bound_count + 1, 0);
  st.writers.write = true;
  st.writers.size = st.opts.workers;
  st.readers.write = false;
  st.readers.size = st.opts.read_workers;
  for (auto* pool : {&st.writers, &st.readers})
    for (int i = 0; i < pool->size; ++i) pool->idle.push_back(new_worker(self, *pool));
  st.stats.workers = st.writers.live;
  st.stats.read_workers = st.readers.live;
  // Workers run on their own threads: they stop with the persistence actor.
  self->attach_functor([workers = st.all_workers] {
    for (auto& w : *workers) caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
  });
  return {
      [=](db_command& cmd) {
        auto& s = self->state;
        auto promise = self->make_response_promise();
        if (deadline_passed(cmd.deadline_unix_ms)) {
          ++s.stats.expired_commands;
          promise.deliver(to_caf_error(errors::timeout("not_written")));
          return;
        }
        if (cmd.deadline_unix_ms > 0) s.deadlines.insert(cmd.deadline_unix_ms);
        auto& pool = pool_of(s, cmd.write);
        pool.queue.push_back({std::move(cmd), std::move(promise), clock_type::now()});
        dispatch(self);
      },
      [=](flush_atom) {
        self->state.flush_armed = false;
        dispatch(self);
      },
      [=](deadline_atom, int64_t armed_for) {
        auto& s = self->state;
        if (s.deadline_timer_at == armed_for) s.deadline_timer_at = 0;
        expire_queued(s);
        dispatch(self);
      },
      [=](hang_tick_atom) {
        self->state.hang_tick_armed = false;
        check_hangs(self);
        dispatch(self);
        arm_hang_tick(self);
      },
      [=](stats_atom) {
        auto& s = self->state;
        auto now = clock_type::now();
        for (auto it = s.hot_until.begin(); it != s.hot_until.end();)
          it = it->second > now ? std::next(it) : s.hot_until.erase(it);
        s.stats.hot_keys = static_cast<int64_t>(s.hot_until.size());
        return s.stats;
      },
  };
}

}  // namespace

caf::actor spawn_persistence(caf::actor_system& sys, persistence_options opts) {
  return sys.spawn(persistence, std::move(opts));
}

}  // namespace wassally
