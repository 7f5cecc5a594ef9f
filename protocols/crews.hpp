#pragma once
// Messages about delivery crews, dispatch (the pending-orders index) and staff views
// (API.md "Delivery crew" and "Staff").

#include <caf/atom.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "protocols/fields.hpp"
#include "protocols/money.hpp"
#include "protocols/orders.hpp"
#include "protocols/shops.hpp"

namespace wassally {

namespace crew_status {
inline const std::string available = "available";
inline const std::string offline = "offline";
}  // namespace crew_status

struct crew_record {
  int64_t user_id = 0;
  std::string username;
  std::string status = crew_status::offline;
  bool has_location = false;
  double latitude = 0;
  double longitude = 0;
  std::string last_seen;  // ISO-8601, empty: never
  int64_t coins = 0;
  int64_t number_of_deliveries = 0;
  std::vector<int64_t> current_order_ids;  // assigned or picked up
  WASSALLY_FIELDS(crew_record, user_id, username, status, has_location, latitude, longitude,
                  last_seen, coins, number_of_deliveries, current_order_ids)
};

/// To a crew actor: PUT /crew/location → done, once a position at least as recent is committed.
struct set_crew_location {
  double latitude = 0;
  double longitude = 0;
  /// When the HTTP caller stops waiting (unix ms; 0: none): the write is not started after it.
  int64_t deadline_unix_ms = 0;
  WASSALLY_FIELDS(set_crew_location, latitude, longitude, deadline_unix_ms)
};

/// To a crew actor: PUT /crew/status → crew_record.
struct set_crew_status {
  std::string status;
  WASSALLY_FIELDS(set_crew_status, status)
};

/// To a crew actor: GET /crew/orders/pending around the crew → pending_page, or 409
/// location_required before the crew reported a position.
struct crew_pending_query {
  double radius_km = 10;
  int64_t offset = 0;
  int64_t limit = 20;
  WASSALLY_FIELDS(crew_pending_query, radius_km, offset, limit)
};

/// To the dispatcher: pending orders within `radius_km` of the point, nearest first →
/// pending_matches (ids and distances only: the crew actor asks the orders themselves for what
/// a crew may see of them).
struct pending_query {
  double latitude = 0;
  double longitude = 0;
  double radius_km = 10;
  int64_t offset = 0;
  int64_t limit = 20;
  WASSALLY_FIELDS(pending_query, latitude, longitude, radius_km, offset, limit)
};

struct pending_match {
  int64_t order_id = 0;
  double distance_km = 0;
  WASSALLY_FIELDS(pending_match, order_id, distance_km)
};

struct pending_matches {
  int64_t count = 0;  // all matches, not just this page
  std::vector<pending_match> page;
  WASSALLY_FIELDS(pending_matches, count, page)
};

/// To an order actor (through the registry), for a crew's pending list: the order as crews
/// looking for work may see it (no delivery code) → order_record, or 409 not_pending once it
/// left `pending`.
struct view_pending_order {
  caller who;
  WASSALLY_FIELDS(view_pending_order, who)
};

struct pending_order {
  order_record order;
  double distance_km = 0;
  WASSALLY_FIELDS(pending_order, order, distance_km)
};

struct pending_page {
  int64_t count = 0;
  std::vector<pending_order> results;
  WASSALLY_FIELDS(pending_page, count, results)
};

/// A point the dispatcher measures from: one of a pending order's shops (for a delivery
/// request: the requesting shop).
struct dispatch_point {
  double latitude = 0;
  double longitude = 0;
  WASSALLY_FIELDS(dispatch_point, latitude, longitude)
};

/// A pending order as the dispatcher indexes it: its id and where its shops are. Nothing else of
/// the order is copied: with 100,000 open orders a second copy of each would cost ~100 MiB.
struct dispatch_entry {
  int64_t order_id = 0;
  std::vector<dispatch_point> shop_points;
  int64_t pending_since = 0;  // the order's created_at, unix seconds (escalation deadlines)
  WASSALLY_FIELDS(dispatch_entry, order_id, shop_points, pending_since)
};

struct dispatch_entries {
  std::vector<dispatch_entry> entries;
  WASSALLY_FIELDS(dispatch_entries, entries)
};

/// Order actor → crew actor, before an accept or assignment commits: may this crew take
/// `order_id`? → done, or 409 crew_offline / crew_busy. The slot is held until
/// crew_slot_outcome.
struct claim_crew_slot {
  int64_t order_id = 0;
  bool by_staff = false;  // staff assignments ignore the offline status
  WASSALLY_FIELDS(claim_crew_slot, order_id, by_staff)
};

struct crew_slot_outcome {
  int64_t order_id = 0;
  bool kept = false;  // committed: the crew holds the order; false: released
  WASSALLY_FIELDS(crew_slot_outcome, order_id, kept)
};

/// Order actor → crew actor after commit: the crew no longer holds the order (delivered,
/// cancelled or reassigned); `delivered` adds `coins` and a delivery to the crew's figures.
struct crew_order_finished {
  int64_t order_id = 0;
  bool delivered = false;
  int64_t coins = 0;
  WASSALLY_FIELDS(crew_order_finished, order_id, delivered, coins)
};

/// Published on the event bus topic "crew_status" after a crew's status or position changed.
struct crew_changed {
  int64_t crew_id = 0;
  std::string status;
  bool has_location = false;
  double latitude = 0;
  double longitude = 0;
  std::string at;
  WASSALLY_FIELDS(crew_changed, crew_id, status, has_location, latitude, longitude, at)
};

/// GET /staff/crews.
struct crew_query {
  std::string status;
  int64_t offset = 0;
  int64_t limit = 20;
  WASSALLY_FIELDS(crew_query, status, offset, limit)
};

struct crew_page {
  int64_t count = 0;
  std::vector<crew_record> results;
  WASSALLY_FIELDS(crew_page, count, results)
};

/// GET /staff/overview.
struct staff_overview {
  std::map<std::string, int64_t> orders_by_status;
  int64_t active_crews = 0;
  int64_t orders_last_hour = 0;
  money revenue_today;
  WASSALLY_FIELDS(staff_overview, orders_by_status, active_crews, orders_last_hour, revenue_today)
};

/// To a shop actor: POST /shops/{id}/delivery-requests → order_placed.
struct create_delivery_request {
  caller who;
  std::string receiver_name;
  std::string receiver_phone;
  geo_location location;
  std::string notes;
  money price;
  WASSALLY_FIELDS(create_delivery_request, who, receiver_name, receiver_phone, location, notes,
                  price)
};

using overview_atom = caf::atom_constant<caf::atom("overview")>;

}  // namespace wassally
