#pragma once

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

namespace wassally {

using hash_atom = caf::atom_constant<caf::atom("hash")>;
using verify_atom = caf::atom_constant<caf::atom("verify")>;

/// A pool of detached actors that hash (`(hash_atom, password)` → encoded string) and verify
/// (`(verify_atom, password, encoded)` → bool) passwords with argon2id. argon2id is slow on
/// purpose, so it runs on threads of its own and never on the scheduler's.
caf::actor spawn_password_hashers(caf::actor_system& sys, int workers, int ops_limit,
                                  int mem_limit_kib);

}  // namespace wassally
