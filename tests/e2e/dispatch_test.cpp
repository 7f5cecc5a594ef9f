// API.md "Dispatch": pending orders are offered to the nearest free crew, one crew at a time,
// for offer_timeout_s; a decline or an expiry passes the order to the next nearest crew; the
// radius widens while nobody is near; a crew that becomes free gets the oldest order near it;
// the crew's stream (GET /crew/events) and GET /crew/offer show the open offer; offers are in
// PostgreSQL and survive a restart. Races: exactly one of offer accept, browse accept and staff
// assign wins; an accept at the instant an offer expires still has one winner and no order is
// ever offered to two crews at once. Real server, real PostgreSQL, short settings.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cmath>
#include <mutex>
#include <pqxx/pqxx>
#include <thread>

#include "protocols/clock.hpp"
#include "tests/e2e/orders_support.hpp"

using namespace wassally::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Shops stand here; a crew 0.01° of latitude north is ~1.1 km away.
constexpr double shop_lat = 30.05;
constexpr double shop_lng = 31.23;

settings offers(std::map<std::string, std::string> extra = {}) {
  settings s = {{"WASSALLY_OFFER_TIMEOUT_S", "2"},    {"WASSALLY_PENDING_CHECK_INTERVAL_MS", "50"},
                {"WASSALLY_DISPATCH_RADIUS_KM", "5"}, {"WASSALLY_DISPATCH_MAX_RADIUS_KM", "5"},
                {"WASSALLY_REOFFER_AFTER_S", "3600"}, {"WASSALLY_PENDING_ALERT_S", "3600"},
                {"WASSALLY_PENDING_EXPIRY_S", "0"}};
  for (auto& [k, v] : extra) s[k] = v;
  return s;
}

struct crew {
  int64_t id = 0;
  std::string name;
  header_map auth;
};

/// A crew `km_north` km north of the shops; available when `available`.
crew make_crew(orders_world& w, double km_north, bool available = true) {
  crew c;
  c.name = "crew" + unique_suffix();
  auto r = w.client.post_json(
      "/api/v1/staff/crews",
      {{"username", c.name}, {"password", "crew-pass-1"}, {"phone_number", unique_phone()}},
      w.staff);
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  c.id = r.json()["id"];
  c.auth = w.login(c.name, "crew-pass-1");
  auto loc = w.client.put_json("/api/v1/crew/location",
                               {{"latitude", shop_lat + km_north / 111.2}, {"longitude", shop_lng}},
                               c.auth);
  BOOST_REQUIRE_MESSAGE(loc.status == 204, loc.body);
  if (available) {
    auto s = w.client.put_json("/api/v1/crew/status", {{"status", "available"}}, c.auth);
    BOOST_REQUIRE_MESSAGE(s.status == 200, s.body);
  }
  return c;
}

/// GET /crew/offer: the offer, or null on 204.
json offer_of(orders_world& w, const crew& c) {
  auto r = w.client.get("/api/v1/crew/offer", c.auth);
  BOOST_REQUIRE_MESSAGE(r.status == 200 || r.status == 204, r.body);
  return r.status == 204 ? json() : r.json();
}

/// Polls GET /crew/offer until it shows `order_id` (or any offer when 0) or `within` passes.
json wait_offer(orders_world& w, const crew& c, int64_t order_id,
                std::chrono::milliseconds within) {
  auto deadline = std::chrono::steady_clock::now() + within;
  while (true) {
    auto o = offer_of(w, c);
    if (!o.is_null() && (order_id == 0 || o["order_id"] == order_id)) return o;
    if (std::chrono::steady_clock::now() > deadline) return json();
    std::this_thread::sleep_for(20ms);
  }
}

/// The next event named `name` on `s` within `within` (others are skipped and returned in
/// `skipped` when given).
std::optional<json> next_event(sse_stream& s, const std::string& name,
                               std::chrono::milliseconds within,
                               std::vector<sse_event>* skipped = nullptr) {
  auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    auto e = s.next(100ms);
    if (!e) continue;
    if (e->event == name) return json::parse(e->data);
    if (skipped) skipped->push_back(*e);
  }
  return std::nullopt;
}

int64_t place_one(orders_world& w, const header_map& customer, int64_t product) {
  auto r = w.place(customer, {orders_world::line(product, 1)});
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  return r.json()["id"];
}

struct offer_row {
  int64_t crew_id = 0;
  std::string outcome;
  double offered = 0, expires = 0, closed = 0;  // epoch seconds (closed: 0 while open)
};

std::vector<offer_row> offers_in_db(orders_world& w, int64_t order_id) {
  pqxx::connection db(w.server.database_url());
  pqxx::work tx(db);
  std::vector<offer_row> out;
  for (auto r : tx.exec_params(
           "SELECT crew_id, outcome, extract(epoch FROM offered_at)::float8,"
           " extract(epoch FROM expires_at)::float8, coalesce(extract(epoch FROM closed_at), 0)"
           "::float8 FROM order_offers WHERE order_id = $1 ORDER BY offered_at, id",
           order_id))
    out.push_back({r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<double>(), r[3].as<double>(),
                   r[4].as<double>()});
  return out;
}

