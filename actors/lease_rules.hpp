#pragma once
// What a node does with shard leases in one round (CLUSTER.md "Leases"): pure functions
// of the leases and nodes as PostgreSQL showed them, tested in tests/unit/lease_rules_test.cpp.

#include <cstdint>
#include <string>
#include <vector>

#include "protocols/cluster.hpp"

namespace wassally::lease_rules {

/// `me`'s fair share of `shards` among the live nodes (`me` counted even if missing): every node
/// gets shards / n, and the first shards % n of them by name one more, so the shares add up to
/// `shards` and every node computes the same ones.
int32_t fair_share(std::vector<std::string> live_nodes, const std::string& me, int32_t shards);

struct round_plan {
  int32_t claim = 0;             // free or expired shards to claim, at most
  std::vector<int32_t> release;  // shards to give up now
};

/// After renewing: claim up to the fair share; above it, give shards up — at most `max_moves`
/// per round, and only while another live node holds less than its own share (giving a shard
/// up that nobody needs would only make it move back).
round_plan plan(const std::string& me, const std::vector<held_shard>& held,
                const std::vector<shard_lease_row>& leases,
                const std::vector<cluster_node_row>& nodes, int32_t max_moves);

}  // namespace wassally::lease_rules
