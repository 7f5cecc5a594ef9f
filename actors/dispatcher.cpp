#include "actors/dispatcher.hpp"

#include <malloc.h>
#include <algorithm>
#include <array>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <climits>
#include <cmath>
#include <functional>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "persistence/offers.hpp"
#include "persistence/orders.hpp"
#include "protocols/clock.hpp"
#include "protocols/cluster.hpp"
#include "protocols/crews.hpp"
#include "protocols/deadline.hpp"
#include "protocols/dispatch.hpp"
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
/// Cluster mode: read the open offers of this node's crews from PostgreSQL again.
using offer_resync_atom = caf::atom_constant<caf::atom("offer_rsy")>;
/// (offer_expire_atom, crew, offer seq): the offer's time is up.
using offer_expire_atom = caf::atom_constant<caf::atom("offer_exp")>;
/// (close_retry_atom, crew, offer seq, outcome): a close PostgreSQL did not take, tried again.
using close_retry_atom = caf::atom_constant<caf::atom("close_rtr")>;

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
  // Offers: the crew it is offered to now (0: none), when to look for a crew again (0: at the
  // next check; LLONG_MAX: only when a crew becomes free), and the crews that declined it or
  // let it expire, with when (unix ms).
  int64_t offered_to = 0;
  int64_t next_try_ms = 0;
  // Cluster mode: offered to a crew another node serves (heard from its crew_offer_event), until
  // that offer's end is heard of or, should that news be lost, its expiry has long passed.
  int64_t elsewhere_crew = 0;
  int64_t elsewhere_until_ms = 0;
  dispatch_rules::refusals refused;

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

/// A crew as offer matching sees it (crew_availability), and since when it is idle.
struct indexed_crew {
  bool available = false;
  bool located = false;
  double latitude = 0;
  double longitude = 0;
  int64_t held = 0;
  int64_t seen_unix = 0;      // its position's time (dispatch_rules::position_fresh)
  int64_t idle_since_ms = 0;  // last offer ended or status became available (0: before start)
  int64_t last_scan_ms = 0;   // the last time a move of the crew made it look for orders
};

/// An offer, by crew. `opening` and `closing` are written to PostgreSQL now; `withdraw` is the
/// outcome to close it with once that write is through (the order left pending, or the crew went
/// offline, meanwhile).
struct live_offer {
  enum class phase : uint8_t { opening, open, closing };
  int64_t order_id = 0;
  phase now = phase::opening;
  uint64_t seq = 0;
  crew_offer offer;
  std::string withdraw;
  bool announced = false;  // the crew was told of it (published, or resumed after a restart)
};

