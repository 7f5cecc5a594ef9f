#include "http/event_streams.hpp"

#include <pistache/http.h>
#include <pistache/peer.h>
#include <pistache/transport.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "actors/order_rules.hpp"
#include "http/offer_json.hpp"
#include "http/order_json.hpp"
#include "protocols/crews.hpp"
#include "protocols/dispatch.hpp"
#include "protocols/entity_interfaces.hpp"
#include "protocols/events.hpp"
#include "protocols/orders.hpp"
#include "protocols/registry.hpp"

namespace wassally::http {
namespace {

/// The head of an event stream's response, with the exchange's own headers (CORS).
std::string stream_head(const responder& out) {
  std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
      "Connection: keep-alive\r\nX-Accel-Buffering: no\r\nTransfer-Encoding: chunked\r\n";
  for (auto& [name, value] : out.extra_headers()) head += name + ": " + value + "\r\n";
  return head + "\r\n";
}

using tick_atom = caf::atom_constant<caf::atom("sse_tick")>;

/// Bytes of a stream waiting for its connection's reactor thread, which alone writes them.
struct outbox {
  std::mutex m;
  std::string bytes;
  bool scheduled = false;      // a flush is on its way to the reactor
  bool refresh_clock = false;  // restart Pistache's request clock with it
};

/// Everything a flush needs, captured by the reactor-side continuation.
struct flush_target {
  std::weak_ptr<Pistache::Tcp::Peer> peer;
  std::shared_ptr<std::atomic<bool>> closed;
  std::shared_ptr<outbox> box;
  Pistache::Tcp::Transport* transport = nullptr;
  caf::actor hub;  // asked to try again later when the reactor cannot be reached now
};

/// A flush waiting for another try (see flush_on_reactor), sent to the hub as a delayed message:
/// it carries all it needs, so it still reaches a stream the hub has already let go of (its
/// final bytes included).
struct flush_retry {
  flush_target target;
};

}  // namespace
}  // namespace wassally::http

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wassally::http::flush_retry)

