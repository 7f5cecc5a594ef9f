#pragma once
// The persistence protocol: entity and service actors send db_command to the persistence actor.
// A command is built by the aggregate's query module in persistence/ (the SQL lives there); the
// persistence actor runs it inside a batch transaction on a worker's connection, each command in
// its own savepoint, and replies with the command's result once the batch has committed.

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/message.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/types.hxx>  // forward declarations

#include "protocols/shard_fence.hpp"

namespace wassally {

struct db_command {
  db_command() = default;
  db_command(std::string name, bool write, std::function<caf::message(pqxx::dbtransaction&)> run,
             caf::message args = {})
      : name(std::move(name)), write(write), run(std::move(run)), args(std::move(args)) {}

  /// For metrics and logs, e.g. "users.insert".
  std::string name;
  /// Writes join group-commit batches; reads run in read-only batches.
  bool write = true;
  /// Runs the command's SQL; returns the reply message or throws api_exception / pqxx errors.
  std::function<caf::message(pqxx::dbtransaction&)> run;
  /// The builder's own arguments, all and in order: for logs and test doubles (by signature).
  caf::message args;
  /// The caller's deadline (unix ms; 0: none). A command still queued when it passes is not run:
  /// it is answered `504 timeout` with outcome "not_written". Once handed to a connection it
  /// runs to its outcome, however late.
  int64_t deadline_unix_ms = 0;
  /// The rows this command locks, as aggregate keys ("shop:17": that shop's product rows). The
  /// persistence actor never runs two commands with a common key in concurrent transactions
  /// (the second would only wait on the first's row locks inside PostgreSQL, holding its
  /// connection and its batch), and runs a command whose key is "hot" (it recently waited on a
  /// lock someone else holds) in a transaction of its own. Empty: no such rows (most commands).
  std::vector<std::string> lock_keys;
  /// Cluster mode: the leases this write was decided under (CLUSTER.md "Fencing"). The
  /// write worker checks them in the command's own transaction, holding the lease rows
  /// FOR SHARE until COMMIT, and answers a command whose lease moved `503 not_owner` without
  /// running it. Empty: no check (single-node mode, and writers that own no shard).
  std::vector<shard_fence> fences;

  /// Commands with the same non-empty `merge_kind` next to each other in a batch may run as
  /// one: `run_merged` (of the first) gets them all (their `payload`s) and returns one result
  /// per command, or nullopt when they must run one by one after all. Either way each command
  /// still succeeds or fails alone: the worker rolls a merged attempt that did not work back and
  /// runs the commands one by one.
  using merged_runner = std::function<std::optional<std::vector<caf::message>>(
      pqxx::dbtransaction&, const std::vector<const db_command*>&)>;
  std::string merge_kind;
  merged_runner run_merged;
  std::shared_ptr<const void> payload;
};

/// What a persistence worker gets: the commands of one transaction.
struct db_batch {
  bool write = true;
  std::vector<db_command> commands;
};

/// One result per command, in order: the reply, or a message holding a caf::error.
struct db_batch_result {
  std::vector<caf::message> results;
  bool committed = false;
  double commit_seconds = 0;
  int64_t merged = 0;  // commands that ran merged with others (db_command::run_merged)
  /// Per command, in order (may be shorter when the batch failed as a whole): how long its own
  /// statements took (a merged run's time divided among its commands), and whether it failed
  /// waiting on a lock or hit the statement timeout (lock_timeout / statement_timeout).
  std::vector<double> seconds;
  std::vector<char> stalled;
};

}  // namespace wassally

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wassally::db_command)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wassally::db_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wassally::db_batch_result)
