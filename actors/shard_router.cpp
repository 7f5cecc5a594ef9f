#include "actors/shard_router.hpp"

#include <nats/nats.h>

#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "protocols/errors.hpp"
#include "protocols/registry.hpp"

namespace wassally {
namespace {

// Messages from libnats' threads (anonymous sends: no CAF state is touched there).
using nats_message_atom = caf::atom_constant<caf::atom("nats_msg")>;
using nats_state_atom = caf::atom_constant<caf::atom("nats_state")>;
// The router's own: a forwarded request's budget ran out; an owner-side answer to publish.
using forward_timeout_atom = caf::atom_constant<caf::atom("fwd_tmo")>;
using forward_reply_atom = caf::atom_constant<caf::atom("fwd_reply")>;
using forward_retry_atom = caf::atom_constant<caf::atom("fwd_retry")>;
using close_check_atom = caf::atom_constant<caf::atom("close_chk")>;

/// How long a closing router waits at most for what it took to be answered.
constexpr std::chrono::seconds close_wait{3};

/// How long after "no responders" a forward is sent again: a shard is served by nobody while its
/// lease moves (0.15–0.6 s after a graceful stop, up to ttl + a round after a crash).
constexpr std::chrono::milliseconds no_responder_retry{50};
/// Where every node publishes its events, and every node listens.
constexpr const char* events_subject = "wassally.events";

/// A retry is sent only while this much of the budget would remain for the owner to answer.
constexpr std::chrono::milliseconds answer_margin{250};

/// What libnats' callbacks need: where to send what they get. Deliberately never freed: libnats
/// may still be inside a callback while the router ends, and one small object per process costs
/// nothing.
struct callback_target {
  caf::actor_addr router;
  void tell(caf::message msg) const {
    if (auto r = caf::actor_cast<caf::actor>(router)) caf::anon_send(r, std::move(msg));
  }
};

void on_nats_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* target = static_cast<callback_target*>(closure);
  std::string subject = natsMsg_GetSubject(msg);
  // Everything is copied out before the message is destroyed (its strings live in it).
  const char* reply_subject = natsMsg_GetReply(msg);
  std::string reply = reply_subject ? reply_subject : "";
  std::string data(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
  bool no_responders = natsMsg_IsNoResponders(msg);
  natsMsg_Destroy(msg);
  target->tell(caf::make_message(nats_message_atom::value, std::move(subject), std::move(reply),
                                 std::move(data), no_responders));
}

void on_connected(natsConnection*, void* closure) {
  static_cast<callback_target*>(closure)->tell(caf::make_message(nats_state_atom::value, true));
}

void on_disconnected(natsConnection*, void* closure) {
  static_cast<callback_target*>(closure)->tell(caf::make_message(nats_state_atom::value, false));
}

/// A forwarded request waiting for its owner's answer.
struct pending_forward {
  caf::response_promise promise;
  caf::error fallback;
  std::string subject;
  std::vector<char> data;
  std::chrono::steady_clock::time_point deadline;
  std::chrono::steady_clock::time_point sent;  // first sent
  int tries = 1;                               // sent this often
  std::string last;                            // what the last try got, for the log
};

struct router_state {
  shard_router_options opts;
  callback_target* target = nullptr;
  natsOptions* nats_opts = nullptr;
  natsConnection* nc = nullptr;
  natsSubscription* replies = nullptr;  // this process's reply subjects
  natsSubscription* events = nullptr;   // every node's events
  std::string origin;                   // names this process on the events it publishes
  std::map<int32_t, natsSubscription*> shard_subs;
  std::vector<natsSubscription*> draining_subs;  // shards no longer served, until drained
  std::string reply_prefix;                      // wassally.reply.<node>.<random>.
  bool connected = false;
  uint64_t next_id = 0;
  std::map<uint64_t, pending_forward> pending;
  int64_t serving = 0;  // requests of other nodes taken and not yet answered
  // Shutting down: no shard is listened on any more; closes once what it took is answered and
  // its subscriptions drained, or at `close_by`.
  bool closing = false;
  std::chrono::steady_clock::time_point close_by;
  static inline const char* name = "shard_router";
  ~router_state();
};

using self_ptr = caf::stateful_actor<router_state>*;

void bump(self_ptr self, int64_t cluster_snapshot::*field) {
  if (auto& s = self->state.opts.status) s->update([field](cluster_snapshot& c) { ++(c.*field); });
}

bool publish(self_ptr self, const std::string& subject, const char* reply,
             const std::vector<char>& data) {
  auto& st = self->state;
  auto size = static_cast<int>(data.size());
  auto s = reply ? natsConnection_PublishRequest(st.nc, subject.c_str(), reply, data.data(), size)
                 : natsConnection_Publish(st.nc, subject.c_str(), data.data(), size);
  if (s == NATS_OK) return true;
  std::cerr << "wassally: shard router: publish on " << subject
            << " failed: " << natsStatus_GetText(s) << "\n";
  return false;
}

std::vector<char> encode_reply(self_ptr self, const caf::error& err, caf::message reply) {
  std::vector<char> buf;
  caf::binary_serializer sink{self->system(), buf};
  auto version = forwarded_message_version;
  bool failed = static_cast<bool>(err);
  auto e = err;
  if (auto problem = sink(version, failed, e, reply)) {
    // The entity answered something that cannot cross nodes (a type not announced): say so.
    buf.clear();
    caf::binary_serializer again{self->system(), buf};
    failed = true;
    auto why = to_caf_error(errors::internal("the owner's answer cannot be forwarded: " +
                                             self->system().render(problem)));
    caf::message none;
    again(version, failed, why, none);
  }
  return buf;
}

/// A request another node forwarded here: to the registry, by a one-shot actor that takes the
/// first thing that comes back (the entity's answer or an error) and hands it over to publish.
void serve(self_ptr self, const std::string& reply_to, const std::string& data) {
  auto& st = self->state;
  uint16_t version = 0;
  bool inspect = false;
  entity_key key;
  int64_t budget_ms = 0;
  caf::message payload;
  caf::binary_deserializer source{self->system(), data.data(), data.size()};
  auto problem = source(version);
  if (!problem && version != forwarded_message_version) {
    if (!reply_to.empty())
      publish(self, reply_to, nullptr,
              encode_reply(self,
                           to_caf_error(errors::internal(
                               "a forwarded message of version " + std::to_string(version) +
                               " reached a node that reads version " +
                               std::to_string(forwarded_message_version))),
                           {}));
    return;
  }
  if (!problem) problem = source(inspect, key, budget_ms, payload);
  if (problem) {
    std::cerr << "wassally: shard router: unreadable forwarded message: "
              << self->system().render(problem) << "\n";
    if (!reply_to.empty())
      publish(
          self, reply_to, nullptr,
          encode_reply(self, to_caf_error(errors::internal("unreadable forwarded message")), {}));
    return;
  }
  bump(self, &cluster_snapshot::served_for_others);
  auto registry = st.opts.registry;
  if (reply_to.empty()) {  // a message without reply (a tell)
    if (!inspect) caf::anon_send(registry, forwarded_atom::value, key, std::move(payload));
    return;
  }
  auto router = caf::actor_cast<caf::actor>(self);
  auto budget = std::chrono::milliseconds(std::max<int64_t>(1, budget_ms));
  ++st.serving;
  self->system().spawn([=](caf::event_based_actor* one) {
    // Always answers the router (an empty reply subject: nothing to publish), which counts what
    // it serves: it does not close before everything it took is answered.
    auto send_back = [router, reply_to](caf::error err, caf::message reply, bool publish = true) {
      caf::anon_send(router, forward_reply_atom::value, publish ? reply_to : std::string{},
                     std::move(err), std::move(reply));
    };
    // The answer's type is not known here. CAF 0.17 hands a response no handler matches to the
    // error handler as `unexpected_response` with the response as its context: so one handler
    // for errors takes every answer, an empty one (a handler without result) included.
    auto on_answer = [send_back, key](caf::error& err) {
      bool system = err.category() == caf::atom("system");
      if (system && err.code() == static_cast<uint8_t>(caf::sec::unexpected_response))
        send_back(caf::error{}, err.context());
      else if (!(system && err.code() == static_cast<uint8_t>(caf::sec::request_timeout)))
        send_back(std::move(err), caf::message{});
      else {  // past the budget the requester has answered 504 already: nothing to send
        std::cerr << "wassally: shard router: a forwarded request for " << to_string(key.kind)
                  << " " << key.id << " was not answered here within its budget\n";
        send_back(caf::error{}, caf::message{}, false);
      }
    };
    if (inspect)
      one->request(registry, budget, forwarded_atom::value, inspect_atom::value, key)
          .then(on_answer);
    else
      one->request(registry, budget, forwarded_atom::value, key, payload).then(on_answer);
  });
}

/// The owner's answer to one of this node's forwards.
void answer(self_ptr self, uint64_t id, const std::string& data, bool no_responders) {
  auto& st = self->state;
  auto it = st.pending.find(id);
  if (it == st.pending.end()) return;  // answered by its timeout already
  auto p = std::move(it->second);
  st.pending.erase(it);
  // Nobody listens on the shard, or the node that did no longer serves it (not_owner): nothing
  // ran. Its lease is moving (or every node that could serve it is down): sent again shortly
  // while the budget allows, else answered not_owner (503, Retry-After: nothing was done).
  auto send_again = [&] {
    p.last = no_responders ? "no responders" : "not_owner";
    auto now = std::chrono::steady_clock::now();
    if (!st.connected || now + no_responder_retry + answer_margin >= p.deadline) return false;
    st.pending.emplace(id, std::move(p));
    self->delayed_send(self, no_responder_retry, forward_retry_atom::value, id);
    return true;
  };
  if (no_responders) {
    if (send_again()) return;
    std::cerr << "wassally: shard router: nobody served " << p.subject << " within "
              << st.opts.budget.count() << " ms (" << p.tries << " tries): not_owner\n";
    bump(self, &cluster_snapshot::forward_fallbacks);
    p.promise.deliver(std::move(p.fallback));
    return;
  }
  uint16_t version = 0;
  bool failed = false;
  caf::error err;
  caf::message reply;
  caf::binary_deserializer source{self->system(), data.data(), data.size()};
  auto problem = source(version);
  if (!problem && version != forwarded_message_version) {
    p.promise.deliver(to_caf_error(errors::internal(
        "the owner answered in version " + std::to_string(version) + " of forwarded messages")));
    return;
  }
  if (!problem) problem = source(failed, err, reply);
  if (problem) {
    p.promise.deliver(to_caf_error(errors::internal("unreadable answer from the owner")));
    return;
  }
  if (failed && from_caf_error(err).code == "not_owner" && send_again()) return;
  bump(self, &cluster_snapshot::forwarded);
  if (failed)
    p.promise.deliver(std::move(err));
  else
    p.promise.deliver(std::move(reply));
}

void forward(self_ptr self, caf::response_promise promise, const entity_key& key,
             caf::message payload, caf::error fallback, bool inspect, bool expects_reply) {
  auto& st = self->state;
  if (!st.nc || !st.connected) {  // never connected, or cut off now: nothing can be sent
    bump(self, &cluster_snapshot::forward_fallbacks);
    promise.deliver(std::move(fallback));
    return;
  }
  std::vector<char> buf;
  caf::binary_serializer sink{self->system(), buf};
  auto version = forwarded_message_version;
  auto k = key;
  int64_t budget_ms = st.opts.budget.count();
  if (auto problem = sink(version, inspect, k, budget_ms, payload)) {
    std::cerr << "wassally: shard router: cannot forward a message to " << to_string(key.kind)
              << " " << key.id << ": " << self->system().render(problem) << "\n";
    promise.deliver(to_caf_error(errors::internal("this request cannot be forwarded")));
    return;
  }
  auto subject = shard_subject(shard_of(key.id, st.opts.shards));
  if (!expects_reply) {
    publish(self, subject, nullptr, buf);
    return;
  }
  auto id = ++st.next_id;
  auto reply = st.reply_prefix + std::to_string(id);
  if (!publish(self, subject, reply.c_str(), buf)) {  // not sent: nothing ran
    bump(self, &cluster_snapshot::forward_fallbacks);
    promise.deliver(std::move(fallback));
    return;
  }
  auto now = std::chrono::steady_clock::now();
  st.pending.emplace(id, pending_forward{std::move(promise), std::move(fallback), subject,
                                         std::move(buf), now + st.opts.budget, now, 1, "sent"});
  self->delayed_send(self, st.opts.budget, forward_timeout_atom::value, id);
}

/// Sends a forward again that found nobody listening on its shard.
void retry(self_ptr self, uint64_t id) {
  auto& st = self->state;
  auto it = st.pending.find(id);
  if (it == st.pending.end()) return;
  if (!st.connected) {
    bump(self, &cluster_snapshot::forward_fallbacks);
    it->second.promise.deliver(std::move(it->second.fallback));
    st.pending.erase(it);
    return;
  }
  auto reply = st.reply_prefix + std::to_string(id);
  ++it->second.tries;
  publish(self, it->second.subject, reply.c_str(), it->second.data);
}

/// An event of this node's bus, for the other nodes (dropped while NATS is unreachable).
void publish_event(self_ptr self, topic t, const caf::message& event) {
  auto& st = self->state;
  if (!st.connected) return;
  std::vector<char> buf;
  caf::binary_serializer sink{self->system(), buf};
  auto version = forwarded_message_version;
  auto origin = st.origin;
  auto topic_number = static_cast<uint8_t>(t);
  auto e = event;
  if (auto problem = sink(version, origin, topic_number, e)) {
    std::cerr << "wassally: shard router: cannot relay an event: " << self->system().render(problem)
              << "\n";
    return;
  }
  if (publish(self, events_subject, nullptr, buf)) bump(self, &cluster_snapshot::events_out);
}

/// An event another node published: to this node's bus (its own come back too: skipped).
void receive_event(self_ptr self, const std::string& data) {
  auto& st = self->state;
  uint16_t version = 0;
  std::string origin;
  uint8_t topic_number = 0;
  caf::message event;
  caf::binary_deserializer source{self->system(), data.data(), data.size()};
  auto problem = source(version);
  if (!problem && version != forwarded_message_version) return;  // another release's: unread
  if (!problem) problem = source(origin, topic_number, event);
  if (problem) {
    std::cerr << "wassally: shard router: unreadable event: " << self->system().render(problem)
              << "\n";
    return;
  }
  if (origin == st.origin) return;
  bump(self, &cluster_snapshot::events_in);
  caf::anon_send(st.opts.event_bus, forwarded_atom::value, static_cast<topic>(topic_number),
                 std::move(event));
}

/// Listens on the subjects of exactly `shards`.
void serve_shards(self_ptr self, const std::vector<int32_t>& shards) {
  auto& st = self->state;
  std::set<int32_t> wanted(shards.begin(), shards.end());
  for (auto it = st.shard_subs.begin(); it != st.shard_subs.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    // Drained, not just unsubscribed: a request the server delivered before it heard of the
    // unsubscription still reaches the registry, which answers not_owner, and the sender sends
    // it again to the shard's new owner (an unsubscription would drop it unanswered: a 504).
    natsSubscription_Drain(it->second);
    st.draining_subs.push_back(it->second);
    it = st.shard_subs.erase(it);
  }
  auto done =
      std::remove_if(st.draining_subs.begin(), st.draining_subs.end(), [](natsSubscription* sub) {
        if (natsSubscription_IsValid(sub)) return false;
        natsSubscription_Destroy(sub);
        return true;
      });
  st.draining_subs.erase(done, st.draining_subs.end());
  for (auto shard : wanted) {
    if (st.shard_subs.count(shard)) continue;
    natsSubscription* sub = nullptr;
    auto s = natsConnection_Subscribe(&sub, st.nc, shard_subject(shard).c_str(), on_nats_message,
                                      st.target);
    if (s != NATS_OK) {
      std::cerr << "wassally: shard router: cannot listen on shard " << shard << ": "
                << natsStatus_GetText(s) << "\n";
      continue;
    }
    st.shard_subs[shard] = sub;
  }
}

void set_routing_state(self_ptr self, const std::string& state) {
  if (auto& s = self->state.opts.status)
    s->update([&state](cluster_snapshot& c) { c.routing = state; });
}

void close_connection(router_state& st) {
  for (auto& [shard, sub] : st.shard_subs) natsSubscription_Destroy(sub);
  st.shard_subs.clear();
  for (auto* sub : st.draining_subs) natsSubscription_Destroy(sub);
  st.draining_subs.clear();
  if (st.replies) natsSubscription_Destroy(st.replies);
  st.replies = nullptr;
  if (st.events) natsSubscription_Destroy(st.events);
  st.events = nullptr;
  if (st.nc) {
    natsConnection_Close(st.nc);
    natsConnection_Destroy(st.nc);
  }
  st.nc = nullptr;
  if (st.nats_opts) natsOptions_Destroy(st.nats_opts);
  st.nats_opts = nullptr;
}

router_state::~router_state() { close_connection(*this); }

/// Connects in the background (retrying, reconnecting forever). Throws when the options are
/// wrong (an unreadable URL).
void connect(self_ptr self) {
  auto& st = self->state;
  auto check = [](natsStatus s, const char* what) {
    if (s != NATS_OK)
      throw std::runtime_error(std::string("NATS: ") + what + ": " + natsStatus_GetText(s));
  };
  check(natsOptions_Create(&st.nats_opts), "options");
  check(natsOptions_SetURL(st.nats_opts, st.opts.nats_url.c_str()), "cluster_nats_url");
  check(natsOptions_SetName(st.nats_opts, ("wassally:" + st.opts.node).c_str()), "name");
  check(natsOptions_SetMaxReconnect(st.nats_opts, -1), "reconnects");
  check(natsOptions_SetReconnectWait(st.nats_opts, 250), "reconnect wait");
  check(natsOptions_SetTimeout(st.nats_opts, 2000), "connect timeout");
  // One delivery thread for every subscription, rather than one thread per shard.
  check(natsOptions_UseGlobalMessageDelivery(st.nats_opts, true), "delivery");
  check(natsOptions_SetDisconnectedCB(st.nats_opts, on_disconnected, st.target), "callbacks");
  check(natsOptions_SetReconnectedCB(st.nats_opts, on_connected, st.target), "callbacks");
  check(natsOptions_SetRetryOnFailedConnect(st.nats_opts, true, on_connected, st.target), "retry");
  auto s = natsConnection_Connect(&st.nc, st.nats_opts);
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED)
    throw std::runtime_error(std::string("NATS: cannot connect to ") + st.opts.nats_url + ": " +
                             natsStatus_GetText(s));
  st.connected = s == NATS_OK;
  set_routing_state(self, st.connected ? "connected" : "connecting");
  std::random_device rd;
  st.origin = st.opts.node + "." + std::to_string(rd());
  st.reply_prefix = "wassally.reply." + st.origin + ".";
  check(natsConnection_Subscribe(&st.replies, st.nc, (st.reply_prefix + "*").c_str(),
                                 on_nats_message, st.target),
        "reply subscription");
  if (st.opts.event_bus)
    check(natsConnection_Subscribe(&st.events, st.nc, events_subject, on_nats_message, st.target),
          "event subscription");
}

}  // namespace

