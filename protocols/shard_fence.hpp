#pragma once
// The part of cluster mode every write carries (CLUSTER.md "Fencing"): which shard an entity lives
// in, and the lease epoch its node served it under. Kept apart from protocols/cluster.hpp so the
// many files that only pass a fence along do not include the lease keeper's types.

#include <cstdint>

#include "protocols/fields.hpp"

namespace wassally {

/// The shard an entity lives in: its id's residue modulo the cluster's shard count
/// (CLUSTER.md "Shard key").
inline int32_t shard_of(int64_t id, int32_t shards) {
  auto r = static_cast<int32_t>(id % shards);
  return r < 0 ? r + shards : r;
}

/// A write's proof of ownership: the shard its entity lives in and the lease epoch under which
/// its entity was served when the change was decided. The write's transaction checks, holding the
/// lease row FOR SHARE until it commits, that the shard's lease is still at that epoch (epochs
/// rise with every claim, so the epoch names one holder); a node that lost the lease (paused past
/// it, cut off from PostgreSQL) cannot overwrite its successor. Epoch 0: no check (single-node
/// mode).
struct shard_fence {
  int32_t shard = 0;
  int64_t epoch = 0;
  WASSALLY_FIELDS(shard_fence, shard, epoch)
};

}  // namespace wassally
