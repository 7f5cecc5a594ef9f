#include "actors/dispatcher.hpp"

#include <malloc.h>
#include <algorithm>
#include <array>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "persistence/orders.hpp"
#include "protocols/clock.hpp"
#include "protocols/crews.hpp"
#include "protocols/entity_interfaces.hpp"
#include "protocols/errors.hpp"
#include "protocols/events.hpp"
#include "protocols/reconcile.hpp"
#include "protocols/registry.hpp"

namespace wassally {

double distance_km(double lat1, double lng1, double lat2, double lng2) {
  constexpr double earth_km = 6371.0088;
  constexpr double rad = M_PI / 180.0;
  double dlat = (lat2 - lat1) * rad;
  double dlng = (lng2 - lng1) * rad;
  double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(lat1 * rad) * std::cos(lat2 * rad) * std::sin(dlng / 2) * std::sin(dlng / 2);
  return earth_km * 2 * std::asin(std::min(1.0, std::sqrt(a)));
}

namespace {

using escalate_atom = caf::atom_constant<caf::atom("escalate")>;
using use_registry_atom = caf::atom_constant<caf::atom("use_regis")>;

/// Where a pending order's shops are. Orders come from up to three shops: the points live inline
/// (no allocation per order); a fourth and later point, should one ever exist, goes to `more`.
/// With it, since when the order is pending (its persisted created_at, unix seconds) and how far
/// its escalation went in this process.
struct indexed_order {
  std::array<dispatch_point, 3> points{};
  uint8_t size = 0;
  bool alerted = false;         // order_unattended published (this process run)
  bool cancelling = false;      // the no_crew cancel is on its way to the order
  bool cancel_refused = false;  // the order refused it for good (it was no longer pending)
  int64_t pending_since = 0;
  std::vector<dispatch_point> more;

