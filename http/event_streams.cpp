#include "http/event_streams.hpp"

#include <pistache/http.h>
#include <pistache/peer.h>
#include <pistache/transport.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "actors/order_rules.hpp"
#include "protocols/crews.hpp"
#include "protocols/orders.hpp"
#include "protocols/registry.hpp"

namespace wassally::http {
namespace {

using tick_atom = caf::atom_constant<caf::atom("sse_tick")>;

/// Bytes of a stream waiting for its connection's reactor thread, which alone writes them.
struct outbox {
  std::mutex m;
  std::string bytes;
  bool scheduled = false;  // a flush is armed on the reactor
};

struct stream {
  std::weak_ptr<Pistache::Tcp::Peer> peer;
  // Set on the reactor thread when the connection goes (http::connection_closed_flag); checked
  // there before every write.
  std::shared_ptr<std::atomic<bool>> closed;
  std::shared_ptr<outbox> box = std::make_shared<outbox>();
  Pistache::Tcp::Transport* transport = nullptr;
  std::thread::id reactor;
  int64_t order_id = 0;
  int64_t last_seq = 0;
  bool ready = false;                 // headers and first events written
  std::vector<order_event> buffered;  // events that arrived before it was ready
};

struct hub_state {
  caf::actor registry;
  std::chrono::milliseconds timeout{5000};
  std::chrono::seconds keepalive{15};
  uint64_t next_id = 1;
  std::map<uint64_t, stream> streams;
  std::map<int64_t, std::set<uint64_t>> by_order;
  std::set<uint64_t> staff;  // streams of every order and crew change
  static inline const char* name = "event_streams";
};

using self_ptr = caf::stateful_actor<hub_state>*;

std::string chunk(const std::string& data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

std::string event_text(const order_event& e) {
  nlohmann::json data = {{"status", e.status},
                         {"at", e.at},
                         {"crew_id", e.crew_id ? nlohmann::json(e.crew_id) : nlohmann::json()}};
  return "id: " + std::to_string(e.seq) + "\nevent: status\ndata: " + data.dump() + "\n\n";
}

/// Resets Pistache's per-request clock of the connection, on its reactor thread: a one-shot
/// timer armed through the transport fires there 1 ms later and its continuation (attached long
/// before) runs there. Should the continuation run here instead (the timer fired before it was
/// attached), it tries again, a few times.
void refresh_request_clock(std::weak_ptr<Pistache::Tcp::Peer> weak,
                           Pistache::Tcp::Transport* transport, std::thread::id reactor,
                           int attempts = 3) {
  if (!transport || attempts <= 0 || weak.expired()) return;
  int timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer < 0) return;
  Pistache::Async::Promise<uint64_t> fired([&](Pistache::Async::Deferred<uint64_t> deferred) {
    transport->armTimer(timer, std::chrono::milliseconds(1), std::move(deferred));
  });
  fired.then(
      [=](uint64_t) {
        ::close(timer);
        if (std::this_thread::get_id() != reactor) {
          refresh_request_clock(weak, transport, reactor, attempts - 1);
          return;
        }
        if (auto peer = weak.lock())
          if (auto parser = Pistache::Http::Handler::getParser(peer)) parser->reset();
      },
      [timer](std::exception_ptr) { ::close(timer); });
}

/// Sends what waits in `box` from the connection's reactor thread (a one-shot timer armed through
/// its transport fires there), unless the connection closed first. Pistache queues writes by file
/// descriptor: a write queued from here could land after the connection closed and its number was
/// given to a new connection — another client would read this stream's events. On the reactor
/// thread, which also handles the disconnection, the check and the write cannot be separated.
void flush_on_reactor(std::weak_ptr<Pistache::Tcp::Peer> weak,
                      std::shared_ptr<std::atomic<bool>> closed, std::shared_ptr<outbox> box,
                      Pistache::Tcp::Transport* transport, std::thread::id reactor,
                      int attempts = 3) {
  auto take = [box] {
    std::lock_guard<std::mutex> lock(box->m);
    box->scheduled = false;
    std::string bytes;
    bytes.swap(box->bytes);
    return bytes;
  };
  int timer = attempts > 0 ? ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC) : -1;
  if (timer < 0) {
    take();  // no way to reach the reactor: the bytes are dropped with the stream
    return;
  }
  Pistache::Async::Promise<uint64_t> fired([&](Pistache::Async::Deferred<uint64_t> deferred) {
    transport->armTimer(timer, std::chrono::milliseconds(1), std::move(deferred));
  });
  fired.then(
      [=](uint64_t) {
        ::close(timer);
        if (std::this_thread::get_id() != reactor) {
          flush_on_reactor(weak, closed, box, transport, reactor, attempts - 1);
          return;
        }
        auto bytes = take();
        if (bytes.empty() || (closed && closed->load())) return;
        if (auto peer = weak.lock()) peer->send(Pistache::RawBuffer(bytes, bytes.size()));
      },
      [=](std::exception_ptr) {
        ::close(timer);
        take();
      });
}

/// Queues bytes for the connection's reactor thread (see flush_on_reactor); false when the
/// client is gone. With `refresh_clock`, Pistache's request clock restarts too.
bool write(stream& s, const std::string& bytes, bool refresh_clock = false) {
  if (s.peer.expired() || (s.closed && s.closed->load()) || !s.transport) return false;
  bool arm = false;
  {
    std::lock_guard<std::mutex> lock(s.box->m);
    s.box->bytes += bytes;
    arm = !s.box->scheduled;
    s.box->scheduled = true;
  }
  if (arm) flush_on_reactor(s.peer, s.closed, s.box, s.transport, s.reactor);
  if (refresh_clock) refresh_request_clock(s.peer, s.transport, s.reactor);
  return true;
}

void drop(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto it = st.streams.find(id);
  if (it == st.streams.end()) return;
  auto order = it->second.order_id;
  st.streams.erase(it);
  st.staff.erase(id);
  auto o = st.by_order.find(order);
  if (o != st.by_order.end()) {
    o->second.erase(id);
    if (o->second.empty()) st.by_order.erase(o);
  }
}

/// Writes `e` if it is news to the stream; ends the stream after a final status. Returns false
/// when the stream is over.
bool deliver(self_ptr self, uint64_t id, stream& s, const order_event& e) {
  if (e.seq <= s.last_seq) return true;
  s.last_seq = e.seq;
  if (!write(s, chunk(event_text(e)))) {
    drop(self, id);
    return false;
  }
  if (order_rules::is_final(e.status)) {
    if (auto p = s.peer.lock()) p->setIdle(true);  // the connection may serve requests again
    write(s, "0\r\n\r\n");
    drop(self, id);
    return false;
  }
  return true;
}

void start_stream(self_ptr self, uint64_t id, const open_order_stream& req, order_watch& w) {
  auto& st = self->state;
  auto it = st.streams.find(id);
  if (it == st.streams.end()) return;
  auto peer = req.out->take_stream(200);
  if (!peer) {
    drop(self, id);
    return;
  }
  auto& s = it->second;
  s.peer = peer;
  s.closed = connection_closed_flag(peer);
  s.reactor = req.out->reactor_thread();
  s.transport = req.out->transport();
  s.last_seq = req.after_seq;
  write(s,
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        "Connection: keep-alive\r\nX-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n\r\n" +
            chunk(": stream of order " + std::to_string(req.order_id) + "\n\n"),
        true);
  s.ready = true;
  auto pending = std::move(s.buffered);
  for (auto& e : w.events)
    if (!deliver(self, id, s, e)) return;
  for (auto& e : pending)
    if (!deliver(self, id, s, e)) return;
  if (w.final) {
    // A final order with nothing new since Last-Event-ID: just end.
    if (auto p = s.peer.lock()) p->setIdle(true);
    write(s, "0\r\n\r\n");
    drop(self, id);
  }
}

/// Writes an SSE event to every staff stream.
void to_staff(self_ptr self, const std::string& text) {
  auto& st = self->state;
  std::vector<uint64_t> gone;
  for (auto id : st.staff) {
    auto it = st.streams.find(id);
    if (it == st.streams.end() || !write(it->second, chunk(text))) gone.push_back(id);
  }
  for (auto id : gone) drop(self, id);
}

void for_each_order_stream(self_ptr self, const order_status_changed& change) {
  auto& st = self->state;
  auto o = st.by_order.find(change.order_id);
  if (o == st.by_order.end()) return;
  auto ids = o->second;
  for (auto id : ids) {
    auto it = st.streams.find(id);
    if (it == st.streams.end()) continue;
    if (!it->second.ready)
      it->second.buffered.push_back(change.event);
    else
      deliver(self, id, it->second, change.event);
  }
}

}  // namespace

