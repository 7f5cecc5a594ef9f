#include "actors/db_worker.hpp"

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/stateful_actor.hpp>
#include <chrono>
#include <iostream>
#include <optional>
#include <pqxx/pqxx>

#include "persistence/database.hpp"
#include "protocols/errors.hpp"
#include "protocols/persistence.hpp"

namespace wassally {
namespace {

struct db_worker_state {
  std::string url;
  int connect_timeout_s = 2;
  int lock_timeout_ms = 0;
  std::chrono::milliseconds plan_refresh{0};
  std::chrono::steady_clock::time_point plans_made;
  std::unique_ptr<pqxx::connection> conn;
  int64_t merges_undone = 0;  // merged runs that went one by one after all
  static inline const char* name = "db_worker";
};

caf::message error_message(api_error e) { return caf::make_message(to_caf_error(std::move(e))); }

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

caf::message run_one(pqxx::dbtransaction& tx, const db_command& cmd) {
  try {
    return cmd.run(tx);
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const api_exception& e) {
    return error_message(e.error);
  } catch (const pqxx::sql_error& e) {
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
    if (!st.conn || !st.conn->is_open())
      st.conn = db::connect(st.url, st.connect_timeout_s, st.lock_timeout_ms);
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
    if (batch.commands.size() == 1) {
      // Alone in its transaction, a command needs no savepoint: its failure aborts only it.
      out.results.push_back(run_one(*tx, batch.commands.front()));
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
        if (end - i >= 2) {
          savepoint();
          if (auto merged = run_merged(*tx, cmds, i, end)) {
            out.merged += static_cast<int64_t>(merged->size());
            for (auto& r : *merged) out.results.push_back(std::move(r));
            i = end;
            continue;
          }
          tx->exec("ROLLBACK TO SAVEPOINT wassally_cmd");
          ++st.merges_undone;
        }
        for (; i < end; ++i) {
          savepoint();
          auto result = run_one(*tx, cmds[i]);
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
    return fail_all(errors::unavailable("the commit outcome is unknown; retry"));
  } catch (const pqxx::deadlock_detected&) {
    if (!committing) throw rolled_back{};
    return fail_all(errors::unavailable("the transaction failed; retry"));
  } catch (const pqxx::serialization_failure&) {
    if (!committing) throw rolled_back{};
    return fail_all(errors::unavailable("the transaction failed; retry"));
  } catch (const pqxx::in_doubt_error&) {
    st.conn.reset();
    return fail_all(errors::unavailable("the commit outcome is unknown; retry"));
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

caf::behavior db_worker(caf::stateful_actor<db_worker_state>* self, std::string url,
                        int connect_timeout_s, int lock_timeout_ms, int plan_refresh_ms) {
  self->state.url = std::move(url);
  self->state.connect_timeout_s = connect_timeout_s;
  self->state.lock_timeout_ms = lock_timeout_ms;
  self->state.plan_refresh = std::chrono::milliseconds(plan_refresh_ms);
  return {
      [=](db_batch& batch) { return run_batch(self->state, batch); },
  };
}

}  // namespace

caf::actor spawn_db_worker(caf::actor_system& sys, std::string database_url, int connect_timeout_s,
                           int lock_timeout_ms, int plan_refresh_ms) {
  return sys.spawn<caf::detached>(db_worker, std::move(database_url), connect_timeout_s,
                                  lock_timeout_ms, plan_refresh_ms);
}

}  // namespace wassally
