// The shop actor without a database, on the deterministic scheduler: persistence is a fake
// keyed by command builders that answers each command from its arguments, so the cache can be
// checked after every mutation, failed commits can be injected, and reads can be shown never to
// reach persistence.
#include <boost/test/unit_test.hpp>
#include <caf/make_message.hpp>
#include <chrono>
#include <variant>

#include "actors/registry.hpp"
#include "actors/shop.hpp"
#include "persistence/catalog.hpp"
#include "persistence/shops.hpp"
#include "protocols/catalog.hpp"
#include "protocols/errors.hpp"
#include "protocols/orders.hpp"
#include "protocols/registry.hpp"
#include "tests/support/coordinated_system.hpp"
#include "tests/support/fake_persistence.hpp"

using namespace wassally;
using namespace std::chrono_literals;

namespace {

const caller owner{7, roles::shop_owner};
const caller customer{8, roles::customer};

/// Every entity this file addresses is named here.
entity_key shop_key(int64_t id) { return entity_key{entity_kind::shop, id}; }

shop_options options(std::chrono::milliseconds reservation_timeout) {
  return shop_options{60s, 5s, reservation_timeout, {}, 10, {}, {}};
}

struct shop_fixture {
  test::coordinated_system cs;
  test::fake_persistence db{cs.sys()};
  int64_t next_id = 100;
  caf::actor persistence = db.actor();
  caf::actor registry =
      spawn_registry(cs.sys(), {{entity_kind::shop, shop_factory(persistence, options(30s))}});

  int64_t db_confirmed_orders = 0;  // what the fake database holds for every shop

  static catalog_snapshot catalog_of(int64_t shop) {
    catalog_snapshot c;
    if (shop == 2) {  // shop 2 has a product whose stock moved 7 times
      product_record p;
      p.id = 500;
      p.shop_id = 2;
      p.name = "Flour";
      p.price = *money::parse("20");
      p.stock = {10000};
      p.stock_version = 7;
      c.products.push_back(p);
    }
    return c;
  }
  shop_record shop_row(int64_t id) const {
    shop_record s;
    s.id = id;
    s.owner_id = 7;
    s.name = "Test shop";
    s.confirmed_orders = db_confirmed_orders;
    return s;
  }

  shop_fixture() {
    cs.stop_at_end(registry);
    db.on<shops_sql::find>([this](int64_t id) { return shop_row(id); });
    db.on<catalog_sql::load>([](int64_t shop) { return catalog_of(shop); });
    db.on<shops_sql::load_with_catalog>([this](int64_t id) {
      return shop_snapshot{shop_row(id), catalog_of(id)};
    });
    db.on<catalog_sql::insert_category>([this](int64_t shop, const std::string& name) {
      return product_category{next_id++, shop, name};
    });
    db.on<catalog_sql::rename_category>([](int64_t shop, int64_t id, const std::string& name) {
      return product_category{id, shop, name};
    });
    db.on<catalog_sql::delete_category>([](int64_t, int64_t) { return done{}; });
    db.on<catalog_sql::insert_product>([this](const product_record& p) {
      auto out = p;
      out.id = next_id++;
      return out;
    });
    db.on<catalog_sql::update_product>([](const product_record& p, quantity) { return p; });
    db.on<catalog_sql::delete_product>([](int64_t, int64_t) { return done{}; });
    db.on<catalog_sql::insert_offer>([this](const offer_record& o) {
      auto out = o;
      out.id = next_id++;
      return out;
    });
    db.on<catalog_sql::update_offer>([](const offer_record& o) { return o; });
    db.on<catalog_sql::delete_offer>([](int64_t, int64_t) { return done{}; });
    db.on<shops_sql::update>([](const shop_record& s) { return s; });
  }

