#pragma once
// What persistence answers each command with, by the function that builds the command — as the
// builder's comment in persistence/*.hpp documents it. The fake persistence
// (tests/support/fake_persistence.hpp) checks its handlers against this at compile time; a
// builder a test needs and not listed here does not compile there: add it.

#include <cstdint>

#include "persistence/carts.hpp"
#include "persistence/catalog.hpp"
#include "persistence/crews.hpp"
#include "persistence/orders.hpp"
#include "persistence/shops.hpp"
#include "protocols/accounts.hpp"
#include "protocols/catalog.hpp"
#include "protocols/crews.hpp"
#include "protocols/orders.hpp"
#include "protocols/shops.hpp"

namespace wassally::test {

template <auto Builder>
struct command_reply;

#define WASSALLY_COMMAND_REPLY(builder, reply) \
  template <>                                  \
  struct command_reply<builder> {              \
    using type = reply;                        \
  }

WASSALLY_COMMAND_REPLY(orders_sql::load, order_snapshot);
WASSALLY_COMMAND_REPLY(orders_sql::apply, order_transitioned);
WASSALLY_COMMAND_REPLY(orders_sql::mark_bought, done);
WASSALLY_COMMAND_REPLY(orders_sql::record_wrong_code, done);
WASSALLY_COMMAND_REPLY(orders_sql::unlock_code, done);
WASSALLY_COMMAND_REPLY(orders_sql::stops, order_stops);
WASSALLY_COMMAND_REPLY(orders_sql::place, order_snapshot);

WASSALLY_COMMAND_REPLY(crews_sql::load, crew_record);
WASSALLY_COMMAND_REPLY(crews_sql::save_location, done);
WASSALLY_COMMAND_REPLY(crews_sql::save_status, done);

WASSALLY_COMMAND_REPLY(carts_sql::load, cart_lines);
WASSALLY_COMMAND_REPLY(carts_sql::save_line, cart_line);
WASSALLY_COMMAND_REPLY(carts_sql::delete_line, done);
WASSALLY_COMMAND_REPLY(carts_sql::clear, done);

WASSALLY_COMMAND_REPLY(shops_sql::find, shop_record);
WASSALLY_COMMAND_REPLY(shops_sql::update, shop_record);
WASSALLY_COMMAND_REPLY(shops_sql::load_with_catalog, shop_snapshot);

WASSALLY_COMMAND_REPLY(catalog_sql::load, catalog_snapshot);
WASSALLY_COMMAND_REPLY(catalog_sql::insert_category, product_category);
WASSALLY_COMMAND_REPLY(catalog_sql::rename_category, product_category);
WASSALLY_COMMAND_REPLY(catalog_sql::delete_category, done);
WASSALLY_COMMAND_REPLY(catalog_sql::insert_product, product_record);
WASSALLY_COMMAND_REPLY(catalog_sql::update_product, product_record);
WASSALLY_COMMAND_REPLY(catalog_sql::delete_product, done);
WASSALLY_COMMAND_REPLY(catalog_sql::insert_offer, offer_record);
WASSALLY_COMMAND_REPLY(catalog_sql::update_offer, offer_record);
WASSALLY_COMMAND_REPLY(catalog_sql::delete_offer, done);

#undef WASSALLY_COMMAND_REPLY

}  // namespace wassally::test