std::string shard_subject(int32_t shard) { return "wassally.shard." + std::to_string(shard); }

caf::actor spawn_shard_router(caf::actor_system& sys, shard_router_options opts) {
  return sys.spawn<caf::detached>([opts](self_ptr self) -> caf::behavior {
    auto& st = self->state;
    st.opts = opts;
    st.target = new callback_target{self->address()};  // see callback_target
    try {
      connect(self);
    } catch (const std::exception& e) {
      std::cerr << "wassally: shard router: " << e.what() << "; not routing\n";
      close_connection(st);
      set_routing_state(self, "off");
    }
    // Shutdown (after the lease keeper drained and released this node's shards): it stops
    // listening, then answers what other nodes sent before they heard of it (a drained
    // subscription still delivers what the server had sent) before it closes the connection:
    // closing at once would leave those requests unanswered (504 on the sender).
    self->set_exit_handler([self](caf::exit_msg&) {
      auto& st = self->state;
      if (st.closing) return;
      st.closing = true;
      st.close_by = std::chrono::steady_clock::now() + close_wait;
      if (st.nc) serve_shards(self, {});
      self->send(self, close_check_atom::value);
    });
    return {
        [=](forward_atom, const entity_key& key, caf::message& payload, caf::error& fallback,
            bool inspect) {
          auto rp = self->make_response_promise();
          bool expects_reply = self->current_message_id().is_request();
          forward(self, rp, key, std::move(payload), std::move(fallback), inspect, expects_reply);
          return rp;
        },
        [=](publish_atom, topic t, const caf::message& event) {
          if (self->state.nc) publish_event(self, t, event);
        },
        [=](served_shards& s) {
          if (self->state.nc && !self->state.closing) serve_shards(self, s.shards);
        },
        [=](nats_message_atom, const std::string& subject, const std::string& reply,
            const std::string& data, bool no_responders) {
          auto& st = self->state;
          if (subject == events_subject) {
            receive_event(self, data);
          } else if (subject.compare(0, st.reply_prefix.size(), st.reply_prefix) == 0) {
            auto id = std::strtoull(subject.c_str() + st.reply_prefix.size(), nullptr, 10);
            answer(self, id, data, no_responders);
          } else {
            serve(self, reply, data);
          }
        },
        [=](forward_reply_atom, const std::string& reply_to, caf::error& err, caf::message& reply) {
          --self->state.serving;
          if (self->state.nc && !reply_to.empty())
            publish(self, reply_to, nullptr, encode_reply(self, err, reply));
        },
        [=](close_check_atom) {
          auto& st = self->state;
          if (st.nc) serve_shards(self, {});  // sweeps the drained subscriptions
          if ((!st.draining_subs.empty() || st.serving > 0) &&
              std::chrono::steady_clock::now() < st.close_by) {
            self->delayed_send(self, std::chrono::milliseconds(10), close_check_atom::value);
            return;
          }
          for (auto& [id, p] : st.pending)
            p.promise.deliver(to_caf_error(errors::unavailable("the node is shutting down")));
          st.pending.clear();
          close_connection(st);
          self->quit();
        },
        [=](forward_retry_atom, uint64_t id) { retry(self, id); },
        [=](forward_timeout_atom, uint64_t id) {
          auto& st = self->state;
          auto it = st.pending.find(id);
          if (it == st.pending.end()) return;
          bump(self, &cluster_snapshot::forward_timeouts);
          std::cerr << "wassally: shard router: no answer on " << it->second.subject << " within "
                    << st.opts.budget.count() << " ms (" << it->second.tries
                    << " tries, last: " << it->second.last << ")\n";
          it->second.promise.deliver(caf::make_error(caf::sec::request_timeout));
          st.pending.erase(it);
        },
        [=](nats_state_atom, bool up) {
          auto& st = self->state;
          st.connected = up;
          set_routing_state(self, up ? "connected" : "disconnected");
          std::cerr << "wassally: shard router: NATS " << (up ? "connected" : "disconnected")
                    << "\n";
        },
    };
  });
}

}  // namespace wassally
