#include "actors/media_sweeper.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/spawn_options.hpp>
#include <iostream>
#include <set>

#include "media/media_store.hpp"
#include "persistence/pictures.hpp"
#include "protocols/errors.hpp"
#include "protocols/persistence.hpp"
#include "protocols/pictures.hpp"

namespace wassally {
namespace {

using sweep_atom = caf::atom_constant<caf::atom("mediasweep")>;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

caf::actor spawn_media_sweeper(caf::actor_system& sys, caf::actor persistence,
                               std::shared_ptr<media::media_store> store, media_sweep_options opts,
                               std::shared_ptr<media_sweep_figures> figures) {
  return sys.spawn<caf::detached>([=](caf::event_based_actor* self) -> caf::behavior {
    self->delayed_send(self, opts.interval, sweep_atom::value);
    return {
        [=](sweep_atom) {
          auto started = unix_now();
          auto listed = std::make_shared<std::vector<media::media_store::entry>>(store->list());
          self->request(persistence, opts.db_timeout, pictures_sql::referenced())
              .then(
                  [=](picture_references& refs) {
                    std::set<std::string> keep(refs.digests.begin(), refs.digests.end());
                    auto before = started - opts.grace.count();
                    int64_t removed = 0;
                    int64_t kept = 0;
                    for (auto& e : *listed) {
                      auto digest = e.key.substr(0, 64);
                      if (keep.count(digest) || e.modified_unix_s >= before) {
                        ++kept;
                        continue;
                      }
                      store->remove(e.key);
                      ++removed;
                    }
                    store->remove_abandoned_writes(before);
                    figures->removed += removed;
                    figures->kept = kept;
                    ++figures->runs;
                    self->delayed_send(self, opts.interval, sweep_atom::value);
                  },
                  [=](caf::error& err) {
                    std::cerr << "wassally: media sweep failed (" << from_caf_error(err).message
                              << "); next in " << opts.interval.count() << " s\n";
                    self->delayed_send(self, opts.interval, sweep_atom::value);
                  });
        },
    };
  });
}

}  // namespace wassally
