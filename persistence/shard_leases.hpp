#pragma once
// SQL of shard leases (CLUSTER.md): the lease keeper's rounds on its own connection, and
// the fence check every fenced write runs in its own transaction. All times are the database's
// clock (now()), so the nodes' clocks never need to agree.

#include <pqxx/transaction_base>
#include <string>
#include <vector>

#include "protocols/cluster.hpp"

namespace wassally::shard_leases_sql {

/// Creates the lease rows of shards 0 .. shards-1 where missing. Throws std::runtime_error when
/// the cluster already has another number of shards (every node must be configured alike:
/// an entity's shard is its id modulo that number).
void ensure_shards(pqxx::dbtransaction& tx, int32_t shards);

/// This process as a lease holder: the node's name and the incarnation drawn at its start.
struct holder {
  std::string node;
  int64_t incarnation = 0;
};

/// Marks the node live for `ttl_ms` more and renews every lease this incarnation holds for as
/// long → the shards it holds, with their epochs (a lease another node claimed is not among
/// them). Throws std::runtime_error when another incarnation of the same name is live.
std::vector<held_shard> heartbeat_and_renew(pqxx::dbtransaction& tx, const holder& me,
                                            const std::string& url, int64_t ttl_ms);

/// Every lease as it stands, by shard.
std::vector<shard_lease_row> leases(pqxx::dbtransaction& tx);

/// Every node known, live or not, by name.
std::vector<cluster_node_row> nodes(pqxx::dbtransaction& tx);

/// Claims up to `count` shards that are free or whose lease expired (lowest first; rows another
/// transaction has locked — a write still fenced under the old lease, a concurrent claim — are
/// skipped, not waited for), each at its epoch + 1 → the shards claimed.
std::vector<held_shard> claim(pqxx::dbtransaction& tx, const holder& me, int64_t ttl_ms,
                              int32_t count);

/// Gives up `shards` (those `node` still holds): free at once for another node to claim.
void release(pqxx::dbtransaction& tx, const holder& me, const std::vector<int32_t>& shards);

/// A node leaving (graceful shutdown): every lease this incarnation holds released and its
/// heartbeat removed.
void leave(pqxx::dbtransaction& tx, const holder& me);

/// The fence check: which of `shards` some node holds now, at which epoch, locking those lease
/// rows FOR SHARE until the transaction ends (a claim waits for the transaction; a renewal too,
/// for the few milliseconds a batch takes). An epoch is only ever held by one incarnation: each
/// claim raises it, and only the claiming incarnation renews it. So a write checks the epoch
/// alone, whichever node makes it: a placement on one node takes stock that shops on another
/// node held under their lease (CLUSTER.md "Routing").
std::vector<held_shard> hold_for_share(pqxx::dbtransaction& tx, const std::vector<int32_t>& shards);

}  // namespace wassally::shard_leases_sql
