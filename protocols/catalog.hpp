#pragma once
// Messages about a shop's catalog: product categories and products. All go to the shop actor.

#include <cstdint>
#include <string>
#include <vector>

#include "protocols/fields.hpp"
#include "protocols/money.hpp"
#include "protocols/shops.hpp"

namespace wassally {

struct product_category {
  int64_t id = 0;
  int64_t shop_id = 0;
  std::string name;
  WASSALLY_FIELDS(product_category, id, shop_id, name)
};

struct product_category_list {
  std::vector<product_category> items;
  WASSALLY_FIELDS(product_category_list, items)
};

struct product_record {
  int64_t id = 0;
  int64_t shop_id = 0;
  int64_t category_id = 0;  // 0: uncategorised
  std::string name;
  std::string description;
  money price;
  bool has_cost_price = false;
  money cost_price;
  bool cost_visible = false;  // set on replies: the caller may see cost_price
  quantity stock;
  bool is_unlimited = false;
  std::string quantity_type = "unit";
  quantity minimum_quantity{1000};
  quantity increment_rate{1000};
  std::string image;
  bool is_hidden = false;
  quantity sales_count;
  bool is_deleted = false;
  int64_t stock_version = 0;  // as loaded by the shop actor (see migration 0002)
  std::string created_at;
  std::string updated_at;
  // On replies: the active offer, if any (offer_id 0: none), and the price it gives.
  int64_t offer_id = 0;
  std::string offer_title;
  percent offer_discount;
  money effective_price;
  WASSALLY_FIELDS(product_record, id, shop_id, category_id, name, description, price,
                  has_cost_price, cost_price, cost_visible, stock, is_unlimited, quantity_type,
                  minimum_quantity, increment_rate, image, is_hidden, sales_count, is_deleted,
                  stock_version, created_at, updated_at, offer_id, offer_title, offer_discount,
                  effective_price)
};

/// An offer: a percentage off some of the shop's products during [start, end).
struct offer_record {
  int64_t id = 0;
  int64_t shop_id = 0;
  std::string title;
  std::string description;
  std::string url;
  std::string image;
  percent discount;
  int64_t start = 0;  // unix seconds
  int64_t end = 0;
  bool is_sponsored = false;
  std::vector<int64_t> product_ids;
  bool is_deleted = false;
  bool is_active(int64_t now) const { return !is_deleted && start <= now && now < end; }
  WASSALLY_FIELDS(offer_record, id, shop_id, title, description, url, image, discount, start, end,
                  is_sponsored, product_ids, is_deleted)
};

struct offer_list {
  int64_t count = 0;
  std::vector<offer_record> items;
  WASSALLY_FIELDS(offer_list, count, items)
};

struct product_page {
  int64_t count = 0;
  std::vector<product_record> results;
  /// The shop's catalog stamp when the page was made, and the service-clock period
  /// [valid_from, valid_until) in which its effective prices hold.
  uint64_t stamp = 0;
  int64_t valid_from = 0;
  int64_t valid_until = 0;
  WASSALLY_FIELDS(product_page, count, results, stamp, valid_from, valid_until)
};

/// Everything a shop actor loads on activation besides the shop row.
struct catalog_snapshot {
  std::vector<product_category> categories;
  std::vector<product_record> products;
  std::vector<offer_record> offers;
  WASSALLY_FIELDS(catalog_snapshot, categories, products, offers)
};

/// A shop and its catalog, read in one transaction: what a shop actor reloads.
struct shop_snapshot {
  shop_record shop;
  catalog_snapshot catalog;
  WASSALLY_FIELDS(shop_snapshot, shop, catalog)
};

/// Create (offer_id == 0) or change the fields named in `set`.
struct save_offer {
  caller who;
  int64_t offer_id = 0;
  offer_record values;
  std::vector<std::string> set;
  WASSALLY_FIELDS(save_offer, who, offer_id, values, set)
};

/// The shop's offers active now (all of them, past and future too, for owner/staff with `all`).
struct list_offers {
  caller who;
  bool all = false;
  WASSALLY_FIELDS(list_offers, who, all)
};

struct delete_offer {
  caller who;
  int64_t offer_id = 0;
  WASSALLY_FIELDS(delete_offer, who, offer_id)
};

/// GET /offers across active shops: active at `now`, sponsored first.
struct offer_query {
  int64_t now = 0;
  int64_t offset = 0;
  int64_t limit = 20;
  WASSALLY_FIELDS(offer_query, now, offset, limit)
};

struct list_product_categories {
  caller who;
  WASSALLY_FIELDS(list_product_categories, who)
};

/// Create (id == 0) or rename (id != 0) a product category.
struct save_product_category {
  caller who;
  int64_t id = 0;
  std::string name;
  WASSALLY_FIELDS(save_product_category, who, id, name)
};

struct delete_product_category {
  caller who;
  int64_t id = 0;
  WASSALLY_FIELDS(delete_product_category, who, id)
};

struct list_products {
  caller who;
  int64_t category_id = 0;
  std::string q;
  bool offer_only = false;
  int64_t offset = 0;
  int64_t limit = 20;
  WASSALLY_FIELDS(list_products, who, category_id, q, offer_only, offset, limit)
};

/// Create (product_id == 0) or change the fields named in `set`.
struct save_product {
  caller who;
  int64_t product_id = 0;
  product_record values;
  std::vector<std::string> set;
  WASSALLY_FIELDS(save_product, who, product_id, values, set)
};

struct get_product {
  caller who;
  int64_t product_id = 0;
  WASSALLY_FIELDS(get_product, who, product_id)
};

struct delete_product {
  caller who;
  int64_t product_id = 0;
  WASSALLY_FIELDS(delete_product, who, product_id)
};

/// What a picture belongs to (API.md "Images"): shops, products and offers are the shop
/// actor's; shop categories are the shop directory's.
enum class picture_subject : uint8_t { shop, product, offer };

/// To a shop actor: whether `who` may change the picture of its shop, or of its product or
/// offer `id` (done; else 403, or 404 for what `who` may not see), asked before an upload is
/// decoded so that nobody else's upload costs the server any work.
struct check_picture_access {
  caller who;
  picture_subject subject = picture_subject::shop;
  int64_t id = 0;
  WASSALLY_FIELDS(check_picture_access, who, subject, id)
};

}  // namespace wassally
