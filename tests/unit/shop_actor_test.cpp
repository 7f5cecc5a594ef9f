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
#include <variant>

#include "actors/registry.hpp"
#include "actors/shop.hpp"
#include "protocols/catalog.hpp"
#include "protocols/errors.hpp"
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
      if (cmd.name == "catalog.load") return caf::make_message(catalog_snapshot{});
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
      *sys,
      {{"shop", shop_factory(persistence, std::chrono::seconds(60), std::chrono::seconds(5))}});
  caf::scoped_actor self{*sys};

  ~shop_fixture() {
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(persistence, caf::exit_reason::user_shutdown);
  }

  /// Sends `msg` to shop 1; returns the reply or the api_error.
  template <class Reply>
  std::variant<Reply, api_error> ask(caf::message msg) {
    std::variant<Reply, api_error> out = api_error{};
    self->request(registry, std::chrono::seconds(5), entity_key{"shop", 1}, std::move(msg))
        .receive([&](Reply& r) { out = r; }, [&](caf::error& e) { out = from_caf_error(e); });
    return out;
  }
  template <class Reply>
  Reply ok(caf::message msg) {
    auto r = ask<Reply>(std::move(msg));
    if (auto* e = std::get_if<api_error>(&r)) BOOST_FAIL("unexpected error " << e->code);
    return std::get<Reply>(r);
  }
  product_page list(const caller& who) {
    list_products q;
    q.who = who;
    return ok<product_page>(caf::make_message(q));
  }
  product_record create(const std::string& name, const std::string& price, int64_t category = 0) {
    save_product req;
    req.who = owner;
    req.values.name = name;
    req.values.price = *money::parse(price);
    req.set = {"name", "price"};
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

BOOST_AUTO_TEST_SUITE_END()
