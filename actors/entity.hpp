#pragma once
// The life cycle every entity actor (order, shop, crew, cart) shares: it loads its state on
// activation, counts database commands in flight, and after an idle period asks the registry
// to passivate it, quitting once the registry agreed and nothing is in flight. Since every
// acknowledged change is already committed, passivation loses nothing.

#include <caf/actor_cast.hpp>
#include <caf/after.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "protocols/errors.hpp"
#include "protocols/persistence.hpp"
#include "protocols/reconcile.hpp"
#include "protocols/registry.hpp"
#include "protocols/shops.hpp"

namespace wassally {

struct entity_lifecycle {
  entity_key key;
  caf::actor registry;
  caf::actor persistence;
  std::chrono::milliseconds idle{300000};
  std::chrono::milliseconds db_timeout{5000};
  shard_fence fence;  // cluster mode: every write carries it (epoch 0: none)
  int in_flight = 0;
  bool passivating = false;
  bool released = false;  // the registry routes nothing more here
  // Reloading after doubt (entity_reload_then): continuations waiting for the reload to land.
  bool reloading = false;
  std::vector<std::function<void()>> after_reload;
};

template <class Reply, class Self, class OnOk, class OnError>
void entity_persist_impl(Self* self, entity_lifecycle& lc, db_command cmd, OnOk on_ok,
                         OnError on_error, bool exclusive);

/// Whether a failed write leaves the actor unsure of its row: PostgreSQL refused what memory
/// allowed (a conditional update matched nothing, a constraint, a duplicate event number), or
/// the commit's outcome is unknown. A write that did not run (504 not_written, or 503: the
/// database was unreachable before anything was sent) leaves nothing to doubt.
inline bool write_in_doubt(const api_error& e) {
  if (e.status == 503) return false;
  if (e.code == "timeout") return errors::outcome_unknown(e);
  return e.status == 409 || e.status == 404 || e.status >= 500;
}

/// `cmd` carrying the deadline of the caller it is done for: not run when that passed before
/// the command reached a database connection.
inline db_command with_deadline(db_command cmd, const caller& who) {
  cmd.deadline_unix_ms = who.deadline_unix_ms;
  return cmd;
}

/// Quits when the registry has released the actor and no command is in flight.
template <class Self>
void entity_maybe_quit(Self* self, entity_lifecycle& lc) {
  if (lc.released && lc.in_flight == 0) self->quit();
}

template <class Reply, class Self, class OnOk, class OnError>
void entity_persist_impl(Self* self, entity_lifecycle& lc, db_command cmd, OnOk on_ok,
                         OnError on_error, bool exclusive) {
  if (cmd.write && lc.fence.epoch > 0) cmd.fences.push_back(lc.fence);
  ++lc.in_flight;
  auto* lcp = &lc;
  auto ok = [=](Reply& reply) mutable {
    --lcp->in_flight;
    on_ok(reply);
    entity_maybe_quit(self, *lcp);
  };
  auto failed = [=](caf::error& err) mutable {
    --lcp->in_flight;
    on_error(from_caf_error(err));
    entity_maybe_quit(self, *lcp);
  };
  // A write is finished by its outcome, never by patience (DESIGN.md rule 6): its reply is awaited
  // however late the commit comes, so the actor applies and publishes a late commit exactly as
  // a fast one. The HTTP caller may have had its 504 long before; a write whose caller's
  // deadline passed before it reached a connection is answered `not_written` by the
  // persistence actor instead of running. Reads keep the deadline.
  auto timeout = cmd.write ? caf::duration{caf::infinite} : caf::duration{lc.db_timeout};
  auto handle = self->request(lc.persistence, timeout, std::move(cmd));
  if (exclusive)
    handle.await(std::move(ok), std::move(failed));
  else
    handle.then(std::move(ok), std::move(failed));
}

/// Runs `cmd` on the persistence actor, counting it in flight; `on_ok` gets the reply of type
/// Reply, `on_error` any failure (already an api_error). Other messages are handled meanwhile.
template <class Reply, class Self, class OnOk, class OnError>
void entity_persist(Self* self, entity_lifecycle& lc, db_command cmd, OnOk on_ok,
                    OnError on_error) {
  entity_persist_impl<Reply>(self, lc, std::move(cmd), std::move(on_ok), std::move(on_error),
                             false);
}

/// Like entity_persist, but the actor handles nothing else until the commit answered: for
/// mutations computed from the current state, so the next one starts from the committed state.
template <class Reply, class Self, class OnOk, class OnError>
void entity_write(Self* self, entity_lifecycle& lc, db_command cmd, OnOk on_ok, OnError on_error) {
  entity_persist_impl<Reply>(self, lc, std::move(cmd), std::move(on_ok), std::move(on_error), true);
}

/// The one way an entity commits a change for a caller and answers it: runs `cmd` (not run if
/// `who`'s deadline passes before it reaches a connection; the actor handles nothing else until
/// PostgreSQL answered), then answers `rp` with `on_committed(reply)` (the answer, or an error
/// value). A refusal that leaves the actor unsure of its row (write_in_doubt) goes to
/// `on_doubt(error)`, which reloads; any other refusal is the answer.
template <class Reply, class Self, class Answer, class OnCommitted, class OnDoubt>
void entity_commit(Self* self, entity_lifecycle& lc, caf::typed_response_promise<Answer> rp,
                   db_command cmd, const caller& who, OnCommitted on_committed, OnDoubt on_doubt) {
  entity_write<Reply>(
      self, lc, with_deadline(std::move(cmd), who),
      [=](Reply& r) mutable {
        caf::expected<Answer> answer = on_committed(r);
        if (answer)
          rp.deliver(std::move(*answer));
        else
          rp.deliver(answer.error());
      },
      [=](const api_error& e) mutable {
        if (write_in_doubt(e))
          on_doubt(e);
        else
          rp.deliver(to_caf_error(e));
      });
}

/// Doubt means reload (DESIGN.md rule 6): reloads the entity's state with `load()` (a read
/// command) before the actor handles anything else — other messages wait in the mailbox —,
/// hands it to `apply`, then runs `next` (and the continuations of reloads asked meanwhile).
/// While the database is unreachable it tries again every second.
template <class Reply, class Self, class Load, class Apply>
void entity_reload_then(Self* self, entity_lifecycle& lc, Load load, Apply apply,
                        std::function<void()> next) {
  if (next) lc.after_reload.push_back(std::move(next));
  if (lc.reloading) return;
  lc.reloading = true;
  auto* lcp = &lc;
  auto attempt = std::make_shared<std::function<void()>>();
  *attempt = [self, lcp, load, apply]() mutable {
    ++lcp->in_flight;
    self->request(lcp->persistence, lcp->db_timeout, load())
        .then(
            [self, lcp, apply](Reply& r) mutable {
              --lcp->in_flight;
              apply(r);
              lcp->reloading = false;
              self->unbecome();
              auto waiting = std::move(lcp->after_reload);
              lcp->after_reload.clear();
              for (auto& f : waiting) f();
            },
            [self, lcp](caf::error&) {
              --lcp->in_flight;
              // (anonymously: a typed entity need not list reload_atom in its interface)
              caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), std::chrono::seconds(1),
                                     reload_atom::value);
            });
  };
  // Only the reload's own retries are handled meanwhile; everything else waits in the mailbox
  // (skipped, not dropped: an actor adopted with a preload has CAF's default handler, which would
  // answer a request it skips with an error).
  // (do_become: the entity's typed behaviour would not admit this partial one; it is popped by
  // the unbecome() above once the reload landed.)
  self->set_default_handler(caf::skip);
  self->do_become(caf::behavior{[attempt](reload_atom) { (*attempt)(); }}, false);
  (*attempt)();
}

