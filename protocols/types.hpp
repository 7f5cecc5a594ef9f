#pragma once

namespace caf {
class actor_system_config;
}

namespace wassally {
/// Announces every protocol type to CAF (add_message_type) — call once on the config.
void register_message_types(caf::actor_system_config& cfg);
}  // namespace wassally
