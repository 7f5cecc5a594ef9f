#include <array>
#include <boost/test/unit_test.hpp>
#include <cstdlib>

#include "security/tokens.hpp"

using namespace wassally::security;

BOOST_AUTO_TEST_SUITE(tokens)

const std::string secret = "0123456789abcdef0123456789abcdef";

/// A token over any header and claims, signed as the server signs.
std::string signed_token(const token_signer& s, const std::string& header_json,
                         const std::string& payload_json) {
  auto input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  return input + "." + s.sign(input);
}

BOOST_AUTO_TEST_CASE(sign_and_verify_round_trip) {
  token_signer s(secret);
  auto t = s.issue_access(42, "staff", 1000, 900);
  auto p = s.verify_access(t, 1001);
  BOOST_REQUIRE(p);
  BOOST_TEST(p->user_id == 42);
  BOOST_TEST(p->role == "staff");
  BOOST_TEST(p->expires_at == 1900);
}

BOOST_AUTO_TEST_CASE(expired_tokens_are_refused) {
  token_signer s(secret);
  auto t = s.issue_access(1, "customer", 1000, 10);
  token_error why{};
  BOOST_TEST(!s.verify_access(t, 1010, &why));
  BOOST_TEST((why == token_error::expired));
  BOOST_TEST(s.verify_access(t, 1009).has_value());
}

BOOST_AUTO_TEST_CASE(tampered_payload_or_signature_is_refused) {
  token_signer s(secret);
  auto t = s.issue_access(1, "customer", 1000, 900);
  auto dot1 = t.find('.');
  auto dot2 = t.rfind('.');
  // Promote ourselves to staff with the original signature.
  auto forged_payload =
      base64url_encode(R"({"exp":1900,"iat":1000,"role":"staff","sub":1,"typ":"access"})");
  auto forged = t.substr(0, dot1 + 1) + forged_payload + t.substr(dot2);
  token_error why{};
  BOOST_TEST(!s.verify_access(forged, 1001, &why));
  BOOST_TEST((why == token_error::bad_signature));
  auto flipped = t;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  BOOST_TEST(!s.verify_access(flipped, 1001));
  // Another server's secret does not verify.
  token_signer other("ffffffffffffffffffffffffffffffff");
  BOOST_TEST(!other.verify_access(t, 1001));
}

BOOST_AUTO_TEST_CASE(signed_claims_out_of_integer_range_are_malformed) {
  // Found by the decoding fuzzer: a correctly signed token whose exp does not fit int64 was
  // converted with undefined behaviour. Fractions, huge numbers and strings are refused alike.
  token_signer s(secret);
  const std::string header = R"({"alg":"HS256","typ":"JWT"})";
  for (std::string claims :
       {R"("exp":1.8e65,"sub":1)", R"("exp":18446744073709551615,"sub":1)",
        R"("exp":2000.5,"sub":1)", R"("exp":"2000","sub":1)", R"("exp":2000,"sub":1e300)"}) {
    token_error why{};
    auto token = signed_token(s, header, "{" + claims + R"(,"role":"staff","typ":"access"})");
    BOOST_TEST(!s.verify_access(token, 1000, &why), claims);
    BOOST_TEST((why == token_error::malformed), claims);
  }
  auto p = s.verify_access(
      signed_token(s, header, R"({"exp":2000,"sub":7,"role":"staff","typ":"access"})"), 1000);
  BOOST_REQUIRE(p);
  BOOST_TEST(p->user_id == 7);
}

