// GET /orders/{id}/events: Server-Sent Events end to end, over real connections.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/e2e/orders_support.hpp"

using namespace wassally::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string events_path(int64_t id) { return "/api/v1/orders/" + std::to_string(id) + "/events"; }

struct placed_order {
  int64_t id = 0;
  header_map customer;
};

placed_order place_one(orders_world& w) {
  auto s = w.shop();
  auto p = w.product(s, {{"price", "1"}, {"stock", 10}});
  auto [name, cust] = w.customer();
  auto r = w.place(cust, {orders_world::line(p, 1)});
  BOOST_REQUIRE_MESSAGE(r.status == 201, r.body);
  return {r.json()["id"].get<int64_t>(), cust};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(order_events)

BOOST_AUTO_TEST_CASE(a_stream_gets_the_current_status_each_change_and_then_ends) {
  orders_world w;
  auto o = place_one(w);
  sse_stream stream("127.0.0.1", w.server.port(), events_path(o.id), o.customer);
  BOOST_TEST_REQUIRE(stream.status() == 200);
  BOOST_TEST(stream.headers().at("content-type").find("text/event-stream") != std::string::npos);
  auto first = stream.next(5s);
  BOOST_TEST_REQUIRE(first.has_value());
  BOOST_TEST(first->event == "status");
  BOOST_TEST(first->id == "1");
  BOOST_TEST(json::parse(first->data)["status"] == "pending");
  BOOST_TEST(json::parse(first->data)["crew_id"].is_null());

  auto started = std::chrono::steady_clock::now();
  auto r = w.client.post_json("/api/v1/orders/" + std::to_string(o.id) + "/cancel", json::object(),
                              o.customer);
  BOOST_TEST_REQUIRE(r.status == 200, r.body);
  auto change = stream.next(5s);
  BOOST_TEST_REQUIRE(change.has_value());
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
  BOOST_TEST(waited < 1000);  // API.md: within 1 s of the commit
  BOOST_TEST(change->id == "2");
  BOOST_TEST(json::parse(change->data)["status"] == "cancelled");
  BOOST_TEST(json::parse(change->data)["at"].get<std::string>().back() == 'Z');
  BOOST_TEST(!stream.next(3s).has_value());
  BOOST_TEST(stream.closed());
}

BOOST_AUTO_TEST_CASE(last_event_id_resumes_and_final_orders_close_at_once) {
  orders_world w;
  auto o = place_one(w);
  BOOST_TEST(w.client
                 .post_json("/api/v1/orders/" + std::to_string(o.id) + "/cancel", json::object(),
                            o.customer)
                 .status == 200);
  {
    // A fresh stream on a final order: its status, then the end.
    sse_stream stream("127.0.0.1", w.server.port(), events_path(o.id), o.customer);
    auto e = stream.next(5s);
    BOOST_TEST_REQUIRE(e.has_value());
    BOOST_TEST(e->id == "2");
    BOOST_TEST(json::parse(e->data)["status"] == "cancelled");
    BOOST_TEST(!stream.next(3s).has_value());
    BOOST_TEST(stream.closed());
  }
  {
    header_map h = o.customer;
    h["Last-Event-ID"] = "1";
    sse_stream stream("127.0.0.1", w.server.port(), events_path(o.id), h);
    auto e = stream.next(5s);
    BOOST_TEST_REQUIRE(e.has_value());
    BOOST_TEST(e->id == "2");
    BOOST_TEST(!stream.next(3s).has_value());
    BOOST_TEST(stream.closed());
  }
  {
    header_map h = o.customer;
    h["Last-Event-ID"] = "2";
    sse_stream stream("127.0.0.1", w.server.port(), events_path(o.id), h);
    BOOST_TEST(!stream.next(3s).has_value());
    BOOST_TEST(stream.closed());
  }
  {
    // Resuming a live order replays only what came after.
    auto live = place_one(w);
    header_map h = live.customer;
    h["Last-Event-ID"] = "1";
    sse_stream stream("127.0.0.1", w.server.port(), events_path(live.id), h);
    BOOST_TEST(!stream.next(1500ms).has_value());
    BOOST_TEST(!stream.closed());
    BOOST_TEST(w.client
                   .post_json("/api/v1/orders/" + std::to_string(live.id) + "/cancel",
                              json::object(), live.customer)
                   .status == 200);
    auto e = stream.next(5s);
    BOOST_TEST_REQUIRE(e.has_value());
    BOOST_TEST(e->id == "2");
  }
}

BOOST_AUTO_TEST_CASE(streams_are_only_for_those_who_may_see_the_order) {
  orders_world w;
  auto o = place_one(w);
  auto [name, stranger] = w.customer();
  sse_stream hidden("127.0.0.1", w.server.port(), events_path(o.id), stranger);
  BOOST_TEST(hidden.status() == 404);
  sse_stream anonymous("127.0.0.1", w.server.port(), events_path(o.id));
  BOOST_TEST(anonymous.status() == 401);
  sse_stream unknown("127.0.0.1", w.server.port(), events_path(987654), o.customer);
  BOOST_TEST(unknown.status() == 404);
  header_map bad = o.customer;
  bad["Last-Event-ID"] = "abc";
  sse_stream malformed("127.0.0.1", w.server.port(), events_path(o.id), bad);
  BOOST_TEST(malformed.status() == 400);
  // Staff may watch any order.
  sse_stream staff("127.0.0.1", w.server.port(), events_path(o.id), w.staff);
  BOOST_TEST(staff.status() == 200);
  BOOST_TEST(staff.next(5s).has_value());
}

BOOST_AUTO_TEST_CASE(idle_streams_get_keepalives_and_outlive_the_request_timeout) {
  // Pistache closes a connection whose request is older than the header timeout (here 3 s)
  // with a 408; keepalives every second must keep the stream open well past that.
  orders_world w(settings{{"WASSALLY_SSE_KEEPALIVE_S", "1"}, {"WASSALLY_HEADER_TIMEOUT_S", "3"}});
  auto o = place_one(w);
  sse_stream stream("127.0.0.1", w.server.port(), events_path(o.id), o.customer);
  BOOST_TEST_REQUIRE(stream.next(5s).has_value());
  BOOST_TEST(!stream.next(8s).has_value());  // 8 s of nothing but comments
  BOOST_TEST(!stream.closed());
  BOOST_TEST(stream.last_comment() == ": keepalive");
  BOOST_TEST(w.client
                 .post_json("/api/v1/orders/" + std::to_string(o.id) + "/cancel", json::object(),
                            o.customer)
                 .status == 200);
  auto e = stream.next(5s);
  BOOST_TEST_REQUIRE(e.has_value());
  BOOST_TEST(json::parse(e->data)["status"] == "cancelled");
}

// Event bytes are written only to the connection they were meant for: streams whose clients
// just left get an event while new connections (which may reuse their descriptor numbers) are
// being served. A chunk of an order's events on a plain connection would be another user's data
// (and breaks its framing: "bad status line").
BOOST_AUTO_TEST_CASE(events_of_closed_streams_never_reach_other_connections) {
  orders_world w;
  int garbled = 0, served = 0;
  for (int round = 0; round < 5; ++round) {
    auto o = place_one(w);
    {
      std::vector<std::unique_ptr<sse_stream>> streams;
      for (int i = 0; i < 60; ++i) {
        streams.push_back(std::make_unique<sse_stream>("127.0.0.1", w.server.port(),
                                                       events_path(o.id), o.customer));
        BOOST_TEST_REQUIRE(streams.back()->status() == 200);
      }
      for (auto& st : streams) BOOST_TEST_REQUIRE(st->next(5s).has_value());
    }  // every client leaves at once
    std::atomic<bool> go{false}, stop{false};
    std::vector<std::thread> clients;
    std::mutex m;
    for (int i = 0; i < 30; ++i)
      clients.emplace_back([&] {
        auto c = w.server.client();
        while (!go.load()) std::this_thread::yield();
        while (!stop.load()) {
          try {
            auto r = c.get("/health");
            std::lock_guard<std::mutex> lock(m);
            if (r.status == 200 && r.body.find("event:") == std::string::npos)
              ++served;
            else
              ++garbled;
          } catch (const std::exception& e) {
            std::lock_guard<std::mutex> lock(m);
            ++garbled;
            BOOST_TEST_MESSAGE("plain connection: " << e.what());
            return;
          }
        }
      });
    go = true;
    auto r = w.client.post_json("/api/v1/orders/" + std::to_string(o.id) + "/cancel",
                                json::object(), o.customer);
    BOOST_TEST(r.status == 200, r.body);
    std::this_thread::sleep_for(300ms);
    stop = true;
    for (auto& t : clients) t.join();
  }
  BOOST_TEST(garbled == 0);
  BOOST_TEST(served > 0);
}

BOOST_AUTO_TEST_CASE(many_streams_on_one_order_all_hear_the_change) {
  orders_world w;
  auto o = place_one(w);
  std::vector<std::unique_ptr<sse_stream>> streams;
  for (int i = 0; i < 200; ++i) {
    streams.push_back(
        std::make_unique<sse_stream>("127.0.0.1", w.server.port(), events_path(o.id), o.customer));
    BOOST_TEST_REQUIRE(streams.back()->status() == 200);
  }
  for (auto& s : streams) BOOST_TEST_REQUIRE(s->next(5s).has_value());
  auto metrics = w.client.get("/metrics").body;
  BOOST_TEST(metrics.find("\nwassally_sse_streams_open 200\n") != std::string::npos, metrics);
  // The server still answers ordinary requests while they are open.
  BOOST_TEST(w.client.get("/api/v1/orders/" + std::to_string(o.id), o.customer).status == 200);
  BOOST_TEST(w.client
                 .post_json("/api/v1/orders/" + std::to_string(o.id) + "/cancel", json::object(),
                            o.customer)
                 .status == 200);
  int heard = 0;
  for (auto& s : streams) {
    auto e = s->next(5s);
    if (e && json::parse(e->data)["status"] == "cancelled") ++heard;
  }
  BOOST_TEST(heard == 200);
}

BOOST_AUTO_TEST_SUITE_END()
