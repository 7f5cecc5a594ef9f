#include "actors/housekeeping.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <functional>
#include <iostream>
#include <vector>

#include "persistence/orders.hpp"
#include "persistence/users.hpp"
#include "protocols/errors.hpp"
#include "protocols/persistence.hpp"

namespace wassally {
namespace {

using purge_atom = caf::atom_constant<caf::atom("purge")>;

struct purge_kind {
  std::function<db_command(int64_t)> command;
  std::atomic<int64_t>* counter;
};

/// Runs kinds[k] in statements of `batch_size` rows until one deletes fewer, then the next
/// kind; after the last (or a failure) the next round is scheduled.
void purge(caf::event_based_actor* self, caf::actor persistence, housekeeping_options opts,
           std::shared_ptr<housekeeping_figures> figures,
           std::shared_ptr<std::vector<purge_kind>> kinds, std::size_t k) {
  if (k == kinds->size()) {
    ++figures->runs;
    self->delayed_send(self, opts.interval, purge_atom::value);
    return;
  }
  self->request(persistence, opts.db_timeout, (*kinds)[k].command(opts.batch_size))
      .then(
          [=](int64_t deleted) {
            *(*kinds)[k].counter += deleted;
            purge(self, persistence, opts, figures, kinds, deleted < opts.batch_size ? k + 1 : k);
          },
          [=](caf::error& err) {
            std::cerr << "wassally: purge failed (" << from_caf_error(err).message
                      << "); next round in " << opts.interval.count() << " s\n";
            self->delayed_send(self, opts.interval, purge_atom::value);
          });
}

}  // namespace

caf::actor spawn_housekeeping(caf::actor_system& sys, caf::actor persistence,
                              housekeeping_options opts,
                              std::shared_ptr<housekeeping_figures> figures) {
  return sys.spawn([=](caf::event_based_actor* self) -> caf::behavior {
    auto kinds = std::make_shared<std::vector<purge_kind>>(
        std::vector<purge_kind>{{orders_sql::purge_idempotency_keys, &figures->idempotency_keys},
                                {users_sql::purge_refresh_tokens, &figures->refresh_tokens}});
    self->delayed_send(self, opts.interval, purge_atom::value);
    return {
        [=](purge_atom) { purge(self, persistence, opts, figures, kinds, 0); },
    };
  });
}

}  // namespace wassally