struct dispatcher_state {
  std::unordered_map<int64_t, indexed_order> pending;
  std::unordered_map<int64_t, indexed_crew> crews;
  std::unordered_map<int64_t, live_offer> offers;  // by crew
  uint64_t next_offer_seq = 1;
  dispatch_options dispatch;
  // Anti-entropy: differences with PostgreSQL seen on the last check (an order whose event is
  // still on its way shows up once; one seen on two checks in a row is repaired).
  std::unordered_set<int64_t> suspect_missing;
  std::unordered_set<int64_t> suspect_extra;
  caf::actor persistence;
  caf::actor event_bus;
  caf::actor registry;  // set once the registry exists (set_dispatcher_registry)
  // Cluster mode (CLUSTER.md "Dispatch"): the shards this node serves (the registry's
  // served_shards). Offers go only to crews of these shards, so every crew's offers are made,
  // timed and declined on one node, the one serving the crew; only orders of these shards are
  // escalated. Single-node mode (shards 0): everything is served here.
  int32_t shards = 0;
  std::unordered_set<int32_t> served;
  int64_t last_resync_ms = 0;
  bool resyncing = false;
  uint64_t resync_gen = 0;                          // the latest read; only its end counts
  std::unordered_set<int32_t> loading;              // gained, their crews' offers not read yet
  std::vector<std::function<void()>> after_resync;  // questions about their crews, waiting
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

int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Whether this node serves the crew or order `id` (always, in single-node mode).
bool serves(const dispatcher_state& st, int64_t id) {
  return st.shards == 0 || st.served.count(shard_of(id, st.shards)) > 0;
}

bool offered_elsewhere(const indexed_order& e, int64_t now_ms) {
  return e.elsewhere_crew != 0 && now_ms < e.elsewhere_until_ms;
}

void add_to_index(dispatcher_state& st, int64_t order_id, const std::vector<dispatch_point>& points,
                  int64_t pending_since) {
  auto& e = st.pending[order_id];
  e = {};
  for (auto& p : points) e.add(p);
  e.pending_since = pending_since;
}

// -- offers -----------------------------------------------------------------------------------

void try_offer_order(self_ptr self, int64_t order_id);
void offer_backlog(self_ptr self, int64_t crew_id);

/// What a crew reported (or PostgreSQL holds of it) into the crew's index entry.
void record(indexed_crew& c, const crew_availability& a) {
  c.available = a.available;
  c.located = a.has_location;
  c.latitude = a.latitude;
  c.longitude = a.longitude;
  c.held = a.held;
  c.seen_unix = a.seen_unix;
}

bool crew_free(const dispatcher_state& st, int64_t crew_id, const indexed_crew& c) {
  return serves(st, crew_id) && c.available && c.located && c.held < st.dispatch.crew_max_orders &&
         dispatch_rules::position_fresh(st.dispatch, c.seen_unix, wall_now_ms()) &&
         !st.offers.count(crew_id);
}

bool refused_recently(const dispatcher_state& st, const indexed_order& e, int64_t crew_id,
                      int64_t now_ms) {
  return dispatch_rules::refused_recently(st.dispatch, e.refused, crew_id, now_ms);
}

double radius_now(const dispatcher_state& st, const indexed_order& e, int64_t now_ms) {
  return dispatch_rules::radius_km(st.dispatch, e.pending_since, now_ms);
}

double nearest_shop_km(const indexed_order& e, double lat, double lng) {
  double best = -1;
  e.for_each([&](const dispatch_point& p) {
    auto d = distance_km(lat, lng, p.latitude, p.longitude);
    if (best < 0 || d < best) best = d;
  });
  return best < 0 ? 1e9 : best;
}

void publish_withdrawn(self_ptr self, int64_t crew_id, int64_t order_id, const std::string& why) {
  crew_offer_event ev;
  ev.crew_id = crew_id;
  ev.order_id = order_id;
  ev.reason = why;
  publish(self->state.event_bus, std::move(ev));
}

/// The offer of `crew_id` ended with `outcome` (committed): the order looks for its next crew,
/// the crew for its next order.
void offer_closed(self_ptr self, int64_t crew_id, const std::string& outcome) {
  auto& st = self->state;
  auto it = st.offers.find(crew_id);
  if (it == st.offers.end()) return;
  auto order_id = it->second.order_id;
  auto now = wall_now_ms();
  bool announced = it->second.announced;
  if (announced && outcome != offer_end::accepted)
    publish_withdrawn(self, crew_id, order_id, outcome);
  st.offers.erase(it);
  if (outcome != offer_end::accepted) st.crews[crew_id].idle_since_ms = now;
  auto o = st.pending.find(order_id);
  if (o != st.pending.end() && o->second.offered_to == crew_id) {
    o->second.offered_to = 0;
    o->second.next_try_ms = 0;
    if (announced && (outcome == offer_end::declined || outcome == offer_end::expired))
      o->second.refused.emplace_back(crew_id, now);
    try_offer_order(self, order_id);
  }
  offer_backlog(self, crew_id);
}

/// Closes the open offer of `crew_id` with `outcome` in PostgreSQL, then offer_closed. `answer`
/// (decline) hears how it went; without one a failed write is tried again a second later.
void close_offer(self_ptr self, int64_t crew_id, const std::string& outcome,
                 std::function<void(const caf::error*)> answer = {}, int64_t deadline_ms = 0) {
  auto& st = self->state;
  auto it = st.offers.find(crew_id);
  if (it == st.offers.end()) return;
  auto& lo = it->second;
  lo.now = live_offer::phase::closing;
  auto seq = lo.seq;
  auto cmd = offers_sql::close(lo.order_id, crew_id, outcome);
  cmd.deadline_unix_ms = deadline_ms;
  self->request(st.persistence, st.db_timeout, std::move(cmd))
      .then(
          [=](done&) {
            offer_closed(self, crew_id, outcome);
            if (answer) answer(nullptr);
          },
          [=](caf::error& err) {
            auto it = self->state.offers.find(crew_id);
            if (it == self->state.offers.end() || it->second.seq != seq) {
              // Dropped meanwhile (cluster mode: the crew's shard moved): the decline still
              // gets its answer, the failure, rather than none.
              if (answer) answer(&err);
              return;
            }
            auto& lo = it->second;
            if (answer) {
              // The decline did not happen: the offer stands (or ends as it would have).
              lo.now = live_offer::phase::open;
              answer(&err);
              if (!lo.withdraw.empty())
                close_offer(self, crew_id, lo.withdraw);
              else if (wall_now_ms() >= lo.offer.expires_unix_ms)
                close_offer(self, crew_id, offer_end::expired);
              return;
            }
            self->delayed_send(self, std::chrono::seconds(1), close_retry_atom::value, crew_id, seq,
                               outcome);
          });
}

/// Ends the offer of `crew_id`, whatever it is doing now, with `outcome`: at once when open, once
/// its opening write is through, or not at all when it is being closed already (its close
/// passes the order on).
void withdraw_offer(self_ptr self, int64_t crew_id, const std::string& outcome) {
  auto it = self->state.offers.find(crew_id);
  if (it == self->state.offers.end()) return;
  auto& lo = it->second;
  if (lo.now == live_offer::phase::open)
    close_offer(self, crew_id, outcome);
  else if (lo.withdraw.empty())
    lo.withdraw = outcome;
}

void arm_expiry(self_ptr self, int64_t crew_id, const live_offer& lo) {
  auto wait = std::max<int64_t>(0, lo.offer.expires_unix_ms - wall_now_ms());
  self->delayed_send(self, std::chrono::milliseconds(wait), offer_expire_atom::value, crew_id,
                     lo.seq);
}

/// Writes the offer of `order_id` to `crew_id`; once committed the crew hears of it and its time
/// runs. A write that failed leaves both free (the order is tried again a second later).
void make_offer(self_ptr self, int64_t order_id, int64_t crew_id, double km) {
  auto& st = self->state;
  auto& e = st.pending[order_id];
  e.offered_to = crew_id;
  auto& lo = st.offers[crew_id];
  lo = {};
  lo.order_id = order_id;
  lo.seq = st.next_offer_seq++;
  auto seq = lo.seq;
  km = std::round(km * 1000) / 1000;
  self->request(st.persistence, st.db_timeout,
                offers_sql::open(order_id, crew_id, km, st.dispatch.offer_timeout_s))
      .then(
          [=](crew_offer& offer) {
            auto it = self->state.offers.find(crew_id);
            if (it == self->state.offers.end() || it->second.seq != seq) return;
            auto& lo = it->second;
            lo.offer = std::move(offer);
            lo.now = live_offer::phase::open;
            if (!lo.withdraw.empty()) {
              close_offer(self, crew_id, lo.withdraw);
              return;
            }
            crew_offer_event ev;
            ev.crew_id = crew_id;
            ev.offered = true;
            ev.order_id = order_id;
            ev.offer = lo.offer;
            publish(self->state.event_bus, std::move(ev));
            lo.announced = true;
            arm_expiry(self, crew_id, lo);
          },
          [=](caf::error& err) {
            auto& st = self->state;
            auto it = st.offers.find(crew_id);
            if (it == st.offers.end() || it->second.seq != seq) return;
            auto code = from_caf_error(err).code;
            if (code != "not_pending" && code != "offer_open") {
              // In doubt (a timeout, a lost connection): the row may still commit. It is closed
              // (the close runs after the open, same lock keys) before the crew or the order is
              // free again; nobody heard of it, so nobody hears of its end.
              close_offer(self, crew_id, offer_end::expired);
              return;
            }
            st.offers.erase(it);
            auto o = st.pending.find(order_id);
            if (o != st.pending.end() && o->second.offered_to == crew_id) {
              o->second.offered_to = 0;
              o->second.next_try_ms = wall_now_ms() + 1000;
            }
            // Cluster mode: PostgreSQL holds an offer this dispatcher does not know (another
            // node's for the order, or one of this crew's left by a node that served it
            // before): read them again, so it is timed and closed here.
            if (code == "offer_open" && st.shards > 0) self->send(self, offer_resync_atom::value);
          });
}

/// Offers `order_id` (pending, not offered now) to the nearest free crew within its radius that
/// has not refused it lately; ties to the crew holding fewer orders, then the one idle longest.
/// With none, notes when the order may find one (next_chance_ms).
void try_offer_order(self_ptr self, int64_t order_id) {
  auto& st = self->state;
  if (!st.dispatch.offers) return;
  auto it = st.pending.find(order_id);
  auto now = wall_now_ms();
  if (it == st.pending.end() || it->second.offered_to || offered_elsewhere(it->second, now)) return;
  auto& e = it->second;
  auto radius = radius_now(st, e, now);
  std::optional<dispatch_rules::candidate> best;
  for (auto& [id, c] : st.crews) {
    if (!crew_free(st, id, c) || refused_recently(st, e, id, now)) continue;
    dispatch_rules::candidate here{id, nearest_shop_km(e, c.latitude, c.longitude), c.held,
                                   c.idle_since_ms};
    if (here.km > radius) continue;
    if (!best || dispatch_rules::offered_before(here, *best)) best = here;
  }
  if (best) {
    make_offer(self, order_id, best->crew_id, best->km);
    return;
  }
  e.next_try_ms = dispatch_rules::next_chance_ms(st.dispatch, e.pending_since, e.refused, now);
}

/// Offers a crew that is free the oldest pending order without an offer that it may have: within
/// that order's radius and not refused by it lately.
void offer_backlog(self_ptr self, int64_t crew_id) {
  auto& st = self->state;
  if (!st.dispatch.offers) return;
  auto c = st.crews.find(crew_id);
  if (c == st.crews.end() || !crew_free(st, crew_id, c->second)) return;
  auto now = wall_now_ms();
  int64_t best = 0;
  double best_km = 0;
  const indexed_order* best_order = nullptr;
  for (auto& [id, e] : st.pending) {
    if (e.offered_to || offered_elsewhere(e, now) || refused_recently(st, e, crew_id, now))
      continue;
    if (best_order && (e.pending_since > best_order->pending_since ||
                       (e.pending_since == best_order->pending_since && id > best)))
      continue;
    auto km = nearest_shop_km(e, c->second.latitude, c->second.longitude);
    if (km > radius_now(st, e, now)) continue;
    best = id;
    best_km = km;
    best_order = &e;
  }
  if (best_order) make_offer(self, best, crew_id, best_km);
}

/// A crew's news (crew_availability): an offline crew's offer ends at once (as expired); a crew
/// that became free, or moved while free (at most every 2 s), looks for a backlog order.
void crew_update(self_ptr self, const crew_availability& a) {
  auto& st = self->state;
  auto& c = st.crews[a.crew_id];
  bool was_free = crew_free(st, a.crew_id, c);
  bool was_available = c.available;
  record(c, a);
  auto now = wall_now_ms();
  if (c.available && !was_available) c.idle_since_ms = now;
  if (!c.available) withdraw_offer(self, a.crew_id, offer_end::expired);
  if (!crew_free(st, a.crew_id, c)) return;
  if (was_free && now - c.last_scan_ms < 2000) return;
  c.last_scan_ms = now;
  offer_backlog(self, a.crew_id);
}

/// The order left pending: its offer ends (accepted by its crew, taken by another, cancelled).
void order_left_pending(self_ptr self, int64_t crew_id, const order_event& e) {
  std::string outcome = e.status == order_status::cancelled ? offer_end::cancelled
                        : e.crew_id == crew_id              ? offer_end::accepted
                                                            : offer_end::taken;
  withdraw_offer(self, crew_id, outcome);
}

/// Offers what may be offered now: orders without an offer whose next try is due (when any crew
/// is free at all).
void dispatch_round(self_ptr self) {
  auto& st = self->state;
  if (!st.dispatch.offers) return;
  bool any_free = false;
  for (auto& [id, c] : st.crews)
    if (crew_free(st, id, c)) {
      any_free = true;
      break;
    }
  if (!any_free) return;
  auto now = wall_now_ms();
  std::vector<int64_t> due;
  for (auto& [id, e] : st.pending)
    if (!e.offered_to && e.next_try_ms <= now) due.push_back(id);
  // Oldest first: when crews are scarce the longest waiting orders get them.
  std::sort(due.begin(), due.end(), [&](int64_t a, int64_t b) {
    auto& ea = st.pending[a];
    auto& eb = st.pending[b];
    return ea.pending_since < eb.pending_since || (ea.pending_since == eb.pending_since && a < b);
  });
  for (auto id : due) try_offer_order(self, id);
}

/// How long past its expiry another node's offer is assumed open when its end is not heard of.
constexpr int64_t elsewhere_grace_ms = 2000;

/// A restarted dispatcher resumes what PostgreSQL holds: open offers (their timers from the
/// persisted expiry) and refusals of the pending orders it indexed.
void resume_offers(self_ptr self, offer_book& book) {
  auto& st = self->state;
  for (auto& r : book.refusals) {
    auto o = st.pending.find(r.order_id);
    if (o == st.pending.end()) continue;
    auto refusal = std::make_pair(r.crew_id, r.closed_unix_ms);
    auto& refused = o->second.refused;
    if (std::find(refused.begin(), refused.end(), refusal) == refused.end())
      refused.push_back(refusal);
  }
  for (auto& offer : book.open) {
    auto o = st.pending.find(offer.order_id);
    if (o == st.pending.end()) continue;
    if (!serves(st, offer.crew_id)) {
      // Another node's: not offered here until it ends.
      o->second.elsewhere_crew = offer.crew_id;
      o->second.elsewhere_until_ms = offer.expires_unix_ms + elsewhere_grace_ms;
      continue;
    }
    if (o->second.offered_to || st.offers.count(offer.crew_id)) continue;
    o->second.elsewhere_crew = 0;
    o->second.offered_to = offer.crew_id;
    auto& lo = st.offers[offer.crew_id];
    lo.order_id = offer.order_id;
    lo.now = live_offer::phase::open;
    lo.seq = st.next_offer_seq++;
    lo.offer = std::move(offer);
    lo.announced = true;  // it may have been, before the restart
    arm_expiry(self, lo.offer.crew_id, lo);
  }
}

open_offer offer_of(const dispatcher_state& st, int64_t crew_id) {
  open_offer out;
  auto it = st.offers.find(crew_id);
  if (it != st.offers.end() && it->second.now == live_offer::phase::open) {
    out.open = true;
    out.offer = it->second.offer;
  }
  return out;
}

/// The crew declines its offer: `rp` is answered once the refusal is committed.
void decline(self_ptr self, const decline_offer& d, caf::typed_response_promise<done> rp) {
  auto& st = self->state;
  auto it = st.offers.find(d.crew_id);
  if (it == st.offers.end() || it->second.order_id != d.order_id ||
      it->second.now != live_offer::phase::open) {
    rp.deliver(to_caf_error(errors::conflict("not_offered", "the order is not offered to you")));
    return;
  }
  if (deadline_passed(d.deadline_unix_ms)) {
    rp.deliver(to_caf_error(errors::timeout("not_written")));
    return;
  }
  close_offer(
      self, d.crew_id, offer_end::declined,
      [rp](const caf::error* err) mutable {
        if (err)
          rp.deliver(*err);
        else
          rp.deliver(done{});
      },
      d.deadline_unix_ms);
}

void apply(self_ptr self, const order_status_changed& c) {
  auto& st = self->state;
  if (c.placed && c.event.status == order_status::pending) {
    std::vector<dispatch_point> points;
    for (auto& p : c.shop_points) points.push_back({p.latitude, p.longitude});
    // The placed event's `at` is the order's created_at (one transaction, one now()).
    auto since = service_clock::parse_iso(c.event.at);
    add_to_index(st, c.order_id, points, since ? *since : wall_now());
    try_offer_order(self, c.order_id);
  } else {
    auto it = st.pending.find(c.order_id);
    if (it == st.pending.end()) return;
    auto crew = it->second.offered_to;
    st.pending.erase(it);
    if (crew) order_left_pending(self, crew, c.event);
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
      auto crew = st.pending[id].offered_to;
      st.pending.erase(id);
      if (crew) withdraw_offer(self, crew, offer_end::taken);
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
              for (auto& e : found.entries) {
                if (self->state.pending.count(e.order_id)) continue;
                add_to_index(self->state, e.order_id, e.shop_points, e.pending_since);
                try_offer_order(self, e.order_id);
              }
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
    if (!serves(st, id)) continue;  // the order's own node escalates it
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

/// Another node's offer began or ended (its dispatcher's crew_offer_event, relayed over NATS):
/// the order is not offered here meanwhile, and may be once it ends.
void heard_offer(self_ptr self, const crew_offer_event& ev) {
  auto& st = self->state;
  if (st.shards == 0 || serves(st, ev.crew_id)) return;  // this node's own
  auto it = st.pending.find(ev.offered ? ev.offer.order_id : ev.order_id);
  if (it == st.pending.end()) return;
  auto& e = it->second;
  if (ev.offered) {
    e.elsewhere_crew = ev.crew_id;
    e.elsewhere_until_ms = ev.offer.expires_unix_ms + elsewhere_grace_ms;
  } else if (e.elsewhere_crew == ev.crew_id) {
    e.elsewhere_crew = 0;
    e.next_try_ms = 0;
    try_offer_order(self, it->first);
  }
}

/// Cluster mode: reads the open offers (and, for `gained` shards, the crews) PostgreSQL holds
/// and takes up those of crews this node serves that it does not know yet: offers another node
/// made to a crew whose shard moved here, or whose opening committed after the move. At most
/// one read at a time, and a second apart.
void resync_offers(self_ptr self, std::vector<int32_t> gained = {}) {
  auto& st = self->state;
  auto now = wall_now_ms();
  if (gained.empty() && (st.resyncing || now - st.last_resync_ms < 1000)) return;
  st.resyncing = true;
  st.last_resync_ms = now;
  auto gen = ++st.resync_gen;
  st.loading.insert(gained.begin(), gained.end());
  auto finish = [self, gen] {
    auto& st = self->state;
    if (gen != st.resync_gen) return;  // a newer read is on its way, and answers
    st.resyncing = false;
    st.loading.clear();
    auto waiting = std::move(st.after_resync);
    st.after_resync.clear();
    for (auto& f : waiting) f();
  };
  auto failed = [finish](caf::error&) { finish(); };
  auto read_offers = [self, finish, failed] {
    self->request(self->state.persistence, self->state.db_timeout, offers_sql::load())
        .then(
            [self, finish](offer_book& book) {
              resume_offers(self, book);
              finish();
            },
            failed);
  };
  if (gained.empty()) {
    read_offers();
    return;
  }
  std::unordered_set<int32_t> fresh(gained.begin(), gained.end());
  self->request(st.persistence, st.db_timeout, offers_sql::crews())
      .then(
          [self, fresh, read_offers](crew_availabilities& found) {
            auto& st = self->state;
            for (auto& a : found.crews)
              if (fresh.count(shard_of(a.crew_id, st.shards))) record(st.crews[a.crew_id], a);
            read_offers();
          },
          failed);
}

/// The registry's served_shards: offers of crews of shards no longer served here are dropped
/// from memory (the node now serving the crew takes them up from PostgreSQL and times them);
/// those of shards gained are read.
void served_changed(self_ptr self, const served_shards& now) {
  auto& st = self->state;
  if (st.shards == 0) return;
  std::unordered_set<int32_t> next(now.shards.begin(), now.shards.end());
  std::vector<int32_t> gained;
  for (auto s : next)
    if (!st.served.count(s)) gained.push_back(s);
  st.served = std::move(next);
  auto wall = wall_now_ms();
  for (auto it = st.offers.begin(); it != st.offers.end();) {
    if (serves(st, it->first)) {
      ++it;
      continue;
    }
    auto o = st.pending.find(it->second.order_id);
    if (o != st.pending.end() && o->second.offered_to == it->first) {
      o->second.offered_to = 0;
      o->second.elsewhere_crew = it->first;
      o->second.elsewhere_until_ms =
          std::max(it->second.offer.expires_unix_ms, wall) + elsewhere_grace_ms;
    }
    it = st.offers.erase(it);
  }
  if (!gained.empty()) {
    resync_offers(self, std::move(gained));  // a read begun before may miss what moved
  }
}

/// GET /staff/offers: from memory in single-node mode; in cluster mode every node's dispatcher
/// holds only its crews' offers, so PostgreSQL answers.
caf::result<open_offers> open_offers_now(self_ptr self) {
  auto& st = self->state;
  if (st.shards > 0) {
    auto rp = self->make_response_promise<open_offers>();
    self->request(st.persistence, st.db_timeout, offers_sql::open_now())
        .then([rp](open_offers& o) mutable { rp.deliver(std::move(o)); },
              [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
    return rp;
  }
  open_offers out;
  for (auto& [crew, lo] : st.offers)
    if (lo.now == live_offer::phase::open) out.offers.push_back(lo.offer);
  std::sort(out.offers.begin(), out.offers.end(),
            [](const crew_offer& a, const crew_offer& b) { return a.order_id < b.order_id; });
  return out;
}

}  // namespace

void set_dispatcher_registry(const caf::actor& dispatcher, const caf::actor& registry) {
  caf::anon_send(dispatcher, use_registry_atom::value, registry);
}

caf::actor spawn_dispatcher(caf::actor_system& sys, caf::actor persistence, caf::actor event_bus,
                            std::chrono::milliseconds db_timeout, escalation_options escalation,
                            dispatch_options dispatch, int32_t cluster_shards) {
  return sys.spawn([=](self_ptr self) -> caf::behavior {
    self->state.persistence = persistence;
    self->state.event_bus = event_bus;
    self->state.db_timeout = db_timeout;
    self->state.escalation = escalation;
    self->state.dispatch = dispatch;
    // Subscribed first, loaded second: changes meanwhile wait in the mailbox and apply after
    // (crews' news too: they are sent straight here and wait the same way).
    subscribe<order_status_changed>(self, event_bus);
    if (cluster_shards > 0) subscribe<crew_offer_event>(self, event_bus);
    self->state.shards = cluster_shards;
    self->set_default_handler(caf::skip);
    // The index of every pending order can be large after a restart (100,000 open orders): it
    // gets a long deadline, and a failed load is retried with a growing delay, so a slow first
    // load is never asked for again on top of itself. Then the crews, then the offers.
    auto load_timeout =
        std::max<std::chrono::milliseconds>(db_timeout * 12, std::chrono::minutes(1));
    auto retry_delay = std::make_shared<std::chrono::milliseconds>(std::chrono::seconds(1));
    auto load = std::make_shared<std::function<void()>>();
    auto retry = [=](caf::error&) {
      // The database is not there yet: try again after a while.
      self->state.pending.clear();
      self->state.crews.clear();
      self->delayed_send(self, *retry_delay, flush_atom::value);
      *retry_delay =
          std::min<std::chrono::milliseconds>(*retry_delay * 2, std::chrono::seconds(30));
    };
    auto run = [=] {
      self->set_default_handler(caf::print_and_drop);
      self->become(caf::behavior{
          [=](const order_status_changed& c) { apply(self, c); },
          [=](const crew_availability& a) { crew_update(self, a); },
          [=](const pending_query& q) { return query(self->state, q); },
          [=](const get_crew_offer& q) -> caf::result<open_offer> {
            if (self->state.shards > 0 &&
                self->state.loading.count(shard_of(q.crew_id, self->state.shards))) {
              auto rp = self->make_response_promise<open_offer>();
              self->state.after_resync.push_back(
                  [self, rp, q]() mutable { rp.deliver(offer_of(self->state, q.crew_id)); });
              return rp;
            }
            return offer_of(self->state, q.crew_id);
          },
          [=](const list_open_offers&) { return open_offers_now(self); },
          [=](const crew_offer_event& ev) { heard_offer(self, ev); },
          [=](const served_shards& s) { served_changed(self, s); },
          [=](offer_resync_atom) { resync_offers(self); },
          [=](const decline_offer& d) -> caf::result<done> {
            if (self->state.shards > 0 &&
                self->state.loading.count(shard_of(d.crew_id, self->state.shards))) {
              auto rp = self->make_response_promise<done>();
              self->state.after_resync.push_back([self, rp, d] { decline(self, d, rp); });
              return rp;
            }
            auto rp = self->make_response_promise<done>();
            decline(self, d, rp);
            return rp;
          },
          [=](stats_atom) { return static_cast<int64_t>(self->state.pending.size()); },
          [=](const reconcile_pending& db) {
            if (self->state.shards > 0) resync_offers(self);
            return reconcile(self, db);
          },
          [=](use_registry_atom, caf::actor& r) { self->state.registry = std::move(r); },
          [=](offer_expire_atom, int64_t crew_id, uint64_t seq) {
            auto it = self->state.offers.find(crew_id);
            if (it != self->state.offers.end() && it->second.seq == seq &&
                it->second.now == live_offer::phase::open)
              close_offer(self, crew_id, offer_end::expired);
          },
          [=](close_retry_atom, int64_t crew_id, uint64_t seq, const std::string& outcome) {
            auto it = self->state.offers.find(crew_id);
            if (it != self->state.offers.end() && it->second.seq == seq)
              close_offer(self, crew_id, outcome);
          },
          [=](escalate_atom) {
            escalate(self);
            dispatch_round(self);
            self->delayed_send(self, self->state.escalation.check_interval, escalate_atom::value);
          },
      });
      self->send(self, escalate_atom::value);
    };
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
                self->request(persistence, load_timeout, offers_sql::crews())
                    .then(
                        [=](crew_availabilities& found) {
                          for (auto& a : found.crews) {
                            record(self->state.crews[a.crew_id], a);
                          }
                          self->request(persistence, load_timeout, offers_sql::load())
                              .then(
                                  [=](offer_book& book) {
                                    resume_offers(self, book);
                                    run();
                                  },
                                  retry);
                        },
                        retry);
              },
              retry);
    };
    (*load)();
    return {
        [=](flush_atom) { (*load)(); },
    };
  });
}

}  // namespace wassally
