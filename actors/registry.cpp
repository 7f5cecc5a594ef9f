#include "actors/registry.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "protocols/cluster.hpp"
#include "protocols/errors.hpp"
#include "protocols/reconcile.hpp"
#include "protocols/registry.hpp"

namespace wassally {
namespace {

struct entry {
  caf::actor handle;
  shard_fence fence;  // cluster mode: the lease it was activated under
  bool passivating = false;
  bool evicted = false;  // stopped: its shard's lease is gone
  struct waiting_message {
    caf::response_promise promise;
    caf::message payload;
    bool forwarded;  // came from another node: not forwarded again
  };
  std::vector<waiting_message> waiting;
};

/// Cluster mode: what this node may serve (the lease keeper's last shard_ownership).
struct ownership_view {
  int32_t shards = 0;
  std::map<int32_t, int64_t> held;  // shard → epoch
  std::chrono::steady_clock::time_point valid_until{};
  std::map<int32_t, shard_owner> others;
  caf::actor router;                 // cluster_nats_url set: forwards what this node does not serve
  std::vector<caf::actor> watchers;  // told the shards served here (router, dispatcher)
  std::vector<int32_t> announced;    // the shards they were last told
};

struct registry_state {
  std::map<entity_kind, entity_factory> factories;
  std::optional<ownership_view> cluster;  // empty: single-node mode
  std::map<entity_key, entry> live;
  std::map<caf::actor_addr, entity_key> by_addr;
  std::map<entity_kind, kind_stats> stats;
  // Mailbox surveys: one at a time, every asker of the moment answered by it, and its result
  // reused for a second (with 100,000 live orders, polling /metrics must not flood them).
  bool surveying = false;
  std::vector<caf::response_promise> survey_askers;
  std::chrono::steady_clock::time_point last_survey_at;
  std::optional<mailbox_survey> last_survey;
  static inline const char* name = "registry";
};

using self_ptr = caf::stateful_actor<registry_state>*;

/// The lease `key`'s entity would be served under here now: epoch 0 in single-node mode; nothing
/// when this node does not hold its shard (or its hold ran out).
std::optional<shard_fence> lease_for(const registry_state& st, const entity_key& key) {
  if (!st.cluster) return shard_fence{};
  const auto& c = *st.cluster;
  auto shard = shard_of(key.id, c.shards);
  if (std::chrono::steady_clock::now() >= c.valid_until) return std::nullopt;
  auto it = c.held.find(shard);
  if (it == c.held.end()) return std::nullopt;
  return shard_fence{shard, it->second};
}

/// The answer for an entity this node does not serve.
api_error not_served(const registry_state& st, const entity_key& key) {
  auto shard = shard_of(key.id, st.cluster->shards);
  auto it = st.cluster->others.find(shard);
  if (it == st.cluster->others.end()) return errors::not_owner(shard);
  return errors::not_owner(shard, it->second.node, it->second.url);
}

entry* activate(self_ptr self, const entity_key& key, const shard_fence& fence,
                const caf::message& preload = {}) {
  auto& st = self->state;
  auto f = st.factories.find(key.kind);
  if (f == st.factories.end()) return nullptr;
  auto handle =
      f->second(self->system(), caf::actor_cast<caf::actor>(self), key.id, preload, fence);
  self->monitor(handle);
  self->link_to(handle);  // entities end with the registry
  st.by_addr[handle.address()] = key;
  auto& ks = st.stats[key.kind];
  ++ks.activations;
  ++ks.live;
  auto& e = st.live[key];
  e.handle = handle;
  e.fence = fence;
  return &e;
}

/// Stops the live entities whose lease this node no longer holds at the epoch they were
/// activated under, except those of `draining` shards (given up, not yet released: they finish
/// what they are doing, and no new message reaches them). Messages arriving for a stopping
/// entity wait, and are routed by the ownership as it is when the actor is down (down handler).
void evict_unowned(self_ptr self, const std::vector<int32_t>& draining = {}) {
  auto& st = self->state;
  if (!st.cluster) return;
  for (auto& [key, e] : st.live) {
    auto lease = lease_for(st, key);
    if (lease && lease->epoch == e.fence.epoch) continue;
    if (std::count(draining.begin(), draining.end(), e.fence.shard)) continue;
    if (e.evicted) continue;
    // Lost (run out, taken at a new epoch), or given up past the drain's bound: stopped before
    // it answers anything more.
    e.evicted = true;
    e.passivating = true;
    self->send_exit(e.handle, caf::exit_reason::user_shutdown);
  }
}

/// The drain of shards given up: their live entities are told to go (they answer what they
/// received, wait for their writes in flight and quit; the lease is still this node's until the
/// keeper releases it, so what they answer stays true). Returns the shards that still have live
/// entities.
std::vector<int32_t> drain(self_ptr self, const std::vector<int32_t>& shards) {
  auto& st = self->state;
  std::set<int32_t> busy;
  for (auto& [key, e] : st.live) {
    if (!std::count(shards.begin(), shards.end(), e.fence.shard)) continue;
    busy.insert(e.fence.shard);
    if (e.evicted) continue;
    e.evicted = true;
    e.passivating = true;
    self->send(e.handle, release_atom::value);
  }
  return std::vector<int32_t>(busy.begin(), busy.end());
}

/// Tells the watchers (router, dispatcher) which shards this node serves now, when that changed.
void announce_served(self_ptr self) {
  auto& st = self->state;
  if (!st.cluster || st.cluster->watchers.empty()) return;
  auto& c = *st.cluster;
  std::vector<int32_t> now;
  if (std::chrono::steady_clock::now() < c.valid_until)
    for (auto& [shard, epoch] : c.held) now.push_back(shard);
  if (now == c.announced) return;
  c.announced = now;
  for (auto& w : c.watchers) self->send(w, served_shards{now});
}

/// A message for `key`, which this node does not serve: forwarded through the router to the node
/// that does (unless it came from another node: never forwarded twice), else refused not_owner.
/// `inspect`: the operator's GET /admin/actors (the payload is empty).
void refuse_or_forward(self_ptr self, const entity_key& key, caf::response_promise& promise,
                       caf::message payload, bool inspect, bool forwarded) {
  auto& st = self->state;
  auto refusal = to_caf_error(not_served(st, key));
  if (st.cluster->router && !forwarded)
    promise.delegate(st.cluster->router, forward_atom::value, key, std::move(payload),
                     std::move(refusal), inspect);
  else
    promise.deliver(std::move(refusal));
}

/// Delivers `payload` for `key` as ownership allows: to the entity (activated if need be), to the
/// node that serves it (through the router, unless the message came from another node), or a
/// not_owner answer.
void route(self_ptr self, const entity_key& key, caf::response_promise promise,
           caf::message payload, bool forwarded = false) {
  auto& st = self->state;
  auto lease = lease_for(st, key);
  if (!lease) {
    refuse_or_forward(self, key, promise, std::move(payload), false, forwarded);
    return;
  }
  auto it = st.live.find(key);
  entry* e = it != st.live.end() ? &it->second : activate(self, key, *lease);
  if (!e) {
    promise.deliver(
        to_caf_error(errors::not_found(std::string("no actor kind ") + to_string(key.kind))));
    return;
  }
  if (e->passivating)
    e->waiting.push_back({std::move(promise), std::move(payload), forwarded});
  else
    promise.delegate(e->handle, std::move(payload));
}

/// The live actor's state for operators (nothing is activated), asked of the node serving `key`
/// when that is another one.
caf::response_promise inspect(self_ptr self, const entity_key& key, bool forwarded) {
  auto& st = self->state;
  auto rp = self->make_response_promise();
  if (!lease_for(st, key)) {
    refuse_or_forward(self, key, rp, caf::message{}, true, forwarded);
    return rp;
  }
  auto it = st.live.find(key);
  if (it == st.live.end() || it->second.passivating)
    rp.deliver(to_caf_error(errors::not_found("no live " + std::string(to_string(key.kind)) +
                                              " actor with id " + std::to_string(key.id))));
  else
    rp.delegate(it->second.handle, state_atom::value);
  return rp;
}

}  // namespace

void set_shard_router(const caf::actor& registry, const caf::actor& router) {
  caf::anon_send(registry, shard_router_atom::value, router);
}

void watch_served_shards(const caf::actor& registry, const caf::actor& watcher) {
  caf::anon_send(registry, watch_served_atom::value, watcher);
}

caf::actor spawn_registry(caf::actor_system& sys, std::map<entity_kind, entity_factory> kinds,
                          int32_t cluster_shards) {
  return sys.spawn([kinds = std::move(kinds), cluster_shards](self_ptr self) -> caf::behavior {
    self->state.factories = kinds;
    if (cluster_shards > 0) {
      self->state.cluster.emplace();
      self->state.cluster->shards = cluster_shards;
    }
    for (auto& [kind, f] : kinds) self->state.stats[kind].kind = to_string(kind);
    // Entities' own exits (passivation or failure) are handled by the down handler; an exit
    // request addressed to the registry itself (anon_send_exit, i.e. shutdown) ends it, and
    // through the links every live entity with it.
    self->set_exit_handler([self](caf::exit_msg& em) {
      if (em.source == self->address()) self->quit(em.reason);
    });
    self->set_down_handler([self](caf::down_msg& dm) {
      auto& st = self->state;
      auto it = st.by_addr.find(dm.source);
      if (it == st.by_addr.end()) return;
      auto key = it->second;
      st.by_addr.erase(it);
      auto e = st.live.find(key);
      if (e == st.live.end()) return;
      auto waiting = std::move(e->second.waiting);
      st.live.erase(e);
      auto& ks = st.stats[key.kind];
      --ks.live;
      ++ks.passivations;
      for (auto& w : waiting)
        route(self, key, std::move(w.promise), std::move(w.payload), w.forwarded);
    });
    return {
        [=](entity_key& key, caf::message& payload) {
          route(self, key, self->make_response_promise(), std::move(payload));
        },
        [=](forwarded_atom, entity_key& key, caf::message& payload) {
          route(self, key, self->make_response_promise(), std::move(payload), true);
        },
        [=](forwarded_atom, inspect_atom, const entity_key& key) {
          return inspect(self, key, true);
        },
        [=](drain_atom, const std::vector<int32_t>& shards) { return drain(self, shards); },
        [=](shard_router_atom, caf::actor& router) {
          if (!self->state.cluster) return;
          self->state.cluster->router = router;
          self->state.cluster->watchers.push_back(router);
          self->state.cluster->announced = {};
          announce_served(self);
        },
        [=](watch_served_atom, caf::actor& watcher) {
          if (!self->state.cluster) return;
          self->state.cluster->watchers.push_back(watcher);
          self->state.cluster->announced = {};
          announce_served(self);
        },
        [=](adopt_atom, entity_key& key, caf::message& preload) {
          if (self->state.live.count(key)) return;
          if (auto lease = lease_for(self->state, key)) activate(self, key, *lease, preload);
        },
        [=](shard_ownership& o) {
          auto& st = self->state;
          if (!st.cluster) return;
          auto& c = *st.cluster;
          c.held.clear();
          for (auto& h : o.held) c.held[h.shard] = h.epoch;
          c.others.clear();
          for (auto& other : o.others) c.others[other.shard] = other;
          c.valid_until = std::chrono::steady_clock::time_point(
              std::chrono::milliseconds(o.valid_until_steady_ms));
          evict_unowned(self, o.draining);
          announce_served(self);
          auto left = c.valid_until - std::chrono::steady_clock::now();
          if (left > std::chrono::steady_clock::duration::zero())
            self->delayed_send(self, left + std::chrono::milliseconds(1), lease_check_atom::value);
        },
        [=](lease_check_atom) {
          evict_unowned(self);
          announce_served(self);
        },
        [=](live_atom, entity_kind kind) {
          // Live and not passivating: the actors messages to this kind reach now.
          live_ids out;
          auto& live = self->state.live;
          for (auto it = live.lower_bound(entity_key{kind, 0});
               it != live.end() && it->first.kind == kind; ++it)
            if (!it->second.passivating) out.ids.push_back(it->first.id);
          return out;
        },
        [=](passivate_atom, const entity_key& key) -> caf::result<passivate_atom> {
          auto& st = self->state;
          auto it = st.live.find(key);
          auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
          if (it == st.live.end() || it->second.handle.address() != sender)
            return to_caf_error(errors::not_found("not live"));
          it->second.passivating = true;
          return passivate_atom::value;
        },
        [=](mailbox_atom) {
          // Live actors answer for their own mailboxes, in turn; silence past the deadline
          // counts as unanswered rather than holding the survey up.
          auto& st = self->state;
          auto rp = self->make_response_promise();
          auto now = std::chrono::steady_clock::now();
          if (st.last_survey && now - st.last_survey_at < std::chrono::seconds(1)) {
            rp.deliver(*st.last_survey);
            return rp;
          }
          st.survey_askers.push_back(rp);
          if (st.surveying) return rp;
          st.surveying = true;
          auto survey = std::make_shared<std::map<entity_kind, kind_mailboxes>>();
          std::map<entity_kind, std::vector<caf::actor>> live_by_kind;
          for (auto& [kind, ks] : st.stats) (*survey)[kind].kind = ks.kind;
          for (auto& [key, e] : st.live)
            if (!e.passivating) live_by_kind[key.kind].push_back(e.handle);
          std::vector<std::pair<entity_kind, caf::actor>> targets;
          for (auto& [kind, handles] : live_by_kind) {
            auto step = std::max<std::size_t>(1, handles.size() / mailbox_survey_sample);
            std::size_t asked = 0;
            for (std::size_t i = 0; i < handles.size() && asked < mailbox_survey_sample;
                 i += step, ++asked)
              targets.emplace_back(kind, handles[i]);
            (*survey)[kind].not_asked = static_cast<int64_t>(handles.size() - asked);
          }
          auto left = std::make_shared<std::size_t>(targets.size());
          auto finish = [self, survey] {
            auto& st = self->state;
            mailbox_survey out;
            for (auto& [kind, k] : *survey) out.kinds.push_back(k);
            st.last_survey = out;
            st.last_survey_at = std::chrono::steady_clock::now();
            st.surveying = false;
            auto askers = std::move(st.survey_askers);
            st.survey_askers.clear();
            for (auto& p : askers) p.deliver(out);
          };
          if (targets.empty()) finish();
          for (auto& [kind, handle] : targets) {
            auto k = kind;
            self->request(handle, std::chrono::seconds(1), mailbox_atom::value)
                .then(
                    [=](int64_t size) mutable {
                      auto& m = (*survey)[k];
                      ++m.answered;
                      m.total += size;
                      m.max = std::max(m.max, size);
                      if (--*left == 0) finish();
                    },
                    [=](caf::error&) mutable {
                      ++(*survey)[k].unanswered;
                      if (--*left == 0) finish();
                    });
          }
          return rp;
        },
        [=](inspect_atom, const entity_key& key) { return inspect(self, key, false); },
        [=](stats_atom) {
          registry_stats out;
          for (auto& [kind, ks] : self->state.stats) out.kinds.push_back(ks);
          return out;
        },
    };
  });
}

}  // namespace wassally
