#pragma once
// Which crew a pending order is offered to and when it may look again (API.md "Dispatch"):
// pure functions of the settings, the order's wait and refusals, and the candidates. The
// dispatcher (actors/dispatcher.cpp) keeps the state and calls these.

#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

namespace wassally {

/// Offers of pending orders to crews. Times are whole seconds.
struct dispatch_options {
  bool offers = true;                       // dispatch_mode: offer (false: browse, no offers)
  int offer_timeout_s = 45;                 // how long a crew has to accept or decline
  double radius_km = 3;                     // dispatch_radius_km: how far an order first looks
  double radius_step_km = 3;                // dispatch_radius_step_km: widened by this ...
  std::chrono::seconds widen_every{15};     // dispatch_widen_every_s: ... this often (0: never)
  double max_radius_km = 15;                // dispatch_max_radius_km: no wider than this
  std::chrono::seconds reoffer_after{120};  // reoffer_after_s: a refusal is remembered this long
  int crew_max_orders = 3;                  // crews holding this many are not offered more
  // dispatch_crew_stale_s: a crew whose position is older than this is not offered anything
  // (its app has most likely stopped reporting); 0: never stale
  std::chrono::seconds crew_stale_after{300};
};

namespace dispatch_rules {

/// Crews that declined an order or let its offer expire, with when (unix ms).
using refusals = std::vector<std::pair<int64_t, int64_t>>;

/// How far from its nearest shop an order pending since `pending_since_s` (unix s, its
/// created_at) looks for a crew at `now_ms`: radius_km, plus radius_step_km for every whole
/// widen_every it has waited, at most max_radius_km (never less than radius_km).
double radius_km(const dispatch_options& d, int64_t pending_since_s, int64_t now_ms);

/// Whether `crew_id` refused the order less than reoffer_after ago.
bool refused_recently(const dispatch_options& d, const refusals& r, int64_t crew_id,
                      int64_t now_ms);

/// When an order that found no crew at `now_ms` may find one without a crew becoming free or
/// moving: its radius widens next, or its earliest remembered refusal is forgotten (unix ms);
/// INT64_MAX when neither will happen.
int64_t next_chance_ms(const dispatch_options& d, int64_t pending_since_s, const refusals& r,
                       int64_t now_ms);

/// Whether a crew whose position was last reported at `seen_unix` (unix s; 0: never) is recent
/// enough at `now_ms` to be offered an order: no older than crew_stale_after (0: any age).
bool position_fresh(const dispatch_options& d, int64_t seen_unix, int64_t now_ms);

/// A free crew an order could be offered to.
struct candidate {
  int64_t crew_id = 0;
  double km = 0;  // from the crew to the order's nearest shop
  int64_t held = 0;
  int64_t idle_since_ms = 0;
};

/// Whether `a` gets the offer before `b`: nearer; at the same distance the one holding fewer
/// orders; then the one idle longest (earlier idle_since); then the lower id.
bool offered_before(const candidate& a, const candidate& b);

}  // namespace dispatch_rules
}  // namespace wassally