/// Every offer in PostgreSQL: no order had two open at once, no crew had two open at once.
void expect_offers_never_overlap(orders_world& w) {
  pqxx::connection db(w.server.database_url());
  pqxx::work tx(db);
  for (auto key : {"order_id", "crew_id"}) {
    auto overlaps =
        tx.exec(std::string("SELECT count(*) FROM order_offers a JOIN order_offers b ON a.") + key +
                " = b." + key +
                " AND a.id < b.id WHERE tstzrange(a.offered_at, coalesce(a.closed_at,"
                " 'infinity')) && tstzrange(b.offered_at, coalesce(b.closed_at,"
                " 'infinity'))")[0][0]
            .as<int64_t>();
    BOOST_TEST(overlaps == 0, "offers overlapping on " << key);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dispatch_offers)

// The nearest free crew gets the offer (stream and GET /crew/offer agree, with the order's
// summary); when it expires the next nearest gets it; a decline passes it on; with nobody left
// it waits, and a crew becoming available gets it at once; accepting closes the offer as
// accepted. PostgreSQL holds every step with its time.
BOOST_AUTO_TEST_CASE(offer_expires_to_the_next_crew_then_declines_then_backlog) {
  orders_world w(offers());
  auto shop = w.shop(shop_lat, shop_lng);
  auto milk = w.product(shop, {{"price", "2.50"}, {"stock", 10}});
  auto near = make_crew(w, 1.0);
  auto farther = make_crew(w, 2.0);
  auto later = make_crew(w, 0.5, false);  // nearest, but offline for now
  auto [name, customer] = w.customer();
  sse_stream staff_events("127.0.0.1", w.server.port(), "/api/v1/staff/events", w.staff);
  BOOST_TEST_REQUIRE(staff_events.status() == 200);
  sse_stream near_events("127.0.0.1", w.server.port(), "/api/v1/crew/events", near.auth);
  sse_stream far_events("127.0.0.1", w.server.port(), "/api/v1/crew/events", farther.auth);
  BOOST_TEST_REQUIRE(near_events.status() == 200);
  BOOST_TEST_REQUIRE(far_events.status() == 200);
  BOOST_TEST(offer_of(w, near).is_null());

  auto id = place_one(w, customer, milk);
  auto offered = next_event(near_events, "offer", 3s);
  BOOST_TEST_REQUIRE(offered.has_value(), "no offer to the nearest crew");
  auto& o = *offered;
  BOOST_TEST(o["order_id"] == id);
  BOOST_TEST_REQUIRE(o["shops"].size() == 1u, o.dump());
  BOOST_TEST(o["shops"][0]["id"] == shop.id);
  BOOST_TEST(o["shops"][0]["name"] == "Shop " + shop.owner_name);
  BOOST_TEST(o["shops"][0]["latitude"].get<double>() == shop_lat);
  BOOST_TEST(o["location"]["address"] == "1 Nile St");
  BOOST_TEST(o["location"]["latitude"].get<double>() == 30.06);
  BOOST_TEST(o["items_total"] == "2.50");
  BOOST_TEST(o["delivery_fee"] == "15.50");
  BOOST_TEST(o["distance_km"].get<double>() > 0.9);
  BOOST_TEST(o["distance_km"].get<double>() < 1.1);
  BOOST_TEST(offer_of(w, near) == o);  // GET /crew/offer shows the same
  auto open = w.client.get("/api/v1/staff/offers", w.staff);
  BOOST_TEST_REQUIRE(open.status == 200, open.body);
  BOOST_TEST(open.json() == json::array({{{"order_id", id},
                                          {"crew_id", near.id},
                                          {"expires_at", o["expires_at"]},
                                          {"distance_km", o["distance_km"]}}}));
  BOOST_TEST(w.client.get("/api/v1/staff/offers", near.auth).status == 403);
  BOOST_TEST(offer_of(w, farther).is_null());
  auto rows = offers_in_db(w, id);
  BOOST_TEST_REQUIRE(rows.size() == 1u);
  BOOST_TEST(rows[0].crew_id == near.id);
  BOOST_TEST(rows[0].outcome == "open");
  // offer_timeout_s, rounded up to the whole second expires_at shows.
  BOOST_TEST(rows[0].expires - rows[0].offered >= 2.0, "offer_timeout_s");
  BOOST_TEST(rows[0].expires - rows[0].offered < 3.0, "offer_timeout_s");
  BOOST_TEST(rows[0].expires == std::floor(rows[0].expires));
  BOOST_TEST(wassally::service_clock::parse_iso(o["expires_at"]).value_or(0) ==
             static_cast<int64_t>(rows[0].expires));

  // It expires: the crew is told, the next nearest gets it.
  auto withdrawn = next_event(near_events, "offer_withdrawn", 5s);
  BOOST_TEST_REQUIRE(withdrawn.has_value());
  BOOST_TEST(*withdrawn == json({{"order_id", id}, {"reason", "expired"}}));
  auto second = next_event(far_events, "offer", 3s);
  BOOST_TEST_REQUIRE(second.has_value());
  BOOST_TEST((*second)["order_id"] == id);
  BOOST_TEST((*second)["distance_km"].get<double>() > 1.9);
  BOOST_TEST(offer_of(w, near).is_null());
  rows = offers_in_db(w, id);
  BOOST_TEST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[0].outcome == "expired");
  BOOST_TEST(rows[0].closed >= rows[0].expires, "expired before its time");
  BOOST_TEST(rows[0].closed < rows[0].expires + 2, "expired late");
  BOOST_TEST(rows[1].crew_id == farther.id);
  BOOST_TEST(rows[1].offered >= rows[0].closed);

  // Declining: 204, then it is no longer this crew's (409 not_offered); the crew that let it
  // expire may not decline it either.
  auto d = w.client.post_json(order_path(id, "/decline"), json::object(), farther.auth);
  BOOST_TEST_REQUIRE(d.status == 204, d.body);
  auto again = w.client.post_json(order_path(id, "/decline"), json::object(), farther.auth);
  BOOST_TEST(again.status == 409);
  BOOST_TEST(again.json()["error"]["code"] == "not_offered", again.body);
  auto stale = w.client.post_json(order_path(id, "/decline"), json::object(), near.auth);
  BOOST_TEST(stale.json()["error"]["code"] == "not_offered", stale.body);
  // Staff saw every offer made and ended, with the crew, the declined one included.
  std::vector<json> staff_saw;
  for (auto until = std::chrono::steady_clock::now() + 3s;
       staff_saw.size() < 4 && std::chrono::steady_clock::now() < until;)
    if (auto e = staff_events.next(100ms);
        e && (e->event == "offer" || e->event == "offer_withdrawn")) {
      auto data = json::parse(e->data);
      data["event"] = e->event;
      staff_saw.push_back(data);
    }
  BOOST_TEST_REQUIRE(staff_saw.size() == 4u);
  BOOST_TEST(staff_saw[0]["event"] == "offer");
  BOOST_TEST(staff_saw[0]["crew_id"] == near.id);
  BOOST_TEST(staff_saw[0]["expires_at"] == o["expires_at"]);
  BOOST_TEST(staff_saw[1] == json({{"event", "offer_withdrawn"},
                                   {"order_id", id},
                                   {"crew_id", near.id},
                                   {"reason", "expired"}}));
  BOOST_TEST(staff_saw[2]["crew_id"] == farther.id);
  BOOST_TEST(staff_saw[3] == json({{"event", "offer_withdrawn"},
                                   {"order_id", id},
                                   {"crew_id", farther.id},
                                   {"reason", "declined"}}));
  // The crew that declined is not told of its own decline.
  BOOST_TEST(!next_event(far_events, "offer_withdrawn", 500ms).has_value());
  // Nobody else in reach has not had it: it waits.
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(offer_of(w, near).is_null());
  BOOST_TEST(offer_of(w, farther).is_null());
  BOOST_TEST(offers_in_db(w, id).size() == 2u);

  // Backlog: a crew going available is offered it at once.
  auto go = w.client.put_json("/api/v1/crew/status", {{"status", "available"}}, later.auth);
  BOOST_TEST_REQUIRE(go.status == 200);
  auto third = wait_offer(w, later, id, 2s);
  BOOST_TEST_REQUIRE(!third.is_null(), "the crew that became available was not offered it");
  auto acc = w.client.post_json(order_path(id, "/accept"), json::object(), later.auth);
  BOOST_TEST_REQUIRE(acc.status == 200, acc.body);
  // The accepted offer is closed as accepted; the crew has no open offer any more.
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (offers_in_db(w, id).back().outcome == "open" &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  rows = offers_in_db(w, id);
  BOOST_TEST_REQUIRE(rows.size() == 3u);
  BOOST_TEST(rows[1].outcome == "declined");
  BOOST_TEST(rows[2].crew_id == later.id);
  BOOST_TEST(rows[2].outcome == "accepted");
  BOOST_TEST(offer_of(w, later).is_null());
  expect_offers_never_overlap(w);
}

// Decline answers: not a crew's offer (another crew's, none, no such order) is 409
// not_offered; other roles are 403.
BOOST_AUTO_TEST_CASE(decline_of_an_order_not_offered_is_409_not_offered) {
  orders_world w(offers({{"WASSALLY_OFFER_TIMEOUT_S", "60"}}));
  auto shop = w.shop(shop_lat, shop_lng);
  auto p = w.product(shop, {{"price", "1"}, {"stock", 10}});
  auto a = make_crew(w, 1.0);
  auto b = make_crew(w, 3.0);
  auto [name, customer] = w.customer();
  auto id = place_one(w, customer, p);
  BOOST_TEST_REQUIRE(!wait_offer(w, a, id, 3s).is_null());
  auto by_other = w.client.post_json(order_path(id, "/decline"), json::object(), b.auth);
  BOOST_TEST(by_other.status == 409);
  BOOST_TEST(by_other.json()["error"]["code"] == "not_offered");
  auto none = w.client.post_json(order_path(id + 1000, "/decline"), json::object(), a.auth);
  BOOST_TEST(none.status == 409);
  BOOST_TEST(none.json()["error"]["code"] == "not_offered");
  auto by_customer = w.client.post_json(order_path(id, "/decline"), json::object(), customer);
  BOOST_TEST(by_customer.status == 403);
  auto offer = w.client.get("/api/v1/crew/offer", customer);
  BOOST_TEST(offer.status == 403);
  // Still a's.
  BOOST_TEST(offer_of(w, a)["order_id"] == id);
}

// Nobody within dispatch_radius_km: the radius widens by dispatch_radius_step_km every
// dispatch_widen_every_s up to dispatch_max_radius_km, so a crew 4 km away is offered the
// order only once the radius reached it; one beyond the widest radius never is.
BOOST_AUTO_TEST_CASE(radius_widens_step_by_step_up_to_the_maximum) {
  orders_world w(offers({{"WASSALLY_DISPATCH_RADIUS_KM", "1"},
                         {"WASSALLY_DISPATCH_RADIUS_STEP_KM", "2"},
                         {"WASSALLY_DISPATCH_WIDEN_EVERY_S", "2"},
                         {"WASSALLY_DISPATCH_MAX_RADIUS_KM", "5"},
                         {"WASSALLY_OFFER_TIMEOUT_S", "60"}}));
  auto shop = w.shop(shop_lat, shop_lng);
  auto p = w.product(shop, {{"price", "1"}, {"stock", 10}});
  auto far = make_crew(w, 4.0);
  auto too_far = make_crew(w, 7.0);
  auto [name, customer] = w.customer();
  auto placed = w.place(customer, {orders_world::line(p, 1)});
  BOOST_TEST_REQUIRE(placed.status == 201);
  int64_t id = placed.json()["id"];
  auto created = wassally::service_clock::parse_iso(placed.json()["created_at"]).value_or(0);
  auto o = wait_offer(w, far, id, 8s);
  BOOST_TEST_REQUIRE(!o.is_null(), "the radius never reached the crew 4 km away");
  auto rows = offers_in_db(w, id);
  BOOST_TEST_REQUIRE(rows.size() == 1u);
  // 1 km, then 3 km after 2 s, then 5 km after 4 s (counted from the whole-second created_at).
  BOOST_TEST(rows[0].offered - static_cast<double>(created) >= 4.0,
             "offered before the radius reached it");
  // Declined: the crew beyond the widest radius is still never offered it.
  BOOST_TEST(w.client.post_json(order_path(id, "/decline"), json::object(), far.auth).status ==
             204);
  std::this_thread::sleep_for(1s);
  BOOST_TEST(offer_of(w, too_far).is_null());
  BOOST_TEST(offers_in_db(w, id).size() == 1u);
}

// The crew's stream: staff assigning one of its orders (`assigned`, by whom), staff taking one
// away (`order_reassigned`, to whom), a cancellation (`order_cancelled`, why), and its offer taken by another crew (`offer_withdrawn` taken) or
// cancelled. Going offline ends its open offer (withdrawn as expired), and the order moves on.
BOOST_AUTO_TEST_CASE(crew_stream_tells_assignments_cancellations_and_withdrawals) {
  orders_world w(offers({{"WASSALLY_OFFER_TIMEOUT_S", "60"}}));
  auto shop = w.shop(shop_lat, shop_lng);
  auto p = w.product(shop, {{"price", "1"}, {"stock", 100}});
  auto a = make_crew(w, 1.0);
  auto b = make_crew(w, 2.0);
  auto [name, customer] = w.customer();
  sse_stream a_events("127.0.0.1", w.server.port(), "/api/v1/crew/events", a.auth);
  BOOST_TEST_REQUIRE(a_events.status() == 200);
  auto staff_id = w.client.get("/api/v1/me", w.staff).json()["id"];

  // Offered to a, taken by b (browsing): withdrawn as taken.
  auto first = place_one(w, customer, p);
  auto offered = next_event(a_events, "offer", 3s);
  BOOST_TEST_REQUIRE(offered.has_value());
  BOOST_TEST((*offered)["order_id"] == first);
  BOOST_TEST(w.client.post_json(order_path(first, "/accept"), json::object(), b.auth).status ==
             200);
  auto taken = next_event(a_events, "offer_withdrawn", 3s);
  BOOST_TEST_REQUIRE(taken.has_value());
  BOOST_TEST(*taken == json({{"order_id", first}, {"reason", "taken"}}));

  // Offered to a, assigned to a by staff: `assigned` with the staff id, no withdrawal.
  auto second = place_one(w, customer, p);
  BOOST_TEST_REQUIRE(next_event(a_events, "offer", 3s).has_value());
  auto as = w.client.post_json(order_path(second, "/assign"), {{"crew_id", a.id}}, w.staff);
  BOOST_TEST_REQUIRE(as.status == 200, as.body);
  std::vector<sse_event> skipped;
  auto assigned = next_event(a_events, "assigned", 3s, &skipped);
  BOOST_TEST_REQUIRE(assigned.has_value());
  BOOST_TEST(*assigned == json({{"order_id", second}, {"by_user_id", staff_id}}));
  for (auto& e : skipped) BOOST_TEST(e.event != "offer_withdrawn", e.data);

  // Staff reassigns it to b: a hears `order_reassigned` (to whom, by whom); back to a: `assigned`.
  auto away = w.client.post_json(order_path(second, "/assign"), {{"crew_id", b.id}}, w.staff);
  BOOST_TEST_REQUIRE(away.status == 200, away.body);
  auto reassigned = next_event(a_events, "order_reassigned", 3s);
  BOOST_TEST_REQUIRE(reassigned.has_value());
  BOOST_TEST(*reassigned ==
             json({{"order_id", second}, {"crew_id", b.id}, {"by_user_id", staff_id}}));
  auto back = w.client.post_json(order_path(second, "/assign"), {{"crew_id", a.id}}, w.staff);
  BOOST_TEST_REQUIRE(back.status == 200, back.body);
  auto again = next_event(a_events, "assigned", 3s);
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST((*again)["order_id"] == second);

  // Staff cancels it: `order_cancelled` with the reason.
  auto c = w.client.post_json(order_path(second, "/cancel"), {{"note", "shop closed"}}, w.staff);
  BOOST_TEST_REQUIRE(c.status == 200, c.body);
  auto cancelled = next_event(a_events, "order_cancelled", 3s);
  BOOST_TEST_REQUIRE(cancelled.has_value());
  BOOST_TEST(*cancelled == json({{"order_id", second}, {"reason", "staff"}}));

  // Offered to a, cancelled by the customer while pending: withdrawn as cancelled.
  auto third = place_one(w, customer, p);
  BOOST_TEST_REQUIRE(next_event(a_events, "offer", 3s).has_value());
  BOOST_TEST(w.client.post_json(order_path(third, "/cancel"), json::object(), customer).status ==
             200);
  auto gone = next_event(a_events, "offer_withdrawn", 3s);
  BOOST_TEST_REQUIRE(gone.has_value());
  BOOST_TEST(*gone == json({{"order_id", third}, {"reason", "cancelled"}}));

  // Offered to a, a goes offline: withdrawn (expired) at once, and b (holding one, room for
  // more) gets it.
  auto fourth = place_one(w, customer, p);
  BOOST_TEST_REQUIRE(next_event(a_events, "offer", 3s).has_value());
  BOOST_TEST(w.client.put_json("/api/v1/crew/status", {{"status", "offline"}}, a.auth).status ==
             200);
  auto off = next_event(a_events, "offer_withdrawn", 3s);
  BOOST_TEST_REQUIRE(off.has_value());
  BOOST_TEST(*off == json({{"order_id", fourth}, {"reason", "expired"}}));
  BOOST_TEST(!wait_offer(w, b, fourth, 3s).is_null());
  auto rows = offers_in_db(w, fourth);
  BOOST_TEST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[0].outcome == "expired");
  BOOST_TEST(rows[0].closed < rows[0].expires, "the offline crew's offer ran to its time");
  expect_offers_never_overlap(w);
}

