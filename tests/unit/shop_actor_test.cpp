// The shop actor without a database: persistence is a test double that answers each command
// from its arguments, so the cache can be checked after every mutation, failed commits can be
// injected, and reads can be shown never to reach persistence.
#include <boost/test/unit_test.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <mutex>
#include <set>
#include <thread>
#include <variant>

#include "actors/registry.hpp"
#include "actors/shop.hpp"
#include "protocols/catalog.hpp"
#include "protocols/errors.hpp"
#include "protocols/orders.hpp"
#include "protocols/persistence.hpp"
#include "protocols/registry.hpp"
#include "tests/support/actor_system_fixture.hpp"

using namespace wassally;

namespace {

struct fake_db {
  std::mutex mutex;
  std::map<std::string, int> calls;
  std::set<std::string> failing;
  int64_t next_id = 100;
  int total() {
    std::lock_guard<std::mutex> g(mutex);
    int n = 0;
    for (auto& [k, v] : calls) n += v;
    return n;
  }
  int count(const std::string& name) {
    std::lock_guard<std::mutex> g(mutex);
    return calls[name];
  }
  void fail(const std::string& name) {
    std::lock_guard<std::mutex> g(mutex);
    failing.insert(name);
  }
};

caf::actor spawn_fake_persistence(caf::actor_system& sys, std::shared_ptr<fake_db> db) {
  return sys.spawn([db](caf::event_based_actor*) -> caf::behavior {
    return {[db](db_command& cmd) -> caf::result<caf::message> {
      std::lock_guard<std::mutex> g(db->mutex);
      ++db->calls[cmd.name];
      if (db->failing.count(cmd.name)) return to_caf_error(errors::unavailable("injected"));
      const auto& a = cmd.args;
      if (cmd.name == "shops.find") {
        shop_record s;
        s.id = a.get_as<int64_t>(0);
        s.owner_id = 7;
        s.name = "Test shop";
        return caf::make_message(s);
      }
      if (cmd.name == "catalog.load") {
        catalog_snapshot c;
        if (a.get_as<int64_t>(0) == 2) {  // shop 2 has a product whose stock moved 7 times
          product_record p;
          p.id = 500;
          p.shop_id = 2;
          p.name = "Flour";
          p.price = *money::parse("20");
          p.stock = {10000};
          p.stock_version = 7;
          c.products.push_back(p);
        }
        return caf::make_message(c);
      }
      if (cmd.name == "product_categories.insert")
        return caf::make_message(
            product_category{db->next_id++, a.get_as<int64_t>(0), a.get_as<std::string>(1)});
      if (cmd.name == "product_categories.rename")
        return caf::make_message(
            product_category{a.get_as<int64_t>(1), a.get_as<int64_t>(0), a.get_as<std::string>(2)});
      if (cmd.name == "products.insert") {
        auto p = a.get_as<product_record>(0);
        p.id = db->next_id++;
        return caf::make_message(p);
      }
      if (cmd.name == "products.update") return caf::make_message(a.get_as<product_record>(0));
      if (cmd.name == "offers.insert") {
        auto o = a.get_as<offer_record>(0);
        o.id = db->next_id++;
        return caf::make_message(o);
      }
      if (cmd.name == "offers.update") return caf::make_message(a.get_as<offer_record>(0));
      if (cmd.name == "shops.update") return caf::make_message(a.get_as<shop_record>(0));
      return caf::make_message(done{});
    }};
  });
}

const caller owner{7, roles::shop_owner};
const caller customer{8, roles::customer};

struct shop_fixture : test::actor_system_fixture {
  std::shared_ptr<fake_db> db = std::make_shared<fake_db>();
  caf::actor persistence = spawn_fake_persistence(*sys, db);
  caf::actor registry = spawn_registry(
      *sys, {{entity_kind::shop, shop_factory(persistence, shop_options{std::chrono::seconds(60),
                                                                        std::chrono::seconds(5),
                                                                        std::chrono::seconds(30),
                                                                        {},
                                                                        10,
                                                                        {}})}});
  caf::scoped_actor self{*sys};

  ~shop_fixture() {
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(persistence, caf::exit_reason::user_shutdown);
  }

