#pragma once

#include <string>

namespace wassally::security {

/// argon2id (libsodium crypto_pwhash_str) with configurable cost; the encoded string carries
/// salt and parameters, so verification needs no configuration.
class password_hasher {
 public:
  password_hasher(int ops_limit, int mem_limit_kib);
  std::string hash(const std::string& password) const;
  bool verify(const std::string& password, const std::string& encoded) const;
  /// A hash of a random password, verified against when a username does not exist so that
  /// a login takes the same time either way.
  const std::string& dummy_hash() const { return dummy_; }

 private:
  unsigned long long ops_;
  std::size_t mem_;
  std::string dummy_;
};

}  // namespace wassally::security
