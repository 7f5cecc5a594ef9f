#pragma once
// SQL of a shop's catalog: product categories and products (soft-deleted, never removed).

#include "protocols/catalog.hpp"
#include "protocols/persistence.hpp"

namespace wassally::catalog_sql {

/// Every category and product (deleted ones too) of the shop → catalog_snapshot.
db_command load(int64_t shop_id);
/// The stock rows (stock and stock_version of each limited, not deleted product) and
/// confirmed_orders of each of `shop_ids` (anti-entropy) → stock_fingerprints.
db_command stock_fingerprints(const std::vector<int64_t>& shop_ids);
/// → product_category; a taken name in the shop: 409 conflict on `name`.
db_command insert_category(int64_t shop_id, const std::string& name);
db_command rename_category(int64_t shop_id, int64_t id, const std::string& name);
/// Products in it become uncategorised → done.
db_command delete_category(int64_t shop_id, int64_t id);
/// → product_record (with id and timestamps).
db_command insert_product(const product_record& p);
/// Writes every editable field → product_record; stock changes by `p.stock - stock_before`
/// (never below 0), so stock taken by orders meanwhile is not given back.
db_command update_product(const product_record& p, quantity stock_before);
/// Marks it deleted; order lines keep their snapshots → done.
db_command delete_product(int64_t shop_id, int64_t product_id);
/// The shop of a product → int64_t; unknown: 404.
db_command shop_of_product(int64_t product_id);

/// → offer_record (with its id).
db_command insert_offer(const offer_record& o);
/// Writes every editable field and the product set → offer_record.
db_command update_offer(const offer_record& o);
/// Soft-deletes the offer → done.
db_command delete_offer(int64_t shop_id, int64_t offer_id);
/// The shop of an offer → int64_t; unknown: 404.
db_command shop_of_offer(int64_t offer_id);
/// Offers active at q.now in active shops, sponsored first → offer_list.
db_command list_active_offers(const offer_query& q);

}  // namespace wassally::catalog_sql
