#include "actors/db_worker.hpp"

#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/stateful_actor.hpp>
#include <chrono>
#include <iostream>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <utility>

#include "persistence/database.hpp"
#include "persistence/shard_leases.hpp"
#include "protocols/errors.hpp"
#include "protocols/persistence.hpp"

namespace wassally {
namespace {

std::atomic<int64_t> fenced_writes{0};

struct db_worker_state {
  db_worker_options opts;
  std::chrono::milliseconds plan_refresh{0};
  std::chrono::steady_clock::time_point plans_made;
  std::unique_ptr<pqxx::connection> conn;
  int64_t merges_undone = 0;  // merged runs that went one by one after all
  static inline const char* name = "db_worker";
};

/// The connection broke while COMMIT was on its way: the batch may or may not have committed.
/// The commands' actors treat that as doubt (they reload), and callers learn that the change may
/// have been written (504 outcome unknown).
api_error commit_unknown() {
  auto e = errors::timeout("unknown");
  e.message = "the connection to the database broke during the commit; the outcome is unknown";
  return e;
}

caf::message error_message(api_error e) { return caf::make_message(to_caf_error(std::move(e))); }

/// Whether the command failed waiting: on a row lock (lock_timeout) or on the statement timeout.
bool stalled(const pqxx::sql_error& e) {
  const auto& state = e.sqlstate();
  return state == "55P03" || state == "57014";
}

/// What one failed command answers. Constraint violations that reach here are bugs in the
/// command's own validation, but they must still fail alone and cleanly.
api_error classify(const pqxx::sql_error& e) {
  if (dynamic_cast<const pqxx::unique_violation*>(&e))
    return errors::conflict("conflict", "a conflicting record exists");
  if (dynamic_cast<const pqxx::check_violation*>(&e))
    return errors::conflict("conflict", "the change would break a data rule");
  if (dynamic_cast<const pqxx::foreign_key_violation*>(&e))
    return errors::conflict("conflict", "a referenced record does not exist");
  // lock_not_available (lock_timeout), query_canceled (statement_timeout), admin cancels: the
  // database could not do it in time, nothing of the command stays.
  const auto& state = e.sqlstate();
  if (state == "55P03" || state == "57014" || state.rfind("57P", 0) == 0)
    return errors::unavailable("the database is busy; retry");
  std::cerr << "wassally: database error: " << e.what() << " (query: " << e.query() << ")\n";
  return errors::internal("database error");
}

/// The fence check of a write batch (cluster mode): the leases its commands were decided under
/// that are still held at those epochs, the rows locked FOR SHARE until COMMIT. Empty
/// set and no statement when no command carries a fence.
std::set<std::pair<int32_t, int64_t>> hold_fences(pqxx::dbtransaction& tx,
                                                  const std::vector<db_command>& cmds) {
  std::set<int32_t> shards;
  for (const auto& c : cmds)
    for (const auto& f : c.fences) shards.insert(f.shard);
  std::set<std::pair<int32_t, int64_t>> valid;
  if (shards.empty()) return valid;
  for (const auto& h :
       shard_leases_sql::hold_for_share(tx, std::vector<int32_t>(shards.begin(), shards.end())))
    valid.emplace(h.shard, h.epoch);
  return valid;
}

/// The refusal of a command whose lease moved since it was decided, or nothing.
std::optional<api_error> fenced_out(const db_command& cmd,
                                    const std::set<std::pair<int32_t, int64_t>>& valid) {
  for (const auto& f : cmd.fences)
    if (!valid.count({f.shard, f.epoch})) {
      auto e = errors::not_owner(f.shard);
      e.message = "the lease of shard " + std::to_string(f.shard) +
                  " moved to another node while this change was on its way; nothing was written";
      e.extra_text["fenced"] = "true";
      return e;
    }
  return std::nullopt;
}

/// Runs one command and records how long it took and whether it stalled (see db_batch_result).
caf::message run_one(pqxx::dbtransaction& tx, const db_command& cmd, db_batch_result& out) {
  auto started = std::chrono::steady_clock::now();
  auto done = [&](bool stall) {
    out.seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    out.stalled.push_back(stall ? 1 : 0);
  };
  try {
    auto r = cmd.run(tx);
    done(false);
    return r;
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const api_exception& e) {
    done(false);
    return error_message(e.error);
  } catch (const pqxx::sql_error& e) {
    done(stalled(e));
    return error_message(classify(e));
  }
}

/// Runs commands [begin, end) as one (see db_command::run_merged): their results, or nullopt
/// when they are to run one by one (the caller rolls back to the savepoint before them).
std::optional<std::vector<caf::message>> run_merged(pqxx::dbtransaction& tx,
                                                    const std::vector<db_command>& cmds,
                                                    std::size_t begin, std::size_t end) {
  std::vector<const db_command*> run;
  for (auto i = begin; i < end; ++i) run.push_back(&cmds[i]);
  try {
    auto results = cmds[begin].run_merged(tx, run);
    if (results && results->size() != run.size()) return std::nullopt;
    return results;
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const std::exception&) {
    // A constraint, a lock timeout, a deadlock victim statement: one by one, each answers
    // for itself.
    return std::nullopt;
  }
}

/// Thrown by run_attempt when the connection broke before COMMIT was sent: nothing of the
/// batch can have committed, so it may run again on a fresh connection.
struct broken_before_commit {};
/// Thrown by run_attempt when PostgreSQL rolled the whole transaction back to break a deadlock
/// (group commit takes row locks in the order commands arrive) or a serialization conflict:
/// nothing committed, so the batch may run again.
struct rolled_back {};

db_batch_result run_attempt(db_worker_state& st, db_batch& batch) {
  db_batch_result out;
  auto fail_all = [&](const api_error& e) {
    out.results.assign(batch.commands.size(), error_message(e));
    out.committed = false;
    return out;
  };
  try {
    if (!st.conn || !st.conn->is_open()) {
      st.conn = db::connect(st.opts.database_url, st.opts.connect_timeout_s,
                            st.opts.lock_timeout_ms, st.opts.statement_timeout_ms);
      if (!st.opts.cluster_node.empty()) {
        pqxx::nontransaction n(*st.conn);
        n.exec("SET application_name = " + n.quote("wassally:" + st.opts.cluster_node));
        if (st.opts.idle_in_transaction_timeout_ms > 0)
          n.exec("SET idle_in_transaction_session_timeout = " +
                 std::to_string(st.opts.idle_in_transaction_timeout_ms));
        if (st.opts.zone_deg > 0)
          n.exec("SET wassally.zone_deg = " + n.quote(std::to_string(st.opts.zone_deg)));
      }
    }
  } catch (const std::exception& e) {
    st.conn.reset();
    return fail_all(errors::unavailable());
  }
  auto started = std::chrono::steady_clock::now();
  bool committing = false;
  try {
    // PostgreSQL keeps the plans of its foreign-key checks for the connection's life, made
    // from the table sizes of their first use. Made while `orders` was nearly empty, the check
    // of every new line against its order scanned the whole growing table until an ANALYZE
    // happened to come (a fresh deployment ran at half speed for its first minutes): the plans
    // are remade every plan_refresh, from the tables as they are then.
    if (st.plan_refresh.count() > 0 && started - st.plans_made >= st.plan_refresh) {
      pqxx::nontransaction(*st.conn).exec("DISCARD PLANS");
      st.plans_made = started;
    }
    std::unique_ptr<pqxx::dbtransaction> tx;
    if (batch.write)
      tx = std::make_unique<pqxx::work>(*st.conn);
    else
      tx = std::make_unique<pqxx::read_transaction>(*st.conn);
    auto fences =
        batch.write ? hold_fences(*tx, batch.commands) : std::set<std::pair<int32_t, int64_t>>{};
    // A command fenced out answers not_owner without running (and takes no time of its own).
    auto refuse_if_fenced = [&](const db_command& cmd) {
      auto refusal = fenced_out(cmd, fences);
      if (!refusal) return false;
      ++fenced_writes;
      std::cerr << "wassally: fenced out: " << cmd.name << " (" << refusal->message << ")\n";
      out.results.push_back(error_message(*refusal));
      out.seconds.push_back(0);
      out.stalled.push_back(0);
      return true;
    };
    if (batch.commands.size() == 1) {
      if (refuse_if_fenced(batch.commands.front())) {
        tx->abort();
        return out;
      }
      // Alone in its transaction, a command needs no savepoint: its failure aborts only it.
      out.results.push_back(run_one(*tx, batch.commands.front(), out));
      if (out.results.back().match_elements<caf::error>()) {
        tx->abort();
        return out;
      }
    } else {
      // Savepoints by hand: libpqxx 6.4's subtransaction sends SAVEPOINT lazily and skips it
      // for exec_params, so it cannot isolate parameterised commands. Releasing one command's
      // savepoint and setting the next's is one round trip; COMMIT releases the last one.
      bool first = true;
      auto savepoint = [&] {
        tx->exec(first ? "SAVEPOINT wassally_cmd"
                       : "RELEASE SAVEPOINT wassally_cmd; SAVEPOINT wassally_cmd");
        first = false;
      };
      auto& cmds = batch.commands;
      for (std::size_t i = 0; i < cmds.size();) {
        // A run of mergeable commands of one kind is tried as one first.
        std::size_t end = i + 1;
        if (!cmds[i].merge_kind.empty())
          while (end < cmds.size() && cmds[end].merge_kind == cmds[i].merge_kind) ++end;
        bool all_fences_hold = true;
        for (auto j = i; j < end; ++j)
          if (fenced_out(cmds[j], fences)) all_fences_hold = false;
        if (end - i >= 2 && all_fences_hold) {
          savepoint();
          auto merge_started = std::chrono::steady_clock::now();
          if (auto merged = run_merged(*tx, cmds, i, end)) {
            // The merged run's time, shared by its commands: none of them is to blame alone.
            double took =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - merge_started)
                    .count() /
                static_cast<double>(merged->size());
            out.merged += static_cast<int64_t>(merged->size());
            for (auto& r : *merged) {
              out.results.push_back(std::move(r));
              out.seconds.push_back(took);
              out.stalled.push_back(0);
            }
            i = end;
            continue;
          }
          tx->exec("ROLLBACK TO SAVEPOINT wassally_cmd");
          ++st.merges_undone;
        }
        for (; i < end; ++i) {
          if (refuse_if_fenced(cmds[i])) continue;
          savepoint();
          auto result = run_one(*tx, cmds[i], out);
          if (result.match_elements<caf::error>()) tx->exec("ROLLBACK TO SAVEPOINT wassally_cmd");
          out.results.push_back(std::move(result));
        }
      }
    }
    committing = true;
    tx->commit();
    out.committed = true;
  } catch (const pqxx::broken_connection&) {
    st.conn.reset();
    if (!committing) throw broken_before_commit{};
    return fail_all(commit_unknown());
  } catch (const pqxx::deadlock_detected&) {
    if (!committing) throw rolled_back{};
    return fail_all(errors::unavailable("the transaction failed; retry"));
  } catch (const pqxx::serialization_failure&) {
    if (!committing) throw rolled_back{};
    return fail_all(errors::unavailable("the transaction failed; retry"));
  } catch (const pqxx::in_doubt_error&) {
    st.conn.reset();
    return fail_all(commit_unknown());
  } catch (const std::exception& e) {
    std::cerr << "wassally: batch failed: " << e.what() << "\n";
    if (st.conn && !st.conn->is_open()) st.conn.reset();
    return fail_all(errors::unavailable("the transaction failed; retry"));
  }
  out.commit_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

/// A connection found broken (PostgreSQL restarted, or the network dropped it while idle) is
/// replaced and the batch runs once more on the new one: a restart between two requests is not
/// the client's problem; a second break in a row is, the database is unavailable. A batch that
/// PostgreSQL rolled back as a deadlock victim runs again, up to three times in all.
db_batch_result run_batch(db_worker_state& st, db_batch& batch) {
  int breaks = 0, rollbacks = 0;
  for (;;) {
    try {
      return run_attempt(st, batch);
    } catch (const broken_before_commit&) {
      if (++breaks < 2) continue;
    } catch (const rolled_back&) {
      if (++rollbacks < 3) continue;
    }
    db_batch_result out;
    out.results.assign(batch.commands.size(),
                       error_message(breaks >= 2 ? errors::unavailable()
                                                 : errors::unavailable("the transaction failed; "
                                                                       "retry")));
    return out;
  }
}

caf::behavior db_worker(caf::stateful_actor<db_worker_state>* self, db_worker_options opts) {
  self->state.plan_refresh = std::chrono::milliseconds(opts.plan_refresh_ms);
  self->state.opts = std::move(opts);
  return {
      [=](db_batch& batch) { return run_batch(self->state, batch); },
  };
}

}  // namespace

int64_t fenced_writes_total() { return fenced_writes.load(); }

caf::actor spawn_db_worker(caf::actor_system& sys, db_worker_options opts) {
  return sys.spawn<caf::detached>(db_worker, std::move(opts));
}

}  // namespace wassally
