#include "actors/lease_rules.hpp"

#include <algorithm>
#include <map>

namespace wassally::lease_rules {

int32_t fair_share(std::vector<std::string> live_nodes, const std::string& me, int32_t shards) {
  if (std::find(live_nodes.begin(), live_nodes.end(), me) == live_nodes.end())
    live_nodes.push_back(me);
  std::sort(live_nodes.begin(), live_nodes.end());
  live_nodes.erase(std::unique(live_nodes.begin(), live_nodes.end()), live_nodes.end());
  auto n = static_cast<int32_t>(live_nodes.size());
  auto index = static_cast<int32_t>(std::find(live_nodes.begin(), live_nodes.end(), me) -
                                    live_nodes.begin());
  return shards / n + (index < shards % n ? 1 : 0);
}

round_plan plan(const std::string& me, const std::vector<held_shard>& held,
                const std::vector<shard_lease_row>& leases,
                const std::vector<cluster_node_row>& nodes, int32_t max_moves) {
  round_plan out;
  auto shards = static_cast<int32_t>(leases.size());
  std::vector<std::string> live;
  for (const auto& n : nodes)
    if (n.live) live.push_back(n.node);
  auto mine = static_cast<int32_t>(held.size());
  auto target = fair_share(live, me, shards);
  if (mine < target) {
    out.claim = target - mine;
    return out;
  }
  if (mine == target) return out;
  std::map<std::string, int32_t> holding;
  for (const auto& l : leases)
    if (!l.node.empty() && l.expires_in_ms > 0) ++holding[l.node];
  bool someone_needs = false;
  for (const auto& n : live)
    if (n != me && holding[n] < fair_share(live, n, shards)) someone_needs = true;
  if (!someone_needs) return out;
  auto give = std::min(mine - target, std::max(max_moves, 1));
  std::vector<int32_t> mine_sorted;
  for (const auto& h : held) mine_sorted.push_back(h.shard);
  std::sort(mine_sorted.begin(), mine_sorted.end());
  // The highest shards go: claims take the lowest free ones first, so nodes settle on blocks.
  out.release.assign(mine_sorted.end() - give, mine_sorted.end());
  return out;
}

}  // namespace wassally::lease_rules
