#include "actors/order_recovery.hpp"

#include <malloc.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/send.hpp>
#include <iostream>
#include <optional>

#include "persistence/orders.hpp"
#include "protocols/errors.hpp"
#include "protocols/orders.hpp"
#include "protocols/registry.hpp"

namespace wassally {
namespace {

using clock_type = std::chrono::steady_clock;

struct recovery_run {
  caf::actor persistence;
  caf::actor registry;
  std::shared_ptr<recovery_progress> progress;
  int64_t page_size;
  std::chrono::milliseconds db_timeout;
  clock_type::time_point started = clock_type::now();
};

void finish(caf::event_based_actor* self, const recovery_run& run, const char* how) {
  if (run.progress->done) return;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - run.started)
                .count();
  run.progress->microseconds = us;
  // The pages read (100,000 orders are ~200 MiB of snapshots in flight) are freed now, but
  // malloc keeps the memory: give it back, so that what stays is what the live orders use.
  malloc_trim(0);
  run.progress->done = true;
  std::cerr << "wassally: recovery " << how << ": " << run.progress->orders.load()
            << " open orders live in " << us / 1000 << " ms\n";
  self->quit();
}

void stop_reading(caf::event_based_actor* self, const recovery_run& run, caf::error& err) {
  std::cerr << "wassally: recovery could not read open orders (" << from_caf_error(err).message
            << "); they load on first use\n";
  finish(self, run, "stopped");
}

/// Once both the page and the registry's confirmation of the previous one are in.
struct page_join {
  std::optional<open_orders_page> page;
  bool previous_adopted = false;
};

/// Hands a page to the registry and reads the next one meanwhile. Reading and adopting overlap:
/// while the registry spawns the actors of one page, PostgreSQL already reads the next; a page is
/// handed over only once the registry adopted the one before, so at most two pages are held.
void adopt(caf::event_based_actor* self, std::shared_ptr<recovery_run> run,
           open_orders_page& page) {
  if (page.orders.empty()) {
    finish(self, *run, "done");
    return;
  }
  for (auto& s : page.orders) {
    auto id = s.order.id;
    self->send(run->registry, adopt_atom::value, entity_key{entity_kind::order, id},
               caf::make_message(std::move(s)));
  }
  run->progress->orders += static_cast<int64_t>(page.orders.size());
  auto join = std::make_shared<page_join>();
  auto ready = [=] {
    if (join->page && join->previous_adopted) adopt(self, run, *join->page);
  };
  // The registry answers in order: once it answered this, it adopted the page.
  self->request(run->registry, caf::infinite, stats_atom::value)
      .then(
          [=](registry_stats&) {
            join->previous_adopted = true;
            ready();
          },
          [=](caf::error&) { finish(self, *run, "stopped"); });
  self->request(run->persistence, run->db_timeout,
                orders_sql::load_open(page.last_id, run->page_size))
      .then(
          [=](open_orders_page& next) {
            join->page = std::move(next);
            ready();
          },
          [=](caf::error& err) { stop_reading(self, *run, err); });
}

}  // namespace

caf::actor spawn_order_recovery(caf::actor_system& sys, caf::actor persistence, caf::actor registry,
                                std::shared_ptr<recovery_progress> progress, int64_t page_size,
                                std::chrono::milliseconds db_timeout) {
  auto run = std::make_shared<recovery_run>(recovery_run{
      std::move(persistence), std::move(registry), std::move(progress), page_size, db_timeout});
  return sys.spawn([run](caf::event_based_actor* self) -> caf::behavior {
    self->request(run->persistence, run->db_timeout, orders_sql::load_open(0, run->page_size))
        .then([=](open_orders_page& first) { adopt(self, run, first); },
              [=](caf::error& err) { stop_reading(self, *run, err); });
    return {[](int) {}};
  });
}

}  // namespace wassally
