#pragma once
// Messages of offer dispatch (API.md "Dispatch"): crews tell the dispatcher where they stand,
// the dispatcher offers pending orders to them one at a time, crews decline or let offers expire.

#include <cstdint>
#include <string>
#include <vector>

#include "protocols/fields.hpp"
#include "protocols/money.hpp"
#include "protocols/shops.hpp"

namespace wassally {

/// Crew actor → dispatcher, after each committed change of the crew's status, position or held
/// orders: what offer matching needs to know about it.
struct crew_availability {
  int64_t crew_id = 0;
  bool available = false;  // status "available"
  bool has_location = false;
  double latitude = 0;
  double longitude = 0;
  int64_t held = 0;       // orders assigned or picked up
  int64_t seen_unix = 0;  // when its position was last reported (unix s; 0: never)
  WASSALLY_FIELDS(crew_availability, crew_id, available, has_location, latitude, longitude, held,
                  seen_unix)
};

/// A shop of an offered order: where the crew buys (for a delivery request: the requesting
/// shop, where it collects the package).
struct offer_shop {
  int64_t id = 0;
  std::string name;
  double latitude = 0;
  double longitude = 0;
  WASSALLY_FIELDS(offer_shop, id, name, latitude, longitude)
};

/// An offer of a pending order to one crew, as GET /crew/offer and `event: offer` show it.
struct crew_offer {
  int64_t order_id = 0;
  int64_t crew_id = 0;
  std::vector<offer_shop> shops;
  geo_location location;   // the customer's
  double distance_km = 0;  // from the crew to the order's nearest shop when offered
  money items_total;
  money delivery_fee;
  std::string expires_at;       // ISO-8601 UTC
  int64_t expires_unix_ms = 0;  // the same instant, for the dispatcher's timer
  WASSALLY_FIELDS(crew_offer, order_id, crew_id, shops, location, distance_km, items_total,
                  delivery_fee, expires_at, expires_unix_ms)
};

/// A crew that had a pending order offered and declined it or let it expire, and when (unix ms):
/// it is not offered the order again before reoffer_after_s.
struct offer_refusal {
  int64_t order_id = 0;
  int64_t crew_id = 0;
  int64_t closed_unix_ms = 0;
  WASSALLY_FIELDS(offer_refusal, order_id, crew_id, closed_unix_ms)
};

/// offers_sql::load → the open offers of pending orders and the refusals of pending orders, for
/// a dispatcher starting over.
struct offer_book {
  std::vector<crew_offer> open;
  std::vector<offer_refusal> refusals;
  WASSALLY_FIELDS(offer_book, open, refusals)
};

/// offers_sql::crews → every crew as offer matching needs it.
struct crew_availabilities {
  std::vector<crew_availability> crews;
  WASSALLY_FIELDS(crew_availabilities, crews)
};

/// To the dispatcher: POST /orders/{id}/decline → done once the refusal is committed, or 409
/// not_offered when the order has no open offer to this crew.
struct decline_offer {
  int64_t order_id = 0;
  int64_t crew_id = 0;
  int64_t deadline_unix_ms = 0;  // the HTTP caller's (0: none)
  WASSALLY_FIELDS(decline_offer, order_id, crew_id, deadline_unix_ms)
};

/// To the dispatcher: GET /crew/offer → open_offer (from memory: cheap enough to poll).
struct get_crew_offer {
  int64_t crew_id = 0;
  WASSALLY_FIELDS(get_crew_offer, crew_id)
};

/// To the dispatcher: GET /staff/offers → open_offers, every open offer (from memory).
struct list_open_offers {
  int unused = 0;
  WASSALLY_FIELDS(list_open_offers, unused)
};

struct open_offers {
  std::vector<crew_offer> offers;
  WASSALLY_FIELDS(open_offers, offers)
};

struct open_offer {
  bool open = false;
  crew_offer offer;
  WASSALLY_FIELDS(open_offer, open, offer)
};

/// Why an offer ended without the crew taking it (API.md `offer_withdrawn`).
namespace offer_end {
inline constexpr const char* expired = "expired";
inline constexpr const char* taken = "taken";
inline constexpr const char* cancelled = "cancelled";
// Outcomes persisted besides those: the crew took it, or declined it.
inline constexpr const char* accepted = "accepted";
inline constexpr const char* declined = "declined";
}  // namespace offer_end

/// Published on the event bus topic "crew_dispatch" by the dispatcher after the change
/// committed: an offer made to `crew_id` (`offered`, with `offer`), or ended without the crew
/// taking it (`order_id`, `reason`: expired, taken, cancelled — what the crew's stream shows —
/// or declined, which only staff streams show).
struct crew_offer_event {
  int64_t crew_id = 0;
  bool offered = false;
  crew_offer offer;
  int64_t order_id = 0;
  std::string reason;
  WASSALLY_FIELDS(crew_offer_event, crew_id, offered, offer, order_id, reason)
};

}  // namespace wassally
