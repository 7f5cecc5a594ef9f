#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace wassally::security {

/// Who a verified access token speaks for.
struct principal {
  int64_t user_id = 0;
  std::string role;
  int64_t expires_at = 0;  // unix seconds
};

/// Why verification failed (all of them answer 401; the reason is for logs and tests).
enum class token_error { malformed, bad_algorithm, bad_signature, expired, wrong_type };

/// Access tokens: JWT compact form, HS256 (HMAC-SHA256, libsodium) over a server secret.
class token_signer {
 public:
  explicit token_signer(std::string secret);
  std::string issue_access(int64_t user_id, const std::string& role, int64_t now,
                           int64_t ttl_s) const;
  /// Checks the header (alg must be HS256), signature (constant time), type and expiry.
  std::optional<principal> verify_access(const std::string& token, int64_t now,
                                         token_error* why = nullptr) const;
  /// The third part of a token: HMAC-SHA256 of "header.payload" (both base64url), base64url.
  std::string sign(const std::string& signing_input) const;

 private:
  std::string secret_;
};

/// A fresh refresh token: 256 random bits, base64url.
std::string new_refresh_token();
/// What the database stores of a refresh token: hex SHA-256.
std::string hash_refresh_token(const std::string& token);
/// A random confirmation code of `digits` decimal digits.
std::string random_digits(int digits);
/// SHA-256 of `text`, lower-case hex (fingerprints of requests, not passwords).
std::string sha256_hex(const std::string& text);
/// A random secret suitable for HMAC keys (hex, 256 bits).
std::string random_secret();
/// Constant-time equality for secrets (codes, token hashes).
bool constant_time_equal(const std::string& a, const std::string& b);

std::string base64url_encode(const std::string& bytes);
std::optional<std::string> base64url_decode(const std::string& text);

}  // namespace wassally::security
