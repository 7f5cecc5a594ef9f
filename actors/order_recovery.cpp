#include "actors/order_recovery.hpp"

#include <malloc.h>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/send.hpp>
#include <iostream>

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

void next_page(caf::event_based_actor* self, std::shared_ptr<recovery_run> run, int64_t after) {
  self->request(run->persistence, run->db_timeout, orders_sql::load_open(after, run->page_size))
      .then(
          [=](open_orders_page& page) {
            if (page.orders.empty()) {
              finish(self, *run, "done");
              return;
            }
            for (auto& s : page.orders) {
              auto id = s.order.id;
              self->send(run->registry, adopt_atom::value, entity_key{"order", id},
                         caf::make_message(std::move(s)));
            }
            run->progress->orders += static_cast<int64_t>(page.orders.size());
            auto last = page.last_id;
            // The registry answers in order: once it answered this, it adopted the page.
            self->request(run->registry, caf::infinite, stats_atom::value)
                .then([=](registry_stats&) { next_page(self, run, last); },
                      [=](caf::error&) { finish(self, *run, "stopped"); });
          },
          [=](caf::error& err) {
            std::cerr << "wassally: recovery could not read open orders ("
                      << from_caf_error(err).message << "); they load on first use\n";
            finish(self, *run, "stopped");
          });
}

}  // namespace

caf::actor spawn_order_recovery(caf::actor_system& sys, caf::actor persistence, caf::actor registry,
                                std::shared_ptr<recovery_progress> progress, int64_t page_size,
                                std::chrono::milliseconds db_timeout) {
  auto run = std::make_shared<recovery_run>(recovery_run{
      std::move(persistence), std::move(registry), std::move(progress), page_size, db_timeout});
  return sys.spawn([run](caf::event_based_actor* self) -> caf::behavior {
    next_page(self, run, 0);
    return {[](int) {}};
  });
}

}  // namespace wassally
