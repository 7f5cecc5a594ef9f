#include "tests/support/coordinated_system.hpp"

#include <caf/atom.hpp>

#include "protocols/registry.hpp"
#include "protocols/types.hpp"

namespace wassally::test {

coordinated_system::coordinated_system() {
  register_message_types(cfg_);
  cfg_.set("scheduler.policy", caf::atom("testing"));
  cfg_.set("logger.verbosity", caf::atom("quiet"));
  cfg_.set("logger.file-verbosity", caf::atom("quiet"));
  sys_ = std::make_unique<caf::actor_system>(cfg_);
  sched_ = &dynamic_cast<caf::scheduler::test_coordinator&>(sys_->scheduler());
  // Actors left alive by a test (entities the registry keeps) never run again once the test is
  // over: the system must not wait for them.
  sys_->await_actors_before_shutdown(false);
  // Unix time 0 is a poor "now" for timers: start an hour later, as CAF's own fixture does.
  sched_->clock().current_time += std::chrono::hours(1);
}

coordinated_system::~coordinated_system() {
  for (auto& a : to_stop_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  run();
}

size_t coordinated_system::run() { return sched_->run(); }

bool coordinated_system::run_once() { return sched_->try_run_once(); }

size_t coordinated_system::advance_time(caf::timespan d) {
  sched_->clock().advance_time(d);
  return run();
}

event_recorder::event_recorder(coordinated_system& cs)
    : log_(std::make_shared<std::vector<caf::message>>()) {
  auto log = log_;
  actor_ = cs.sys().spawn([log](caf::event_based_actor*) -> caf::behavior {
    return {
        [log](publish_atom, topic, caf::message& m) { log->push_back(std::move(m)); },
    };
  });
  cs.stop_at_end(actor_);
}

}  // namespace wassally::test
