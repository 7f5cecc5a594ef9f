#include "actors/crew.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "actors/entity.hpp"
#include "persistence/crews.hpp"
#include "protocols/clock.hpp"
#include "protocols/crews.hpp"
#include "protocols/dispatch.hpp"
#include "protocols/entity_interfaces.hpp"
#include "protocols/events.hpp"
#include "protocols/inspection.hpp"
#include "protocols/reconcile.hpp"

namespace wassally {
namespace {

struct crew_state {
  entity_lifecycle lc;
  crew_options opts;
  caf::actor dispatcher;
  caf::actor event_bus;
  crew_record crew;
  std::set<int64_t> holding;                       // assigned or picked up, committed
  std::set<int64_t> claims;                        // accepts or assignments not yet committed
  std::set<int64_t> suspect_held, suspect_unheld;  // anti-entropy: differences seen last check
  // Position writes: one in flight at a time. Positions reported meanwhile wait in `next`
  // (a later one replaces an earlier one) and are answered by the write after it.
  struct reported_position {
    double latitude = 0;
    double longitude = 0;
    int64_t seen_unix = 0;
    int64_t deadline_unix_ms = 0;  // the latest of its callers' deadlines
  };
  bool writing_location = false;
  std::optional<reported_position> next_position;
  std::vector<caf::typed_response_promise<done>> next_waiters;
  static inline const char* name = "crew";
};

using self_ptr = crew_actor::stateful_pointer<crew_state>;

crew_record snapshot(const crew_state& st) {
  auto c = st.crew;
  c.current_order_ids.assign(st.holding.begin(), st.holding.end());
  return c;
}

crew_moved position_of(const crew_record& c) {
  return {c.user_id, crew_position{true, c.latitude, c.longitude, c.last_seen}};
}

/// Tells `order_id` where this crew is (after a committed position, or on being assigned).
void tell_position(self_ptr self, int64_t order_id) {
  auto& c = self->state.crew;
  if (c.has_location) tell(order_ref(self->state.lc.registry, order_id), position_of(c));
}

/// Tells the dispatcher what offers need to know of this crew (after each committed change of
/// its status, position or held orders).
void tell_dispatcher(self_ptr self) {
  auto& st = self->state;
  auto& c = st.crew;
  if (st.dispatcher)
    caf::anon_send(
        st.dispatcher,
        crew_availability{c.user_id, c.status == crew_status::available, c.has_location, c.latitude,
                          c.longitude, static_cast<int64_t>(st.holding.size()),
                          service_clock::parse_iso(c.last_seen).value_or(0)});
}

void publish_crew(self_ptr self) {
  auto& c = self->state.crew;
  publish(self->state.event_bus,
          crew_changed{c.user_id, c.status, c.has_location, c.latitude, c.longitude,
                       service_clock::format_iso(service_clock::now())});
}

/// The pending orders near the crew: ids and distances from the dispatcher's index, then each
/// order of the page as crews may see it, asked of the order itself (the dispatcher keeps no
/// copy). An order that left `pending` in between is left out of the page and the count.
void list_pending(self_ptr self, caf::typed_response_promise<pending_page> rp,
                  const crew_pending_query& q) {
  auto& st = self->state;
  auto& c = st.crew;
  ++st.lc.in_flight;
  auto finished = [self] {
    --self->state.lc.in_flight;
    entity_maybe_quit(self, self->state.lc);
  };
  self->request(st.dispatcher, st.lc.db_timeout,
                pending_query{c.latitude, c.longitude, q.radius_km, q.offset, q.limit})
      .then(
          [=](pending_matches& matches) mutable {
            struct gathering {
              pending_matches matches;
              std::vector<std::optional<order_record>> orders;
              size_t answered = 0;
              std::optional<caf::error> failure;  // other than the order having left `pending`
            };
            auto g = std::make_shared<gathering>();
            g->orders.resize(matches.page.size());
            g->matches = std::move(matches);
            auto deliver = [=]() mutable {
              finished();
              if (g->failure) {
                rp.deliver(*g->failure);
                return;
              }
              pending_page page;
              page.count = g->matches.count;
              for (size_t i = 0; i < g->orders.size(); ++i)
                if (g->orders[i])
                  page.results.push_back(
                      {std::move(*g->orders[i]), g->matches.page[i].distance_km});
                else
                  --page.count;
              rp.deliver(std::move(page));
            };
            if (g->orders.empty()) {
              deliver();
              return;
            }
            caller crew{self->state.crew.user_id, roles::delivery_crew};
            for (size_t i = 0; i < g->orders.size(); ++i) {
              auto arrived = [=](std::optional<order_record> o) mutable {
                g->orders[i] = std::move(o);
                if (++g->answered == g->orders.size()) deliver();
              };
              ask_entity(self, order_ref(self->state.lc.registry, g->matches.page[i].order_id),
                         self->state.lc.db_timeout, view_pending_order{crew})
                  .then([=](order_record& o) mutable { arrived(std::move(o)); },
                        [=](caf::error& err) mutable {
                          auto code = from_caf_error(err).code;
                          if (code != "not_pending" && code != "not_found") g->failure = err;
                          arrived(std::nullopt);
                        });
            }
          },
          [=](caf::error& err) mutable {
            rp.deliver(std::move(err));
            finished();
          });
}

/// Writes the latest reported position, then answers every caller whose position it holds or
/// supersedes: a 204 means a position at least as recent as the caller's is committed. Memory
/// (the position pending listings measure from, `last_seen`) follows the commit, and the
/// staff stream hears of it only then.
void write_location(self_ptr self) {
  auto& st = self->state;
  if (st.writing_location || !st.next_position) return;
  auto pos = *st.next_position;
  st.next_position.reset();
  auto waiters =
      std::make_shared<std::vector<caf::typed_response_promise<done>>>(std::move(st.next_waiters));
  st.next_waiters.clear();
  st.writing_location = true;
  auto cmd = crews_sql::save_location(st.crew.user_id, pos.latitude, pos.longitude, pos.seen_unix);
  cmd.deadline_unix_ms = pos.deadline_unix_ms;
  entity_persist<done>(
      self, st.lc, std::move(cmd),
      [self, pos, waiters](done&) {
        auto& st = self->state;
        st.writing_location = false;
        st.crew.has_location = true;
        st.crew.latitude = pos.latitude;
        st.crew.longitude = pos.longitude;
        st.crew.last_seen = service_clock::format_iso(pos.seen_unix);
        publish_crew(self);
        tell_dispatcher(self);
        for (auto order_id : st.holding) tell_position(self, order_id);
        for (auto& rp : *waiters) rp.deliver(done{});
        write_location(self);
      },
      [self, waiters](const api_error& e) {
        self->state.writing_location = false;
        for (auto& rp : *waiters) rp.deliver(to_caf_error(e));
        write_location(self);
      });
}

/// Hands `msg` to the dispatcher and its answer back to the sender.
template <class Reply, class Message>
caf::typed_response_promise<Reply> ask_dispatcher(self_ptr self, const Message& msg) {
  auto rp = self->make_response_promise<Reply>();
  self->request(self->state.dispatcher, self->state.lc.db_timeout, msg)
      .then([rp](Reply& r) mutable { rp.deliver(std::move(r)); },
            [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

crew_actor::behavior_type running(self_ptr self) {
  return {
      [=](const set_crew_location& loc) {
        auto& st = self->state;
        auto rp = self->make_response_promise<done>();
        // The write answers every waiting caller: it may start while any of them still waits.
        auto deadline = loc.deadline_unix_ms;
        if (st.next_position) {
          auto earlier = st.next_position->deadline_unix_ms;
          deadline = deadline == 0 || earlier == 0 ? 0 : std::max(deadline, earlier);
        }
        st.next_position = crew_state::reported_position{loc.latitude, loc.longitude,
                                                         service_clock::now(), deadline};
        st.next_waiters.push_back(rp);
        write_location(self);
        return rp;
      },
      [=](const set_crew_status& req) {
        auto rp = self->make_response_promise<crew_record>();
        auto status = req.status;
        entity_write<done>(
            self, self->state.lc, crews_sql::save_status(self->state.crew.user_id, status),
            [=](done&) mutable {
              self->state.crew.status = status;
              publish_crew(self);
              tell_dispatcher(self);
              rp.deliver(snapshot(self->state));
            },
            [=](const api_error& e) mutable { rp.deliver(to_caf_error(e)); });
        return rp;
      },
      [=](const crew_pending_query& q) {
        auto rp = self->make_response_promise<pending_page>();
        auto& c = self->state.crew;
        if (!c.has_location)
          rp.deliver(to_caf_error(errors::conflict(
              "location_required", "report your position (PUT /crew/location) first")));
        else
          list_pending(self, rp, q);
        return rp;
      },
      [=](const claim_crew_slot& req) -> caf::result<done> {
        auto& st = self->state;
        if (st.holding.count(req.order_id) || st.claims.count(req.order_id)) return done{};
        if (!req.by_staff && st.crew.status != crew_status::available)
          return to_caf_error(
              errors::conflict("crew_offline", "set your status to available to take orders"));
        if (static_cast<int>(st.holding.size() + st.claims.size()) >= st.opts.max_orders)
          return to_caf_error(errors::conflict("crew_busy", "a crew holds at most " +
                                                                std::to_string(st.opts.max_orders) +
                                                                " undelivered orders"));
        st.claims.insert(req.order_id);
        return done{};
      },
      [=](const crew_slot_outcome& o) {
        auto& st = self->state;
        st.claims.erase(o.order_id);
        if (o.kept) {
          st.holding.insert(o.order_id);
          tell_position(self, o.order_id);
          tell_dispatcher(self);
        }
      },
      [=](const crew_order_finished& f) {
        auto& st = self->state;
        st.claims.erase(f.order_id);
        // Only news if this actor still held the order: one loaded after the delivery
        // committed already has the coins and delivery in its row.
        if (!st.holding.erase(f.order_id)) return;
        if (f.delivered) {
          st.crew.coins += f.coins;
          st.crew.number_of_deliveries += 1;
        }
        tell_dispatcher(self);
      },
      // Anti-entropy: the orders PostgreSQL says this crew holds. An order held there but not
      // here (or the reverse) on two checks in a row is repaired; one with a claim in flight is
      // left to its outcome.
      [=](const reconcile_holdings& db) -> reconcile_outcome {
        auto& st = self->state;
        reconcile_outcome out;
        std::set<int64_t> in_db(db.order_ids.begin(), db.order_ids.end());
        std::set<int64_t> held, unheld;
        for (auto id : in_db)
          if (!st.holding.count(id) && !st.claims.count(id)) held.insert(id);
        for (auto id : st.holding)
          if (!in_db.count(id) && !st.claims.count(id)) unheld.insert(id);
        for (auto id : held)
          if (st.suspect_held.count(id)) {
            st.holding.insert(id);
            ++out.repaired;
            out.orders.push_back(id);
          }
        for (auto id : unheld)
          if (st.suspect_unheld.count(id)) {
            st.holding.erase(id);
            ++out.repaired;
            out.orders.push_back(id);
          }
        st.suspect_held = std::move(held);
        st.suspect_unheld = std::move(unheld);
        if (out.repaired) tell_dispatcher(self);
        return out;
      },
      // The crew's offers live in the dispatcher of the node serving the crew, this one.
      [=](const get_crew_offer& q) { return ask_dispatcher<open_offer>(self, q); },
      [=](const decline_offer& d) { return ask_dispatcher<done>(self, d); },
      [=](state_atom) { return to_actor_state(snapshot(self->state)); },
      [=](mailbox_atom) { return static_cast<int64_t>(self->mailbox().size()); },
      [=](release_atom) { entity_release(self, self->state.lc); },
      entity_idle_handler(self, self->state.lc),
  };
}

}  // namespace

entity_factory crew_factory(caf::actor persistence, caf::actor dispatcher, caf::actor event_bus,
                            crew_options opts) {
  return [=](caf::actor_system& sys, const caf::actor& registry, int64_t id, const caf::message&,
             const shard_fence& fence) {
    auto crew = sys.spawn([=](self_ptr self) -> crew_actor::behavior_type {
      auto& st = self->state;
      st.opts = opts;
      st.dispatcher = dispatcher;
      st.event_bus = event_bus;
      st.lc.key = {entity_kind::crew, id};
      st.lc.registry = registry;
      st.lc.persistence = persistence;
      st.lc.idle = opts.idle;
      st.lc.db_timeout = opts.db_timeout;
      st.lc.fence = fence;
      self->set_default_handler(caf::skip);
      entity_persist<crew_record>(
          self, st.lc, crews_sql::load(id),
          [self](crew_record& c) {
            auto& st = self->state;
            st.holding.insert(c.current_order_ids.begin(), c.current_order_ids.end());
            st.crew = std::move(c);
            self->become(running(self));
          },
          [self](const api_error& e) { entity_fail_activation(self, self->state.lc, e); });
      return entity_loading_behavior<crew_actor>();
    });
    return caf::actor_cast<caf::actor>(crew);
  };
}

}  // namespace wassally
