#pragma once
// What an entity actor answers to state_atom (operators' GET /admin/actors/{kind}/{id}): its
// state rendered as JSON by cereal from the actor's own state type — the serialisation its
// messages use, not a hand-written copy.

#include <cereal/archives/json.hpp>
#include <sstream>
#include <string>

#include "protocols/fields.hpp"

namespace wassally {

struct actor_state {
  std::string json;
  WASSALLY_FIELDS(actor_state, json)
};

template <class T>
actor_state to_actor_state(const T& state) {
  std::ostringstream os;
  {
    cereal::JSONOutputArchive ar(os, cereal::JSONOutputArchive::Options::NoIndent());
    ar(cereal::make_nvp("state", state));
  }
  return {os.str()};
}

}  // namespace wassally