// A crash (kill -9) in the middle of an offer: after the restart the offer is still the crew's,
// with the same expiry (GET /crew/offer, and first on the crew's new stream); it expires at its
// persisted time, and the next crew gets it.
BOOST_AUTO_TEST_CASE(an_offer_survives_a_restart_and_expires_on_time) {
  orders_world w(offers({{"WASSALLY_OFFER_TIMEOUT_S", "6"}}));
  auto shop = w.shop(shop_lat, shop_lng);
  auto p = w.product(shop, {{"price", "1"}, {"stock", 10}});
  auto a = make_crew(w, 1.0);
  auto b = make_crew(w, 2.0);
  auto [name, customer] = w.customer();
  auto id = place_one(w, customer, p);
  auto before = wait_offer(w, a, id, 3s);
  BOOST_TEST_REQUIRE(!before.is_null());

  // A crash (kill -9), not a drain: what the crew was told is only what PostgreSQL held.
  w.server.kill_hard();
  w.server.restart();
  w.client = w.server.client();
  auto after = offer_of(w, a);
  BOOST_TEST(after == before, "the offer after the restart: " << after.dump());
  sse_stream a_events("127.0.0.1", w.server.port(), "/api/v1/crew/events", a.auth);
  BOOST_TEST_REQUIRE(a_events.status() == 200);
  auto first = a_events.next(3s);
  BOOST_TEST_REQUIRE(first.has_value());
  BOOST_TEST(first->event == "offer");
  BOOST_TEST(json::parse(first->data) == before);
  BOOST_TEST(first->id == "1");

  auto withdrawn = next_event(a_events, "offer_withdrawn", 10s);
  BOOST_TEST_REQUIRE(withdrawn.has_value());
  BOOST_TEST((*withdrawn)["reason"] == "expired");
  BOOST_TEST(!wait_offer(w, b, id, 3s).is_null());
  auto rows = offers_in_db(w, id);
  BOOST_TEST_REQUIRE(rows.size() == 2u);
  BOOST_TEST(rows[0].closed >= rows[0].expires, "expired before its persisted time");
  BOOST_TEST(rows[0].closed < rows[0].expires + 2);
}