// The server's own caller role (roles::system, the no_crew cancel) is never a token's, even one
// signed with the right key: only the four user roles pass.
BOOST_AUTO_TEST_CASE(only_user_roles_pass_verification) {
  token_signer s(secret);
  const std::string header = R"({"alg":"HS256","typ":"JWT"})";
  for (std::string role : {"system", "System", "", "admin", "no_crew"}) {
    token_error why{};
    auto token =
        signed_token(s, header, R"({"exp":2000,"sub":7,"role":")" + role + R"(","typ":"access"})");
    BOOST_TEST(!s.verify_access(token, 1000, &why), role);
    BOOST_TEST((why == token_error::malformed), role);
  }
  for (std::string role : {"customer", "shop_owner", "delivery_crew", "staff"})
    BOOST_TEST(s.verify_access(
                    signed_token(s, header,
                                 R"({"exp":2000,"sub":7,"role":")" + role + R"(","typ":"access"})"),
                    1000)
                   .has_value(),
               role);
}

BOOST_AUTO_TEST_CASE(alg_none_and_garbage_are_refused) {
  token_signer s(secret);
  auto header = base64url_encode(R"({"alg":"none","typ":"JWT"})");
  auto payload = base64url_encode(R"({"exp":99999999999,"role":"staff","sub":1,"typ":"access"})");
  token_error why{};
  BOOST_TEST(!s.verify_access(header + "." + payload + ".", 1, &why));
  BOOST_TEST((why == token_error::bad_algorithm));
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "a.b.c", "a.b", "a.b.c.d", std::string(5000, 'x')})
    BOOST_TEST(!s.verify_access(bad, 1));
}

BOOST_AUTO_TEST_CASE(refresh_tokens_and_codes_are_random) {
  auto a = new_refresh_token();
  auto b = new_refresh_token();
  BOOST_TEST(a != b);
  BOOST_TEST(a.size() >= 43u);  // 256 bits
  BOOST_TEST(hash_refresh_token(a).size() == 64u);
  BOOST_TEST(hash_refresh_token(a) == hash_refresh_token(a));
  auto code = random_digits(8);
  BOOST_TEST(code.size() == 8u);
  BOOST_TEST(code.find_first_not_of("0123456789") == std::string::npos);
  BOOST_TEST(random_digits(0).empty());
  BOOST_TEST(random_digits(200).size() == 200u);  // longer than one read of randomness
  // Every digit about equally likely: 100,000 digits, each within 5 % of 10,000 (5.3 standard
  // deviations: a fair source misses that about once in a million runs).
  std::array<int, 10> counts{};
  for (int i = 0; i < 1000; ++i)
    for (char c : random_digits(100)) ++counts[static_cast<std::size_t>(c - '0')];
  for (int d = 0; d < 10; ++d) BOOST_TEST(std::abs(counts[d] - 10000) < 500, "digit " << d);
  BOOST_TEST(constant_time_equal("abc", "abc"));
  BOOST_TEST(!constant_time_equal("abc", "abd"));
  BOOST_TEST(!constant_time_equal("abc", "abcd"));
}

BOOST_AUTO_TEST_CASE(base64url_round_trip) {
  std::string bytes = std::string("\x00\xff\x10 hello", 9);
  auto enc = base64url_encode(bytes);
  BOOST_TEST(enc.find('=') == std::string::npos);
  BOOST_TEST(base64url_decode(enc).value() == bytes);
  BOOST_TEST(!base64url_decode("***").has_value());
}

// Found by tests/fuzz: libsodium decoded any byte >= 0x80 as '_', so "\xff\xff5-8" was accepted
// as the encoding of "____5-8"'s bytes.
BOOST_AUTO_TEST_CASE(base64url_refuses_bytes_outside_the_alphabet) {
  BOOST_TEST(base64url_decode("____").has_value());
  for (int c = 0x80; c <= 0xff; ++c)
    BOOST_TEST(!base64url_decode(std::string(4, static_cast<char>(c))).has_value(), c);
  BOOST_TEST(!base64url_decode(std::string(120, '\xff') + "5-8").has_value());
  BOOST_TEST(!base64url_decode("AAAA AAAA").has_value());
  BOOST_TEST(!base64url_decode("AAA=").has_value());
  BOOST_TEST(!base64url_decode("AA+/").has_value());
  BOOST_TEST(!base64url_decode(std::string("AA\0A", 4)).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
