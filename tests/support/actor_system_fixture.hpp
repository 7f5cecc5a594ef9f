#pragma once
// A CAF actor system with every protocol type announced, for tests that drive actors directly.

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <memory>

#include "protocols/types.hpp"

namespace wassally::test {

struct actor_system_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  actor_system_fixture() {
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

}  // namespace wassally::test
