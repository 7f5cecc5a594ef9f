#pragma once
// Cluster mode (CLUSTER.md): which node serves which shard, and the proof a write carries
// that its node still does. Single-node mode (cluster_node_id empty) uses none of it.

#include <caf/atom.hpp>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "protocols/fields.hpp"
#include "protocols/shard_fence.hpp"

namespace wassally {

/// One shard's lease as PostgreSQL holds it (node empty: free).
struct shard_lease_row {
  int32_t shard = 0;
  std::string node;
  int64_t epoch = 0;
  int64_t expires_in_ms = 0;  // on the database clock; <= 0: expired
  WASSALLY_FIELDS(shard_lease_row, shard, node, epoch, expires_in_ms)
};

/// A node as PostgreSQL knows it: live while its heartbeat has not expired.
struct cluster_node_row {
  std::string node;
  std::string url;  // where it serves HTTP (cluster_public_url)
  bool live = false;
  WASSALLY_FIELDS(cluster_node_row, node, url, live)
};

/// A shard this node holds, at which epoch.
using held_shard = shard_fence;

/// Another node's shard, for the hint of a not_owner answer.
struct shard_owner {
  int32_t shard = 0;
  std::string node;
  std::string url;
  WASSALLY_FIELDS(shard_owner, shard, node, url)
};

/// From the lease keeper to the registry after every round: the shards this node may serve and
/// until when (a steady-clock instant, ms since its epoch: the round's start + the lease's ttl
/// less a margin, so it ends before PostgreSQL's lease does whatever the round cost). The
/// registry serves nothing past it without a newer one.
struct shard_ownership {
  int32_t shards = 0;
  std::vector<held_shard> held;
  int64_t valid_until_steady_ms = 0;
  std::vector<shard_owner> others;
  // Shards given up (rebalancing, graceful leave) and not yet released: nothing new of them is
  // served, but their live entities are not stopped yet, so what they are doing (a write on its
  // way) ends; an ownership without them stops them.
  std::vector<int32_t> draining;
  WASSALLY_FIELDS(shard_ownership, shards, held, valid_until_steady_ms, others, draining)
};

/// To the registry: look whether the ownership it holds has run out (its own timer).
using lease_check_atom = caf::atom_constant<caf::atom("lease_chk")>;
/// To the lease keeper: run a round now (its own timer).
using lease_round_atom = caf::atom_constant<caf::atom("lease_rnd")>;

// Routing over NATS (CLUSTER.md "Routing"; cluster_nats_url set).
//
// Registry → shard router: `(forward_atom, entity_key, message payload, error fallback, bool
// inspect)` carries a message for an entity whose shard this node does not serve to the node that
// does, and delivers that node's answer; `fallback` (the not_owner answer naming the owner) when
// no node serves the shard or NATS is unreachable. `inspect`: GET /admin/actors/{kind}/{id}.
using forward_atom = caf::atom_constant<caf::atom("forward")>;
// Shard router → registry: `(forwarded_atom, entity_key, message payload)` and
// `(forwarded_atom, inspect_atom, entity_key)`: what another node forwarded here. Served here, or
// answered not_owner; never forwarded again (a shard moving twice cannot make a message loop).
using forwarded_atom = caf::atom_constant<caf::atom("forwarded")>;
/// Lease keeper → registry: `(drain_atom, std::vector<int32_t> shards)`, shards given up and
/// draining: their live entities are told to go (release_atom: they answer what they received,
/// wait for their writes and quit); answered with those of the shards that still have live
/// entities. The keeper releases a shard's lease once it has none (or after a bound).
using drain_atom = caf::atom_constant<caf::atom("drain")>;
/// To the registry: `(shard_router_atom, actor)`, the router it forwards through.
using shard_router_atom = caf::atom_constant<caf::atom("router")>;

/// To the registry: `(watch_served_atom, actor)`, send that actor served_shards on every change.
using watch_served_atom = caf::atom_constant<caf::atom("watch_srv")>;

/// Registry → shard router and dispatcher: the shards this node serves now; the router listens
/// on their subjects and on no others, the dispatcher offers only to their crews.
struct served_shards {
  std::vector<int32_t> shards;
  WASSALLY_FIELDS(served_shards, shards)
};

/// What GET /api/v1/admin/cluster shows: this node's view after its last round.
struct cluster_snapshot {
  std::string mode = "single";  // or "cluster"
  std::string node;
  int32_t shards = 0;
  int64_t lease_ttl_ms = 0;
  std::vector<int32_t> held;  // shards this node serves now
  std::vector<shard_lease_row> leases;
  std::vector<cluster_node_row> nodes;
  int64_t rounds = 0;
  int64_t failed_rounds = 0;
  int64_t claimed = 0;   // shards claimed since start
  int64_t released = 0;  // shards given up since start (rebalancing, shutdown)
  int64_t lost = 0;      // shards found taken by another node, or run out
  std::string last_error;
  // Routing: "off" (no cluster_nats_url), "connecting", "connected" or "disconnected"
  std::string routing = "off";
  int64_t forwarded = 0;          // requests this node forwarded to an owner and got answered
  int64_t forward_fallbacks = 0;  // ... answered not_owner instead (nobody serves it, NATS down)
  int64_t forward_timeouts = 0;   // ... not answered within the request's deadline
  int64_t served_for_others = 0;  // requests other nodes forwarded here
  int64_t events_out = 0;         // events of this node published for the others
  int64_t events_in = 0;          // events of other nodes delivered to this node's bus
  WASSALLY_FIELDS(cluster_snapshot, mode, node, shards, lease_ttl_ms, held, leases, nodes, rounds,
                  failed_rounds, claimed, released, lost, last_error, routing, forwarded,
                  forward_fallbacks, forward_timeouts, served_for_others, events_out, events_in)
};

/// Written by the lease keeper, read by the admin route and /metrics (no actor to ask: the keeper
/// may be blocked on PostgreSQL when an operator most needs to look).
class cluster_status {
 public:
  cluster_snapshot get() const {
    std::lock_guard<std::mutex> lock(m_);
    return snap_;
  }
  template <class F>
  void update(F&& f) {
    std::lock_guard<std::mutex> lock(m_);
    f(snap_);
  }

 private:
  mutable std::mutex m_;
  cluster_snapshot snap_;
};

}  // namespace wassally
