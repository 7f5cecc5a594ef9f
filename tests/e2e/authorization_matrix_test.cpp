// Security end to end (issue 8), suite authorization_matrix: one table of every registered
// route with the roles API.md admits and the ownership rule on top, sent by eight principals
// against fixtures of two shops, two customers and two crews. tests/SECURITY.md describes what
// it covers.
#include <boost/test/unit_test.hpp>
#include <functional>
#include <optional>
#include <set>

#include "http/routes.hpp"
#include "tests/e2e/authorization_support.hpp"
#include "tests/e2e/orders_support.hpp"
#include "tests/support/pictures.hpp"

using namespace wassally::test;
using nlohmann::json;

namespace {

// -- principals --------------------------------------------------------------------------------

enum class who { anonymous, customer, other_customer, owner, other_owner, crew, other_crew, staff };

/// The order requests are sent in: strangers first, so that a fixture an allowed principal
/// changed (then recreated) never decides a stranger's answer.
const std::vector<who> principals_in_order = {
    who::anonymous, who::other_customer, who::other_owner, who::other_crew,
    who::customer,  who::owner,          who::crew,        who::staff};

std::string label(who p) {
  switch (p) {
    case who::anonymous:
      return "anonymous";
    case who::customer:
      return "customer";
    case who::other_customer:
      return "other customer";
    case who::owner:
      return "shop owner";
    case who::other_owner:
      return "other shop owner";
    case who::crew:
      return "crew";
    case who::other_crew:
      return "other crew";
    case who::staff:
      return "staff";
  }
  return "?";
}

std::string role_of(who p) {
  switch (p) {
    case who::anonymous:
      return "";
    case who::customer:
    case who::other_customer:
      return "customer";
    case who::owner:
    case who::other_owner:
      return "shop_owner";
    case who::crew:
    case who::other_crew:
      return "delivery_crew";
    case who::staff:
      return "staff";
  }
  return "";
}

struct principal {
  who kind = who::anonymous;
  std::string username, password;
  int64_t id = 0;
  header_map auth;  // empty for anonymous
};

// -- the table ---------------------------------------------------------------------------------

/// Beyond the roles a route admits, whose resource it is (API.md).
enum class rule {
  any,                   // every admitted role, nothing owned
  own_account,           // acts on the caller's own account, cart or crew
  own_refresh_token,     // logout: the caller's own refresh token
  own_shop,              // the shop's owner and staff; another owner 403 (shops are public)
  own_shop_owner_only,   // the shop's owner; another owner 403
  public_unless_hidden,  // a suspended shop / hidden product: its owner and staff, others 404
  own_order,             // its customer, crew, shop owner, staff; others 404
  own_order_cancel,  // its customer, staff, the requesting shop's owner; its crew 403; others 404
  own_crew_assignment,  // the assigned crew; other crews 403
  any_pending_order,    // any crew may accept a pending order
  own_cart_line,        // a line of the caller's cart; another customer's line 404
  own_offer,            // an order offered to the crew (the matrix runs in browse mode: 409)
};

std::string rule_name(rule r) {
  switch (r) {
    case rule::any:
      return "any";
    case rule::own_account:
      return "own account";
    case rule::own_refresh_token:
      return "own refresh token";
    case rule::own_shop:
      return "own shop";
    case rule::own_shop_owner_only:
      return "own shop (owner only)";
    case rule::public_unless_hidden:
      return "public unless suspended/hidden: own shop";
    case rule::own_order:
      return "own order";
    case rule::own_order_cancel:
      return "own order (customer, staff or requesting shop cancel)";
    case rule::own_crew_assignment:
      return "own crew assignment";
    case rule::any_pending_order:
      return "any pending order";
    case rule::own_cart_line:
      return "own cart line";
    case rule::own_offer:
      return "own offer";
  }
  return "?";
}

enum class outcome { allowed, unauthenticated, forbidden, hidden, not_offered };

std::string outcome_name(outcome o) {
  switch (o) {
    case outcome::allowed:
      return "2xx";
    case outcome::unauthenticated:
      return "401 unauthenticated";
    case outcome::forbidden:
      return "403 forbidden";
    case outcome::hidden:
      return "404 not_found";
    case outcome::not_offered:
      return "409 not_offered";
  }
  return "?";
}

/// How a row's fixture lives: set up once, recreated after a request changed it (2xx), or set
/// up for each principal (the request depends on who sends it).
enum class fixture { shared, fresh_after_change, per_principal };

struct request_spec {
  std::string path;
  json body;  // null: no body
  bool stream = false;
  /// A body that is not JSON (a picture upload): sent as is with `content_type`.
  std::string raw;
  std::string content_type;
};

struct world;
using target_fn = std::function<request_spec(world&, const principal&)>;

struct row {
  std::string method;
  std::string route;            // the template exactly as registered
  std::set<std::string> roles;  // admitted at the edge; empty: anyone, with or without a token
  rule ownership;
  fixture fx;
  target_fn target;
};

const std::set<std::string> anyone = {};
const std::set<std::string> any_role = {"customer", "shop_owner", "delivery_crew", "staff"};
const std::set<std::string> customers = {"customer"};
const std::set<std::string> crews = {"delivery_crew"};
const std::set<std::string> owners = {"shop_owner"};
const std::set<std::string> managers = {"shop_owner", "staff"};
const std::set<std::string> staff_only = {"staff"};

outcome expected(const row& r, who p) {
  bool hidden_resource = r.ownership == rule::public_unless_hidden;
  if (p == who::anonymous) {
    if (!r.roles.empty()) return outcome::unauthenticated;
    return hidden_resource ? outcome::hidden : outcome::allowed;
  }
  if (!r.roles.empty() && !r.roles.count(role_of(p))) return outcome::forbidden;
  switch (r.ownership) {
    case rule::any:
    case rule::own_account:
    case rule::own_refresh_token:
    case rule::any_pending_order:
      return outcome::allowed;
    case rule::own_shop:
    case rule::own_shop_owner_only:
      return p == who::other_owner ? outcome::forbidden : outcome::allowed;
    case rule::public_unless_hidden:
      return p == who::owner || p == who::staff ? outcome::allowed : outcome::hidden;
    case rule::own_order:
      return p == who::other_customer || p == who::other_owner || p == who::other_crew
                 ? outcome::hidden
                 : outcome::allowed;
    case rule::own_order_cancel:
      if (p == who::customer || p == who::staff || p == who::owner) return outcome::allowed;
      if (p == who::crew) return outcome::forbidden;
      return outcome::hidden;
    case rule::own_crew_assignment:
      return p == who::other_crew ? outcome::forbidden : outcome::allowed;
    case rule::own_cart_line:
      return p == who::other_customer ? outcome::hidden : outcome::allowed;
    case rule::own_offer:
      return outcome::not_offered;
  }
  return outcome::allowed;
}

// -- fixtures ----------------------------------------------------------------------------------

std::string str(int64_t v) { return std::to_string(v); }

struct placed_order {
  int64_t id = 0;
  std::string code;
  int64_t item_id = 0;
};

/// Two shops (owner A: shop A and suspended shop C; owner B: shop B), two customers (A placed
/// the orders), two crews (A holds them), staff.
struct world : orders_world {
  // Browse mode: no crew is ever offered an order, so a decline is 409 not_offered for every
  // crew (the offers themselves: e2e dispatch_offers).
  world()
      : orders_world(std::map<std::string, std::string>{{"WASSALLY_CREW_MAX_ORDERS", "100"},
                                                        {"WASSALLY_DISPATCH_MODE", "browse"}}) {
    build();
  }