// Ties in distance go to the crew holding fewer orders, then to the one idle longest (available
// first). A crew at its limit is not offered anything; once it delivers and has room again it
// is offered the order that waited for it (backlog).
BOOST_AUTO_TEST_CASE(
    ties_go_to_fewer_held_then_longest_idle_and_a_crew_with_room_again_gets_the_backlog) {
  orders_world w(offers({{"WASSALLY_OFFER_TIMEOUT_S", "60"}, {"WASSALLY_CREW_MAX_ORDERS", "1"}}));
  auto shop = w.shop(shop_lat, shop_lng);
  auto p = w.product(shop, {{"price", "1"}, {"stock", 100}});
  auto [name, customer] = w.customer();
  // Same place: first available first.
  auto early = make_crew(w, 1.0);
  std::this_thread::sleep_for(50ms);
  auto late = make_crew(w, 1.0);
  auto first = place_one(w, customer, p);
  BOOST_TEST(!wait_offer(w, early, first, 3s).is_null(), "the crew idle longest was passed over");
  BOOST_TEST(offer_of(w, late).is_null());
  // early takes it and is at its limit (crew_max_orders 1): the next order goes to late, the
  // one after that waits.
  BOOST_TEST_REQUIRE(
      w.client.post_json(order_path(first, "/accept"), json::object(), early.auth).status == 200);
  auto second = place_one(w, customer, p);
  BOOST_TEST(!wait_offer(w, late, second, 3s).is_null());
  BOOST_TEST_REQUIRE(
      w.client.post_json(order_path(second, "/accept"), json::object(), late.auth).status == 200);
  auto third = place_one(w, customer, p);
  std::this_thread::sleep_for(300ms);
  BOOST_TEST(offer_of(w, early).is_null(), "a crew at its limit was offered an order");
  BOOST_TEST(offer_of(w, late).is_null(), "a crew at its limit was offered an order");
  BOOST_TEST(offers_in_db(w, third).empty());
  // early delivers: room again, and the waiting order is offered to it at once.
  auto o = w.client.get(order_path(first), customer).json();
  for (auto& item : o["items"]) {
    auto b = w.client.post_json(
        order_path(first, "/items/" + std::to_string(item["id"].get<int64_t>()) + "/bought"),
        json::object(), early.auth);
    BOOST_TEST_REQUIRE(b.status == 200, b.body);
  }
  BOOST_TEST_REQUIRE(
      w.client.post_json(order_path(first, "/pickup"), json::object(), early.auth).status == 200);
  auto d = w.client.post_json(order_path(first, "/deliver"), {{"code", o["code"]}}, early.auth);
  BOOST_TEST_REQUIRE(d.status == 200, d.body);
  BOOST_TEST(!wait_offer(w, early, third, 3s).is_null(),
             "the crew with room again was not offered the waiting order");
  expect_offers_never_overlap(w);
}

