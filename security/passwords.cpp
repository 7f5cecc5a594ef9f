#include "security/passwords.hpp"

#include <sodium.h>

#include <stdexcept>

#include "security/tokens.hpp"

namespace wassally::security {

password_hasher::password_hasher(int ops_limit, int mem_limit_kib)
    : ops_(static_cast<unsigned long long>(ops_limit)),
      mem_(static_cast<std::size_t>(mem_limit_kib) * 1024) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  if (ops_ < crypto_pwhash_OPSLIMIT_MIN) ops_ = crypto_pwhash_OPSLIMIT_MIN;
  if (mem_ < crypto_pwhash_MEMLIMIT_MIN) mem_ = crypto_pwhash_MEMLIMIT_MIN;
  dummy_ = hash(random_secret());
}

std::string password_hasher::hash(const std::string& password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops_, mem_,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("password hashing ran out of memory");
  return out;
}

bool password_hasher::verify(const std::string& password, const std::string& encoded) const {
  if (encoded.empty() || encoded.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(encoded.c_str(), password.data(), password.size()) == 0;
}

}  // namespace wassally::security
