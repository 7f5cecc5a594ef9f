#include "protocols/types.hpp"

#include <caf/actor_system_config.hpp>

#include "protocols/accounts.hpp"
#include "protocols/errors.hpp"
#include "protocols/registry.hpp"

namespace wassally {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<api_error>("wassally::api_error");
  cfg.add_message_type<entity_key>("wassally::entity_key");
  cfg.add_message_type<kind_stats>("wassally::kind_stats");
  cfg.add_message_type<registry_stats>("wassally::registry_stats");
  cfg.add_message_type<persistence_stats>("wassally::persistence_stats");
  cfg.add_message_type<user_record>("wassally::user_record");
  cfg.add_message_type<register_user>("wassally::register_user");
  cfg.add_message_type<login_request>("wassally::login_request");
  cfg.add_message_type<login_reply>("wassally::login_reply");
  cfg.add_message_type<refresh_request>("wassally::refresh_request");
  cfg.add_message_type<access_reply>("wassally::access_reply");
  cfg.add_message_type<logout_request>("wassally::logout_request");
  cfg.add_message_type<me_request>("wassally::me_request");
  cfg.add_message_type<done>("wassally::done");
  cfg.add_message_type<user_credentials>("wassally::user_credentials");
  cfg.add_message_type<refresh_owner>("wassally::refresh_owner");
}

}  // namespace wassally