// Fewer held orders beat a longer idle time: of two crews at the same place, the one that went
// available first but holds an order loses the tie to the one holding none.
BOOST_AUTO_TEST_CASE(fewer_held_orders_win_a_tie_before_idle_time) {
  orders_world w(offers({{"WASSALLY_OFFER_TIMEOUT_S", "60"}}));
  auto shop = w.shop(shop_lat, shop_lng);
  auto p = w.product(shop, {{"price", "1"}, {"stock", 100}});
  auto [name, customer] = w.customer();
  auto busy = make_crew(w, 1.0);
  auto first = place_one(w, customer, p);
  BOOST_TEST_REQUIRE(!wait_offer(w, busy, first, 3s).is_null());
  BOOST_TEST_REQUIRE(
      w.client.post_json(order_path(first, "/accept"), json::object(), busy.auth).status == 200);
  auto fresh = make_crew(w, 1.0);
  auto second = place_one(w, customer, p);
  BOOST_TEST(!wait_offer(w, fresh, second, 3s).is_null(), "the crew holding none lost the tie");
  BOOST_TEST(offer_of(w, busy).is_null());
}

// A crew whose last position is older than dispatch_crew_stale_s (its app stopped reporting)
// is offered nothing; the next position it reports makes it free again, and it gets the order
// that waited.
BOOST_AUTO_TEST_CASE(a_crew_with_a_stale_position_is_offered_nothing_until_it_reports) {
  orders_world w(
      offers({{"WASSALLY_OFFER_TIMEOUT_S", "60"}, {"WASSALLY_DISPATCH_CREW_STALE_S", "2"}}));
  auto shop = w.shop(shop_lat, shop_lng);
  auto p = w.product(shop, {{"price", "1"}, {"stock", 10}});
  auto quiet = make_crew(w, 1.0);
  auto [name, customer] = w.customer();
  // Positions are whole seconds: 3.5 s later it is at least 3 s old.
  std::this_thread::sleep_for(3500ms);
  auto id = place_one(w, customer, p);
  std::this_thread::sleep_for(500ms);
  BOOST_TEST(offer_of(w, quiet).is_null(), "a crew silent for longer than 2 s was offered");
  BOOST_TEST(offers_in_db(w, id).empty());
  auto loc = w.client.put_json("/api/v1/crew/location",
                               {{"latitude", shop_lat + 1.0 / 111.2}, {"longitude", shop_lng}},
                               quiet.auth);
  BOOST_TEST_REQUIRE(loc.status == 204);
  BOOST_TEST(!wait_offer(w, quiet, id, 2s).is_null(), "reporting again did not bring the offer");
}

