#pragma once
// Messages about carts, stock reservations and orders (API.md "Cart" and "Orders").

#include <caf/atom.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocols/errors.hpp"
#include "protocols/fields.hpp"
#include "protocols/money.hpp"
#include "protocols/shard_fence.hpp"
#include "protocols/shops.hpp"

namespace wassally {

namespace order_status {
inline constexpr const char* pending = "pending";
inline constexpr const char* assigned = "assigned";
inline constexpr const char* picked_up = "picked_up";
inline constexpr const char* delivered = "delivered";
inline constexpr const char* cancelled = "cancelled";
/// Every status, in the order of the state machine.
inline constexpr const char* all[] = {pending, assigned, picked_up, delivered, cancelled};
/// The statuses an order ends in: nothing happens to it afterwards. The one definition:
/// is_final below and the SQL that finds open orders read it.
inline constexpr const char* final_statuses[] = {delivered, cancelled};
inline bool is_final(const std::string& status) {
  for (const char* s : final_statuses)
    if (status == s) return true;
  return false;
}
}  // namespace order_status

/// Why an order was cancelled (API.md "Orders"): from who cancelled it. order_rules decides it;
/// the CHECK of migration 0005 lists the same four.
namespace cancel_reason {
inline constexpr const char* customer = "customer";
inline constexpr const char* staff = "staff";
inline constexpr const char* shop = "shop";
inline constexpr const char* no_crew = "no_crew";
}  // namespace cancel_reason

/// The longest note a cancellation may carry, in characters.
inline constexpr std::size_t max_cancel_note = 500;

// -- what a shop tells others about its products --------------------------------------------

/// A product as a cart or an order sees it: found = exists, not deleted, visible to customers.
struct product_quote {
  int64_t product_id = 0;
  int64_t shop_id = 0;
  bool found = false;
  std::string name;
  money unit_price;  // the effective price now (offer applied)
  money unit_cost;
  quantity minimum_quantity{1000};
  quantity increment_rate{1000};
  quantity available;  // stock not reserved; meaningless when unlimited
  bool is_unlimited = false;
  WASSALLY_FIELDS(product_quote, product_id, shop_id, found, name, unit_price, unit_cost,
                  minimum_quantity, increment_rate, available, is_unlimited)
};

/// To a shop actor: quotes for these products. shop_active tells whether customers may buy.
struct quote_products {
  std::vector<int64_t> product_ids;
  WASSALLY_FIELDS(quote_products, product_ids)
};

struct product_quotes {
  bool shop_active = false;
  geo_location shop_location;
  std::vector<product_quote> items;
  /// Cluster mode: the lease the shop holds its stock under; the placement's transaction is
  /// fenced by it (epoch 0: single-node mode).
  shard_fence fence;
  WASSALLY_FIELDS(product_quotes, shop_active, shop_location, items, fence)
};

/// A product and a quantity, as ordered or as reserved.
struct order_line_request {
  int64_t product_id = 0;
  quantity amount;
  /// On stock-move notices: the product's stock_version the move produced (0: unknown).
  int64_t version = 0;
  WASSALLY_FIELDS(order_line_request, product_id, amount, version)
};

/// To a shop actor: hold stock for a placement (`placement` is unique in the cluster). The
/// reply is the priced lines (product_quotes with found = true), or out_of_stock /
/// invalid_quantity / not_found / shop_unavailable naming the product. A hold not committed or
/// released within the reservation timeout is released by the shop.
struct reserve_stock {
  int64_t placement = 0;
  std::vector<order_line_request> lines;
  WASSALLY_FIELDS(reserve_stock, placement, lines)
};

/// To a shop actor after the placement committed (the stock left the database) or failed.
struct commit_reservation {
  int64_t placement = 0;
  std::vector<order_line_request> lines;
  WASSALLY_FIELDS(commit_reservation, placement, lines)
};

struct release_reservation {
  int64_t placement = 0;
  WASSALLY_FIELDS(release_reservation, placement)
};

/// To a shop actor after a cancellation committed: the stock is back in the database.
struct stock_returned {
  std::vector<order_line_request> lines;
  WASSALLY_FIELDS(stock_returned, lines)
};

// -- cart ------------------------------------------------------------------------------------

struct cart_line {
  int64_t id = 0;
  int64_t product_id = 0;
  int64_t shop_id = 0;
  quantity amount;
  WASSALLY_FIELDS(cart_line, id, product_id, shop_id, amount)
};

struct cart_lines {
  std::vector<cart_line> lines;
  WASSALLY_FIELDS(cart_lines, lines)
};

struct cart_item_view {
  cart_line line;
  std::string name;
  money unit_price;
  money line_total;
  bool available = true;  // false: hidden, deleted or its shop suspended since it was added
  WASSALLY_FIELDS(cart_item_view, line, name, unit_price, line_total, available)
};

struct cart_view {
  std::vector<cart_item_view> items;
  std::vector<int64_t> shops;
  money total;
  WASSALLY_FIELDS(cart_view, items, shops, total)
};

struct get_cart {
  int unused = 0;
  WASSALLY_FIELDS(get_cart, unused)
};

struct add_cart_item {
  int64_t product_id = 0;
  quantity amount;
  WASSALLY_FIELDS(add_cart_item, product_id, amount)
};

struct set_cart_item {
  int64_t item_id = 0;
  quantity amount;
  WASSALLY_FIELDS(set_cart_item, item_id, amount)
};

struct remove_cart_item {
  int64_t item_id = 0;  // 0: the whole cart
  WASSALLY_FIELDS(remove_cart_item, item_id)
};

/// Reply to add_cart_item / set_cart_item: the line, and whether it is new.
struct cart_item_reply {
  cart_item_view item;
  bool created = false;
  WASSALLY_FIELDS(cart_item_reply, item, created)
};

// -- orders ----------------------------------------------------------------------------------

struct order_item {
  int64_t id = 0;
  int64_t product_id = 0;
  int64_t shop_id = 0;
  int64_t shop_owner_id = 0;
  std::string name;
  quantity amount;
  money unit_price;
  money unit_cost;
  money line_total;
  bool is_bought = false;
  WASSALLY_FIELDS(order_item, id, product_id, shop_id, shop_owner_id, name, amount, unit_price,
                  unit_cost, line_total, is_bought)
};

struct order_event {
  int64_t seq = 0;
  std::string status;
  std::string at;
  int64_t crew_id = 0;
  int64_t by_user_id = 0;
  /// A cancellation's reason (empty: not a cancellation), note (empty: none) and user (0: none).
  std::string cancel_reason;
  std::string cancel_note;
  int64_t cancelled_by = 0;
  WASSALLY_FIELDS(order_event, seq, status, at, crew_id, by_user_id, cancel_reason, cancel_note,
                  cancelled_by)
};

/// Where an order's crew was last seen (PUT /crew/location), shown to the order's customer and
/// staff while it is assigned or picked up. `known` is false before the crew reported a position
/// (and in every reply to callers who may not see it).
struct crew_position {
  bool known = false;
  double latitude = 0;
  double longitude = 0;
  std::string at;
  WASSALLY_FIELDS(crew_position, known, latitude, longitude, at)
};

struct order_record {
  int64_t id = 0;
  std::string code;
  bool code_visible = true;  // set on replies: the caller may see the code
  std::string type = "order";
  std::string status = order_status::pending;
  int64_t user_id = 0;
  int64_t requesting_shop_id = 0;
  int64_t requesting_owner_id = 0;
  int64_t crew_id = 0;
  std::string receiver_name;
  std::string receiver_phone;
  geo_location location;
  std::string notes;
  std::vector<order_item> items;
  money items_total;
  money delivery_fee;
  money total;
  int64_t coins = 0;
  int wrong_code_count = 0;
  bool code_locked = false;
  std::string created_at;
  std::string updated_at;
  /// Set once cancelled (as its cancellation event): reason, note (empty: none), user (0: none).
  std::string cancel_reason;
  std::string cancel_note;
  int64_t cancelled_by = 0;
  crew_position crew_location;  // the assigned crew's, while assigned or picked up
  /// When the crew should reach the customer (ISO-8601 UTC; empty: not known), kept by the live
  /// order actor (eta_rules::estimate); not stored in PostgreSQL.
  std::string eta;
  WASSALLY_FIELDS(order_record, id, code, code_visible, type, status, user_id, requesting_shop_id,
                  requesting_owner_id, crew_id, receiver_name, receiver_phone, location, notes,
                  items, items_total, delivery_fee, total, coins, wrong_code_count, code_locked,
                  created_at, updated_at, cancel_reason, cancel_note, cancelled_by, crew_location,
                  eta)
};

/// A shop an order's crew visits (a shop with lines in it; for a delivery request the
/// requesting shop): where it is and how long it takes to prepare an order, for the ETA.
struct order_stop {
  int64_t shop_id = 0;
  double latitude = 0;
  double longitude = 0;
  int64_t preparation_min = 0;
  WASSALLY_FIELDS(order_stop, shop_id, latitude, longitude, preparation_min)
};

/// orders_sql::stops → the order's stops, by shop id.
struct order_stops {
  std::vector<order_stop> stops;
  WASSALLY_FIELDS(order_stops, stops)
};

/// POST /orders. Without lines the caller's cart is checked out.
struct place_order {
  caller who;
  std::string receiver_name;
  std::string receiver_phone;
  geo_location location;
  std::string notes;
  std::vector<order_line_request> lines;
  bool from_cart = false;
  std::string idempotency_key;  // empty: none
  std::string request_hash;
  WASSALLY_FIELDS(place_order, who, receiver_name, receiver_phone, location, notes, lines,
                  from_cart, idempotency_key, request_hash)
};

/// The placed order; `replayed` when an Idempotency-Key returned an earlier placement.
/// An order and its status history, as loaded or as placed.
struct order_snapshot {
  order_record order;
  std::vector<order_event> events;
  std::vector<order_line_request> stock_moves;  // placement only: what left each product
  WASSALLY_FIELDS(order_snapshot, order, events, stock_moves)
};

/// Orders not yet delivered or cancelled, in id order after some id (recovery pages).
struct open_orders_page {
  std::vector<order_snapshot> orders;
  int64_t last_id = 0;  // the next page starts after this id
  WASSALLY_FIELDS(open_orders_page, orders, last_id)
};

/// A committed status change, the stock it gave back (cancellation) and, for a delivered order,
/// the new `confirmed_orders` of each shop with lines in it.
struct order_transitioned {
  order_event event;
  std::vector<order_line_request> stock_moves;
  std::vector<shop_orders_confirmed> confirmed;
  WASSALLY_FIELDS(order_transitioned, event, stock_moves, confirmed)
};

/// An earlier placement under the same Idempotency-Key (found = false: none within 24 h, or the
/// key was just claimed for this placement). `status` is the answer it got: 0 while it is still
/// in flight, 201 with `order`, or a stored error answer (404, 409) in `error`.
struct idempotent_placement {
  bool found = false;
  std::string request_hash;
  int status = 201;
  order_record order;
  api_error error;
  WASSALLY_FIELDS(idempotent_placement, found, request_hash, status, order, error)
};

struct order_placed {
  order_record order;
  bool replayed = false;
  WASSALLY_FIELDS(order_placed, order, replayed)
};

/// To an order actor.
struct get_order {
  caller who;
  WASSALLY_FIELDS(get_order, who)
};

struct get_order_history {
  caller who;
  WASSALLY_FIELDS(get_order_history, who)
};

struct order_history {
  std::vector<order_event> events;
  WASSALLY_FIELDS(order_history, events)
};

/// An action on an order: "cancel", "accept", "assign" (to crew_id), "pickup", "deliver"
/// (with code), "bought" (item_id), "unlock".
/// What a caller does to an order (API.md "Orders" and "Delivery crews"): the one list the edge,
/// the rules (actors/order_rules.cpp) and the order actor share.
enum class order_action_kind : uint8_t { accept, assign, pickup, bought, deliver, unlock, cancel };

inline const char* to_string(order_action_kind k) {
  switch (k) {
    case order_action_kind::accept:
      return "accept";
    case order_action_kind::assign:
      return "assign";
    case order_action_kind::pickup:
      return "pickup";
    case order_action_kind::bought:
      return "bought";
    case order_action_kind::deliver:
      return "deliver";
    case order_action_kind::unlock:
      return "unlock";
    case order_action_kind::cancel:
      return "cancel";
  }
  return "?";
}

struct order_action {
  caller who;
  order_action_kind action = order_action_kind::cancel;
  int64_t item_id = 0;
  std::string code;
  int64_t crew_id = 0;
  std::string note;  // cancel: the canceller's note (empty: none)
  WASSALLY_FIELDS(order_action, who, action, item_id, code, crew_id, note)
};

/// For a live stream: the events after `after_seq` (all of them when 0 and `resume` is false,
/// then only the latest), and whether the order is final.
struct watch_order {
  caller who;
  int64_t after_seq = 0;
  bool resume = false;
  WASSALLY_FIELDS(watch_order, who, after_seq, resume)
};

struct order_watch {
  std::vector<order_event> events;
  bool final = false;
  bool sees_crew_location = false;  // the watcher is told where the crew is (customer, staff)
  crew_position crew_location;      // where it is now, when known and shown
  std::string eta;                  // the order's eta now (empty: none)
  WASSALLY_FIELDS(order_watch, events, final, sees_crew_location, crew_location, eta)
};

/// From a crew to each order it holds, after its new position committed (and to an order it
/// has just been assigned, with where it is then).
struct crew_moved {
  int64_t crew_id = 0;
  crew_position position;
  WASSALLY_FIELDS(crew_moved, crew_id, position)
};

/// Published on the event bus topic "order_tracking" by an order whose crew moved, at most once
/// per `crew_location_event_s`: its streams tell the customer and staff (`event: crew_location`).
struct order_crew_location {
  int64_t order_id = 0;
  crew_position position;
  WASSALLY_FIELDS(order_crew_location, order_id, position)
};

/// Published on the event bus topic "order_tracking" by an order whose eta changed by a minute
/// or more (or became known or unknown), at most once per `crew_location_event_s`: every
/// stream of the order gets it (`event: eta`).
struct order_eta_changed {
  int64_t order_id = 0;
  std::string eta;  // ISO-8601 UTC; empty: null
  WASSALLY_FIELDS(order_eta_changed, order_id, eta)
};

/// Published on the event bus topic "order_status" after a status change committed.
struct order_status_changed {
  int64_t order_id = 0;
  order_event event;
  /// For a newly placed order only (`placed`): where its shops are (for a delivery request: the
  /// requesting shop), for the dispatcher's index.
  bool placed = false;
  std::vector<geo_location> shop_points;
  /// The crew that held the order before this change (0: none or not known — a change found on
  /// a reload), so a crew's stream hears that an order was reassigned away from it.
  int64_t from_crew_id = 0;
  WASSALLY_FIELDS(order_status_changed, order_id, event, placed, shop_points, from_crew_id)
};

/// Published on the event bus topic "order_unattended" by the dispatcher when an order has been
/// pending for pending_alert_s (once per order per process run).
struct order_unattended {
  int64_t order_id = 0;
  std::string pending_since;  // the order's created_at, ISO-8601 UTC
  WASSALLY_FIELDS(order_unattended, order_id, pending_since)
};

/// GET /orders, with the role-specific visibility applied by the order directory.
struct order_query {
  caller who;
  std::string status;
  int64_t shop_id = 0;
  int64_t crew_id = 0;
  std::string from;  // ISO-8601, inclusive
  std::string to;    // ISO-8601, exclusive
  int64_t offset = 0;
  int64_t limit = 20;
  WASSALLY_FIELDS(order_query, who, status, shop_id, crew_id, from, to, offset, limit)
};

/// Which orders a caller may list: order_rules::listing_scope decides (the orders may_see lets
/// them see), persistence turns it into its WHERE clause.
struct order_scope {
  enum class kind : uint8_t {
    none,         // nothing
    all,          // every order (staff)
    own,          // the orders `user_id` placed (a customer)
    assigned,     // the orders assigned to crew `user_id`
    owned_shops,  // orders with lines of a shop of owner `user_id`, or requested by one of them
  };
  kind what = kind::none;
  int64_t user_id = 0;
};

struct order_page {
  int64_t count = 0;
  std::vector<order_record> results;
  WASSALLY_FIELDS(order_page, count, results)
};

using checkout_atom = caf::atom_constant<caf::atom("checkout")>;
using recover_atom = caf::atom_constant<caf::atom("recover")>;

}  // namespace wassally
