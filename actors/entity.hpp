#pragma once
// The life cycle every entity actor (order, shop, crew, cart) shares: it loads its state on
// activation, counts database commands in flight, and after an idle period asks the registry
// to passivate it, quitting once the registry agreed and nothing is in flight. Since every
// acknowledged change is already committed, passivation loses nothing.

#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <chrono>
#include <functional>

#include "protocols/errors.hpp"
#include "protocols/persistence.hpp"
#include "protocols/registry.hpp"

namespace wassally {

struct entity_lifecycle {
  entity_key key;
  caf::actor registry;
  caf::actor persistence;
  std::chrono::milliseconds idle{300000};
  std::chrono::milliseconds db_timeout{5000};
  int in_flight = 0;
  bool passivating = false;
  bool released = false;  // the registry routes nothing more here
};

/// Quits when the registry has released the actor and no command is in flight.
template <class Self>
void entity_maybe_quit(Self* self, entity_lifecycle& lc) {
  if (lc.released && lc.in_flight == 0) self->quit();
}

/// Runs `cmd` on the persistence actor, counting it in flight; `on_ok` gets the reply of type
/// Reply, `on_error` any failure (already an api_error).
template <class Reply, class Self, class OnOk, class OnError>
void entity_persist(Self* self, entity_lifecycle& lc, db_command cmd, OnOk on_ok,
                    OnError on_error) {
  ++lc.in_flight;
  auto* lcp = &lc;
  self->request(lc.persistence, lc.db_timeout, std::move(cmd))
      .then(
          [=](Reply& reply) mutable {
            --lcp->in_flight;
            on_ok(reply);
            entity_maybe_quit(self, *lcp);
          },
          [=](caf::error& err) mutable {
            --lcp->in_flight;
            on_error(from_caf_error(err));
            entity_maybe_quit(self, *lcp);
          });
}

/// The idle clause to append to an entity's behavior: `caf::after(lc.idle) >> ...`.
template <class Self>
auto entity_idle_handler(Self* self, entity_lifecycle& lc) {
  auto* lcp = &lc;
  return caf::after(lc.idle) >> [self, lcp] {
    if (lcp->in_flight > 0 || lcp->passivating) return;
    lcp->passivating = true;
    self->request(lcp->registry, lcp->db_timeout, passivate_atom::value, lcp->key)
        .then(
            [self, lcp](passivate_atom) {
              lcp->released = true;
              entity_maybe_quit(self, *lcp);
            },
            [lcp](caf::error&) { lcp->passivating = false; });
  };
}

}  // namespace wassally
