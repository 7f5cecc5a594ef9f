// The cart actor without a database, on the deterministic scheduler: its lines go through a
// fake persistence keyed by command builders (a map per user stands for cart_items), shops are
// stand-ins that quote and hold stock, and a checkout runs the real placement.
#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <vector>

#include "actors/cart.hpp"
#include "actors/registry.hpp"
#include "persistence/carts.hpp"
#include "persistence/orders.hpp"
#include "protocols/entity_interfaces.hpp"
#include "protocols/errors.hpp"
#include "protocols/orders.hpp"
#include "protocols/reconcile.hpp"
#include "protocols/registry.hpp"
#include "tests/support/coordinated_system.hpp"
#include "tests/support/fake_persistence.hpp"

using namespace wassally;
using namespace std::chrono_literals;

namespace {

constexpr int64_t customer_id = 10;
const caller customer{customer_id, roles::customer};

/// Products are numbered by their shop: product 301 is sold by shop 3. Product 199 does not
/// exist; shop 9 is suspended.
int64_t shop_of(int64_t product) { return product / 100; }

/// What the stand-in shops saw.
struct shop_log {
  std::vector<int64_t> reserved;  // placements
  std::vector<int64_t> committed;
  std::vector<int64_t> released;
  std::vector<int64_t> out_of_stock;  // products refused at reservation
};

caf::behavior stand_in_shop(int64_t shop, std::shared_ptr<shop_log> log) {
  auto quote = [shop](const std::vector<int64_t>& ids) {
    product_quotes q;
    q.shop_active = shop != 9;
    for (auto id : ids) {
      product_quote p;
      p.product_id = id;
      p.shop_id = shop;
      p.found = id != 199;
      p.name = "Product " + std::to_string(id);
      p.unit_price = *money::parse("2.50");
      p.available = *quantity::parse("100");
      q.items.push_back(p);
    }
    return q;
  };
  return {
      [quote](const quote_products& q) { return quote(q.product_ids); },
      [quote, log](const reserve_stock& r) -> caf::result<product_quotes> {
        std::vector<int64_t> ids;
        for (auto& l : r.lines) {
          if (std::find(log->out_of_stock.begin(), log->out_of_stock.end(), l.product_id) !=
              log->out_of_stock.end()) {
            auto e = errors::conflict("out_of_stock", "not enough stock");
            e.extra["product_id"] = l.product_id;
            return to_caf_error(e);
          }
          ids.push_back(l.product_id);
        }
        log->reserved.push_back(r.placement);
        return quote(ids);
      },
      [log](const commit_reservation& c) { log->committed.push_back(c.placement); },
      [log](const release_reservation& r) { log->released.push_back(r.placement); },
      [](reload_atom) {},
  };
}

struct cart_fixture {
  test::coordinated_system cs;
  test::fake_persistence db{cs.sys()};
  test::event_recorder bus{cs};
  std::shared_ptr<shop_log> shops = std::make_shared<shop_log>();
  std::map<int64_t, cart_line> rows;  // cart_items of the customer, by id
  int64_t next_line_id = 1;
  int64_t next_order_id = 1000;
  caf::actor registry;