namespace wassally::http {
namespace {

struct stream {
  std::weak_ptr<Pistache::Tcp::Peer> peer;
  // Set on the reactor thread when the connection goes (http::connection_closed_flag); checked
  // there before every write.
  std::shared_ptr<std::atomic<bool>> closed;
  std::shared_ptr<outbox> box = std::make_shared<outbox>();
  Pistache::Tcp::Transport* transport = nullptr;
  int64_t order_id = 0;
  int64_t last_seq = 0;
  bool sees_crew_location = false;    // the watcher gets event: crew_location
  bool ready = false;                 // headers and first events written
  std::vector<order_event> buffered;  // events that arrived before it was ready
  // A crew's stream (GET /crew/events): the crew, the id of its next event, and its events
  // that arrived before it was ready (name, data).
  int64_t crew_id = 0;
  int64_t next_event_id = 1;
  std::vector<std::pair<std::string, nlohmann::json>> crew_buffered;
};

struct hub_state {
  caf::actor registry;
  std::chrono::milliseconds timeout{5000};
  std::chrono::seconds keepalive{15};
  uint64_t next_id = 1;
  std::map<uint64_t, stream> streams;
  std::map<int64_t, std::set<uint64_t>> by_order;
  std::set<uint64_t> staff;  // streams of every order and crew change
  std::map<int64_t, std::set<uint64_t>> by_crew;
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

/// Where the crew is: no id (not a status event, not replayed; the next one comes within
/// crew_location_event_s while the crew moves).
std::string crew_location_text(const crew_position& p) {
  return "event: crew_location\ndata: " + crew_location_json(p).dump() + "\n\n";
}

/// The order's eta (ISO, or null): no id either (API.md "Dispatch"; every watcher gets it).
std::string eta_text(const std::string& eta) {
  return "event: eta\ndata: " + nlohmann::json({{"eta", eta_json(eta)}}).dump() + "\n\n";
}

flush_target target_of(self_ptr self, const stream& s) {
  return {s.peer, s.closed, s.box, s.transport, caf::actor_cast<caf::actor>(self)};
}

/// Sends what waits in the box from the connection's reactor thread (a one-shot timer armed
/// through its transport fires there), unless the connection closed first; with
/// `box->refresh_clock`, Pistache's per-request clock of the connection restarts there too.
/// Pistache queues writes by file descriptor: a write queued from another thread could land
/// after the connection closed and its number was given to a new connection — another client
/// would read this stream's events. On the reactor thread, which also handles the disconnection,
/// the check and the write cannot be separated. One timer at a time per stream. The continuation
/// is attached before the timer is armed, so it always runs on the reactor. If no timer can be
/// made now (no descriptor left: 10,000 streams are 10,000 sockets), the bytes stay queued and
/// the hub tries again shortly: they are never dropped while the connection lives, so a stream
/// cannot show a keepalive before its headers.
void flush_on_reactor(flush_target t) {
  auto later = [t] {
    caf::delayed_anon_send(t.hub, std::chrono::milliseconds(20), flush_retry{t});
  };
  if (!t.transport || t.peer.expired()) return;
  int timer = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer < 0) return later();
  Pistache::Async::Deferred<uint64_t> arm;
  Pistache::Async::Promise<uint64_t> fired(
      [&](Pistache::Async::Deferred<uint64_t> deferred) { arm = std::move(deferred); });
  fired.then(
      [=](uint64_t) {
        ::close(timer);
        std::string bytes;
        bool refresh = false;
        {
          std::lock_guard<std::mutex> lock(t.box->m);
          t.box->scheduled = false;
          bytes.swap(t.box->bytes);
          std::swap(refresh, t.box->refresh_clock);
        }
        if (t.closed && t.closed->load()) return;
        auto peer = t.peer.lock();
        if (!peer) return;
        if (!bytes.empty()) peer->send(Pistache::RawBuffer(bytes, bytes.size()));
        if (refresh)
          if (auto parser = Pistache::Http::Handler::getParser(peer)) parser->reset();
      },
      [=](std::exception_ptr) {
        ::close(timer);
        later();
      });
  t.transport->armTimer(timer, std::chrono::milliseconds(1), std::move(arm));
}

/// Queues bytes for the connection's reactor thread (see flush_on_reactor); false when the
/// client is gone. With `refresh_clock`, Pistache's request clock restarts too.
bool write(self_ptr self, stream& s, const std::string& bytes, bool refresh_clock = false) {
  if (s.peer.expired() || (s.closed && s.closed->load()) || !s.transport) return false;
  bool arm = false;
  {
    std::lock_guard<std::mutex> lock(s.box->m);
    s.box->bytes += bytes;
    s.box->refresh_clock = s.box->refresh_clock || refresh_clock;
    arm = !s.box->scheduled;
    s.box->scheduled = true;
  }
  if (arm) flush_on_reactor(target_of(self, s));
  return true;
}

void drop(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto it = st.streams.find(id);
  if (it == st.streams.end()) return;
  auto order = it->second.order_id;
  auto crew = it->second.crew_id;
  st.streams.erase(it);
  st.staff.erase(id);
  if (crew) {
    auto c = st.by_crew.find(crew);
    if (c != st.by_crew.end()) {
      c->second.erase(id);
      if (c->second.empty()) st.by_crew.erase(c);
    }
    return;
  }
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
  if (!write(self, s, chunk(event_text(e)))) {
    drop(self, id);
    return false;
  }
  if (order_status::is_final(e.status)) {
    if (auto p = s.peer.lock()) p->setIdle(true);  // the connection may serve requests again
    write(self, s, "0\r\n\r\n");
    drop(self, id);
    return false;
  }
  return true;
}

/// The registered stream `id` takes over its exchange's connection and writes the response head
/// with `comment`: the stream, or null when it is gone (dropped, or the client left meanwhile).
stream* attach(self_ptr self, uint64_t id, responder& out, const std::string& comment) {
  auto& st = self->state;
  auto it = st.streams.find(id);
  if (it == st.streams.end()) return nullptr;
  auto peer = out.take_stream(200);
  if (!peer) {
    drop(self, id);
    return nullptr;
  }
  auto& s = it->second;
  s.peer = peer;
  s.closed = connection_closed_flag(peer);
  s.transport = out.transport();
  write(self, s, stream_head(out) + chunk(": " + comment + "\n\n"), true);
  return &s;
}

void start_stream(self_ptr self, uint64_t id, const open_order_stream& req, order_watch& w) {
  auto* found = attach(self, id, *req.out, "stream of order " + std::to_string(req.order_id));
  if (!found) return;
  auto& s = *found;
  s.last_seq = req.after_seq;
  s.sees_crew_location = w.sees_crew_location;
  s.ready = true;
  auto pending = std::move(s.buffered);
  for (auto& e : w.events)
    if (!deliver(self, id, s, e)) return;
  for (auto& e : pending)
    if (!deliver(self, id, s, e)) return;
  if (s.sees_crew_location && w.crew_location.known && !w.final)
    write(self, s, chunk(crew_location_text(w.crew_location)));
  if (!w.eta.empty() && !w.final) write(self, s, chunk(eta_text(w.eta)));
  if (w.final) {
    // A final order with nothing new since Last-Event-ID: just end.
    if (auto p = s.peer.lock()) p->setIdle(true);
    write(self, s, "0\r\n\r\n");
    drop(self, id);
  }
}

/// Writes an event to a crew's stream, with the stream's next id (ids are per stream and only
/// say the order: API.md "Dispatch").
bool crew_event(self_ptr self, uint64_t id, stream& s, const std::string& name,
                const nlohmann::json& data) {
  auto text = "id: " + std::to_string(s.next_event_id++) + "\nevent: " + name +
              "\ndata: " + data.dump() + "\n\n";
  if (write(self, s, chunk(text))) return true;
  drop(self, id);
  return false;
}

/// An event for every stream of crew `crew_id` (kept until a stream not yet started is ready).
void to_crew(self_ptr self, int64_t crew_id, const std::string& name, const nlohmann::json& data) {
  auto& st = self->state;
  auto c = st.by_crew.find(crew_id);
  if (c == st.by_crew.end()) return;
  for (auto id : std::set<uint64_t>(c->second)) {
    auto it = st.streams.find(id);
    if (it == st.streams.end()) continue;
    if (!it->second.ready)
      it->second.crew_buffered.emplace_back(name, data);
    else
      crew_event(self, id, it->second, name, data);
  }
}

/// A crew's stream starts: its open offer first, then what came meanwhile (less that same offer).
void start_crew_stream(self_ptr self, uint64_t id, const open_crew_stream& req,
                       const open_offer& offer) {
  auto& st = self->state;
  auto* found =
      attach(self, id, *req.out, "offers and orders of crew " + std::to_string(req.crew_id));
  if (!found) return;
  auto& s = *found;
  s.ready = true;
  auto pending = std::move(s.crew_buffered);
  if (offer.open && !crew_event(self, id, s, "offer", offer_json(offer.offer))) return;
  for (auto& [name, data] : pending) {
    if (offer.open && name == "offer" && data.value("order_id", int64_t{0}) == offer.offer.order_id)
      continue;  // the open offer, sent above
    auto again = st.streams.find(id);
    if (again == st.streams.end() || !crew_event(self, id, again->second, name, data)) return;
  }
}

/// What an order's status change means to its crews' streams: an assignment by someone else
/// (staff), the order taken away from the crew that held it (reassigned), or a cancellation.
void crew_notices(self_ptr self, const order_status_changed& change) {
  auto& e = change.event;
  if (!e.crew_id || self->state.by_crew.empty()) return;
  if (e.status == order_status::assigned && change.from_crew_id && change.from_crew_id != e.crew_id)
    to_crew(self, change.from_crew_id, "order_reassigned",
            {{"order_id", change.order_id}, {"crew_id", e.crew_id}, {"by_user_id", e.by_user_id}});
  if (e.status == order_status::assigned && e.by_user_id != e.crew_id)
    to_crew(self, e.crew_id, "assigned",
            {{"order_id", change.order_id}, {"by_user_id", e.by_user_id}});
  else if (e.status == order_status::cancelled)
    to_crew(self, e.crew_id, "order_cancelled",
            {{"order_id", change.order_id}, {"reason", e.cancel_reason}});
}

/// Writes an SSE event to every staff stream.
void to_staff(self_ptr self, const std::string& text) {
  auto& st = self->state;
  std::vector<uint64_t> gone;
  for (auto id : st.staff) {
    auto it = st.streams.find(id);
    if (it == st.streams.end() || !write(self, it->second, chunk(text))) gone.push_back(id);
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

/// The open flag of the connection that last had each descriptor. Pistache closes timed-out
/// and idle connections without calling onDisconnection; a new connection on the same number
/// proves the old one gone, so its flag is set here (on the reactor thread that owns that
/// descriptor, the one that also flushes the old connection's streams).
std::mutex descriptor_flags_mutex;
std::unordered_map<int, std::weak_ptr<std::atomic<bool>>> descriptor_flags;
}  // namespace

void mark_connection_open(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  auto flag = std::make_shared<std::atomic<bool>>(false);
  peer->putData(closed_flag_key, flag);
  std::lock_guard<std::mutex> lock(descriptor_flags_mutex);
  auto& slot = descriptor_flags[peer->fd()];
  if (auto previous = slot.lock()) previous->store(true);
  slot = flag;
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
    subscribe<crew_offer_event>(self, event_bus);
    st.timeout = timeout;
    st.keepalive = keepalive;
    subscribe<order_status_changed>(self, event_bus);
    subscribe<crew_changed>(self, event_bus);
    subscribe<order_crew_location>(self, event_bus);
    subscribe<order_eta_changed>(self, event_bus);  // the same topic: subscribed once
    subscribe<order_unattended>(self, event_bus);
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
          ask_entity(self, order_ref(st.registry, req.order_id), st.timeout,
                     watch_order{req.who, req.after_seq, req.resume})
              .then([self, id, req](order_watch& w) { start_stream(self, id, req, w); },
                    [self, id, req](caf::error& e) {
                      drop(self, id);
                      req.out->error(from_caf_error(e));
                    });
        },
        [=](open_crew_stream& req) {
          auto& st = self->state;
          auto id = st.next_id++;
          // Registered before asking for the open offer, so no offer made meanwhile is missed.
          auto& s = st.streams[id];
          s.crew_id = req.crew_id;
          st.by_crew[req.crew_id].insert(id);
          ask_entity(self, crew_ref(st.registry, req.crew_id), st.timeout,
                     get_crew_offer{req.crew_id})
              .then([self, id, req](open_offer& o) { start_crew_stream(self, id, req, o); },
                    [self, id, req](caf::error& e) {
                      drop(self, id);
                      req.out->error(from_caf_error(e));
                    });
        },
        [=](const crew_offer_event& ev) {
          if (ev.offered)
            to_crew(self, ev.crew_id, "offer", offer_json(ev.offer));
          else if (ev.reason != offer_end::declined)  // the crew itself declined it
            to_crew(self, ev.crew_id, "offer_withdrawn",
                    {{"order_id", ev.order_id}, {"reason", ev.reason}});
          // Staff see every offer made and ended (an extension of API.md's staff stream).
          if (self->state.staff.empty()) return;
          nlohmann::json data = {{"order_id", ev.order_id}, {"crew_id", ev.crew_id}};
          if (ev.offered) {
            data["expires_at"] = ev.offer.expires_at;
            data["distance_km"] = ev.offer.distance_km;
          } else {
            data["reason"] = ev.reason;
          }
          to_staff(self, std::string("event: ") + (ev.offered ? "offer" : "offer_withdrawn") +
                             "\ndata: " + data.dump() + "\n\n");
        },
        [=](const order_status_changed& change) {
          crew_notices(self, change);
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
        [=](const order_crew_location& m) {
          auto& st = self->state;
          auto o = st.by_order.find(m.order_id);
          if (o == st.by_order.end()) return;
          auto text = chunk(crew_location_text(m.position));
          for (auto id : std::set<uint64_t>(o->second)) {
            auto it = st.streams.find(id);
            // A stream not yet started sends the position it gets from the order itself.
            if (it == st.streams.end() || !it->second.ready || !it->second.sees_crew_location)
              continue;
            if (!write(self, it->second, text)) drop(self, id);
          }
        },
        [=](const order_eta_changed& m) {
          auto& st = self->state;
          auto o = st.by_order.find(m.order_id);
          if (o == st.by_order.end()) return;
          auto text = chunk(eta_text(m.eta));
          for (auto id : std::set<uint64_t>(o->second)) {
            auto it = st.streams.find(id);
            // A stream not yet started sends the eta it gets from the order itself.
            if (it == st.streams.end() || !it->second.ready) continue;
            if (!write(self, it->second, text)) drop(self, id);
          }
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
        [=](const order_unattended& u) {
          if (self->state.staff.empty()) return;
          nlohmann::json data = {{"order_id", u.order_id}, {"pending_since", u.pending_since}};
          to_staff(self, "event: order_unattended\ndata: " + data.dump() + "\n\n");
        },
        [=](open_staff_stream& req) {
          auto& st = self->state;
          auto peer = req.out->take_stream(200);
          if (!peer) return;
          auto id = st.next_id++;
          auto& s = st.streams[id];
          s.peer = peer;
          s.closed = connection_closed_flag(peer);
          s.transport = req.out->transport();
          s.ready = true;
          st.staff.insert(id);
          write(self, s,
                stream_head(*req.out) +
                    chunk(": staff stream of order and crew changes and unattended orders\n\n"),
                true);
        },
        [=](tick_atom) {
          auto& st = self->state;
          std::vector<uint64_t> gone;
          for (auto& [id, s] : st.streams)
            if (s.ready && !write(self, s, chunk(": keepalive\n\n"), true)) gone.push_back(id);
          for (auto id : gone) drop(self, id);
          self->delayed_send(self, st.keepalive, tick_atom::value);
        },
        [=](const flush_retry& r) { flush_on_reactor(r.target); },
        [=](stats_atom) { return static_cast<int64_t>(self->state.streams.size()); },
    };
  });
}

}  // namespace wassally::http
