#pragma once

#include <caf/fwd.hpp>
#include <chrono>

namespace wassally {

/// Staff views that read across entities from PostgreSQL: crew_query → crew_page (positions
/// and last_seen as committed: a crew's position is written before its 204), overview_atom →
/// staff_overview.
caf::actor spawn_staff_desk(caf::actor_system& sys, caf::actor persistence,
                            std::chrono::milliseconds timeout);

}  // namespace wassally
