#include "actors/password_hasher.hpp"

#include <caf/actor_pool.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <memory>
#include <string>

#include "security/passwords.hpp"

namespace wassally {

caf::actor spawn_password_hashers(caf::actor_system& sys, int workers, int ops_limit,
                                  int mem_limit_kib) {
  auto hasher = std::make_shared<security::password_hasher>(ops_limit, mem_limit_kib);
  auto factory = [&sys, hasher] {
    return sys.spawn<caf::detached>([hasher](caf::event_based_actor*) -> caf::behavior {
      return {
          [hasher](hash_atom, const std::string& password) { return hasher->hash(password); },
          [hasher](verify_atom, const std::string& password, const std::string& encoded) {
            // An empty hash stands for "no such user": verify against a dummy for equal timing.
            if (encoded.empty()) {
              hasher->verify(password, hasher->dummy_hash());
              return false;
            }
            return hasher->verify(password, encoded);
          },
      };
    });
  };
  return caf::actor_pool::make(sys.dummy_execution_unit(), static_cast<std::size_t>(workers),
                               factory, caf::actor_pool::round_robin());
}

}  // namespace wassally