  /// Sends `msg` to shop 1; returns the reply or the api_error.
  template <class Reply>
  std::variant<Reply, api_error> ask(caf::message msg) {
    std::variant<Reply, api_error> out = api_error{};
    self->request(registry, std::chrono::seconds(5), entity_key{entity_kind::shop, 1},
                  std::move(msg))
        .receive([&](Reply& r) { out = r; }, [&](caf::error& e) { out = from_caf_error(e); });
    return out;
  }
  template <class Reply>
  Reply ok(caf::message msg) {
    auto r = ask<Reply>(std::move(msg));
    if (auto* e = std::get_if<api_error>(&r)) BOOST_FAIL("unexpected error " << e->code);
    return std::get<Reply>(r);
  }
  /// Sends `msg` to shop `shop` of `reg` (default: this fixture's registry).
  template <class Reply>
  std::variant<Reply, api_error> ask_shop(int64_t shop, caf::message msg, caf::actor reg = {}) {
    std::variant<Reply, api_error> out = api_error{};
    self->request(reg ? reg : registry, std::chrono::seconds(5),
                  entity_key{entity_kind::shop, shop}, std::move(msg))
        .receive([&](Reply& r) { out = r; }, [&](caf::error& e) { out = from_caf_error(e); });
    return out;
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
  db->fail("products.update");
  save_product patch;
  patch.who = owner;
  patch.product_id = bread.id;
  patch.values.price = *money::parse("9.99");
  patch.set = {"price"};
  auto r = ask<product_record>(caf::make_message(patch));
  BOOST_TEST(std::get<api_error>(r).status == 503);
  BOOST_TEST(ok<product_record>(caf::make_message(get_product{customer, bread.id})).price.str() ==
             "1.00");
  db->fail("product_categories.insert");
  auto c = ask<product_category>(caf::make_message(save_product_category{owner, 0, "Nope"}));
  BOOST_TEST(std::get<api_error>(c).status == 503);
  BOOST_TEST(
      ok<product_category_list>(caf::make_message(list_product_categories{owner})).items.empty());
}

BOOST_AUTO_TEST_CASE(reads_never_reach_the_database_once_live) {
  for (int i = 0; i < 20; ++i) create("Item " + std::to_string(i), "1.00");
  auto before = db->total();
  for (int i = 0; i < 200; ++i) {
    list(customer);
    ok<product_record>(caf::make_message(get_product{customer, 100 + i % 20}));
    ok<shop_record>(caf::make_message(get_shop{customer}));
  }
  BOOST_TEST(db->total() == before);
  BOOST_TEST(db->count("shops.find") == 1);
  BOOST_TEST(db->count("catalog.load") == 1);
}

BOOST_AUTO_TEST_CASE(refused_mutations_write_nothing) {
  auto before = db->total();
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
  BOOST_TEST(db->total() - before == 2);
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
  caf::anon_send(registry, entity_key{entity_kind::shop, 1},
                 caf::make_message(release_reservation{1}));
  BOOST_TEST(std::holds_alternative<product_quotes>(
      ask_shop<product_quotes>(1, caf::make_message(hold(2, rice.id, "3")))));
  caf::anon_send(registry, entity_key{entity_kind::shop, 1},
                 caf::make_message(commit_reservation{2, {{rice.id, {3000}, 1}}}));
  BOOST_TEST(stock_of(1, rice.id) == 2);
  BOOST_TEST(
      std::get<api_error>(ask_shop<product_quotes>(1, caf::make_message(hold(3, rice.id, "3"))))
          .code == "out_of_stock");
  caf::anon_send(registry, entity_key{entity_kind::shop, 1},
                 caf::make_message(stock_returned{{{rice.id, {3000}, 2}}}));
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
  caf::anon_send(registry, entity_key{entity_kind::shop, 2},
                 caf::make_message(stock_returned{{{500, {1000}, 7}}}));
  BOOST_TEST(stock_of(2, 500) == 10);
  caf::anon_send(registry, entity_key{entity_kind::shop, 2},
                 caf::make_message(stock_returned{{{500, {1000}, 8}}}));
  BOOST_TEST(stock_of(2, 500) == 11);
  caf::anon_send(registry, entity_key{entity_kind::shop, 2},
                 caf::make_message(commit_reservation{9, {{500, {2000}, 6}}}));
  BOOST_TEST(stock_of(2, 500) == 11);
}

BOOST_AUTO_TEST_CASE(an_abandoned_hold_expires) {
  auto quick = spawn_registry(
      *sys,
      {{entity_kind::shop, shop_factory(persistence, shop_options{std::chrono::seconds(60),
                                                                  std::chrono::seconds(5),
                                                                  std::chrono::milliseconds(200),
                                                                  {},
                                                                  10,
                                                                  {}})}});
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
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  BOOST_TEST(std::holds_alternative<product_quotes>(
      ask_shop<product_quotes>(1, caf::make_message(hold(2, rice.id, "2")), quick)));
  caf::anon_send_exit(quick, caf::exit_reason::user_shutdown);
}

BOOST_AUTO_TEST_SUITE_END()
