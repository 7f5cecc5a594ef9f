#include "actors/order.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <map>
#include <optional>
#include <set>

#include "actors/entity.hpp"
#include "actors/eta_rules.hpp"
#include "actors/order_rules.hpp"
#include "persistence/orders.hpp"
#include "protocols/clock.hpp"
#include "protocols/crews.hpp"
#include "protocols/deadline.hpp"
#include "protocols/entity_interfaces.hpp"
#include "protocols/events.hpp"
#include "protocols/inspection.hpp"
#include "protocols/orders.hpp"
#include "protocols/reconcile.hpp"

namespace wassally {
namespace {

/// At most one event of a kind per window: when the last one went out, and whether a reminder
/// to send the latest is on its way.
struct event_throttle {
  std::chrono::milliseconds every{5000};
  int64_t sent_ms = 0;
  bool due = false;
};

struct order_state {
  entity_lifecycle lc;
  caf::actor event_bus;
  order_record order;
  std::vector<order_event> events;
  std::shared_ptr<order_actor_counters> counters;
  // The crew's position and the eta on the order's streams.
  event_throttle crew_location_throttle;
  event_throttle eta_throttle;
  // The eta (unix s; also order.eta as ISO) and the last one published.
  eta_rules::settings eta_settings;
  std::optional<int64_t> eta;
  std::optional<int64_t> eta_published;
  // The shops the crew visits (orders_sql::stops), read once when the eta first needs them.
  std::vector<order_stop> stops;
  bool stops_loaded = false;
  bool stops_loading = false;
  static inline const char* name = "order";
};

using self_ptr = order_actor::stateful_pointer<order_state>;
using order_promise = caf::typed_response_promise<order_record>;

void refresh_eta(self_ptr self);

/// Reloads the order before handling anything else, then runs `next`. Changes that committed
/// without this actor hearing of it (an outcome reported as unknown, news anti-entropy found)
/// are published now, as a commit heard of would have been.
void reload_then(self_ptr self, std::function<void()> next) {
  auto& st = self->state;
  if (!st.lc.reloading && st.counters) ++st.counters->reloads;
  entity_reload_then<order_snapshot>(
      self, st.lc, [id = st.order.id] { return orders_sql::load(id); },
      [self](order_snapshot& s) {
        auto& st = self->state;
        int64_t known = st.events.empty() ? 0 : st.events.back().seq;
        for (auto& e : s.events)
          if (e.seq > known) {
            order_status_changed change;
            change.order_id = s.order.id;
            change.event = e;
            publish(st.event_bus, change);
            // A delivery that committed unheard of also counted for the order's shops: they
            // reload their row rather than wait for anti-entropy.
            if (e.status == order_status::delivered) {
              std::set<int64_t> shops;
              for (auto& i : s.order.items) shops.insert(i.shop_id);
              for (auto shop : shops) tell(shop_ref(st.lc.registry, shop), reload_atom::value);
            }
          }
        st.order = std::move(s.order);
        st.events = std::move(s.events);
        refresh_eta(self);
      },
      std::move(next));
}

api_error hidden() { return errors::not_found("no such order"); }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Whether an event throttled by `t` may go out now. If not, `flush` comes back to the actor
/// when the window ends (one reminder at a time), to send whatever is latest then.
template <class Flush>
bool throttle_allows(self_ptr self, event_throttle& t, Flush flush) {
  auto wait = t.sent_ms + t.every.count() - now_ms();
  if (wait > 0) {
    if (!t.due) {
      t.due = true;
      self->delayed_send(self, std::chrono::milliseconds(wait), flush);
    }
    return false;
  }
  t.sent_ms = now_ms();
  return true;
}

/// Publishes where the crew is now, or, within the window of the last one, once it ends.
void announce_crew_location(self_ptr self) {
  auto& st = self->state;
  if (!order_rules::tracks_crew(st.order) || !st.order.crew_location.known) return;
  if (!throttle_allows(self, st.crew_location_throttle, crew_location_flush_atom::value)) return;
  publish(st.event_bus, order_crew_location{st.order.id, st.order.crew_location});
}

/// Publishes the eta when it moved enough since the last one published
/// (eta_rules::worth_announcing), at most once per window: the latest when it ends.
void announce_eta(self_ptr self) {
  auto& st = self->state;
  if (!eta_rules::worth_announcing(st.eta_published, st.eta)) return;
  if (!throttle_allows(self, st.eta_throttle, eta_flush_atom::value)) return;
  st.eta_published = st.eta;
  publish(st.event_bus, order_eta_changed{st.order.id, st.order.eta});
}

/// Reads the order's stops once (not blocking: other messages are handled meanwhile), then
/// estimates again. A failed read leaves the eta unknown until the next trigger tries again.
void load_stops(self_ptr self) {
  auto& st = self->state;
  if (st.stops_loading) return;
  st.stops_loading = true;
  entity_persist<order_stops>(
      self, st.lc, orders_sql::stops(st.order.id),
      [self](order_stops& s) {
        auto& st = self->state;
        st.stops_loading = false;
        st.stops = std::move(s.stops);
        st.stops_loaded = true;
        refresh_eta(self);
      },
      [self](const api_error&) { self->state.stops_loading = false; });
}

/// Estimates the eta again (eta_rules::estimate) and announces it if it changed enough.
void refresh_eta(self_ptr self) {
  auto& st = self->state;
  auto& o = st.order;
  std::optional<int64_t> eta;
  if (o.status == order_status::assigned && !st.stops_loaded)
    load_stops(self);
  else if (order_rules::tracks_crew(o))
    eta = eta_rules::estimate(service_clock::now(), o.status,
                              service_clock::parse_iso(o.created_at).value_or(0), o.crew_location,
                              eta_rules::stops_to_visit(o, st.stops), o.location, st.eta_settings);
  st.eta = eta;
  o.eta = eta ? service_clock::format_iso(*eta) : std::string();
  announce_eta(self);
}

/// Stock moves of the order's products, per shop.
std::map<int64_t, std::vector<order_line_request>> lines_by_shop(
    const order_record& o, const std::vector<order_line_request>& moves) {
  std::map<int64_t, std::vector<order_line_request>> out;
  for (auto& m : moves)
    for (auto& i : o.items)
      if (i.product_id == m.product_id) {
        out[i.shop_id].push_back(m);
        break;
      }
  return out;
}

/// Commits `t` and, once committed, updates the order, tells the shops and crews concerned,
/// publishes the change and answers with the order as `who` sees it.
void commit_transition(self_ptr self, order_promise rp, orders_sql::transition t, caller who,
                       int64_t previous_crew, std::function<void()> on_doubt) {
  auto new_crew = t.crew_id;
  auto delivered = t.delivered;
  auto coins = t.coins;
  // Stock going back locks its shops' product rows, as a placement does (a bulkhead key each).
  std::set<int64_t> shops;
  for (auto& r : t.returned)
    for (auto& i : self->state.order.items)
      if (i.product_id == r.product_id) shops.insert(i.shop_id);
  auto cmd = with_deadline(orders_sql::apply(std::move(t)), who);
  for (auto shop : shops) cmd.lock_keys.push_back("shop:" + std::to_string(shop));
  entity_write<order_transitioned>(
      self, self->state.lc, std::move(cmd),
      [=](order_transitioned& done) mutable {
        auto& st = self->state;
        auto& e = done.event;
        st.order.status = e.status;
        st.order.crew_id = e.status == order_status::pending ? 0 : new_crew;
        // Another crew's position (or none, once over) until the new crew reports.
        if (st.order.crew_id != previous_crew || !order_rules::tracks_crew(st.order))
          st.order.crew_location = {};
        st.order.updated_at = e.at;
        if (e.status == order_status::cancelled) {
          st.order.cancel_reason = e.cancel_reason;
          st.order.cancel_note = e.cancel_note;
          st.order.cancelled_by = e.cancelled_by;
        }
        st.events.push_back(e);
        auto crew = [&](int64_t id) { return crew_ref(st.lc.registry, id); };
        if (e.status == order_status::assigned) {
          tell(crew(new_crew), crew_slot_outcome{st.order.id, true});
          if (previous_crew && previous_crew != new_crew)
            tell(crew(previous_crew), crew_order_finished{st.order.id, false, 0});
        } else if (order_status::is_final(e.status) && previous_crew) {
          tell(crew(previous_crew), crew_order_finished{st.order.id, delivered, coins});
        }
        for (auto& [shop, lines] : lines_by_shop(st.order, done.stock_moves))
          tell(shop_ref(st.lc.registry, shop), stock_returned{lines});
        for (auto& confirmed : done.confirmed)
          tell(shop_ref(st.lc.registry, confirmed.shop_id), confirmed);
        order_status_changed change;
        change.order_id = st.order.id;
        change.event = e;
        change.from_crew_id = previous_crew;
        publish(st.event_bus, change);
        refresh_eta(self);
        rp.deliver(order_rules::view_for(st.order, who));
      },
      [=](const api_error& e) mutable {
        if (!write_in_doubt(e) || !on_doubt) {
          if (new_crew && new_crew != previous_crew)
            tell(crew_ref(self->state.lc.registry, new_crew),
                 crew_slot_outcome{self->state.order.id, false});
          rp.deliver(to_caf_error(e));
          return;
        }
        // PostgreSQL holds something memory does not: reload, tell the crew what the row says
        // about its slot, then answer as the reloaded order decides.
        reload_then(self, [self, new_crew, previous_crew, on_doubt] {
          auto& o = self->state.order;
          if (new_crew && new_crew != previous_crew)
            tell(crew_ref(self->state.lc.registry, new_crew),
                 crew_slot_outcome{o.id,
                                   o.crew_id == new_crew && !order_status::is_final(o.status)});
          on_doubt();
        });
      });
}

/// Actions that change no status: an item bought, a wrong code (answered with `answer`),
/// unlocking delivery. A refusal in doubt reloads the order and decides again (`on_doubt`).
template <class Apply>
void commit_detail(self_ptr self, order_promise rp, db_command cmd, caller who, Apply apply,
                   std::function<void()> on_doubt, std::optional<api_error> answer = std::nullopt) {
  entity_commit<done>(
      self, self->state.lc, rp, std::move(cmd), who,
      [=](done&) mutable -> caf::expected<order_record> {
        apply(self->state.order);
        if (answer) return to_caf_error(*answer);
        return order_rules::view_for(self->state.order, who);
      },
      [=](const api_error& e) mutable {
        if (on_doubt)
          reload_then(self, on_doubt);
        else
          rp.deliver(to_caf_error(e));
      });
}

/// Carries out what order_rules::decide decided for `a`.
void act(self_ptr self, order_promise rp, const order_action& a, bool reloaded = false) {
  auto& st = self->state;
  auto& o = st.order;
  // Once: an action PostgreSQL refused is decided again on the reloaded order, and that answer
  // stands.
  std::function<void()> on_doubt;
  if (!reloaded) on_doubt = [self, rp, a]() mutable { act(self, rp, a, true); };
  auto decided = order_rules::decide(o, a);
  if (!decided) {
    rp.deliver(decided.error());
    return;
  }
  const auto& d = *decided;
  auto who = a.who;
  using effect = order_rules::outcome::effect;
  switch (d.what) {
    case effect::unchanged:
      rp.deliver(order_rules::view_for(o, who));
      return;
    case effect::mark_bought:
      commit_detail(
          self, rp, orders_sql::mark_bought(o.id, d.item_id), who,
          [self, item_id = d.item_id](order_record& r) {
            for (auto& i : r.items)
              if (i.id == item_id) i.is_bought = true;
            refresh_eta(self);  // a shop may be visited now
          },
          on_doubt);
      return;
    case effect::unlock_code:
      commit_detail(
          self, rp, orders_sql::unlock_code(o.id), who,
          [](order_record& r) {
            r.wrong_code_count = 0;
            r.code_locked = false;
          },
          on_doubt);
      return;
    case effect::record_wrong_code:
      commit_detail(
          self, rp, orders_sql::record_wrong_code(o.id, d.wrong_codes, d.lock), who,
          [count = d.wrong_codes, locked = d.lock](order_record& r) {
            r.wrong_code_count = count;
            r.code_locked = locked;
          },
          on_doubt, d.answer);
      return;
    case effect::transition:
      break;
  }
  orders_sql::transition t;
  t.order_id = o.id;
  t.from = o.status;
  t.from_crew_id = o.crew_id;
  t.to = d.to;
  t.crew_id = d.crew_id;
  t.by_user_id = who.user_id;
  t.seq = st.events.empty() ? 1 : st.events.back().seq + 1;
  t.at_unix = service_clock::now();
  t.cancel_reason = d.cancel_reason;
  t.cancel_note = d.cancel_note;
  t.cancelled_by = d.cancelled_by;
  if (d.returns_stock)
    for (auto& i : o.items) t.returned.push_back({i.product_id, i.amount, 0});
  if (d.pays_crew) {
    t.delivered = true;
    t.coins = o.coins;
  }
  auto previous = o.crew_id;
  if (!d.claims_crew_slot) {
    commit_transition(self, rp, std::move(t), who, previous, on_doubt);
    return;
  }
  // Taking the order needs the crew's consent (online, below its limit); nothing else happens
  // to this order until the crew answered and the change committed.
  ++st.lc.in_flight;
  ask_entity(self, crew_ref(st.lc.registry, d.crew_id), st.lc.db_timeout,
             claim_crew_slot{o.id, who.is_staff()})
      .await(
          [=](done&) mutable {
            --self->state.lc.in_flight;
            commit_transition(self, rp, t, who, previous, on_doubt);
          },
          [=](caf::error& err) mutable {
            --self->state.lc.in_flight;
            auto e = from_caf_error(err);
            if (e.code == "not_found") e = errors::validation("crew_id", "no such delivery crew");
            rp.deliver(to_caf_error(e));
          });
}

order_actor::behavior_type running(self_ptr self) {
  return {
      [=](const get_order& q) -> caf::result<order_record> {
        auto& o = self->state.order;
        if (!order_rules::may_see(o, q.who)) return to_caf_error(hidden());
        return order_rules::view_for(o, q.who);
      },
      [=](const view_pending_order& q) -> caf::result<order_record> {
        auto& o = self->state.order;
        if (q.who.role != roles::delivery_crew && !q.who.is_staff()) return to_caf_error(hidden());
        if (o.status != order_status::pending)
          return to_caf_error(errors::conflict("not_pending", "the order is no longer pending"));
        return order_rules::view_for(o, q.who);
      },
      [=](const get_order_history& q) -> caf::result<order_history> {
        if (!order_rules::may_see(self->state.order, q.who)) return to_caf_error(hidden());
        return order_history{self->state.events};
      },
      [=](const watch_order& q) -> caf::result<order_watch> {
        auto& st = self->state;
        if (!order_rules::may_see(st.order, q.who)) return to_caf_error(hidden());
        order_watch out;
        out.final = order_status::is_final(st.order.status);
        out.sees_crew_location = order_rules::sees_crew_location(st.order, q.who);
        if (out.sees_crew_location && order_rules::tracks_crew(st.order))
          out.crew_location = st.order.crew_location;
        out.eta = st.order.eta;
        if (q.resume) {
          for (auto& e : st.events)
            if (e.seq > q.after_seq) out.events.push_back(e);
        } else if (!st.events.empty()) {
          out.events.push_back(st.events.back());
        }
        return out;
      },
      [=](const order_action& a) {
        auto rp = self->make_response_promise<order_record>();
        // The caller stopped waiting before this actor got to it (it was busy with a slow
        // commit): not started at all.
        if (deadline_passed(a.who.deadline_unix_ms))
          rp.deliver(to_caf_error(errors::timeout("not_written")));
        else
          act(self, rp, a);
        return rp;
      },
      [=](state_atom) {
        return to_actor_state(order_snapshot{self->state.order, self->state.events, {}});
      },
      [=](const crew_moved& m) {
        auto& o = self->state.order;
        if (!order_rules::tracks_crew(o) || o.crew_id != m.crew_id) return;
        if (o.crew_location.known && m.position.at < o.crew_location.at) return;  // older
        o.crew_location = m.position;
        announce_crew_location(self);
        refresh_eta(self);
      },
      [=](crew_location_flush_atom) {
        self->state.crew_location_throttle.due = false;
        announce_crew_location(self);
      },
      [=](eta_flush_atom) {
        self->state.eta_throttle.due = false;
        announce_eta(self);
      },
      // Anti-entropy found news about this order that the actor missed: reload it.
      [=](reload_atom) { reload_then(self, nullptr); },
      [=](mailbox_atom) { return static_cast<int64_t>(self->mailbox().size()); },
      [=](release_atom) { entity_release(self, self->state.lc); },
      // Every open order stays live (API.md: operators see it; the dispatcher asks it for its
      // crew view): only a delivered or cancelled order is passivated when idle.
      caf::after(self->state.lc.idle) >>
          [=] {
            auto& st = self->state;
            if (st.lc.in_flight == 0 && order_status::is_final(st.order.status))
              entity_request_passivation(self, st.lc);
          },
  };
}

}  // namespace

entity_factory order_factory(caf::actor persistence, caf::actor event_bus,
                             std::chrono::milliseconds idle, std::chrono::milliseconds db_timeout,
                             std::shared_ptr<order_actor_counters> counters,
                             std::chrono::milliseconds crew_location_every,
                             eta_rules::settings eta) {
  return [=](caf::actor_system& sys, const caf::actor& registry, int64_t id,
             const caf::message& preload, const shard_fence& fence) {
    auto order = sys.spawn([=](self_ptr self) -> order_actor::behavior_type {
      auto& st = self->state;
      st.event_bus = event_bus;
      st.counters = counters;
      st.crew_location_throttle.every = crew_location_every;
      st.eta_throttle.every = crew_location_every;
      st.eta_settings = eta;
      st.lc.key = {entity_kind::order, id};
      st.lc.registry = registry;
      st.lc.persistence = persistence;
      st.lc.idle = idle;
      st.lc.db_timeout = db_timeout;
      st.lc.fence = fence;
      if (preload.match_elements<order_snapshot>()) {
        // Adopted by recovery: the snapshot was loaded in bulk with every other open order.
        auto& s = preload.get_as<order_snapshot>(0);
        st.order = s.order;
        st.events = s.events;
        refresh_eta(self);
        return running(self);
      }
      self->set_default_handler(caf::skip);
      entity_persist<order_snapshot>(
          self, st.lc, orders_sql::load(id),
          [self](order_snapshot& s) {
            self->state.order = std::move(s.order);
            self->state.events = std::move(s.events);
            self->become(running(self));
            refresh_eta(self);
          },
          [self](const api_error& e) { entity_fail_activation(self, self->state.lc, e); });
      return entity_loading_behavior<order_actor>();
    });
    return caf::actor_cast<caf::actor>(order);
  };
}

}  // namespace wassally
