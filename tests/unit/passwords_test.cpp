#include <boost/test/unit_test.hpp>

#include "security/passwords.hpp"

using wassally::security::password_hasher;

BOOST_AUTO_TEST_SUITE(passwords)

BOOST_AUTO_TEST_CASE(hash_verifies_only_the_right_password) {
  password_hasher h(1, 8);
  auto encoded = h.hash("correct horse");
  BOOST_TEST(encoded.rfind("$argon2id$", 0) == 0u);
  BOOST_TEST(encoded.find("correct horse") == std::string::npos);
  BOOST_TEST(h.verify("correct horse", encoded));
  BOOST_TEST(!h.verify("correct horsE", encoded));
  BOOST_TEST(!h.verify("", encoded));
  BOOST_TEST(!h.verify("correct horse", ""));
  BOOST_TEST(!h.verify("correct horse", "garbage"));
}

BOOST_AUTO_TEST_CASE(hashes_are_salted) {
  password_hasher h(1, 8);
  BOOST_TEST(h.hash("same password") != h.hash("same password"));
}

BOOST_AUTO_TEST_CASE(cost_parameters_are_recorded_in_the_hash) {
  password_hasher cheap(1, 8);
  password_hasher dearer(2, 64);
  auto a = cheap.hash("pw12345678");
  auto b = dearer.hash("pw12345678");
  BOOST_TEST(a.find("t=1") != std::string::npos);
  BOOST_TEST(b.find("t=2") != std::string::npos);
  // Verification reads the parameters from the hash, whatever the verifier's own settings.
  BOOST_TEST(cheap.verify("pw12345678", b));
  BOOST_TEST(dearer.verify("pw12345678", a));
}

BOOST_AUTO_TEST_SUITE_END()