  template <class F>
  void for_each(F f) const {
    for (uint8_t i = 0; i < size; ++i) f(points[i]);
    for (auto& p : more) f(p);
  }
  void add(const dispatch_point& p) {
    if (size < points.size())
      points[size++] = p;
    else
      more.push_back(p);
  }
};

struct dispatcher_state {
  std::unordered_map<int64_t, indexed_order> pending;
  // Anti-entropy: differences with PostgreSQL seen on the last check (an order whose event is
  // still on its way shows up once; one seen on two checks in a row is repaired).
  std::unordered_set<int64_t> suspect_missing;
  std::unordered_set<int64_t> suspect_extra;
  caf::actor persistence;
  caf::actor event_bus;
  caf::actor registry;  // set once the registry exists (set_dispatcher_registry)
  std::chrono::milliseconds db_timeout{5000};
  escalation_options escalation;
  static inline const char* name = "dispatcher";
};

using self_ptr = caf::stateful_actor<dispatcher_state>*;

pending_matches query(const dispatcher_state& st, const pending_query& q) {
  // A cheap bounding box first (a degree of latitude is ~111 km), then the exact distance.
  double lat_span = q.radius_km / 110.0;
  double cos_lat = std::max(0.01, std::cos(q.latitude * M_PI / 180.0));
  double lng_span = q.radius_km / (111.0 * cos_lat);
  std::vector<pending_match> near;
  for (auto& [id, e] : st.pending) {
    double best = -1;
    e.for_each([&](const dispatch_point& p) {
      if (std::abs(p.latitude - q.latitude) > lat_span) return;
      double dlng = std::abs(p.longitude - q.longitude);
      if (std::min(dlng, 360 - dlng) > lng_span) return;
      double d = distance_km(q.latitude, q.longitude, p.latitude, p.longitude);
      if (best < 0 || d < best) best = d;
    });
    if (best >= 0 && best <= q.radius_km) near.push_back({id, best});
  }
  pending_matches out;
  out.count = static_cast<int64_t>(near.size());
  auto begin = std::min<int64_t>(out.count, q.offset);
  auto end = std::min<int64_t>(out.count, q.offset + q.limit);
  auto nearer = [](const pending_match& a, const pending_match& b) {
    return a.distance_km < b.distance_km ||
           (a.distance_km == b.distance_km && a.order_id < b.order_id);
  };
  // Only the page needs to be in order.
  std::partial_sort(near.begin(), near.begin() + end, near.end(), nearer);
  for (auto i = begin; i < end; ++i)
    out.page.push_back({near[i].order_id, std::round(near[i].distance_km * 1000) / 1000});
  return out;
}

/// Unix seconds of the wall clock, as PostgreSQL's now() that wrote created_at (escalation does
/// not follow the service clock tests may move).
int64_t wall_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void add_to_index(dispatcher_state& st, int64_t order_id, const std::vector<dispatch_point>& points,
                  int64_t pending_since) {
  auto& e = st.pending[order_id];
  e = {};
  for (auto& p : points) e.add(p);
  e.pending_since = pending_since;
}

void apply(dispatcher_state& st, const order_status_changed& c) {
  if (c.placed && c.event.status == order_status::pending) {
    std::vector<dispatch_point> points;
    for (auto& p : c.shop_points) points.push_back({p.latitude, p.longitude});
    // The placed event's `at` is the order's created_at (one transaction, one now()).
    auto since = service_clock::parse_iso(c.event.at);
    add_to_index(st, c.order_id, points, since ? *since : wall_now());
  } else {
    st.pending.erase(c.order_id);
  }
}

/// Compares the index with every order PostgreSQL has pending: orders missing from the index, or
/// indexed but no longer pending, on two checks in a row are repaired (missing ones are read with
/// their shops' positions).
reconcile_outcome reconcile(self_ptr self, const reconcile_pending& db) {
  auto& st = self->state;
  reconcile_outcome out;
  std::unordered_set<int64_t> in_db(db.order_ids.begin(), db.order_ids.end());
  std::unordered_set<int64_t> missing, extra;
  for (auto id : db.order_ids)
    if (!st.pending.count(id)) missing.insert(id);
  for (auto& [id, e] : st.pending)
    if (!in_db.count(id)) extra.insert(id);
  std::vector<int64_t> load;
  for (auto id : missing)
    if (st.suspect_missing.count(id)) load.push_back(id);
  for (auto id : extra)
    if (st.suspect_extra.count(id)) {
      st.pending.erase(id);
      ++out.repaired;
      out.orders.push_back(id);
    }
  st.suspect_missing = std::move(missing);
  st.suspect_extra = std::move(extra);
  for (auto id : load) st.suspect_missing.erase(id);
  if (!load.empty()) {
    out.repaired += static_cast<int64_t>(load.size());
    out.orders.insert(out.orders.end(), load.begin(), load.end());
    self->request(st.persistence, st.db_timeout, orders_sql::pending_entries(load))
        .then(
            [self](dispatch_entries& found) {
              for (auto& e : found.entries)
                add_to_index(self->state, e.order_id, e.shop_points, e.pending_since);
            },
            [](caf::error&) {});
  }
  return out;
}

/// The system's no_crew cancel of `order_id` (order_rules decides it: only while pending). A
/// refusal (a crew took it meanwhile: the order's status event follows) is final; a timeout or
/// an unavailable service is tried again on a later check.
void cancel_unattended(self_ptr self, int64_t order_id) {
  auto& st = self->state;
  order_action cancel;
  cancel.who = caller::system();
  cancel.action = order_action_kind::cancel;
  ask_entity(self, order_ref(st.registry, order_id), st.db_timeout, std::move(cancel))
      .then([](order_record&) {},  // the committed change comes as its order_status_changed
            [self, order_id](caf::error& err) {
              auto it = self->state.pending.find(order_id);
              if (it == self->state.pending.end()) return;
              it->second.cancelling = false;
              if (from_caf_error(err).status < 500) it->second.cancel_refused = true;
            });
}

/// Orders pending past their alert time are announced to staff, once each; those past their
/// expiry time are cancelled with reason no_crew. Times count from the persisted created_at in
/// whole seconds, rounded so that neither happens early (at most a second late).
void escalate(self_ptr self) {
  auto& st = self->state;
  auto now = wall_now();
  auto alert = st.escalation.alert.count();
  auto expiry = st.escalation.expiry.count();
  for (auto& [id, e] : st.pending) {
    if (!e.alerted && now > e.pending_since + alert) {
      e.alerted = true;
      publish(st.event_bus, order_unattended{id, service_clock::format_iso(e.pending_since)});
    }
    if (expiry > 0 && st.registry && !e.cancelling && !e.cancel_refused &&
        now > e.pending_since + expiry) {
      e.cancelling = true;
      cancel_unattended(self, id);
    }
  }
}

}  // namespace

void set_dispatcher_registry(const caf::actor& dispatcher, const caf::actor& registry) {
  caf::anon_send(dispatcher, use_registry_atom::value, registry);
}

caf::actor spawn_dispatcher(caf::actor_system& sys, caf::actor persistence, caf::actor event_bus,
                            std::chrono::milliseconds db_timeout, escalation_options escalation) {
  return sys.spawn([=](self_ptr self) -> caf::behavior {
    self->state.persistence = persistence;
    self->state.event_bus = event_bus;
    self->state.db_timeout = db_timeout;
    self->state.escalation = escalation;
    // Subscribed first, loaded second: changes meanwhile wait in the mailbox and apply after.
    subscribe<order_status_changed>(self, event_bus);
    self->set_default_handler(caf::skip);
    // The index of every pending order can be large after a restart (100,000 open orders): it
    // gets a long deadline, and a failed load is retried with a growing delay, so a slow first
    // load is never asked for again on top of itself.
    auto load_timeout =
        std::max<std::chrono::milliseconds>(db_timeout * 12, std::chrono::minutes(1));
    auto retry_delay = std::make_shared<std::chrono::milliseconds>(std::chrono::seconds(1));
    auto load = std::make_shared<std::function<void()>>();
    *load = [=] {
      self->request(persistence, load_timeout, orders_sql::pending_index())
          .then(
              [=](dispatch_entries& all) {
                for (auto& e : all.entries)
                  add_to_index(self->state, e.order_id, e.shop_points, e.pending_since);
                // The whole index arrived in one message (100,000 orders after a restart):
                // freed now, its memory goes back to the system rather than staying in malloc.
                all.entries = {};
                malloc_trim(0);
                self->set_default_handler(caf::print_and_drop);
                self->become(caf::behavior{
                    [=](const order_status_changed& c) { apply(self->state, c); },
                    [=](const pending_query& q) { return query(self->state, q); },
                    [=](stats_atom) { return static_cast<int64_t>(self->state.pending.size()); },
                    [=](const reconcile_pending& db) { return reconcile(self, db); },
                    [=](use_registry_atom, caf::actor& r) { self->state.registry = std::move(r); },
                    [=](escalate_atom) {
                      escalate(self);
                      self->delayed_send(self, self->state.escalation.check_interval,
                                         escalate_atom::value);
                    },
                });
                self->send(self, escalate_atom::value);
              },
              [=](caf::error&) {
                // The database is not there yet: try again after a while.
                self->delayed_send(self, *retry_delay, flush_atom::value);
                *retry_delay =
                    std::min<std::chrono::milliseconds>(*retry_delay * 2, std::chrono::seconds(30));
              });
    };
    (*load)();
    return {
        [=](flush_atom) { (*load)(); },
    };
  });
}

}  // namespace wassally
