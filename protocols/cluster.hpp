#pragma once
// Cluster mode (CLUSTER.md): which node serves which shard, and the proof a write carries
// that its node still does. Single-node mode (cluster_node_id empty) uses none of it.

#include <caf/atom.hpp>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "protocols/fields.hpp"

namespace wassally {

/// The shard an entity lives in: its id's residue modulo the cluster's shard count
/// (CLUSTER.md "Shard key").
inline int32_t shard_of(int64_t id, int32_t shards) {
  auto r = static_cast<int32_t>(id % shards);
  return r < 0 ? r + shards : r;
}

/// A write's proof of ownership: the shard its entity lives in and the lease epoch this node
/// held when it loaded the entity. The write's transaction checks, holding the lease row
/// FOR SHARE until it commits, that this node still holds the shard at that epoch; a node that
/// lost the lease (paused past it, cut off from PostgreSQL) cannot overwrite its successor.
/// Epoch 0: no check (single-node mode).
struct shard_fence {
  int32_t shard = 0;
  int64_t epoch = 0;
  WASSALLY_FIELDS(shard_fence, shard, epoch)
};

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
  WASSALLY_FIELDS(shard_ownership, shards, held, valid_until_steady_ms, others)
};

/// To the registry: look whether the ownership it holds has run out (its own timer).
using lease_check_atom = caf::atom_constant<caf::atom("lease_chk")>;
/// To the lease keeper: run a round now (its own timer).
using lease_round_atom = caf::atom_constant<caf::atom("lease_rnd")>;

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
  WASSALLY_FIELDS(cluster_snapshot, mode, node, shards, lease_ttl_ms, held, leases, nodes, rounds,
                  failed_rounds, claimed, released, lost, last_error)
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
