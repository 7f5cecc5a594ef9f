// The shop rules on their own (actors/shop_rules.cpp is the one place they are written): who
// may manage, what a patch, product or offer save leads to, and how stock is held.
#include <boost/test/unit_test.hpp>
#include <string>

#include "actors/shop_rules.hpp"

using namespace wassally;
using shop_rules::shop_catalog;

namespace {

const caller owner{5, roles::shop_owner};
const caller other_owner{6, roles::shop_owner};
const caller customer{1, roles::customer};
const caller staff{7, roles::staff};
constexpr int64_t now = 1'000'000;

product_record product(int64_t id, int64_t stock_milli, int64_t price_cents = 1000) {
  product_record p;
  p.id = id;
  p.shop_id = 1;
  p.name = "product " + std::to_string(id);
  p.price = {price_cents};
  p.stock = {stock_milli};
  return p;
}

offer_record offer(int64_t id, std::vector<int64_t> products, int64_t start, int64_t end) {
  offer_record o;
  o.id = id;
  o.shop_id = 1;
  o.discount = {2500};  // 25 %
  o.start = start;
  o.end = end;
  o.product_ids = std::move(products);
  return o;
}

shop_catalog catalog() {
  shop_catalog c;
  c.shop.id = 1;
  c.shop.owner_id = owner.user_id;
  c.shop.name = "Corner";
  c.shop.status = "active";
  c.categories[3] = product_category{3, 1, "Bakery"};
  c.products[10] = product(10, 5000);  // 5 units
  c.products[11] = product(11, 0);
  c.products[11].is_unlimited = true;
  c.products[12] = product(12, 9000);
  c.products[12].is_hidden = true;
  c.offers[20] = offer(20, {10}, now - 100, now + 100);
  return c;
}

std::string code_of(const caf::error& e) { return from_caf_error(e).code; }
std::string code_of(const std::optional<api_error>& e) { return e ? e->code : ""; }

reserve_stock lines(int64_t placement, std::vector<std::pair<int64_t, int64_t>> product_milli) {
  reserve_stock r;
  r.placement = placement;
  for (auto& [id, milli] : product_milli) r.lines.push_back({id, {milli}, 0});
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shop_rules_suite)

BOOST_AUTO_TEST_CASE(who_manages_and_who_sees_a_shop) {
  auto c = catalog();
  struct row {
    caller who;
    bool manages;
  };
  for (auto& [who, manages] : {row{owner, true}, row{staff, true}, row{other_owner, false},
                               row{customer, false}, row{caller{}, false}}) {
    BOOST_TEST(shop_rules::may_manage(c.shop, who) == manages, who.user_id);
    BOOST_TEST(code_of(shop_rules::refusal_unless_manager(c.shop, who)) ==
               (manages ? "" : "forbidden"));
    BOOST_TEST(!shop_rules::refusal_unless_visible(c.shop, who));  // active: everyone
  }
  c.shop.status = "suspended";
  BOOST_TEST(code_of(shop_rules::refusal_unless_visible(c.shop, customer)) == "not_found");
  BOOST_TEST(!shop_rules::refusal_unless_visible(c.shop, owner));
  BOOST_TEST(!shop_rules::refusal_unless_visible(c.shop, staff));
}

BOOST_AUTO_TEST_CASE(a_patch_changes_only_the_fields_it_names) {
  auto c = catalog();
  patch_shop p;
  p.who = owner;
  p.values.name = "New name";
  p.values.description = "ignored: not named";
  p.set = {"name"};
  auto next = shop_rules::patched(c.shop, p);
  BOOST_REQUIRE(next);
  BOOST_TEST(next->name == "New name");
  BOOST_TEST(next->description == c.shop.description);
  p.set = {"status"};
  p.values.status = "suspended";
  BOOST_TEST(code_of(shop_rules::patched(c.shop, p).error()) == "forbidden");  // staff only
  p.who = staff;
  BOOST_TEST(shop_rules::patched(c.shop, p)->status == "suspended");
  p.who = other_owner;
  p.set = {"name"};
  BOOST_TEST(code_of(shop_rules::patched(c.shop, p).error()) == "forbidden");
  // The owner sets the preparation time; a patch not naming it keeps it.
  p.who = owner;
  p.values.preparation_min = 25;
  BOOST_TEST(shop_rules::patched(c.shop, p)->preparation_min == 10);
  p.set = {"preparation_min"};
  BOOST_TEST(shop_rules::patched(c.shop, p)->preparation_min == 25);
}

BOOST_AUTO_TEST_CASE(confirmed_orders_keep_the_largest_committed_count) {
  shop_record s;
  struct row {
    int64_t notice;
    int64_t expected;
  };
  // Notices may arrive late or out of order, or after a reload that already counted them.
  for (auto r : {row{3, 3}, row{5, 5}, row{4, 5}, row{5, 5}, row{0, 5}, row{6, 6}}) {
    shop_rules::note_confirmed_orders(s, r.notice);
    BOOST_TEST(s.confirmed_orders == r.expected, "notice " << r.notice);
  }
}

namespace {
/// PostgreSQL's rows for products 10 and 12 of catalog() (11 is unlimited): stock, version.
reconcile_stock db_rows(int64_t stock10, int64_t v10, int64_t stock12, int64_t v12,
                        int64_t confirmed = -1) {
  return reconcile_stock{{10, 12}, {stock10, stock12}, {v10, v12}, confirmed};
}
}  // namespace

BOOST_AUTO_TEST_CASE(anti_entropy_compares_stock_only_at_the_same_version) {
  auto c = catalog();
  c.products[10].stock_version = 7;
  c.products[12].stock_version = 2;
  // Agreeing rows, however often: nothing to repair.
  for (int i = 0; i < 3; ++i)
    BOOST_TEST(!shop_rules::stock_needs_repair(c, db_rows(5000, 7, 9000, 2)));
  // A sale committed whose notice is on its way, on every check (a busy shop): PostgreSQL is
  // one version ahead with less stock each time, and the shop hears of it before the next.
  for (int64_t v = 8; v < 12; ++v) {
    BOOST_TEST(!shop_rules::stock_needs_repair(c, db_rows(5000 - 1000 * (v - 7), v, 9000, 2)),
               "check at version " << v);
    shop_rules::apply_stock(c, {{10, {1000}, v}}, -1);
  }
  BOOST_TEST(c.products[10].stock.milli == 1000);
  // Heard of a sale committed after the read: the shop is ahead, nothing to compare.
  shop_rules::apply_stock(c, {{10, {1000}, 12}}, -1);
  BOOST_TEST(!shop_rules::stock_needs_repair(c, db_rows(1000, 11, 9000, 2)));
  BOOST_TEST(!shop_rules::stock_needs_repair(c, db_rows(1000, 11, 9000, 2)));
  // The same version and other stock: once may be half a merged commit heard of; twice is a
  // difference.
  BOOST_TEST(!shop_rules::stock_needs_repair(c, db_rows(0, 12, 8000, 2)));
  BOOST_TEST(shop_rules::stock_needs_repair(c, db_rows(0, 12, 8000, 2)));
}

BOOST_AUTO_TEST_CASE(anti_entropy_repairs_a_lost_notice_under_load) {
  auto c = catalog();
  c.products[10].stock_version = 7;
  c.products[12].stock_version = 2;
  // Version 8's notice never comes; later ones do (out of order past the gap).
  BOOST_TEST(!shop_rules::stock_needs_repair(c, db_rows(4000, 8, 9000, 2)));
  shop_rules::apply_stock(c, {{10, {1000}, 9}}, -1);
  // PostgreSQL is at 9; the shop still has not heard of 8, due since the last check.
  BOOST_TEST(shop_rules::stock_needs_repair(c, db_rows(3000, 9, 9000, 2)));
}

BOOST_AUTO_TEST_CASE(anti_entropy_repairs_a_change_behind_the_servers_back) {
  auto c = catalog();
  c.products[12].stock_version = 2;
  // Someone set product 12's stock in SQL (its version moved, no notice will ever come).
  BOOST_TEST(!shop_rules::stock_needs_repair(c, db_rows(5000, 0, 100, 3)));
  BOOST_TEST(shop_rules::stock_needs_repair(c, db_rows(5000, 0, 100, 3)));
  // ... and without moving the version: the same version, other stock, twice.
  auto d = catalog();
  BOOST_TEST(!shop_rules::stock_needs_repair(d, db_rows(5000, 0, 100, 0)));
  BOOST_TEST(shop_rules::stock_needs_repair(d, db_rows(5000, 0, 100, 0)));
}

BOOST_AUTO_TEST_CASE(anti_entropy_repairs_products_and_counts_that_stay_different) {
  auto c = catalog();
  // A product PostgreSQL does not list (deleted behind the server's back): twice → repair.
  reconcile_stock only10{{10}, {5000}, {0}, -1};
  BOOST_TEST(!shop_rules::stock_needs_repair(c, only10));
  BOOST_TEST(shop_rules::stock_needs_repair(c, only10));
  // A difference seen once is forgotten when the next check agrees.
  auto d = catalog();
  BOOST_TEST(!shop_rules::stock_needs_repair(d, only10));
  BOOST_TEST(!shop_rules::stock_needs_repair(d, db_rows(5000, 0, 9000, 0)));
  BOOST_TEST(!shop_rules::stock_needs_repair(d, only10));
  // Confirmed orders: a delivery's notice may be on its way once, not twice.
  auto e = catalog();
  e.shop.confirmed_orders = 4;
  BOOST_TEST(!shop_rules::stock_needs_repair(e, db_rows(5000, 0, 9000, 0, 5)));
  shop_rules::note_confirmed_orders(e.shop, 5);
  BOOST_TEST(!shop_rules::stock_needs_repair(e, db_rows(5000, 0, 9000, 0, 5)));
  BOOST_TEST(!shop_rules::stock_needs_repair(e, db_rows(5000, 0, 9000, 0, 6)));
  BOOST_TEST(shop_rules::stock_needs_repair(e, db_rows(5000, 0, 9000, 0, 6)));
  // A reload starts afresh.
  e.load(catalog_snapshot{});
  BOOST_TEST(e.stock_check.differed.empty());
  BOOST_TEST(!e.stock_check.confirmed_differed);
}

BOOST_AUTO_TEST_CASE(versions_heard_of_out_of_order_close_their_gaps) {
  shop_rules::seen_versions v{5, {}};
  v.mark(7);
  BOOST_TEST(v.upto == 5);
  v.mark(4);  // already contained
  v.mark(6);
  BOOST_TEST(v.upto == 7);
  BOOST_TEST(v.ahead.empty());
  v.mark(7);  // a merged commit: two sales of one version
  BOOST_TEST(v.upto == 7);
}

BOOST_AUTO_TEST_CASE(category_names_are_unique_per_shop) {
  auto c = catalog();
  struct row {
    caller who;
    int64_t id;
    std::string name;
    std::string refusal;
  };
  for (auto& r : {row{owner, 0, "Dairy", ""}, row{owner, 0, "Bakery", "conflict"},
                  row{owner, 3, "Bakery", ""},  // renaming to its own name
                  row{owner, 4, "Dairy", "not_found"}, row{customer, 0, "Dairy", "forbidden"}})
    BOOST_TEST(code_of(shop_rules::refusal_of_category(c, {r.who, r.id, r.name})) == r.refusal,
               r.name << " as " << r.who.user_id);
}

BOOST_AUTO_TEST_CASE(views_show_offers_and_hide_costs_and_hidden_products) {
  auto c = catalog();
  c.products[10].has_cost_price = true;
  c.products[10].cost_price = {400};
  auto as_customer = shop_rules::view(c, c.products[10], customer, now);
  BOOST_TEST(!as_customer.cost_visible);
  BOOST_TEST(as_customer.cost_price.cents == 0);
  BOOST_TEST(as_customer.offer_id == 20);
  BOOST_TEST(as_customer.effective_price.cents == 750);
  BOOST_TEST(shop_rules::view(c, c.products[10], owner, now).cost_price.cents == 400);
  BOOST_TEST(shop_rules::view(c, c.products[10], customer, now + 100).offer_id == 0);  // ended
  BOOST_TEST(!shop_rules::visible(c, c.products[12], customer));
  BOOST_TEST(shop_rules::visible(c, c.products[12], owner));

  list_products all;
  all.who = customer;
  all.limit = 10;
  auto page = shop_rules::list(c, all, now);
  BOOST_REQUIRE(page);
  BOOST_TEST(page->count == 2);  // 12 is hidden
  BOOST_TEST(page->valid_from == now - 100);
  BOOST_TEST(page->valid_until == now + 100);
  all.offer_only = true;
  BOOST_TEST(shop_rules::list(c, all, now)->count == 1);
  all.who = owner;
  all.offer_only = false;
  BOOST_TEST(shop_rules::list(c, all, now)->count == 3);
}

BOOST_AUTO_TEST_CASE(offers_need_a_period_own_products_and_no_overlap) {
  auto c = catalog();
  save_offer req;
  req.who = owner;
  req.values = offer(0, {10}, now + 50, now + 500);
  req.set = {"start_date", "end_date", "product_ids"};
  BOOST_TEST(code_of(shop_rules::offer_after(c, {}, req).error()) == "offer_overlap");
  auto overlap = from_caf_error(shop_rules::offer_after(c, {}, req).error());
  BOOST_TEST(overlap.extra["offer_id"] == 20);
  req.values.start = now + 100;  // starts as offer 20 ends
  BOOST_TEST(static_cast<bool>(shop_rules::offer_after(c, {}, req)));
  req.values.product_ids = {99};
  BOOST_TEST(code_of(shop_rules::offer_after(c, {}, req).error()) == "validation_error");
  req.values.product_ids = {11};
  req.values.end = req.values.start;
  BOOST_TEST(code_of(shop_rules::offer_after(c, {}, req).error()) == "validation_error");
  req.values.end = now + 1000;
  req.set.push_back("is_sponsored");
  BOOST_TEST(code_of(shop_rules::offer_after(c, {}, req).error()) == "forbidden");
  req.who = staff;
  BOOST_TEST(static_cast<bool>(shop_rules::offer_after(c, {}, req)));
  // The offer itself is not an overlap of its own.
  save_offer edit;
  edit.who = owner;
  edit.values.title = "Renamed";
  edit.set = {"title"};
  BOOST_TEST(shop_rules::offer_after(c, c.offers[20], edit)->title == "Renamed");
}

BOOST_AUTO_TEST_CASE(products_belong_to_the_shops_categories) {
  auto c = catalog();
  save_product req;
  req.who = owner;
  req.values.category_id = 3;
  req.values.name = "Bread";
  req.set = {"category_id", "name"};
  auto p = shop_rules::product_after(c, {}, req);
  BOOST_REQUIRE(p);
  BOOST_TEST(p->name == "Bread");
  req.values.category_id = 4;
  BOOST_TEST(code_of(shop_rules::product_after(c, {}, req).error()) == "validation_error");
}

BOOST_AUTO_TEST_CASE(stock_is_held_per_placement_and_released) {
  auto c = catalog();
  auto first = shop_rules::reserve(c, lines(1, {{10, 3000}, {11, 999000}}), now);
  BOOST_REQUIRE(first);
  BOOST_TEST(first->items[0].available.milli == 5000);  // quoted before this hold
  BOOST_TEST(c.reserved_milli[10] == 3000);
  BOOST_TEST(first->items[0].unit_price.cents == 750);  // offer applied
  auto refused = shop_rules::reserve(c, lines(2, {{10, 3000}}), now);
  BOOST_REQUIRE(!refused);
  auto e = from_caf_error(refused.error());
  BOOST_TEST(e.code == "out_of_stock");
  BOOST_TEST(e.extra["product_id"] == 10);
  BOOST_TEST(c.reservations.count(2) == 0u);  // a refused placement holds nothing
  BOOST_TEST(code_of(shop_rules::reserve(c, lines(3, {{12, 1000}}), now).error()) == "not_found");
  BOOST_TEST(code_of(shop_rules::reserve(c, lines(3, {{10, 1500}}), now).error()) ==
             "invalid_quantity");
  shop_rules::release(c, 1);
  BOOST_TEST(c.reserved_milli.empty());
  BOOST_TEST(static_cast<bool>(shop_rules::reserve(c, lines(2, {{10, 5000}}), now)));
  c.shop.status = "suspended";
  BOOST_TEST(code_of(shop_rules::reserve(c, lines(4, {{11, 1000}}), now).error()) ==
             "shop_unavailable");
}

BOOST_AUTO_TEST_CASE(stock_moves_apply_once_and_are_heard_of) {
  auto c = catalog();
  c.products[10].stock_version = 4;
  shop_rules::apply_stock(c, {{10, {2000}, 5}}, -1);  // newer than loaded: applied
  BOOST_TEST(c.products[10].stock.milli == 3000);
  BOOST_TEST(c.products[10].sales_count.milli == 2000);
  shop_rules::apply_stock(c, {{10, {2000}, 4}}, -1);  // already in the loaded row
  BOOST_TEST(c.products[10].stock.milli == 3000);
  shop_rules::apply_stock(c, {{10, {1000}, 0}}, +1);  // returned
  BOOST_TEST(c.products[10].stock.milli == 4000);
  // Heard of: version 5 (the skipped move's 4 was in the loaded row already).
  BOOST_TEST(c.versions[10].upto == 5);
}

BOOST_AUTO_TEST_CASE(only_the_owner_of_an_active_shop_requests_deliveries) {
  auto c = catalog();
  BOOST_TEST(code_of(shop_rules::refusal_of_delivery_request(c.shop, owner)) == "");
  BOOST_TEST(code_of(shop_rules::refusal_of_delivery_request(c.shop, staff)) == "forbidden");
  BOOST_TEST(code_of(shop_rules::refusal_of_delivery_request(c.shop, other_owner)) == "forbidden");
  c.shop.status = "suspended";
  BOOST_TEST(code_of(shop_rules::refusal_of_delivery_request(c.shop, owner)) == "shop_unavailable");
}

BOOST_AUTO_TEST_SUITE_END()