/// Asks the registry to stop routing here; the actor quits once it agreed and nothing is in
/// flight. Messages arriving meanwhile are still handled.
template <class Self>
void entity_request_passivation(Self* self, entity_lifecycle& lc) {
  if (lc.passivating) return;
  lc.passivating = true;
  auto* lcp = &lc;
  self->request(lc.registry, lc.db_timeout, passivate_atom::value, lc.key)
      .then(
          [self, lcp](passivate_atom) {
            lcp->released = true;
            entity_maybe_quit(self, *lcp);
          },
          [lcp](caf::error&) { lcp->passivating = false; });
}

/// The registry routes nothing more here (cluster mode: the shard was given up and drained):
/// quits once nothing is in flight, every message already received answered.
template <class Self>
void entity_release(Self* self, entity_lifecycle& lc) {
  lc.passivating = true;
  lc.released = true;
  entity_maybe_quit(self, lc);
}

/// The idle clause to append to an entity's behavior: `caf::after(lc.idle) >> ...`.
template <class Self>
auto entity_idle_handler(Self* self, entity_lifecycle& lc) {
  auto* lcp = &lc;
  return caf::after(lc.idle) >> [self, lcp] {
    if (lcp->in_flight == 0) entity_request_passivation(self, *lcp);
  };
}

/// For an entity whose state could not be loaded (unknown id, database down): answer every
/// message with `error` and leave, so the next message tries a fresh activation.
template <class Self>
void entity_fail_activation(Self* self, entity_lifecycle& lc, api_error error) {
  self->set_default_handler(
      [error](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
        return to_caf_error(error);
      });
  self->do_become(caf::behavior{[](passivate_atom) {}}, true);
  entity_request_passivation(self, lc);
}

/// The behaviour an entity starts with while it loads its state: it handles nothing, so every
/// message waits in the mailbox (with `caf::skip` as the default handler) until the actor
/// becomes its typed running behaviour. Typed as `Interface`'s behaviour only to be returned
/// from the spawn function: no handler of it can ever be called.
template <class Interface>
typename Interface::behavior_type entity_loading_behavior() {
  using behavior_type = typename Interface::behavior_type;
  return behavior_type{typename behavior_type::unsafe_init{}, caf::behavior{[](int) {}}};
}

}  // namespace wassally