  std::map<who, principal> people;
  shop_handle shop_a, shop_b;
  int64_t shop_c = 0;  // suspended, owned by owner A
  int64_t product_a = 0, hidden_product = 0, product_b = 0;
  int64_t category_a = 0, offer_a = 0;
  placed_order assigned, delivered;
  int counter = 0;

  std::string unique(const std::string& prefix) { return prefix + unique_suffix(); }

  /// The path of a rendition that exists: staff uploads a picture once.
  std::string rendition_path() {
    if (rendition.empty()) {
      header_map h = staff;
      h["Content-Type"] = "image/png";
      auto r = client.request("PUT",
                              "/api/v1/shop-categories/" + std::to_string(shop_category) + "/image",
                              png_of(two_halves(40, 30, {255, 0, 0}, {0, 0, 255})), h);
      BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
      auto url = r.json()["images"]["thumb"].get<std::string>();
      rendition = url.substr(url.find("/media/"));
    }
    return rendition;
  }
  std::string rendition;

  int64_t user_id(const header_map& auth) {
    auto r = client.get("/api/v1/me", auth);
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return r.json()["id"];
  }

  principal person(who kind, const std::string& username, const std::string& password) {
    principal p;
    p.kind = kind;
    p.username = username;
    p.password = password;
    p.auth = login(username, password);
    p.id = user_id(p.auth);
    return p;
  }

  principal new_crew(who kind) {
    auto name = unique("crew");
    auto r = client.post_json(
        "/api/v1/staff/crews",
        {{"username", name}, {"password", "crew-pass-1"}, {"phone_number", unique_phone()}}, staff);
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    auto p = person(kind, name, "crew-pass-1");
    BOOST_REQUIRE(
        client.put_json("/api/v1/crew/status", {{"status", "available"}}, p.auth).status == 200);
    BOOST_REQUIRE(
        client
            .put_json("/api/v1/crew/location", {{"latitude", 30.05}, {"longitude", 31.23}}, p.auth)
            .status == 204);
    return p;
  }

