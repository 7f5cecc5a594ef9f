#pragma once
// An actor system with every protocol type announced, running on CAF's deterministic
// `test_coordinator`: nothing runs until the test says so (run), and time moves only when the
// test moves it (advance_time: request timeouts, `after(...)` idle timers, delayed sends).
// No sleeps, no threads: every test sees the same interleaving every time.
//
//   coordinated_system cs;
//   auto r = cs.ask<order_record>(registry, 5s, key, caf::make_message(get_order{who}));
//   cs.run();
//   BOOST_TEST(r.ok());

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/duration.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/make_message.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <caf/timespan.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocols/entity_interfaces.hpp"
#include "protocols/errors.hpp"

namespace wassally::test {

/// The answer to one request sent with coordinated_system::ask, once it came.
template <class Reply>
class reply {
 public:
  struct slot {
    std::optional<Reply> value;
    std::optional<api_error> error;
  };
  reply() : slot_(std::make_shared<slot>()) {}

  bool answered() const { return slot_->value || slot_->error; }
  bool ok() const { return slot_->value.has_value(); }
  /// The reply; throws (failing the test) when there is none, or an error came.
  Reply& value() const {
    if (!slot_->value)
      throw std::logic_error(slot_->error ? "expected a reply, got error " + slot_->error->code
                                          : "expected a reply, got no answer yet");
    return *slot_->value;
  }
  /// The error; throws when there is none.
  const api_error& error() const {
    if (!slot_->error)
      throw std::logic_error(slot_->value ? "expected an error, got a reply"
                                          : "expected an error, got no answer yet");
    return *slot_->error;
  }
  const std::shared_ptr<slot>& state() const { return slot_; }

 private:
  std::shared_ptr<slot> slot_;
};

class coordinated_system {
 public:
  coordinated_system();
  ~coordinated_system();
  coordinated_system(const coordinated_system&) = delete;
  coordinated_system& operator=(const coordinated_system&) = delete;

  caf::actor_system& sys() { return *sys_; }
  caf::scheduler::test_coordinator& sched() { return *sched_; }

  /// Handles every message sent, and every message those send, until no actor has one left.
  /// Returns how many messages were handled. Does not move time.
  size_t run();
  /// Handles one message (of the actor scheduled first); false when none was waiting.
  bool run_once();
  /// Moves the clock by `d`, fires every timeout due by then, and runs.
  size_t advance_time(caf::timespan d);
  /// Whether a timeout is still armed (an idle timer, a request's deadline, a delayed send).
  bool has_pending_timeout() const { return sched_->has_pending_timeout(); }

  /// Sends `msg...` to `to` as a request with `timeout` (an actor of its own sends it and keeps
  /// the answer). Nothing is handled until the test runs.
  /// (`timeout`: a std::chrono duration, or caf::infinite.)
  template <class Reply, class Timeout, class... Ts>
  reply<Reply> ask(const caf::actor& to, Timeout timeout, Ts&&... msg) {
    reply<Reply> out;
    auto slot = out.state();
    auto m = caf::make_message(std::forward<Ts>(msg)...);
    sys_->spawn([slot, to, timeout, m](caf::event_based_actor* self) {
      self->request(to, timeout, m)
          .then([slot](Reply& r) { slot->value = std::move(r); },
                [slot](caf::error& e) { slot->error = from_caf_error(e); });
    });
    return out;
  }

  /// Asks the entity `to` through its registry; the reply type is the one its interface
  /// declares for `msg...` (a message it does not handle does not compile).
  template <class Interface, class Timeout, class... Ts>
  auto ask(const entity_ref<Interface>& to, Timeout timeout, Ts&&... msg) {
    using r = typename single_reply<Interface, Ts...>::type;
    return ask<r>(to.registry, timeout, to.key(), caf::make_message(std::forward<Ts>(msg)...));
  }

  /// Sends `msg...` to the entity `to` without waiting for an answer (checked like ask).
  template <class Interface, class... Ts>
  void tell(const entity_ref<Interface>& to, Ts&&... msg) {
    wassally::tell(to, std::forward<Ts>(msg)...);
  }

  /// Stops `a` when the system goes (actors under test, fakes): registered actors are sent an
  /// exit and the system runs until they are gone.
  void stop_at_end(caf::actor a) { to_stop_.push_back(std::move(a)); }

 private:
  caf::actor_system_config cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  caf::scheduler::test_coordinator* sched_ = nullptr;
  std::vector<caf::actor> to_stop_;
};

/// A stand-in for the event bus that keeps everything published, in order.
class event_recorder {
 public:
  explicit event_recorder(coordinated_system& cs);
  const caf::actor& actor() const { return actor_; }
  /// Every published message of type `Event`, in order.
  template <class Event>
  std::vector<Event> all() const {
    std::vector<Event> out;
    for (auto& m : *log_)
      if (m.match_elements<Event>()) out.push_back(m.get_as<Event>(0));
    return out;
  }
  size_t size() const { return log_->size(); }

 private:
  std::shared_ptr<std::vector<caf::message>> log_;
  caf::actor actor_;
};

}  // namespace wassally::test
