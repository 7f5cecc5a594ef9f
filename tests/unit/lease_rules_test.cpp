// How a node shares shard leases with the others (actors/lease_rules.cpp).
#include <boost/test/unit_test.hpp>

#include "actors/lease_rules.hpp"

using namespace wassally;
using namespace wassally::lease_rules;

namespace {

std::vector<cluster_node_row> live(std::initializer_list<const char*> names) {
  std::vector<cluster_node_row> out;
  for (auto n : names) out.push_back({n, "", true});
  return out;
}

/// `shards` leases, shard i held (unexpired) by owners[i] ("" : free).
std::vector<shard_lease_row> leases(const std::vector<std::string>& owners) {
  std::vector<shard_lease_row> out;
  for (std::size_t i = 0; i < owners.size(); ++i)
    out.push_back({static_cast<int32_t>(i), owners[i], 1, owners[i].empty() ? 0 : 1000});
  return out;
}

std::vector<held_shard> held_by(const std::vector<shard_lease_row>& ls, const std::string& me) {
  std::vector<held_shard> out;
  for (auto& l : ls)
    if (l.node == me) out.push_back({l.shard, l.epoch});
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(lease_rules_suite)

BOOST_AUTO_TEST_CASE(fair_shares_add_up_and_every_node_computes_the_same) {
  for (int32_t shards : {1, 7, 8, 64, 1000}) {
    for (std::vector<std::string> nodes : {std::vector<std::string>{"a"},
                                           {"a", "b"},
                                           {"c", "a", "b"},
                                           {"n1", "n2", "n3", "n4", "n5"}}) {
      int32_t sum = 0;
      int32_t lo = shards, hi = 0;
      for (auto& n : nodes) {
        auto s = fair_share(nodes, n, shards);
        sum += s;
        lo = std::min(lo, s);
        hi = std::max(hi, s);
      }
      BOOST_TEST(sum == shards);
      BOOST_TEST(hi - lo <= 1);
    }
  }
  // Order of the list does not matter; a node missing from it counts itself.
  BOOST_TEST(fair_share({"b", "a", "c"}, "a", 8) == fair_share({"a", "b", "c"}, "a", 8));
  BOOST_TEST(fair_share({"a", "b", "c"}, "a", 8) == 3);
  BOOST_TEST(fair_share({"a", "b", "c"}, "c", 8) == 2);
  BOOST_TEST(fair_share({"a"}, "b", 8) == 4);
}

BOOST_AUTO_TEST_CASE(a_node_below_its_share_claims_the_difference) {
  auto ls = leases({"a", "a", "a", "a", "", "", "", ""});
  auto p = plan("b", held_by(ls, "b"), ls, live({"a", "b"}), 2);
  BOOST_TEST(p.claim == 4);  // claims are not bounded by max_moves: free shards are unserved
  BOOST_TEST(p.release.empty());
  // Alone: everything.
  auto alone = plan("a", held_by(ls, "a"), ls, live({"a"}), 2);
  BOOST_TEST(alone.claim == 4);
}

BOOST_AUTO_TEST_CASE(a_node_above_its_share_gives_up_its_highest_shards_bounded_per_round) {
  auto ls = leases({"a", "a", "a", "a", "a", "a", "a", "a"});
  auto p = plan("a", held_by(ls, "a"), ls, live({"a", "b"}), 3);
  BOOST_TEST(p.claim == 0);
  BOOST_TEST(p.release == std::vector<int32_t>({5, 6, 7}), boost::test_tools::per_element());
  auto unbounded = plan("a", held_by(ls, "a"), ls, live({"a", "b"}), 100);
  BOOST_TEST(unbounded.release.size() == 4u);
}

BOOST_AUTO_TEST_CASE(nothing_is_given_up_that_no_live_node_needs) {
  // b is not live (its heartbeat expired): a keeps all, nobody would take them.
  auto ls = leases({"a", "a", "a", "a", "a", "a", "a", "a"});
  std::vector<cluster_node_row> nodes = {{"a", "", true}, {"b", "", false}};
  auto p = plan("a", held_by(ls, "a"), ls, nodes, 4);
  BOOST_TEST(p.release.empty());
  BOOST_TEST(p.claim == 0);
  // Three nodes, a holds 4 of 8, b 3, c 1: c is below its share (2), a above (3): a gives one.
  auto three = leases({"a", "a", "a", "a", "b", "b", "b", "c"});
  auto q = plan("a", held_by(three, "a"), three, live({"a", "b", "c"}), 4);
  BOOST_TEST(q.release == std::vector<int32_t>({3}), boost::test_tools::per_element());
  // b holds exactly its share (3): it keeps them.
  BOOST_TEST(plan("b", held_by(three, "b"), three, live({"a", "b", "c"}), 4).release.empty());
}

BOOST_AUTO_TEST_CASE(expired_leases_count_for_nobody) {
  // b's leases expired (b died): b holds nothing in a's eyes, and a, alone live, claims them.
  auto ls = leases({"a", "a", "a", "a", "b", "b", "b", "b"});
  for (auto& l : ls)
    if (l.node == "b") l.expires_in_ms = -5;
  std::vector<cluster_node_row> nodes = {{"a", "", true}, {"b", "", false}};
  auto p = plan("a", held_by(ls, "a"), ls, nodes, 1);
  BOOST_TEST(p.claim == 4);
}

BOOST_AUTO_TEST_SUITE_END()