namespace {
const char* const closed_flag_key = "wassally.closed";
}

void mark_connection_open(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  peer->putData(closed_flag_key, std::make_shared<std::atomic<bool>>(false));
}

void mark_connection_closed(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  if (auto flag = connection_closed_flag(peer)) flag->store(true);
}

std::shared_ptr<std::atomic<bool>> connection_closed_flag(
    const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  return std::static_pointer_cast<std::atomic<bool>>(peer->tryGetData(closed_flag_key));
}

caf::actor spawn_event_streams(caf::actor_system& sys, caf::actor event_bus, caf::actor registry,
                               std::chrono::milliseconds timeout, std::chrono::seconds keepalive) {
  return sys.spawn([=](self_ptr self) -> caf::behavior {
    auto& st = self->state;
    st.registry = registry;
    st.timeout = timeout;
    st.keepalive = keepalive;
    self->send(event_bus, subscribe_atom::value, std::string("order_status"));
    self->send(event_bus, subscribe_atom::value, std::string("crew_status"));
    self->delayed_send(self, keepalive, tick_atom::value);
    return {
        [=](open_order_stream& req) {
          auto& st = self->state;
          auto id = st.next_id++;
          // Registered before asking the order, so no change committed meanwhile is missed:
          // it is buffered, and duplicates are dropped by sequence number.
          auto& s = st.streams[id];
          s.order_id = req.order_id;
          st.by_order[req.order_id].insert(id);
          self->request(st.registry, st.timeout, entity_key{"order", req.order_id},
                        caf::make_message(watch_order{req.who, req.after_seq, req.resume}))
              .then([self, id, req](order_watch& w) { start_stream(self, id, req, w); },
                    [self, id, req](caf::error& e) {
                      drop(self, id);
                      req.out->error(from_caf_error(e));
                    });
        },
        [=](const order_status_changed& change) {
          for_each_order_stream(self, change);
          if (self->state.staff.empty()) return;
          auto& e = change.event;
          nlohmann::json data = {
              {"order_id", change.order_id},
              {"status", e.status},
              {"at", e.at},
              {"crew_id", e.crew_id ? nlohmann::json(e.crew_id) : nlohmann::json()}};
          to_staff(self, "event: order\ndata: " + data.dump() + "\n\n");
        },
        [=](const crew_changed& c) {
          if (self->state.staff.empty()) return;
          nlohmann::json data = {
              {"crew_id", c.crew_id},
              {"status", c.status},
              {"latitude", c.has_location ? nlohmann::json(c.latitude) : nlohmann::json()},
              {"longitude", c.has_location ? nlohmann::json(c.longitude) : nlohmann::json()},
              {"at", c.at}};
          to_staff(self, "event: crew\ndata: " + data.dump() + "\n\n");
        },
        [=](open_staff_stream& req) {
          auto& st = self->state;
          auto peer = req.out->take_stream(200);
          if (!peer) return;
          auto id = st.next_id++;
          auto& s = st.streams[id];
          s.peer = peer;
          s.closed = connection_closed_flag(peer);
          s.reactor = req.out->reactor_thread();
          s.transport = req.out->transport();
          s.ready = true;
          st.staff.insert(id);
          write(s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                "Connection: keep-alive\r\nX-Accel-Buffering: no\r\nTransfer-Encoding: "
                "chunked\r\n\r\n" +
                    chunk(": staff stream of order and crew changes\n\n"),
                true);
        },
        [=](tick_atom) {
          auto& st = self->state;
          std::vector<uint64_t> gone;
          for (auto& [id, s] : st.streams)
            if (s.ready && !write(s, chunk(": keepalive\n\n"), true)) gone.push_back(id);
          for (auto id : gone) drop(self, id);
          self->delayed_send(self, st.keepalive, tick_atom::value);
        },
        [=](stats_atom) { return static_cast<int64_t>(self->state.streams.size()); },
    };
  });
}

}  // namespace wassally::http
