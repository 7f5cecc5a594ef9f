#pragma once
// The shop rules: who may see and change a shop and its catalog, what a change leads to, and
// how stock is held for placements. Pure functions of the catalog a shop actor holds (no actor,
// no database, no clock: `now` is passed in), so each rule is written once and table-tested
// (tests/unit/shop_rules_test.cpp). actors/shop.cpp carries the decisions out.
//
// A refusal is a value: `caf::expected<T>` holding the api_error (see to_caf_error), or an
// empty `std::optional<api_error>` for checks that only allow or refuse.

#include <caf/expected.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "protocols/accounts.hpp"
#include "protocols/catalog.hpp"
#include "protocols/errors.hpp"
#include "protocols/orders.hpp"
#include "protocols/reconcile.hpp"
#include "protocols/shops.hpp"

namespace wassally::shop_rules {

/// The stock versions (products.stock_version) of one product whose changes the shop has heard
/// of since it loaded the row: every version up to `upto`, and those in `ahead` (notices arrive
/// out of order).
struct seen_versions {
  int64_t upto = 0;
  std::set<int64_t> ahead;
  void mark(int64_t version);
};

/// What the last anti-entropy check of the stock found (see stock_needs_repair).
struct stock_check_memory {
  std::map<int64_t, int64_t> behind;  // product → the version PostgreSQL had, not heard of yet
  std::set<int64_t> differed;         // products whose stock differed at the same version
  std::set<int64_t> missing;          // products on one side only
  bool confirmed_differed = false;
};

/// A shop and its catalog as its actor holds them, with the stock held for placements in
/// progress (by placement, and the sum per product, in thousandths).
struct shop_catalog {
  shop_record shop;
  std::map<int64_t, product_category> categories;
  std::map<int64_t, product_record> products;  // deleted ones too, for owners and staff
  std::map<int64_t, offer_record> offers;      // not deleted
  std::map<int64_t, std::vector<order_line_request>> reservations;
  std::map<int64_t, int64_t> reserved_milli;
  /// Versions heard of since each product was loaded (absent: only its loaded stock_version).
  std::map<int64_t, seen_versions> versions;
  stock_check_memory stock_check;

  /// Replaces categories, products and offers (holds are this shop's own promises: kept).
  void load(const catalog_snapshot& c);
};

/// The shop's owner and staff.
bool may_manage(const shop_record& shop, const caller& who);

/// 403 unless `who` may manage the shop.
std::optional<api_error> refusal_unless_manager(const shop_record& shop, const caller& who);

/// Whether `who` may change the picture of what `q` names (API.md "Images": as for changing
/// that resource: 403 for another shop's owner, 404 for a product or offer that is not there).
std::optional<api_error> refusal_of_picture_access(const shop_catalog& shop,
                                                   const check_picture_access& q);

/// A suspended shop (and everything in it) is hidden, 404, from all but its owner and staff.
std::optional<api_error> refusal_unless_visible(const shop_record& shop, const caller& who);

/// The shop after applying the patch (only staff change the status).
caf::expected<shop_record> patched(const shop_record& current, const patch_shop& p);

/// Creating (req.id == 0) or renaming a category: it must exist, and names are unique per shop.
std::optional<api_error> refusal_of_category(const shop_catalog& c,
                                             const save_product_category& req);

/// The offer active at `now` for a product, if any (at most one can be: periods never overlap).
const offer_record* active_offer(const shop_catalog& c, int64_t product_id, int64_t now);

/// A product as `who` sees it at `now`: cost only for the owner and staff; the active offer
/// and the price it gives.
product_record view(const shop_catalog& c, product_record p, const caller& who, int64_t now);

/// Whether `who` sees the product at all (hidden and deleted ones: owner and staff only).
bool visible(const shop_catalog& c, const product_record& p, const caller& who);

/// The page of products `req` asks for at `now` (stamp and window left to the actor).
caf::expected<product_page> list(const shop_catalog& c, const list_products& req, int64_t now);

/// The period around `now` in which no offer starts or ends: prices computed at `now` hold
/// for all of it.
std::pair<int64_t, int64_t> price_window(const shop_catalog& c, int64_t now);

/// The product `req` saves, from `current` (a fresh one for creation): this shop's categories.
caf::expected<product_record> product_after(const shop_catalog& c, const product_record& current,
                                            const save_product& req);

/// The offer `req` saves, from `current`: staff-only sponsoring, a period that ends after it
/// starts, products of this shop, and no product in two offers whose periods overlap.
caf::expected<offer_record> offer_after(const shop_catalog& c, const offer_record& current,
                                        const save_offer& req);

/// What a cart or an order learns of a product at `now`: effective price, stock not held.
product_quote quote(const shop_catalog& c, const product_record& p, int64_t now);

/// Checks every line against the catalog and the stock not yet held; on success holds it for
/// `req.placement` and answers the quotes.
caf::expected<product_quotes> reserve(shop_catalog& c, const reserve_stock& req, int64_t now);

/// Lets go of what `placement` held (nothing if it holds nothing).
void release(shop_catalog& c, int64_t placement);

/// Stock moved in the database by `sign` × each line (−1: sold, +1: returned) — unless the row
/// this shop loaded already contained that move (its version is not newer). Each line's version
/// is noted as heard of.
void apply_stock(shop_catalog& c, const std::vector<order_line_request>& lines, int sign);

/// A committed change of the product's row that made `version` (0: unknown, ignored), heard of.
void note_version(shop_catalog& c, int64_t product_id, int64_t version);

/// The anti-entropy decision on `db`, PostgreSQL's stock rows read a moment before: whether
/// the shop must reload. A busy shop nearly always has a sale committed whose notice is still
/// on its way, or has heard of one committed after the read, so stock is compared only where
/// the row's version is exactly what the shop has heard of. A product is repaired when its
/// stock differs at the same version on two checks in a row, when the shop has not heard of
/// the version PostgreSQL had at the previous check (a notice was lost, or the row was
/// changed behind the server's back), or when it is on one side only twice in a row; the
/// confirmed orders, when they differ twice in a row.
bool stock_needs_repair(shop_catalog& c, const reconcile_stock& db);

/// A committed `confirmed_orders` of the shop (a delivery's notice, or a row read back): the
/// count only grows, so the larger one is the newer one.
void note_confirmed_orders(shop_record& shop, int64_t committed);

/// Only the shop's owner requests deliveries, and only while the shop is active.
std::optional<api_error> refusal_of_delivery_request(const shop_record& shop, const caller& who);

}  // namespace wassally::shop_rules