  void build() {
    people[who::anonymous] = principal{};
    people[who::staff] = person(who::staff, "ord.staff", "staff-password-1");
    shop_a = shop();
    shop_b = shop();
    people[who::owner] = person(who::owner, shop_a.owner_name, "owner-pass-1");
    people[who::other_owner] = person(who::other_owner, shop_b.owner_name, "owner-pass-1");
    auto [ca, ca_auth] = customer();
    people[who::customer] = person(who::customer, ca, "password-1");
    auto [cb, cb_auth] = customer();
    people[who::other_customer] = person(who::other_customer, cb, "password-1");
    people[who::crew] = new_crew(who::crew);
    people[who::other_crew] = new_crew(who::other_crew);

    product_a = product(shop_a, {{"price", "5.00"}, {"stock", 100000}});
    hidden_product = product(shop_a, {{"price", "5.00"}, {"stock", 10}, {"is_hidden", true}});
    product_b = product(shop_b, {{"price", "5.00"}, {"stock", 100000}});
    auto c = client.post_json(shop_path(shop_a.id, "/categories"), {{"name", "Matrix"}}, owner());
    BOOST_REQUIRE_MESSAGE(c.status == 201, c.body);
    category_a = c.json()["id"];
    offer_a = new_offer();

    // Shop C: owner A's second shop, suspended by staff.
    auto sc = client.post_json("/api/v1/shops",
                               {{"name", "Suspended " + unique("s")},
                                {"phone_number", unique_phone()},
                                {"category_id", shop_category},
                                {"location", {{"latitude", 30.0}, {"longitude", 31.0}}},
                                {"owner_id", people[who::owner].id}},
                               staff);
    BOOST_REQUIRE_MESSAGE(sc.status == 201, sc.body);
    shop_c = sc.json()["id"];
    auto suspended =
        client.patch_json("/api/v1/shops/" + str(shop_c), {{"status", "suspended"}}, staff);
    BOOST_REQUIRE_MESSAGE(suspended.status == 200, suspended.body);

    assigned = assigned_order();
    delivered = picked_up_order();
    auto d =
        client.post_json(order_path(delivered.id, "/deliver"), {{"code", delivered.code}}, crew());
    BOOST_REQUIRE_MESSAGE(d.status == 200, d.body);
  }

  const header_map& owner() { return people[who::owner].auth; }
  const header_map& crew() { return people[who::crew].auth; }
  const header_map& cust() { return people[who::customer].auth; }

  static std::string shop_path(int64_t id, const std::string& rest = "") {
    return "/api/v1/shops/" + str(id) + rest;
  }
  static std::string order_path(int64_t id, const std::string& rest = "") {
    return "/api/v1/orders/" + str(id) + rest;
  }

  placed_order pending_order() {
    auto r = place(cust(), {line(product_a, 1)});
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    placed_order o;
    o.id = r.json()["id"];
    o.code = r.json()["code"];
    o.item_id = r.json()["items"][0]["id"];
    return o;
  }
  placed_order assigned_order() {
    auto o = pending_order();
    auto r = client.post_json(order_path(o.id, "/accept"), json::object(), crew());
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return o;
  }
  /// A pending delivery request of shop A (owner A's).
  placed_order pending_delivery_request() {
    auto r = client.post_json(shop_path(shop_a.id, "/delivery-requests"),
                              {{"receiver_name", "Ali"},
                               {"receiver_phone", "+201112223334"},
                               {"location", destination()},
                               {"price", "35.00"}},
                              owner());
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    placed_order o;
    o.id = r.json()["id"];
    o.code = r.json()["code"];
    return o;
  }
  placed_order picked_up_order() {
    auto o = assigned_order();
    auto r = client.post_json(order_path(o.id, "/pickup"), json::object(), crew());
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return o;
  }