  /// Sends `msg` to shop `shop` of `reg` (default: this fixture's registry) and runs until it
  /// answered; returns the reply or the api_error.
  template <class Reply>
  std::variant<Reply, api_error> ask_shop(int64_t shop, caf::message msg, caf::actor reg = {}) {
    auto r = cs.ask<Reply>(reg ? reg : registry, 5s, shop_key(shop), std::move(msg));
    cs.run();
    if (!r.answered()) BOOST_FAIL("shop " << shop << " did not answer");
    if (r.ok()) return r.value();
    return r.error();
  }
  /// Sends `msg` to shop 1; returns the reply or the api_error.
  template <class Reply>
  std::variant<Reply, api_error> ask(caf::message msg) {
    return ask_shop<Reply>(1, std::move(msg));
  }
  template <class Reply>
  Reply ok(caf::message msg) {
    auto r = ask<Reply>(std::move(msg));
    if (auto* e = std::get_if<api_error>(&r)) BOOST_FAIL("unexpected error " << e->code);
    return std::get<Reply>(r);
  }
  /// Sends `msg` to shop `shop` expecting no answer, and runs.
  void tell(int64_t shop, caf::message msg) {
    caf::anon_send(registry, shop_key(shop), std::move(msg));
    cs.run();
  }
  double stock_of(int64_t shop, int64_t product) {
    auto r = ask_shop<product_record>(shop, caf::make_message(get_product{owner, product}));
    return std::get<product_record>(r).stock.as_double();
  }
  reserve_stock hold(int64_t placement, int64_t product, const std::string& amount) {
    return reserve_stock{placement, {{product, *quantity::parse(amount), 0}}};
  }
  product_page list(const caller& who) {
    list_products q;
    q.who = who;
    return ok<product_page>(caf::make_message(q));
  }
  product_record create(const std::string& name, const std::string& price, int64_t category = 0,
                        const std::string& stock = "0") {
    save_product req;
    req.who = owner;
    req.values.name = name;
    req.values.price = *money::parse(price);
    req.values.stock = *quantity::parse(stock);
    req.set = {"name", "price", "stock"};
    if (category) {
      req.values.category_id = category;
      req.set.push_back("category_id");
    }
    return ok<product_record>(caf::make_message(req));
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(shop_actor, shop_fixture)

BOOST_AUTO_TEST_CASE(the_cache_follows_every_committed_mutation) {
  auto cat = ok<product_category>(caf::make_message(save_product_category{owner, 0, "Fruit"}));
  auto apple = create("Apple", "2.50", cat.id);
  BOOST_TEST(apple.category_id == cat.id);
  auto page = list(customer);
  BOOST_REQUIRE(page.count == 1);
  BOOST_TEST(page.results[0].name == "Apple");
  BOOST_TEST(!page.results[0].cost_visible);

  save_product patch;
  patch.who = owner;
  patch.product_id = apple.id;
  patch.values.price = *money::parse("3.00");
  patch.set = {"price"};
  BOOST_TEST(ok<product_record>(caf::make_message(patch)).price.str() == "3.00");
  BOOST_TEST(ok<product_record>(caf::make_message(get_product{customer, apple.id})).price.str() ==
             "3.00");

  ok<product_category>(caf::make_message(save_product_category{owner, cat.id, "Fruits"}));
  auto cats = ok<product_category_list>(caf::make_message(list_product_categories{customer}));
  BOOST_REQUIRE(cats.items.size() == 1u);
  BOOST_TEST(cats.items[0].name == "Fruits");
  ok<done>(caf::make_message(delete_product_category{owner, cat.id}));
  BOOST_TEST(ok<product_record>(caf::make_message(get_product{customer, apple.id})).category_id ==
             0);

  ok<done>(caf::make_message(delete_product{owner, apple.id}));
  BOOST_TEST(list(customer).count == 0);
  BOOST_TEST(list(owner).count == 0);  // deleted products are never listed
  BOOST_TEST(ok<product_record>(caf::make_message(get_product{owner, apple.id})).is_deleted);
  auto hidden = ask<product_record>(caf::make_message(get_product{customer, apple.id}));
  BOOST_TEST(std::get<api_error>(hidden).status == 404);
}

BOOST_AUTO_TEST_CASE(a_failed_commit_leaves_the_cache_as_it_was) {
  auto bread = create("Bread", "1.00");
  db.refuse_every<catalog_sql::update_product>(errors::unavailable("injected"));
  save_product patch;
  patch.who = owner;
  patch.product_id = bread.id;
  patch.values.price = *money::parse("9.99");
  patch.set = {"price"};
  auto r = ask<product_record>(caf::make_message(patch));
  BOOST_TEST(std::get<api_error>(r).status == 503);
  BOOST_TEST(ok<product_record>(caf::make_message(get_product{customer, bread.id})).price.str() ==
             "1.00");
  db.refuse_every<catalog_sql::insert_category>(errors::unavailable("injected"));
  auto c = ask<product_category>(caf::make_message(save_product_category{owner, 0, "Nope"}));
  BOOST_TEST(std::get<api_error>(c).status == 503);
  BOOST_TEST(
      ok<product_category_list>(caf::make_message(list_product_categories{owner})).items.empty());
}

BOOST_AUTO_TEST_CASE(reads_never_reach_the_database_once_live) {
  for (int i = 0; i < 20; ++i) create("Item " + std::to_string(i), "1.00");
  auto before = db.total();
  for (int i = 0; i < 200; ++i) {
    list(customer);
    ok<product_record>(caf::make_message(get_product{customer, 100 + i % 20}));
    ok<shop_record>(caf::make_message(get_shop{customer}));
  }
  BOOST_TEST(db.total() == before);
  BOOST_TEST(db.count<shops_sql::find>() == 1);
  BOOST_TEST(db.count<catalog_sql::load>() == 1);
}

BOOST_AUTO_TEST_CASE(refused_mutations_write_nothing) {
  auto before = db.total();
  save_product req;
  req.who = customer;
  req.values.name = "Mine";
  req.set = {"name"};
  BOOST_TEST(std::get<api_error>(ask<product_record>(caf::make_message(req))).status == 403);
  caller other_owner{99, roles::shop_owner};
  BOOST_TEST(std::get<api_error>(ask<product_category>(
                                     caf::make_message(save_product_category{other_owner, 0, "X"})))
                 .status == 403);
  req.who = owner;
  req.values.category_id = 12345;
  req.set = {"name", "category_id"};
  auto bad = std::get<api_error>(ask<product_record>(caf::make_message(req)));
  BOOST_TEST(bad.status == 400);
  BOOST_TEST(bad.fields.count("category_id") == 1u);
  // Only the activation's two loads reached persistence.
  BOOST_TEST(db.total() - before == 2);
}

BOOST_AUTO_TEST_CASE(offers_overlap_and_price_in_memory) {
  auto milk = create("Milk", "12.99");
  save_offer o;
  o.who = owner;
  o.values.title = "Deal";
  o.values.discount = *percent::parse("20");
  o.values.start = 0;
  o.values.end = 4102444800;  // 2100-01-01
  o.values.product_ids = {milk.id};
  o.set = {"title", "discount", "start_date", "end_date", "product_ids"};
  ok<offer_record>(caf::make_message(o));
  auto seen = ok<product_record>(caf::make_message(get_product{customer, milk.id}));
  BOOST_TEST(seen.effective_price.str() == "10.39");
  auto clash = std::get<api_error>(ask<offer_record>(caf::make_message(o)));
  BOOST_TEST(clash.code == "offer_overlap");
  BOOST_TEST(clash.extra.at("product_id") == milk.id);
}

BOOST_AUTO_TEST_CASE(stock_held_for_one_placement_is_not_promised_to_another) {
  auto rice = create("Rice", "4.00", 0, "5");
  auto first = ask_shop<product_quotes>(1, caf::make_message(hold(1, rice.id, "3")));
  BOOST_TEST_REQUIRE(std::holds_alternative<product_quotes>(first));
  BOOST_TEST(std::get<product_quotes>(first).items.at(0).unit_price.str() == "4.00");
  auto second =
      std::get<api_error>(ask_shop<product_quotes>(1, caf::make_message(hold(2, rice.id, "3"))));
  BOOST_TEST(second.code == "out_of_stock");
  BOOST_TEST(second.extra.at("product_id") == rice.id);
  BOOST_TEST(stock_of(1, rice.id) == 5);  // a hold is not a sale
  // Released, the stock is available again; committed, it is gone.
  tell(1, caf::make_message(release_reservation{1}));
  BOOST_TEST(std::holds_alternative<product_quotes>(
      ask_shop<product_quotes>(1, caf::make_message(hold(2, rice.id, "3")))));
  tell(1, caf::make_message(commit_reservation{2, {{rice.id, {3000}, 1}}}));
  BOOST_TEST(stock_of(1, rice.id) == 2);
  BOOST_TEST(
      std::get<api_error>(ask_shop<product_quotes>(1, caf::make_message(hold(3, rice.id, "3"))))
          .code == "out_of_stock");
  tell(1, caf::make_message(stock_returned{{{rice.id, {3000}, 2}}}));
  BOOST_TEST(stock_of(1, rice.id) == 5);
  // Quantities the product does not allow, and unknown products, are refused with the id.
  auto odd =
      std::get<api_error>(ask_shop<product_quotes>(1, caf::make_message(hold(4, rice.id, "1.5"))));
  BOOST_TEST(odd.code == "invalid_quantity");
  auto unknown =
      std::get<api_error>(ask_shop<product_quotes>(1, caf::make_message(hold(5, 999, "1"))));
  BOOST_TEST(unknown.code == "not_found");
  BOOST_TEST(unknown.extra.at("product_id") == 999);
}

BOOST_AUTO_TEST_CASE(stock_moves_already_in_the_loaded_row_are_not_applied_twice) {
  BOOST_TEST(stock_of(2, 500) == 10);
  // Version 7 was loaded: a notice of move 7 (a cancellation committed before activation)
  // changes nothing; move 8 is news.
  tell(2, caf::make_message(stock_returned{{{500, {1000}, 7}}}));
  BOOST_TEST(stock_of(2, 500) == 10);
  tell(2, caf::make_message(stock_returned{{{500, {1000}, 8}}}));
  BOOST_TEST(stock_of(2, 500) == 11);
  tell(2, caf::make_message(commit_reservation{9, {{500, {2000}, 6}}}));
  BOOST_TEST(stock_of(2, 500) == 11);
}

BOOST_AUTO_TEST_CASE(delivery_notices_keep_the_largest_count_and_anti_entropy_repairs_misses) {
  auto confirmed = [&] {
    return std::get<shop_record>(ask<shop_record>(caf::make_message(get_shop{customer})))
        .confirmed_orders;
  };
  BOOST_TEST(confirmed() == 0);
  tell(1, caf::make_message(shop_orders_confirmed{1, 3}));
  BOOST_TEST(confirmed() == 3);
  tell(1, caf::make_message(shop_orders_confirmed{1, 2}));  // late: already counted
  BOOST_TEST(confirmed() == 3);
  // A delivery whose notice never came: the database says 5. Seen once it may be a notice on
  // its way; seen twice, the shop reloads.
  db_confirmed_orders = 5;
  auto check = [&] {
    return std::get<reconcile_outcome>(
               ask<reconcile_outcome>(caf::make_message(reconcile_stock{{}, {}, {}, 5})))
        .repaired;
  };
  BOOST_TEST(check() == 0);
  BOOST_TEST(confirmed() == 3);
  BOOST_TEST(check() == 1);
  BOOST_TEST(db.count<shops_sql::load_with_catalog>() == 1);
  BOOST_TEST(confirmed() == 5);
  BOOST_TEST(check() == 0);
}

BOOST_AUTO_TEST_CASE(an_abandoned_hold_expires) {
  auto quick =
      spawn_registry(cs.sys(), {{entity_kind::shop, shop_factory(persistence, options(200ms))}});
  cs.stop_at_end(quick);
  auto rice = std::get<product_record>(ask_shop<product_record>(
      1,
      [] {
        save_product req;
        req.who = owner;
        req.values.name = "Rice";
        req.values.price = *money::parse("1");
        req.values.stock = *quantity::parse("2");
        req.set = {"name", "price", "stock"};
        return caf::make_message(req);
      }(),
      quick));
  BOOST_TEST(std::holds_alternative<product_quotes>(
      ask_shop<product_quotes>(1, caf::make_message(hold(1, rice.id, "2")), quick)));
  BOOST_TEST(std::get<api_error>(
                 ask_shop<product_quotes>(1, caf::make_message(hold(2, rice.id, "1")), quick))
                 .code == "out_of_stock");
  cs.advance_time(199ms);  // not yet
  BOOST_TEST(std::get<api_error>(
                 ask_shop<product_quotes>(1, caf::make_message(hold(3, rice.id, "1")), quick))
                 .code == "out_of_stock");
  cs.advance_time(2ms);
  BOOST_TEST(std::holds_alternative<product_quotes>(
      ask_shop<product_quotes>(1, caf::make_message(hold(2, rice.id, "2")), quick)));
}

BOOST_AUTO_TEST_SUITE_END()
