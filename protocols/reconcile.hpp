#pragma once
// Bringing memory back in line with PostgreSQL (DESIGN.md rule 6): an entity that doubts its
// state reloads it, and the reconciler compares cheap fingerprints of what the actors hold with
// the database on a schedule, repairing what messages missed.

#include <caf/atom.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "protocols/fields.hpp"

namespace wassally {

/// To an entity actor, from itself: try reloading its state now.
using reload_atom = caf::atom_constant<caf::atom("reload")>;
/// To the registry: `(live_atom, kind)` → the ids of the live actors of that kind.
using live_atom = caf::atom_constant<caf::atom("live")>;

struct live_ids {
  std::vector<int64_t> ids;
  WASSALLY_FIELDS(live_ids, ids)
};

/// To a shop actor: its limited, not deleted products as PostgreSQL holds them — stock in
/// thousandths and the row's stock_version, which says which changes the stock contains — and
/// its `confirmed_orders` (-1: not known). Answered with reconcile_outcome.
struct reconcile_stock {
  std::vector<int64_t> product_ids;
  std::vector<int64_t> stock_milli;
  std::vector<int64_t> versions;
  int64_t confirmed_orders = -1;
  WASSALLY_FIELDS(reconcile_stock, product_ids, stock_milli, versions, confirmed_orders)
};

/// To a crew actor: the orders PostgreSQL says it holds (assigned or picked up).
struct reconcile_holdings {
  std::vector<int64_t> order_ids;
  WASSALLY_FIELDS(reconcile_holdings, order_ids)
};

/// To the dispatcher: every order PostgreSQL has pending.
struct reconcile_pending {
  std::vector<int64_t> order_ids;
  WASSALLY_FIELDS(reconcile_pending, order_ids)
};

/// What a check repaired: differences seen on two checks in a row (one seen once may be a
/// message still on its way, and is only remembered).
struct reconcile_outcome {
  int64_t repaired = 0;
  /// Orders a repair was about: their actors missed the same news, and reload.
  std::vector<int64_t> orders;
  WASSALLY_FIELDS(reconcile_outcome, repaired, orders)
};

/// Every open order as PostgreSQL has it: pending ones, and held ones (assigned or picked up)
/// with their crew (`held_by[i]` holds `held[i]`).
struct open_orders_index {
  std::vector<int64_t> pending;
  std::vector<int64_t> held;
  std::vector<int64_t> held_by;
  WASSALLY_FIELDS(open_orders_index, pending, held, held_by)
};

/// The stock rows of the asked shops, read in one statement: each shop's `confirmed_orders`,
/// and each of their limited, not deleted products' stock (thousandths) and stock_version.
/// Unknown shops are absent.
struct stock_fingerprints {
  std::vector<int64_t> shop_ids;  // each asked shop that exists, with its confirmed_orders
  std::vector<int64_t> confirmed_orders;
  std::vector<int64_t> product_shop_ids;  // their limited, not deleted products (a row each)
  std::vector<int64_t> product_ids;
  std::vector<int64_t> stock_milli;
  std::vector<int64_t> versions;
  WASSALLY_FIELDS(stock_fingerprints, shop_ids, confirmed_orders, product_shop_ids, product_ids,
                  stock_milli, versions)
};

}  // namespace wassally
