#pragma once
// Server-Sent Events for orders (API.md GET /orders/{id}/events).
//
// Pistache 0.0.5's ResponseStream::flush() drains the transport's write queue from the calling
// thread (Transport::flush → handleWriteQueue → asyncWriteImpl), racing the reactor that owns
// the connection: that is the "could not find write data" assertion. So streams never use
// ResponseStream. A stream's bytes wait in its outbox and are sent with Tcp::Peer::send from
// the reactor thread that owns the connection, reached through a one-shot timer armed on its
// transport (the continuation is attached before arming, so it runs there), and only while the
// connection's closed flag (set on disconnection, or when a new connection takes its descriptor)
// is clear. Pistache also closes any connection whose request is not answered within its header
// timeout (counted from when the request was parsed; a 408 is written into the stream), which
// would end every idle stream: with each keepalive the same flush restarts that clock the way
// the reactor does after a normal response (Http::Handler::getParser(peer)->reset()). One hub
// actor holds every stream, so an open stream costs a map entry, not a thread.
//
// A residual risk this cannot remove from outside Pistache: Peer::send enqueues by fd number
// even on the reactor thread. Should the connection close and a new one take its descriptor
// within the same reactor iteration, between that enqueue and the drain, the bytes would reach
// the new connection. The same window exists for every asynchronous Pistache response.

#include <atomic>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

#include "http/responder.hpp"
#include "protocols/shops.hpp"

namespace wassally::http {

/// To the hub: stream order `order_id` to the exchange `out` (after `after_seq` when resuming
/// with Last-Event-ID).
struct open_order_stream {
  responder_ptr out;
  int64_t order_id = 0;
  caller who;
  int64_t after_seq = 0;
  bool resume = false;
};

/// To the hub: stream a crew's offers, withdrawn offers, staff assignments and cancellations of
/// its orders (API.md GET /crew/events), its open offer first.
struct open_crew_stream {
  responder_ptr out;
  int64_t crew_id = 0;
};

/// To the hub: stream every order status change and crew change to staff (`out`).
struct open_staff_stream {
  responder_ptr out;
};

/// The hub: subscribes to the event bus topics "order_status" and "crew_status", asks order actors
/// (through the registry) for the events a new stream starts with, writes events and keepalives,
/// ends a stream after a final status. `stats_atom` → int64_t open streams.
/// A crew stream starts with the crew's open offer, asked of the crew (through the registry: the
/// dispatcher of the node serving the crew made it, CLUSTER.md "Dispatch").
caf::actor spawn_event_streams(caf::actor_system& sys, caf::actor event_bus, caf::actor registry,
                               std::chrono::milliseconds timeout, std::chrono::seconds keepalive);

/// A connection's "closed" flag, made when Pistache accepts it and set when Pistache lets it go
/// (both on its reactor thread, from the edge's handler): event streams write only from that
/// thread and only while it is not set.
void mark_connection_open(const std::shared_ptr<Pistache::Tcp::Peer>& peer);
void mark_connection_closed(const std::shared_ptr<Pistache::Tcp::Peer>& peer);
std::shared_ptr<std::atomic<bool>> connection_closed_flag(
    const std::shared_ptr<Pistache::Tcp::Peer>& peer);

}  // namespace wassally::http

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wassally::http::open_order_stream)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wassally::http::open_staff_stream)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wassally::http::open_crew_stream)