  cart_fixture() {
    db.on<carts_sql::load>([this](int64_t) {
      cart_lines out;
      for (auto& [id, l] : rows) out.lines.push_back(l);
      return out;
    });
    db.on<carts_sql::save_line>([this](int64_t, const cart_line& line) {
      auto saved = line;
      for (auto& [id, l] : rows)
        if (l.product_id == line.product_id) saved.id = id;
      if (saved.id == 0) saved.id = next_line_id++;
      rows[saved.id] = saved;
      return saved;
    });
    db.on<carts_sql::delete_line>([this](int64_t, int64_t id) {
      rows.erase(id);
      return done{};
    });
    db.on<carts_sql::clear>([this](int64_t) {
      rows.clear();
      return done{};
    });
    db.on<orders_sql::place>([this](const orders_sql::placement& p) {
      order_snapshot s;
      s.order = p.order;
      s.order.id = next_order_id++;
      s.order.code = p.candidate_codes.at(0);
      s.events.push_back(
          {1, order_status::pending, "2026-12-06T08:00:00Z", 0, p.order.user_id, {}, {}, 0});
      for (auto& i : p.order.items) s.stock_moves.push_back({i.product_id, i.amount, 1});
      if (p.clear_cart) rows.clear();  // the same transaction empties the cart
      return s;
    });
    auto directory = cs.sys().spawn([](caf::event_based_actor*) -> caf::behavior {
      return {[](shop_of_atom, int64_t product) { return shop_of(product); }};
    });
    cs.stop_at_end(directory);
    auto log = shops;
    entity_factory shop_factory = [log](caf::actor_system& sys, const caf::actor&, int64_t id,
                                        const caf::message&, const shard_fence&) {
      return sys.spawn([id, log](caf::event_based_actor*) { return stand_in_shop(id, log); });
    };
    placement_services svc;
    svc.shop_directory = directory;
    svc.persistence = db.actor();
    svc.event_bus = bus.actor();
    svc.timeout = 5s;
    svc.delivery_fee = *money::parse("5");
    registry = spawn_registry(
        cs.sys(), {{entity_kind::cart, cart_factory(svc, 60s)}, {entity_kind::shop, shop_factory}});
    cs.stop_at_end(registry);
  }

  /// Every entity this file addresses is named here.
  entity_ref<cart_actor> cart() { return cart_ref(registry, customer_id); }

