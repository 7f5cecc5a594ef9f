#include "persistence/shard_leases.hpp"

#include <pqxx/pqxx>
#include <stdexcept>

#include "persistence/database.hpp"

namespace wassally::shard_leases_sql {
namespace {

std::vector<held_shard> held_rows(const pqxx::result& r) {
  std::vector<held_shard> out;
  out.reserve(r.size());
  for (const auto& row : r) out.push_back({row[0].as<int32_t>(), row[1].as<int64_t>()});
  return out;
}

std::string int_array(const std::vector<int32_t>& values) {
  std::vector<int64_t> wide(values.begin(), values.end());
  return db::bigint_array(wide);
}

}  // namespace

void ensure_shards(pqxx::dbtransaction& tx, int32_t shards) {
  // Two nodes starting at once: the second waits for the first's rows, then finds them.
  tx.exec("LOCK TABLE shard_lease IN SHARE ROW EXCLUSIVE MODE");
  auto have = tx.exec("SELECT count(*), coalesce(max(shard) + 1, 0) FROM shard_lease")[0];
  auto count = have[0].as<int64_t>();
  if (count != 0 && (count != shards || have[1].as<int64_t>() != shards))
    throw std::runtime_error("cluster_shards is " + std::to_string(shards) +
                             " but the cluster's database has " + std::to_string(count) +
                             " shards; every node must use the same number");
  if (count == 0)
    tx.exec_params("INSERT INTO shard_lease (shard) SELECT generate_series(0, $1 - 1)", shards);
}

std::vector<held_shard> heartbeat_and_renew(pqxx::dbtransaction& tx, const holder& me,
                                            const std::string& url, int64_t ttl_ms) {
  auto beat = tx.exec_params(
      "INSERT INTO cluster_node AS n (node, incarnation, url, expires_at)"
      " VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')"
      " ON CONFLICT (node) DO UPDATE SET incarnation = EXCLUDED.incarnation, url = EXCLUDED.url,"
      "   expires_at = EXCLUDED.expires_at, started_at = CASE WHEN n.incarnation ="
      "   EXCLUDED.incarnation THEN n.started_at ELSE now() END"
      " WHERE n.incarnation = EXCLUDED.incarnation OR n.expires_at <= now()"
      " RETURNING 1",
      me.node, me.incarnation, url, ttl_ms);
  if (beat.empty())
    throw std::runtime_error("another live process is node " + me.node +
                             "; this one waits for its heartbeat to expire");
  return held_rows(
      tx.exec_params("UPDATE shard_lease SET expires_at = now() + $3 * interval '1 millisecond'"
                     " WHERE node = $1 AND incarnation = $2 RETURNING shard, epoch",
                     me.node, me.incarnation, ttl_ms));
}

std::vector<shard_lease_row> leases(pqxx::dbtransaction& tx) {
  std::vector<shard_lease_row> out;
  for (const auto& row :
       tx.exec("SELECT shard, coalesce(node, ''), epoch,"
               " coalesce((extract(epoch FROM expires_at - now()) * 1000)::bigint, 0)"
               " FROM shard_lease ORDER BY shard"))
    out.push_back({row[0].as<int32_t>(), row[1].as<std::string>(), row[2].as<int64_t>(),
                   row[3].as<int64_t>()});
  return out;
}

std::vector<cluster_node_row> nodes(pqxx::dbtransaction& tx) {
  std::vector<cluster_node_row> out;
  for (const auto& row :
       tx.exec("SELECT node, url, expires_at > now() FROM cluster_node ORDER BY node"))
    out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<bool>()});
  return out;
}

std::vector<held_shard> claim(pqxx::dbtransaction& tx, const holder& me, int64_t ttl_ms,
                              int32_t count) {
  if (count <= 0) return {};
  return held_rows(
      tx.exec_params("UPDATE shard_lease SET node = $1, incarnation = $2, epoch = epoch + 1,"
                     " expires_at = now() + $3 * interval '1 millisecond'"
                     " WHERE shard IN (SELECT shard FROM shard_lease"
                     "                 WHERE node IS NULL OR expires_at <= now()"
                     "                 ORDER BY shard LIMIT $4 FOR UPDATE SKIP LOCKED)"
                     " RETURNING shard, epoch",
                     me.node, me.incarnation, ttl_ms, count));
}

void release(pqxx::dbtransaction& tx, const holder& me, const std::vector<int32_t>& shards) {
  if (shards.empty()) return;
  tx.exec_params(
      "UPDATE shard_lease SET node = NULL, incarnation = NULL, expires_at = NULL"
      " WHERE node = $1 AND incarnation = $2 AND shard = ANY($3::int[])",
      me.node, me.incarnation, int_array(shards));
}

void leave(pqxx::dbtransaction& tx, const holder& me) {
  tx.exec_params(
      "UPDATE shard_lease SET node = NULL, incarnation = NULL, expires_at = NULL"
      " WHERE node = $1 AND incarnation = $2",
      me.node, me.incarnation);
  tx.exec_params("DELETE FROM cluster_node WHERE node = $1 AND incarnation = $2", me.node,
                 me.incarnation);
}

std::vector<held_shard> hold_for_share(pqxx::dbtransaction& tx,
                                       const std::vector<int32_t>& shards) {
  return held_rows(db::exec_prepared(
      tx, "wassally_fence",
      "SELECT shard, epoch FROM shard_lease WHERE node IS NOT NULL AND shard = ANY($1::int[])"
      " FOR SHARE",
      int_array(shards)));
}

}  // namespace wassally::shard_leases_sql