// dispatch_mode=browse: nobody is offered anything; crews browse and accept as before.
BOOST_AUTO_TEST_CASE(browse_mode_makes_no_offers) {
  orders_world w(offers({{"WASSALLY_DISPATCH_MODE", "browse"}}));
  auto shop = w.shop(shop_lat, shop_lng);
  auto p = w.product(shop, {{"price", "1"}, {"stock", 10}});
  auto a = make_crew(w, 1.0);
  auto [name, customer] = w.customer();
  auto id = place_one(w, customer, p);
  std::this_thread::sleep_for(500ms);
  BOOST_TEST(offer_of(w, a).is_null());
  BOOST_TEST(offers_in_db(w, id).empty());
  auto list = w.client.get("/api/v1/crew/orders/pending", a.auth);
  BOOST_TEST_REQUIRE(list.status == 200);
  BOOST_TEST(list.json()["count"] == 1);
  BOOST_TEST(w.client.post_json(order_path(id, "/accept"), json::object(), a.auth).status == 200);
}

// 50 rounds: the offered crew accepts, another crew browsing accepts, and staff assigns a third,
// all at once. Exactly one of them takes the pending order: at most one crew accept succeeds,
// and staff's assignment either took it (then both accepts are refused) or came after a crew's
// accept as a reassignment (API.md: staff may reassign an assigned order). The history has one
// change out of pending, by the winner; with crew_max_orders 1 no crew ever holds two; no order
// was ever offered to two crews at once.
BOOST_AUTO_TEST_CASE(offer_accept_browse_accept_and_staff_assign_have_one_winner) {
  orders_world w(offers({{"WASSALLY_OFFER_TIMEOUT_S", "60"},
                         {"WASSALLY_CREW_MAX_ORDERS", "1"},
                         {"WASSALLY_HTTP_THREADS", "4"}}));
  auto shop = w.shop(shop_lat, shop_lng);
  auto p = w.product(shop, {{"price", "1"}, {"stock", 1000}});
  pqxx::connection watch(w.server.database_url());
  std::vector<crew> three = {make_crew(w, 0.5), make_crew(w, 2.0), make_crew(w, 3.0)};
  auto staff_id = w.client.get("/api/v1/me", w.staff).json()["id"].get<int64_t>();
  auto [name, customer] = w.customer();
  std::map<std::string, int> wins;
  for (int round = 0; round < 50; ++round) {
    auto id = place_one(w, customer, p);
    // The nearest crew gets it unless its last offer is still being closed: whichever crew it
    // is offered to accepts it, the next one browses, staff assigns the third.
    std::optional<std::size_t> holder;
    auto until = std::chrono::steady_clock::now() + 3s;
    while (!holder && std::chrono::steady_clock::now() < until)
      for (std::size_t i = 0; i < three.size() && !holder; ++i)
        if (auto o = offer_of(w, three[i]); !o.is_null() && o["order_id"] == id) holder = i;
    BOOST_TEST_REQUIRE(holder.has_value(), "round " << round << ": offered to nobody");
    auto& offered = three[*holder];
    auto& browsing = three[(*holder + 1) % 3];
    auto& assigned = three[(*holder + 2) % 3];
    std::atomic<bool> go{false};
    std::map<std::string, int> status;
    std::mutex m;
    auto attempt = [&](std::string who, std::function<http_response(http_client&)> send) {
      return std::thread([&, who, send] {
        auto client = w.server.client();
        while (!go.load()) std::this_thread::yield();
        auto r = send(client);
        std::lock_guard<std::mutex> lock(m);
        status[who] = r.status;
      });
    };
    std::vector<std::thread> threads;
    threads.push_back(attempt("offered", [&](http_client& c) {
      return c.post_json(order_path(id, "/accept"), json::object(), offered.auth);
    }));
    threads.push_back(attempt("browsing", [&](http_client& c) {
      return c.post_json(order_path(id, "/accept"), json::object(), browsing.auth);
    }));
    threads.push_back(attempt("staff", [&](http_client& c) {
      return c.post_json(order_path(id, "/assign"), {{"crew_id", assigned.id}}, w.staff);
    }));
    go = true;
    for (auto& t : threads) t.join();
    int crew_wins = (status["offered"] == 200) + (status["browsing"] == 200);
    BOOST_TEST(crew_wins <= 1, "round " << round);
    for (auto who : {"offered", "browsing"})
      BOOST_TEST((status[who] == 200 || status[who] == 409), "round " << round << " " << who);
    BOOST_TEST(status["staff"] == 200, "round " << round);
    auto history = w.client.get(order_path(id, "/history"), w.staff).json();
    BOOST_TEST_REQUIRE(history.size() >= 2u, history.dump());
    BOOST_TEST(history[0]["status"] == "pending");
    BOOST_TEST(history[1]["status"] == "assigned");
    std::string winner;
    if (crew_wins == 0) {
      // Staff took it; nothing else happened.
      winner = "staff";
      BOOST_TEST(history.size() == 2u, history.dump());
      BOOST_TEST(history[1]["crew_id"] == assigned.id);
      BOOST_TEST(history[1]["by_user_id"] == staff_id);
    } else {
      // A crew took it; staff's answer was a reassignment after it.
      winner = status["offered"] == 200 ? "offered" : "browsing";
      auto crew_id = winner == "offered" ? offered.id : browsing.id;
      BOOST_TEST_REQUIRE(history.size() == 3u, history.dump());
      BOOST_TEST(history[1]["crew_id"] == crew_id);
      BOOST_TEST(history[1]["by_user_id"] == crew_id);
      BOOST_TEST(history[2]["status"] == "assigned");
      BOOST_TEST(history[2]["crew_id"] == assigned.id);
    }
    ++wins[winner];
    {
      // crew_max_orders is 1: no crew holds two orders, whoever won.
      pqxx::work tx(watch);
      auto most = tx.exec(
                        "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM orders WHERE"
                        " status IN ('assigned', 'picked_up') GROUP BY crew_id) x")[0][0]
                      .as<int64_t>();
      BOOST_TEST(most <= 1, "round " << round);
    }
    auto o = w.client.get(order_path(id), w.staff).json();
    BOOST_TEST(o["crew_id"] == assigned.id, "round " << round);
    // Done with: staff cancels it, so every crew has room for the next round.
    auto c = w.client.post_json(order_path(id, "/cancel"), json::object(), w.staff);
    BOOST_TEST_REQUIRE(c.status == 200, c.body);
  }
  pqxx::connection db(w.server.database_url());
  pqxx::work tx(db);
  // One change out of pending per order (the event after each order's first one).
  BOOST_TEST(
      tx.exec("SELECT count(*) FROM order_events WHERE seq = 2 AND status = 'assigned'")[0][0]
          .as<int>() == 50);
  tx.commit();
  expect_offers_never_overlap(w);
  BOOST_TEST_MESSAGE("first to take it: offered crew " << wins["offered"] << ", browsing crew "
                                                       << wins["browsing"] << ", staff "
                                                       << wins["staff"]);
}

