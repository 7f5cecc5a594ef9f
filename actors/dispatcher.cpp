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
#include "protocols/crews.hpp"
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

/// Where a pending order's shops are. Orders come from up to three shops: the points live inline
/// (no allocation per order); a fourth and later point, should one ever exist, goes to `more`.
struct indexed_order {
  std::array<dispatch_point, 3> points{};
  uint8_t size = 0;
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
  std::chrono::milliseconds db_timeout{5000};
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

void add_to_index(dispatcher_state& st, int64_t order_id,
                  const std::vector<dispatch_point>& points) {
  auto& e = st.pending[order_id];
  e = {};
  for (auto& p : points) e.add(p);
}

void apply(dispatcher_state& st, const order_status_changed& c) {
  if (c.placed && c.event.status == order_status::pending) {
    std::vector<dispatch_point> points;
    for (auto& p : c.shop_points) points.push_back({p.latitude, p.longitude});
    add_to_index(st, c.order_id, points);
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
              for (auto& e : found.entries) add_to_index(self->state, e.order_id, e.shop_points);
            },
            [](caf::error&) {});
  }
  return out;
}

}  // namespace

caf::actor spawn_dispatcher(caf::actor_system& sys, caf::actor persistence, caf::actor event_bus,
                            std::chrono::milliseconds db_timeout) {
  return sys.spawn([=](self_ptr self) -> caf::behavior {
    self->state.persistence = persistence;
    self->state.db_timeout = db_timeout;
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
                for (auto& e : all.entries) add_to_index(self->state, e.order_id, e.shop_points);
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
                });
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
