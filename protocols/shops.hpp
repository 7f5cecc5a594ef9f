#pragma once
// Messages about shops and shop categories.

#include <cstdint>
#include <string>
#include <vector>

#include "protocols/accounts.hpp"
#include "protocols/fields.hpp"

namespace wassally {

/// Who is asking: the entity actors decide visibility and permissions from it.
struct caller {
  int64_t user_id = 0;  // 0: anonymous
  std::string role;
  /// When the HTTP caller stops waiting (unix ms; 0: no deadline). Work not yet started by then
  /// is not started at all (a command queued for the database is answered `504 not_written`).
  int64_t deadline_unix_ms = 0;
  bool is_staff() const { return role == roles::staff; }
  /// The server acting on its own (no user): only built in-process by caller::system().
  bool is_system() const { return role == roles::system && user_id == 0; }
  static caller system() {
    caller c;
    c.role = roles::system;
    return c;
  }
  WASSALLY_FIELDS(caller, user_id, role, deadline_unix_ms)
};

struct geo_location {
  std::string address;
  double latitude = 0;
  double longitude = 0;
  WASSALLY_FIELDS(geo_location, address, latitude, longitude)
};

struct shop_category {
  int64_t id = 0;
  std::string name;
  std::string image;
  WASSALLY_FIELDS(shop_category, id, name, image)
};

struct shop_category_list {
  std::vector<shop_category> items;
  int64_t count = 0;
  WASSALLY_FIELDS(shop_category_list, items, count)
};

struct shop_record {
  int64_t id = 0;
  std::string name;
  std::string description;
  std::string phone_number;
  std::string facebook_url;
  std::string image;
  int64_t category_id = 0;
  std::string status = "active";
  /// Delivered orders with lines of this shop (delivery requests do not count). Only ever grows.
  int64_t confirmed_orders = 0;
  /// Minutes the shop needs to prepare an order (0..240), for the ETA.
  int64_t preparation_min = 10;
  geo_location location;
  int64_t owner_id = 0;
  double distance_km = -1;  // set by `near` listings only
  WASSALLY_FIELDS(shop_record, id, name, description, phone_number, facebook_url, image,
                  category_id, status, confirmed_orders, preparation_min, location, owner_id,
                  distance_km)
};

/// To a shop actor, from an order actor once the order's delivery committed: the shop's
/// `confirmed_orders` as that transaction left it. The count only grows, so the shop keeps the
/// larger of this and what it holds: a notice arriving late, twice, or after a reload that
/// already counted it changes nothing.
struct shop_orders_confirmed {
  int64_t shop_id = 0;
  int64_t confirmed_orders = 0;
  WASSALLY_FIELDS(shop_orders_confirmed, shop_id, confirmed_orders)
};

/// POST /shops: the shop, and either a new owner account or an existing owner's id.
struct create_shop {
  shop_record shop;
  int64_t owner_id = 0;
  register_user owner;  // used when owner_id == 0
  WASSALLY_FIELDS(create_shop, shop, owner_id, owner)
};

/// GET /shops filters.
struct shop_query {
  int64_t category_id = 0;
  std::string q;
  bool near = false;
  double latitude = 0;
  double longitude = 0;
  double radius_km = 10;
  bool include_suspended = false;
  int64_t offset = 0;
  int64_t limit = 20;
  WASSALLY_FIELDS(shop_query, category_id, q, near, latitude, longitude, radius_km,
                  include_suspended, offset, limit)
};

struct shop_page {
  int64_t count = 0;
  std::vector<shop_record> results;
  WASSALLY_FIELDS(shop_page, count, results)
};

/// To a shop actor: the shop as `who` may see it (404 for a suspended shop unless owner/staff).
struct get_shop {
  caller who;
  WASSALLY_FIELDS(get_shop, who)
};

/// To a shop actor: change the fields named in `set` (values in `values`).
struct patch_shop {
  caller who;
  shop_record values;
  std::vector<std::string> set;
  WASSALLY_FIELDS(patch_shop, who, values, set)
};

/// To the shop directory: the picture of shop category `category_id` (an `image` value as
/// stored, see protocols/pictures.hpp; empty: none) → the category, or 404.
struct set_shop_category_image {
  int64_t category_id = 0;
  std::string image;
  WASSALLY_FIELDS(set_shop_category_image, category_id, image)
};

}  // namespace wassally