// 50 orders, each offered to its own crew, each accepted by that crew at the instant its offer
// expires (on the persisted expires_at): whichever comes first, the crew that accepted holds
// the order, exactly once; an expiry that came first passed the offer on, and that offer was
// then withdrawn as taken; no crew or order ever had two open offers.
BOOST_AUTO_TEST_CASE(accept_at_the_instant_of_expiry_has_one_winner) {
  constexpr int crews_n = 10, batches = 5;
  orders_world w(offers({{"WASSALLY_OFFER_TIMEOUT_S", "1"},
                         {"WASSALLY_CREW_MAX_ORDERS", "100"},
                         {"WASSALLY_HTTP_THREADS", "4"}}));
  auto shop = w.shop(shop_lat, shop_lng);
  auto p = w.product(shop, {{"price", "1"}, {"stock", 1000}});
  std::vector<crew> crews;
  for (int i = 0; i < crews_n; ++i) crews.push_back(make_crew(w, 0.2 + 0.1 * i));
  auto [name, customer] = w.customer();
  int accepted_first = 0, expired_first = 0;
  for (int batch = 0; batch < batches; ++batch) {
    // Place orders until every crew has one offered (each crew holds one open offer at most).
    std::map<int64_t, json> offer_by_crew;
    for (int i = 0; i < crews_n; ++i) place_one(w, customer, p);
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (offer_by_crew.size() < crews.size() && std::chrono::steady_clock::now() < deadline)
      for (auto& c : crews)
        if (!offer_by_crew.count(c.id))
          if (auto o = offer_of(w, c); !o.is_null()) offer_by_crew[c.id] = o;
    BOOST_TEST_REQUIRE(offer_by_crew.size() == crews.size(), "batch " << batch);
    std::vector<std::thread> threads;
    std::map<int64_t, int> status;
    std::mutex m;
    for (std::size_t i = 0; i < crews.size(); ++i)
      threads.emplace_back([&, i, c = crews[i]] {
        auto client = w.server.client();
        auto o = offer_by_crew[c.id];
        // expires_at is the whole second the offer expires (database clock): each crew sends
        // around that instant, from 15 ms before to 12 ms after, so both orders of events occur.
        auto at = std::chrono::system_clock::time_point(std::chrono::seconds(
                      wassally::service_clock::parse_iso(o["expires_at"]).value_or(0))) +
                  std::chrono::milliseconds((static_cast<int>(i) - 5) * 3);
        std::this_thread::sleep_until(at);
        auto r = client.post_json(order_path(o["order_id"], "/accept"), json::object(), c.auth);
        std::lock_guard<std::mutex> lock(m);
        status[c.id] = r.status;
      });
    for (auto& t : threads) t.join();
    for (auto& c : crews) {
      int64_t id = offer_by_crew[c.id]["order_id"];
      BOOST_TEST(status[c.id] == 200, "the crew's accept of order " << id);
      auto o = w.client.get(order_path(id), w.staff).json();
      BOOST_TEST(o["crew_id"] == c.id);
      auto rows = offers_in_db(w, id);
      BOOST_TEST_REQUIRE(!rows.empty());
      if (rows[0].outcome == "accepted") {
        ++accepted_first;
      } else {
        // Expired first; the offer passed on is withdrawn as taken once the accept committed.
        BOOST_TEST(rows[0].outcome == "expired");
        ++expired_first;
        auto until = std::chrono::steady_clock::now() + 3s;
        while (offers_in_db(w, id).back().outcome == "open" &&
               std::chrono::steady_clock::now() < until)
          std::this_thread::sleep_for(20ms);
        for (std::size_t i = 1; i < offers_in_db(w, id).size(); ++i)
          BOOST_TEST(offers_in_db(w, id)[i].outcome != "open");
      }
    }
    // Cancel what is left pending (orders placed beyond one per crew), so the next batch starts
    // with none.
    pqxx::connection db(w.server.database_url());
    pqxx::work tx(db);
    auto left = tx.exec("SELECT id FROM orders WHERE status = 'pending'");
    tx.commit();
    for (auto r : left)
      BOOST_TEST(
          w.client.post_json(order_path(r[0].as<int64_t>(), "/cancel"), json::object(), w.staff)
              .status == 200);
  }
  pqxx::connection db(w.server.database_url());
  pqxx::work tx(db);
  // One assignment per assigned order, never two.
  BOOST_TEST(tx.exec("SELECT count(*) FROM (SELECT order_id FROM order_events WHERE status ="
                     " 'assigned' GROUP BY order_id HAVING count(*) > 1) x")[0][0]
                 .as<int>() == 0);
  BOOST_TEST(tx.exec("SELECT count(*) FROM orders WHERE status = 'assigned'")[0][0].as<int>() ==
             crews_n * batches);
  tx.commit();
  expect_offers_never_overlap(w);
  BOOST_TEST_MESSAGE("accept first: " << accepted_first << ", expiry first: " << expired_first);
}

BOOST_AUTO_TEST_SUITE_END()