  test::reply<cart_item_reply> add(int64_t product, const std::string& amount) {
    auto r = cs.ask(cart(), 5s, add_cart_item{product, *quantity::parse(amount)});
    cs.run();
    return r;
  }
  cart_view view() {
    auto r = cs.ask(cart(), 5s, get_cart{});
    cs.run();
    return r.value();
  }
  test::reply<order_placed> checkout() {
    place_order req;
    req.who = customer;
    req.receiver_name = "Mona";
    req.receiver_phone = "+201000000000";
    auto r = cs.ask(cart(), 30s, checkout_atom::value, req);
    cs.run();
    return r;
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(cart_actor, cart_fixture)

BOOST_AUTO_TEST_CASE(an_item_is_answered_only_after_its_line_is_committed) {
  db.hold_next<carts_sql::save_line>();
  auto r = cs.ask(cart(), 5s, add_cart_item{101, *quantity::parse("2")});
  cs.run();
  BOOST_TEST(!r.answered());
  BOOST_TEST(rows.empty());
  db.release<carts_sql::save_line>();
  cs.run();
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r.value().created);
  BOOST_TEST(r.value().item.line.id == 1);
  BOOST_TEST(r.value().item.line_total.str() == "5.00");
  BOOST_TEST(rows.at(1).shop_id == 1);
  // The same product again grows its line.
  auto more = add(101, "1");
  BOOST_TEST(!more.value().created);
  BOOST_TEST(rows.at(1).amount.milli == 3000);
  auto v = view();
  BOOST_TEST_REQUIRE(v.items.size() == 1u);
  BOOST_TEST(v.total.str() == "7.50");
}

BOOST_AUTO_TEST_CASE(a_cart_holds_products_of_at_most_three_shops) {
  BOOST_TEST(add(101, "1").ok());
  BOOST_TEST(add(201, "1").ok());
  BOOST_TEST(add(301, "1").ok());
  auto fourth = add(401, "1");
  BOOST_TEST(fourth.error().status == 409);
  BOOST_TEST(fourth.error().code == "cart_shop_limit");
  BOOST_TEST(fourth.error().extra.at("product_id") == 401);
  BOOST_TEST(db.count<carts_sql::save_line>() == 3);  // the refusal wrote nothing
  // Another product of a shop already in the cart is fine.
  BOOST_TEST(add(102, "1").ok());
  // With one shop's line removed, a fourth shop fits.
  auto shop3_line = rows.rbegin()->first;
  for (auto& [id, l] : rows)
    if (l.shop_id == 3) shop3_line = id;
  auto removed = cs.ask(cart(), 5s, remove_cart_item{shop3_line});
  cs.run();
  BOOST_TEST(removed.ok());
  BOOST_TEST(add(401, "1").ok());
  BOOST_TEST(view().shops == (std::vector<int64_t>{1, 2, 4}));
}

BOOST_AUTO_TEST_CASE(quantities_products_and_shops_the_rules_refuse_write_nothing) {
  auto odd = add(101, "1.5");  // sold from 1 in steps of 1
  BOOST_TEST(odd.error().code == "invalid_quantity");
  BOOST_TEST(add(199, "1").error().status == 404);
  BOOST_TEST(add(901, "1").error().code == "shop_unavailable");
  BOOST_TEST(db.count<carts_sql::save_line>() == 0);
  BOOST_TEST(rows.empty());
}

BOOST_AUTO_TEST_CASE(a_failed_line_write_leaves_the_cart_as_it_was) {
  BOOST_TEST(add(101, "1").ok());
  db.refuse_next<carts_sql::save_line>(errors::unavailable());
  BOOST_TEST(add(101, "1").error().status == 503);
  auto v = view();
  BOOST_TEST_REQUIRE(v.items.size() == 1u);
  BOOST_TEST(v.items[0].line.amount.milli == 1000);
}

BOOST_AUTO_TEST_CASE(checkout_places_the_order_then_empties_the_cart) {
  BOOST_TEST(add(101, "2").ok());
  BOOST_TEST(add(201, "1").ok());
  auto r = checkout();
  BOOST_TEST_REQUIRE(r.ok());
  BOOST_TEST(r.value().order.id == 1000);
  BOOST_TEST(r.value().order.items.size() == 2u);
  BOOST_TEST(r.value().order.total.str() == "12.50");  // 3 × 2.50 + 5 delivery
  BOOST_TEST(db.count<orders_sql::place>() == 1);
  BOOST_TEST(shops->reserved.size() == 2u);
  BOOST_TEST(shops->committed.size() == 2u);
  BOOST_TEST(shops->released.empty());
  BOOST_TEST(view().items.empty());
  BOOST_TEST(rows.empty());
  BOOST_TEST(bus.all<order_status_changed>().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_checkout_refused_keeps_the_cart_and_releases_the_holds) {
  BOOST_TEST(add(101, "2").ok());
  BOOST_TEST(add(201, "1").ok());
  shops->out_of_stock = {201};
  auto r = checkout();
  BOOST_TEST(r.error().code == "out_of_stock");
  BOOST_TEST(db.count<orders_sql::place>() == 0);
  BOOST_TEST(shops->released.size() == 2u);  // every shop is told, the holding one included
  BOOST_TEST(view().items.size() == 2u);
  BOOST_TEST(db.count<carts_sql::load>() == 1);  // nothing in doubt: no reload
}

BOOST_AUTO_TEST_CASE(a_checkout_of_unknown_outcome_reloads_the_cart_before_answering) {
  BOOST_TEST(add(101, "2").ok());
  // The commit happened (the cart row is gone) but its answer was lost.
  db.hold_next<orders_sql::place>();
  auto r = checkout();
  BOOST_TEST(!r.answered());
  rows.clear();
  db.release_with<orders_sql::place>(errors::timeout());
  cs.run();
  BOOST_TEST(r.error().code == "timeout");
  BOOST_TEST(db.count<carts_sql::load>() == 2);  // reloaded before answering
  BOOST_TEST(view().items.empty());              // as PostgreSQL has it
}

BOOST_AUTO_TEST_CASE(nothing_else_changes_the_cart_while_a_checkout_is_in_flight) {
  BOOST_TEST(add(101, "2").ok());
  db.hold_next<orders_sql::place>();
  auto r = checkout();
  auto added = cs.ask(cart(), 5s, add_cart_item{102, *quantity::parse("1")});
  cs.run();
  BOOST_TEST(!added.answered());  // waits for the checkout's outcome
  db.release<orders_sql::place>();
  cs.run();
  BOOST_TEST(r.ok());
  BOOST_TEST(added.ok());
  // The line added after the checkout is the cart's only one.
  auto v = view();
  BOOST_TEST_REQUIRE(v.items.size() == 1u);
  BOOST_TEST(v.items[0].line.product_id == 102);
}

BOOST_AUTO_TEST_CASE(an_empty_cart_is_not_checked_out) {
  auto r = checkout();
  BOOST_TEST(r.error().status == 400);
  BOOST_TEST(db.count<orders_sql::place>() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
