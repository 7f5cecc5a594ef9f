#include "security/tokens.hpp"

#include <sodium.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "protocols/accounts.hpp"

namespace wassally::security {
namespace {

void ensure_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium failed to initialise");
}

const std::string& header_b64() {
  static const std::string h = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
  return h;
}

}  // namespace

std::string base64url_encode(const std::string& bytes) {
  ensure_sodium();
  const auto variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), variant);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::optional<std::string> base64url_decode(const std::string& text) {
  ensure_sodium();
  // libsodium 1.0.18 reads the text as signed char: every byte >= 0x80 decodes as '_' (63).
  // Only the base64url alphabet is base64url.
  static const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  if (text.find_first_not_of(alphabet) != std::string::npos) return std::nullopt;
  std::string out(text.size(), '\0');
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size())
    return std::nullopt;
  out.resize(len);
  return out;
}

token_signer::token_signer(std::string secret) : secret_(std::move(secret)) {
  ensure_sodium();
  if (secret_.size() < 16) throw std::invalid_argument("token secret must be at least 16 bytes");
}

std::string token_signer::sign(const std::string& signing_input) const {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret_.data()),
                              secret_.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(signing_input.data()),
                                signing_input.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return base64url_encode(std::string(reinterpret_cast<char*>(mac), sizeof mac));
}

std::string token_signer::issue_access(int64_t user_id, const std::string& role, int64_t now,
                                       int64_t ttl_s) const {
  nlohmann::json payload = {
      {"sub", user_id}, {"role", role}, {"iat", now}, {"exp", now + ttl_s}, {"typ", "access"}};
  auto input = header_b64() + "." + base64url_encode(payload.dump());
  return input + "." + sign(input);
}

namespace {

/// A claim that must be a whole number within int64 (nlohmann would convert 1.8e65 to int64_t
/// with undefined behaviour; found by the decoding fuzzer).
std::optional<int64_t> integer_claim(const nlohmann::json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    return std::nullopt;
  return it->get<int64_t>();
}

}  // namespace

std::optional<principal> token_signer::verify_access(const std::string& token, int64_t now,
                                                     token_error* why) const {
  auto fail = [&](token_error e) -> std::optional<principal> {
    if (why) *why = e;
    return std::nullopt;
  };
  auto dot1 = token.find('.');
  if (dot1 == std::string::npos || token.size() > 4096) return fail(token_error::malformed);
  auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string::npos || token.find('.', dot2 + 1) != std::string::npos)
    return fail(token_error::malformed);
  auto header = base64url_decode(token.substr(0, dot1));
  if (!header) return fail(token_error::malformed);
  try {
    auto h = nlohmann::json::parse(*header);
    if (!h.is_object() || h.value("alg", "") != "HS256") return fail(token_error::bad_algorithm);
  } catch (const std::exception&) {
    return fail(token_error::malformed);
  }
  auto expected = sign(token.substr(0, dot2));
  if (!constant_time_equal(expected, token.substr(dot2 + 1)))
    return fail(token_error::bad_signature);
  auto payload = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return fail(token_error::malformed);
  try {
    auto p = nlohmann::json::parse(*payload);
    if (!p.is_object() || p.value("typ", "") != "access") return fail(token_error::wrong_type);
    principal out;
    auto user_id = integer_claim(p, "sub");
    auto expires_at = integer_claim(p, "exp");
    if (!user_id || !expires_at) return fail(token_error::malformed);
    out.user_id = *user_id;
    out.role = p.at("role").get<std::string>();
    // Only a user's role: never roles::system (the server acting on its own), whatever signed it.
    if (out.role != roles::customer && out.role != roles::shop_owner &&
        out.role != roles::delivery_crew && out.role != roles::staff)
      return fail(token_error::malformed);
    out.expires_at = *expires_at;
    if (out.expires_at <= now) return fail(token_error::expired);
    return out;
  } catch (const std::exception&) {
    return fail(token_error::malformed);
  }
}

std::string new_refresh_token() {
  ensure_sodium();
  std::string bytes(32, '\0');
  randombytes_buf(bytes.data(), bytes.size());
  return base64url_encode(bytes);
}

std::string hash_refresh_token(const std::string& token) {
  ensure_sodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::string sha256_hex(const std::string& text) { return hash_refresh_token(text); }

std::string random_digits(int digits) {
  ensure_sodium();
  // One read of the system's randomness for all the digits (randombytes_uniform per digit was a
  // getrandom() system call each: 52 of them per keyed placement, ~6 % of the server's CPU in
  // W2). Bytes of 250 and above are dropped, so that every digit is equally likely (250 = 25 × 10).
  std::string out;
  out.reserve(static_cast<std::size_t>(std::max(0, digits)));
  unsigned char bytes[64];
  while (static_cast<int>(out.size()) < digits) {
    auto missing = static_cast<std::size_t>(digits) - out.size();
    auto n = std::min(sizeof bytes, missing + missing / 8 + 2);
    randombytes_buf(bytes, n);
    for (std::size_t i = 0; i < n && out.size() < static_cast<std::size_t>(digits); ++i)
      if (bytes[i] < 250) out += static_cast<char>('0' + bytes[i] % 10);
  }
  return out;
}

std::string random_secret() {
  ensure_sodium();
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace wassally::security
