#pragma once
// SQL of the shop aggregate: shop categories, shops and their locations.

#include "protocols/catalog.hpp"
#include "protocols/persistence.hpp"
#include "protocols/shops.hpp"

namespace wassally::shops_sql {

/// → shop_category_list (count + one page, by name).
db_command list_categories(int64_t offset, int64_t limit);
/// → shop_category; a taken name is 409 conflict on `name`.
db_command insert_category(const std::string& name, const std::string& image);
/// The picture of a shop category (protocols/pictures.hpp) → the category, or 404.
db_command set_category_image(int64_t category_id, const std::string& image);

/// Creates the shop (and its owner account when owner_id == 0) in one transaction → shop_record.
/// Unknown category: 400 on category_id; owner_id not a shop owner: 400 on owner_id; a taken
/// owner username/phone: 409 on owner.username / owner.phone_number.
db_command create(const create_shop& c, const std::string& owner_password_hash);
/// → shop_record; unknown id: 404.
db_command find(int64_t id);
/// The shop and its catalog (catalog_sql::load) in one read → shop_snapshot; unknown id: 404.
db_command load_with_catalog(int64_t id);
/// Writes every editable field of `s` (and its location) → shop_record.
db_command update(const shop_record& s);
/// → shop_page for the filters (distance-sorted when `near`).
db_command list(const shop_query& q);

}  // namespace wassally::shops_sql