  int64_t new_product() { return product(shop_a, {{"price", "3.00"}, {"stock", 5}}); }
  int64_t new_category() {
    auto r =
        client.post_json(shop_path(shop_a.id, "/categories"), {{"name", unique("cat")}}, owner());
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.json()["id"];
  }
  json offer_body(int64_t product) {
    return {{"title", unique("offer")},
            {"discount", "10"},
            {"start_date", "2020-01-01T00:00:00Z"},
            {"end_date", "2099-01-01T00:00:00Z"},
            {"product_ids", {product}}};
  }
  int64_t new_offer() {
    auto r = client.post_json(shop_path(shop_a.id, "/offers"), offer_body(new_product()), owner());
    BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
    return r.json()["id"];
  }
  /// A line of customer A's cart (the product's line grows if it is there already).
  int64_t cart_line() {
    auto r = add_to_cart(cust(), product_a, 1);
    BOOST_REQUIRE_MESSAGE(r.status == 201 || r.status == 200, r.body);
    return r.json()["id"];
  }
  std::string refresh_token_of(const principal& p) {
    auto r = client.post_json("/api/v1/auth/login",
                              {{"username", p.username}, {"password", p.password}});
    BOOST_REQUIRE_MESSAGE(r.status == 200, r.body);
    return r.json()["refresh"];
  }
  json new_user_body(const std::string& prefix) {
    return {
        {"username", unique(prefix)}, {"password", "password-1"}, {"phone_number", unique_phone()}};
  }
  static json destination() {
    return {{"address", "2 Nile St"}, {"latitude", 30.06}, {"longitude", 31.24}};
  }
};

request_spec at(std::string path, json body = nullptr) {
  request_spec s;
  s.path = std::move(path);
  s.body = std::move(body);
  return s;
}

/// A picture upload to `path` (a small PNG as the raw body).
request_spec picture_upload(std::string path) {
  auto s = at(std::move(path));
  s.raw = png_of(two_halves(24, 16, {0, 160, 0}, {250, 250, 250}));
  s.content_type = "image/png";
  return s;
}

/// Every registered route, the roles API.md admits, and whose resource it is. Keep one row per
/// route: the test fails for a registered route without a row and for a row without a route.
std::vector<row> the_table() {
  using W = world;
  using P = const principal&;
  const std::string v1 = "/api/v1";
  auto fixed = [](std::string path, json body = nullptr) {
    return [path, body](W&, P) { return at(path, body); };
  };
  return {
      // Service endpoints. /metrics admits anyone on loopback (this test), else staff.
      {"GET", "/health", anyone, rule::any, fixture::shared, fixed("/health")},
      {"GET", "/ready", anyone, rule::any, fixture::shared, fixed("/ready")},
      {"GET", "/metrics", anyone, rule::any, fixture::shared, fixed("/metrics")},
      {"GET", "/api/openapi.json", anyone, rule::any, fixture::shared, fixed("/api/openapi.json")},
      {"GET", "/api/docs", anyone, rule::any, fixture::shared, fixed("/api/docs")},
      {"GET", "/api/docs/assets/{file}", anyone, rule::any, fixture::shared,
       fixed("/api/docs/assets/docs.js")},
      {"GET", "/console", anyone, rule::any, fixture::shared, fixed("/console")},
      {"GET", "/console/assets/{file}", anyone, rule::any, fixture::shared,
       fixed("/console/assets/app.js")},

      // Accounts.
      {"POST", v1 + "/auth/register", anyone, rule::any, fixture::fresh_after_change,
       [](W& w, P) { return at("/api/v1/auth/register", w.new_user_body("reg")); }},
      {"POST", v1 + "/auth/login", anyone, rule::any, fixture::shared,
       [](W& w, P) {
         auto& c = w.people[who::customer];
         return at("/api/v1/auth/login", {{"username", c.username}, {"password", c.password}});
       }},
      {"POST", v1 + "/auth/refresh", anyone, rule::any, fixture::shared,
       [](W& w, P) {
         return at("/api/v1/auth/refresh",
                   {{"refresh", w.refresh_token_of(w.people[who::customer])}});
       }},
      {"POST", v1 + "/auth/logout", any_role, rule::own_refresh_token, fixture::per_principal,
       [](W& w, P p) {
         auto token = p.kind == who::anonymous ? w.refresh_token_of(w.people[who::customer])
                                               : w.refresh_token_of(p);
         return at("/api/v1/auth/logout", {{"refresh", token}});
       }},
      {"GET", v1 + "/me", any_role, rule::own_account, fixture::shared, fixed(v1 + "/me")},

      // Shops.
      {"GET", v1 + "/shop-categories", anyone, rule::any, fixture::shared,
       fixed(v1 + "/shop-categories")},
      {"POST", v1 + "/shop-categories", staff_only, rule::any, fixture::fresh_after_change,
       [](W& w, P) {
         return at("/api/v1/shop-categories", {{"name", w.unique("Category")}});
       }},
      {"POST", v1 + "/shops", staff_only, rule::any, fixture::fresh_after_change,
       [](W& w, P) {
         return at("/api/v1/shops", {{"name", w.unique("Shop")},
                                     {"phone_number", unique_phone()},
                                     {"category_id", w.shop_category},
                                     {"location", {{"latitude", 30.0}, {"longitude", 31.0}}},
                                     {"owner", w.new_user_body("owner")}});
       }},
      {"GET", v1 + "/shops", anyone, rule::any, fixture::shared, fixed(v1 + "/shops")},
      {"GET", v1 + "/shops/{id}", anyone, rule::public_unless_hidden, fixture::shared,
       [](W& w, P) { return at(W::shop_path(w.shop_c)); }},
      {"PATCH", v1 + "/shops/{id}", managers, rule::own_shop, fixture::shared,
       [](W& w, P) {
         return at(W::shop_path(w.shop_a.id), {{"description", "changed"}});
       }},

      // Catalog.
      {"GET", v1 + "/shops/{id}/categories", anyone, rule::public_unless_hidden, fixture::shared,
       [](W& w, P) { return at(W::shop_path(w.shop_c, "/categories")); }},
      {"POST", v1 + "/shops/{id}/categories", managers, rule::own_shop, fixture::fresh_after_change,
       [](W& w, P) {
         return at(W::shop_path(w.shop_a.id, "/categories"), {{"name", w.unique("cat")}});
       }},
      {"PATCH", v1 + "/shops/{id}/categories/{cid}", managers, rule::own_shop,
       fixture::fresh_after_change,
       [](W& w, P) {
         return at(W::shop_path(w.shop_a.id, "/categories/" + str(w.category_a)),
                   {{"name", w.unique("renamed")}});
       }},
      {"DELETE", v1 + "/shops/{id}/categories/{cid}", managers, rule::own_shop,
       fixture::fresh_after_change,
       [](W& w, P) {
         return at(W::shop_path(w.shop_a.id, "/categories/" + str(w.new_category())));
       }},
      {"GET", v1 + "/shops/{id}/products", anyone, rule::public_unless_hidden, fixture::shared,
       [](W& w, P) { return at(W::shop_path(w.shop_c, "/products")); }},
      {"POST", v1 + "/shops/{id}/products", managers, rule::own_shop, fixture::shared,
       [](W& w, P) {
         return at(W::shop_path(w.shop_a.id, "/products"), {{"name", "New"}, {"price", "1.00"}});
       }},
      {"GET", v1 + "/products/{id}", anyone, rule::public_unless_hidden, fixture::shared,
       [](W& w, P) { return at("/api/v1/products/" + str(w.hidden_product)); }},
      {"PATCH", v1 + "/products/{id}", managers, rule::own_shop, fixture::shared,
       [](W& w, P) {
         return at("/api/v1/products/" + str(w.product_a), {{"price", "5.00"}});
       }},
      {"DELETE", v1 + "/products/{id}", managers, rule::own_shop, fixture::fresh_after_change,
       [](W& w, P) { return at("/api/v1/products/" + str(w.new_product())); }},

      // Offers.
      {"POST", v1 + "/shops/{id}/offers", managers, rule::own_shop, fixture::fresh_after_change,
       [](W& w, P) {
         return at(W::shop_path(w.shop_a.id, "/offers"), w.offer_body(w.new_product()));
       }},
      {"GET", v1 + "/shops/{id}/offers", anyone, rule::public_unless_hidden, fixture::shared,
       [](W& w, P) { return at(W::shop_path(w.shop_c, "/offers")); }},
      {"GET", v1 + "/offers", anyone, rule::any, fixture::shared, fixed(v1 + "/offers")},
      {"PATCH", v1 + "/offers/{id}", managers, rule::own_shop, fixture::shared,
       [](W& w, P) {
         return at("/api/v1/offers/" + str(w.offer_a), {{"title", "Renamed"}});
       }},
      {"DELETE", v1 + "/offers/{id}", managers, rule::own_shop, fixture::fresh_after_change,
       [](W& w, P) { return at("/api/v1/offers/" + str(w.new_offer())); }},

      // Pictures: uploads and removals as for changing the resource; renditions for anyone.
      {"PUT", v1 + "/shops/{id}/image", managers, rule::own_shop, fixture::shared,
       [](W& w, P) { return picture_upload(W::shop_path(w.shop_a.id, "/image")); }},
      {"DELETE", v1 + "/shops/{id}/image", managers, rule::own_shop, fixture::shared,
       [](W& w, P) { return at(W::shop_path(w.shop_a.id, "/image")); }},
      {"PUT", v1 + "/shop-categories/{id}/image", staff_only, rule::any, fixture::shared,
       [](W& w, P) {
         return picture_upload("/api/v1/shop-categories/" + str(w.shop_category) + "/image");
       }},
      {"DELETE", v1 + "/shop-categories/{id}/image", staff_only, rule::any, fixture::shared,
       [](W& w, P) { return at("/api/v1/shop-categories/" + str(w.shop_category) + "/image"); }},
      {"PUT", v1 + "/products/{id}/image", managers, rule::own_shop, fixture::shared,
       [](W& w, P) { return picture_upload("/api/v1/products/" + str(w.product_a) + "/image"); }},
      {"DELETE", v1 + "/products/{id}/image", managers, rule::own_shop, fixture::shared,
       [](W& w, P) { return at("/api/v1/products/" + str(w.product_a) + "/image"); }},
      {"PUT", v1 + "/offers/{id}/image", managers, rule::own_shop, fixture::shared,
       [](W& w, P) { return picture_upload("/api/v1/offers/" + str(w.offer_a) + "/image"); }},
      {"DELETE", v1 + "/offers/{id}/image", managers, rule::own_shop, fixture::shared,
       [](W& w, P) { return at("/api/v1/offers/" + str(w.offer_a) + "/image"); }},
      {"GET", "/media/{key}", anyone, rule::any, fixture::shared,
       [](W& w, P) { return at(w.rendition_path()); }},
      {"HEAD", "/media/{key}", anyone, rule::any, fixture::shared,
       [](W& w, P) { return at(w.rendition_path()); }},

      // Cart: always the caller's own (a cart line of another customer is not found).
      {"GET", v1 + "/cart", customers, rule::own_account, fixture::shared, fixed(v1 + "/cart")},
      {"POST", v1 + "/cart/items", customers, rule::own_account, fixture::shared,
       [](W& w, P) { return at("/api/v1/cart/items", W::line(w.product_a, 1)); }},
      {"PATCH", v1 + "/cart/items/{id}", customers, rule::own_cart_line,
       fixture::fresh_after_change,
       [](W& w, P) {
         return at("/api/v1/cart/items/" + str(w.cart_line()), {{"quantity", 2}});
       }},
      {"DELETE", v1 + "/cart/items/{id}", customers, rule::own_cart_line,
       fixture::fresh_after_change,
       [](W& w, P) { return at("/api/v1/cart/items/" + str(w.cart_line())); }},
      {"DELETE", v1 + "/cart", customers, rule::own_account, fixture::shared, fixed(v1 + "/cart")},

      // Orders.
      {"POST", v1 + "/orders", customers, rule::own_account, fixture::shared,
       [](W& w, P) { return at("/api/v1/orders", W::order_body({W::line(w.product_a, 1)})); }},
      {"GET", v1 + "/orders", any_role, rule::any, fixture::shared, fixed(v1 + "/orders")},
      {"GET", v1 + "/orders/{id}", any_role, rule::own_order, fixture::shared,
       [](W& w, P) { return at(W::order_path(w.assigned.id)); }},
      {"GET", v1 + "/orders/{id}/history", any_role, rule::own_order, fixture::shared,
       [](W& w, P) { return at(W::order_path(w.assigned.id, "/history")); }},
      {"GET", v1 + "/orders/{id}/events", any_role, rule::own_order, fixture::shared,
       [](W& w, P) {
         // A delivered order: its stream sends the final status and closes.
         request_spec s = at(W::order_path(w.delivered.id, "/events"));
         s.stream = true;
         return s;
       }},
      {"POST", v1 + "/orders/{id}/cancel", any_role, rule::own_order_cancel, fixture::per_principal,
       [](W& w, P p) {
         // Pending (the customer may cancel it); assigned to crew A when a crew asks, so that
         // crew A is involved and crew B is not; for shop owners a pending delivery request of
         // shop A (its owner may cancel it, owner B may not see it). That an owner of a shop
         // with lines in a customer's order may not cancel it (403): e2e orders.
         auto o = p.kind == who::crew || p.kind == who::other_crew ? w.assigned_order()
                  : p.kind == who::owner || p.kind == who::other_owner
                      ? w.pending_delivery_request()
                      : w.pending_order();
         return at(W::order_path(o.id, "/cancel"), json::object());
       }},

      // Delivery crew.
      {"PUT", v1 + "/crew/location", crews, rule::own_account, fixture::shared,
       fixed(v1 + "/crew/location", {{"latitude", 30.05}, {"longitude", 31.23}})},
      {"PUT", v1 + "/crew/status", crews, rule::own_account, fixture::shared,
       fixed(v1 + "/crew/status", {{"status", "available"}})},
      {"GET", v1 + "/crew/orders/pending", crews, rule::own_account, fixture::shared,
       fixed(v1 + "/crew/orders/pending")},
      {"GET", v1 + "/crew/orders", crews, rule::own_account, fixture::shared,
       fixed(v1 + "/crew/orders")},
      {"GET", v1 + "/crew/offer", crews, rule::own_account, fixture::shared,
       fixed(v1 + "/crew/offer")},
      {"GET", v1 + "/crew/events", crews, rule::own_account, fixture::shared,
       [](W&, P) {
         request_spec s = at("/api/v1/crew/events");
         s.stream = true;
         return s;
       }},
      {"POST", v1 + "/orders/{id}/decline", crews, rule::own_offer, fixture::shared,
       [](W& w, P) { return at(W::order_path(w.assigned.id, "/decline"), json::object()); }},
      {"POST", v1 + "/orders/{id}/accept", crews, rule::any_pending_order,
       fixture::fresh_after_change,
       [](W& w, P) { return at(W::order_path(w.pending_order().id, "/accept"), json::object()); }},
      {"POST", v1 + "/orders/{id}/items/{item_id}/bought", crews, rule::own_crew_assignment,
       fixture::fresh_after_change,
       [](W& w, P) {
         auto o = w.assigned_order();
         return at(W::order_path(o.id, "/items/" + str(o.item_id) + "/bought"), json::object());
       }},
      {"POST", v1 + "/orders/{id}/pickup", crews, rule::own_crew_assignment,
       fixture::fresh_after_change,
       [](W& w, P) { return at(W::order_path(w.assigned_order().id, "/pickup"), json::object()); }},
      {"POST", v1 + "/orders/{id}/deliver", crews, rule::own_crew_assignment,
       fixture::fresh_after_change,
       [](W& w, P) {
         auto o = w.picked_up_order();
         return at(W::order_path(o.id, "/deliver"), {{"code", o.code}});
       }},
      {"POST", v1 + "/orders/{id}/unlock-code", staff_only, rule::any, fixture::shared,
       [](W& w, P) { return at(W::order_path(w.assigned.id, "/unlock-code"), json::object()); }},
      {"POST", v1 + "/orders/{id}/assign", staff_only, rule::any, fixture::fresh_after_change,
       [](W& w, P) {
         return at(W::order_path(w.pending_order().id, "/assign"),
                   {{"crew_id", w.people[who::crew].id}});
       }},
      {"POST", v1 + "/shops/{id}/delivery-requests", owners, rule::own_shop_owner_only,
       fixture::shared,
       [](W& w, P) {
         return at(W::shop_path(w.shop_a.id, "/delivery-requests"),
                   {{"receiver_name", "Ali"},
                    {"receiver_phone", "+201112223334"},
                    {"location", W::destination()},
                    {"price", "35.00"}});
       }},

      // Staff.
      {"POST", v1 + "/staff/crews", staff_only, rule::any, fixture::fresh_after_change,
       [](W& w, P) { return at("/api/v1/staff/crews", w.new_user_body("crew")); }},
      {"GET", v1 + "/staff/crews", staff_only, rule::any, fixture::shared,
       fixed(v1 + "/staff/crews")},
      {"GET", v1 + "/staff/overview", staff_only, rule::any, fixture::shared,
       fixed(v1 + "/staff/overview")},
      {"GET", v1 + "/staff/offers", staff_only, rule::any, fixture::shared,
       fixed(v1 + "/staff/offers")},
      {"GET", v1 + "/staff/events", staff_only, rule::any, fixture::shared,
       [](W&, P) {
         request_spec s = at("/api/v1/staff/events");
         s.stream = true;
         return s;
       }},

      // Shop analytics.
      {"GET", v1 + "/shops/{id}/analytics/top-products", managers, rule::own_shop, fixture::shared,
       [](W& w, P) { return at(W::shop_path(w.shop_a.id, "/analytics/top-products")); }},
      {"GET", v1 + "/shops/{id}/analytics/sales", managers, rule::own_shop, fixture::shared,
       [](W& w, P) { return at(W::shop_path(w.shop_a.id, "/analytics/sales")); }},
      {"GET", v1 + "/shops/{id}/analytics/summary", managers, rule::own_shop, fixture::shared,
       [](W& w, P) { return at(W::shop_path(w.shop_a.id, "/analytics/summary")); }},

      // Operators.
      {"GET", v1 + "/admin/actors", staff_only, rule::any, fixture::shared,
       fixed(v1 + "/admin/actors")},
      {"GET", v1 + "/admin/cluster", staff_only, rule::any, fixture::shared,
       fixed(v1 + "/admin/cluster")},
      {"GET", v1 + "/admin/actors/{kind}/{id}", staff_only, rule::any, fixture::shared,
       [](W& w, P) {
         // The order actor is live: the fixtures just worked with it.
         return at("/api/v1/admin/actors/order/" + str(w.assigned.id));
       }},
  };
}

/// The registered routes, exactly as tests/unit/openapi_test.cpp enumerates them (the test
/// clock route exists only with `test_clock` on and is not part of the API).
std::map<std::pair<std::string, std::string>, wassally::http::role_set> registered_routes() {
  namespace http = wassally::http;
  http::router r;
  http::add_api_routes(r);
  std::map<std::pair<std::string, std::string>, http::role_set> out;
  for (const auto& route : r.routes()) out[{route.method, route.pattern}] = route.roles;
  return out;
}

answer send_as(world& w, const std::string& method, const request_spec& spec, const principal& p) {
  if (spec.stream) {
    sse_stream s("127.0.0.1", w.server.port(), spec.path, p.auth);
    return {s.status(), ""};
  }
  header_map h = p.auth;
  std::string body;
  if (!spec.body.is_null()) {
    h["Content-Type"] = "application/json";
    body = spec.body.dump();
  } else if (!spec.raw.empty()) {
    h["Content-Type"] = spec.content_type;
    body = spec.raw;
  }
  auto r = w.client.request(method, spec.path, body, h);
  return {r.status, r.body};
}

bool matches(outcome o, const answer& a, bool stream) {
  switch (o) {
    case outcome::allowed:
      return a.status >= 200 && a.status < 300;
    case outcome::unauthenticated:
      return a.status == 401 && (stream || error_shaped(a, "unauthenticated"));
    case outcome::forbidden:
      return a.status == 403 && (stream || error_shaped(a, "forbidden"));
    case outcome::hidden:
      return a.status == 404 && (stream || error_shaped(a, "not_found"));
    case outcome::not_offered:
      return a.status == 409 && error_shaped(a, "not_offered");
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(authorization_matrix)

BOOST_AUTO_TEST_CASE(the_table_has_one_row_per_registered_route_with_its_roles) {
  auto routes = registered_routes();
  auto table = the_table();
  std::set<std::pair<std::string, std::string>> rows;
  for (const auto& r : table) {
    auto key = std::make_pair(r.method, r.route);
    BOOST_TEST(rows.insert(key).second, "two rows for " << r.method << " " << r.route);
    auto it = routes.find(key);
    BOOST_TEST((it != routes.end()),
               "a row without a registered route: " << r.method << " " << r.route);
    if (it != routes.end())
      BOOST_TEST((it->second == r.roles),
                 r.method << " " << r.route << ": registered roles differ from the table's");
  }
  for (const auto& [key, roles] : routes)
    BOOST_TEST(rows.count(key) == 1u,
               "registered route without a row in the_table(): " << key.first << " " << key.second);
  BOOST_TEST(table.size() == routes.size());
}

BOOST_AUTO_TEST_CASE(every_route_answers_every_principal_as_api_md_says) {
  world w;
  auto table = the_table();
  std::size_t sent = 0;
  std::map<outcome, int> tally;
  for (const auto& r : table) {
    std::optional<request_spec> spec;
    for (auto kind : principals_in_order) {
      const auto& p = w.people[kind];
      if (!spec || r.fx == fixture::per_principal) spec = r.target(w, p);
      auto want = expected(r, kind);
      auto got = send_as(w, r.method, *spec, p);
      ++sent;
      ++tally[want];
      BOOST_TEST(matches(want, got, spec->stream),
                 r.method << " " << r.route << " [" << rule_name(r.ownership) << "] as "
                          << label(kind) << " (" << spec->path << "): expected "
                          << outcome_name(want) << ", got " << got.status << " " << got.body);
      bool changed = got.status >= 200 && got.status < 300 && r.method != "GET";
      if (changed && r.fx == fixture::fresh_after_change) spec.reset();
    }
  }
  BOOST_TEST_MESSAGE("authorization matrix: "
                     << table.size() << " routes x " << principals_in_order.size()
                     << " principals = " << sent << " requests (" << tally[outcome::allowed]
                     << " allowed, " << tally[outcome::unauthenticated] << " 401, "
                     << tally[outcome::forbidden] << " 403, " << tally[outcome::hidden] << " 404)");
  BOOST_TEST(sent == table.size() * 8);
}

// Lists are filtered rather than refused: each principal's lists hold only what it may see.
BOOST_AUTO_TEST_CASE(lists_hold_only_what_each_principal_may_see) {
  world w;
  auto ids = [&](const std::string& path, const header_map& auth) {
    auto r = w.client.get(path, auth);
    BOOST_REQUIRE_MESSAGE(r.status == 200, path << " " << r.body);
    std::set<int64_t> out;
    auto page = r.json();  // (not a temporary: the loop below walks into it)
    for (auto& o : page["results"]) out.insert(o["id"].get<int64_t>());
    return out;
  };
  auto mine = std::set<int64_t>{w.assigned.id, w.delivered.id};
  for (auto kind : {who::customer, who::owner, who::crew, who::staff}) {
    auto seen = ids("/api/v1/orders?page_size=100", w.people[kind].auth);
    for (auto id : mine) BOOST_TEST(seen.count(id) == 1u, label(kind) << " misses order " << id);
  }
  for (auto kind : {who::other_customer, who::other_owner, who::other_crew}) {
    auto seen = ids("/api/v1/orders?page_size=100", w.people[kind].auth);
    BOOST_TEST(seen.empty(), label(kind) << " sees " << seen.size() << " orders not theirs");
  }
  BOOST_TEST(ids("/api/v1/crew/orders?page_size=100", w.people[who::other_crew].auth).empty());
  BOOST_TEST(ids("/api/v1/crew/orders?page_size=100", w.crew()).count(w.assigned.id) == 1u);
  // Filters cannot widen the view.
  BOOST_TEST(ids("/api/v1/orders?crew_id=" + str(w.people[who::crew].id),
                 w.people[who::other_customer].auth)
                 .empty());
  BOOST_TEST(
      ids("/api/v1/orders?shop_id=" + str(w.shop_a.id), w.people[who::other_owner].auth).empty());
  // The confirmation code: the customer and staff, never the crew or the shop owner.
  auto as = [&](who kind) {
    return w.client.get(world::order_path(w.assigned.id), w.people[kind].auth).json();
  };
  BOOST_TEST(as(who::customer)["code"] == w.assigned.code);
  BOOST_TEST(as(who::staff)["code"] == w.assigned.code);
  BOOST_TEST(!as(who::crew).contains("code"));
  BOOST_TEST(!as(who::owner).contains("code"));
  // Hidden products and suspended shops stay out of public lists.
  auto products = w.client.get(world::shop_path(w.shop_a.id, "/products?page_size=100"),
                               w.people[who::customer].auth);
  auto product_page = products.json();
  for (auto& p : product_page["results"]) BOOST_TEST(p["id"] != w.hidden_product);
  auto shops = w.client.get("/api/v1/shops?page_size=100").json();
  for (auto& s : shops["results"]) BOOST_TEST(s["id"] != w.shop_c);
}

BOOST_AUTO_TEST_SUITE_END()
