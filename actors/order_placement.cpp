#include "actors/order_placement.hpp"

#include <algorithm>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <map>
#include <memory>
#include <random>
#include <utility>

#include "actors/placement_builder.hpp"
#include "persistence/orders.hpp"
#include "protocols/accounts.hpp"
#include "protocols/entity_interfaces.hpp"
#include "protocols/errors.hpp"
#include "protocols/events.hpp"
#include "protocols/reconcile.hpp"
#include "protocols/registry.hpp"
#include "security/tokens.hpp"

namespace wassally {
namespace {

struct placement_state {
  placement_services svc;
  place_order req;
  caf::response_promise rp;
  std::map<int64_t, int64_t> shop_of;                             // product → shop
  std::map<int64_t, std::vector<order_line_request>> shop_lines;  // shop → its lines
  std::map<int64_t, product_quotes> quotes;                       // shop → priced lines
  std::vector<std::pair<std::size_t, api_error>> failures;        // by first line index
  std::string claim;  // this placement's claim on its Idempotency-Key (empty: no key)
  int outstanding = 0;
  bool done = false;
  static inline const char* name = "order_placement";
};

using self_ptr = caf::stateful_actor<placement_state>*;

/// This placement's name at the shops it reserves stock from. Unique in the cluster, not only in
/// the process: shops on one node hold stock for placements of every node (CLUSTER.md
/// "Routing"), and actor ids restart at 1 in every process. The high bits are drawn at random
/// once per process (2^22 values: two live processes share them with a chance of about one in
/// four million per pair), the low 40 are the actor's id.
int64_t placement_id(self_ptr self) {
  static const int64_t process_bits = [] {
    std::random_device rd;
    return static_cast<int64_t>(rd() % ((1u << 22) - 1) + 1) << 40;
  }();
  return process_bits | static_cast<int64_t>(self->id() & ((uint64_t{1} << 40) - 1));
}

void finish(self_ptr self, caf::message reply) {
  auto& st = self->state;
  if (st.done) return;
  st.done = true;
  st.rp.deliver(std::move(reply));
  self->quit();
}

/// Answers with `e`. With a claimed Idempotency-Key, the answer is first stored when the
/// placement had started (404, 409: a repeat gets the same), or the claim given up when it is an
/// answer API.md does not store (400, 503, 504), so a corrected request may use the key.
void fail(self_ptr self, const api_error& e) {
  auto& st = self->state;
  if (st.claim.empty() || st.done) {
    finish(self, caf::make_message(to_caf_error(e)));
    return;
  }
  auto user = st.req.who.user_id;
  auto key = st.req.idempotency_key;
  auto claim = std::exchange(st.claim, std::string{});
  bool stored = e.status == 404 || e.status == 409;
  auto cmd = stored ? orders_sql::store_placement_answer(user, key, claim, e)
                    : orders_sql::release_placement_claim(user, key, claim);
  // Answered once written: a repeat right after the answer finds the key as the answer says.
  auto answer = caf::make_message(to_caf_error(e));
  self->request(st.svc.persistence, caf::infinite, std::move(cmd))
      .then([self, answer](done&) { finish(self, answer); },
            [self, answer](caf::error&) { finish(self, answer); });
}

/// PostgreSQL holds stock the shops did not expect (it refused a take they had allowed), or the
/// commit's outcome is unknown: the shops reload their stock before they answer anything else.
void reload_shops(self_ptr self) {
  for (auto& [shop, lines] : self->state.shop_lines)
    tell(shop_ref(self->state.svc.registry, shop), reload_atom::value);
}

void release_all(self_ptr self) {
  auto placement = placement_id(self);
  for (auto& [shop, lines] : self->state.shop_lines)
    tell(shop_ref(self->state.svc.registry, shop), release_reservation{placement});
}

/// The answer for an earlier placement with the same key: the same answer (the order, or the
/// stored 404/409), 409 request_in_progress while it is in flight, or 409 if the body differed.
void answer_replay(self_ptr self, const idempotent_placement& earlier) {
  if (earlier.request_hash != self->state.req.request_hash) {
    fail(self, errors::conflict("idempotency_key_reused",
                                "this Idempotency-Key was used with a different request"));
    return;
  }
  if (earlier.status == 0)
    fail(self, errors::request_in_progress());
  else if (earlier.status == 201)
    finish(self, caf::make_message(order_placed{earlier.order, true}));
  else
    fail(self, earlier.error);
}

void commit(self_ptr self) {
  auto& st = self->state;
  auto p = placement_builder::order(st.req, st.claim, st.shop_of, st.quotes, st.svc.delivery_fee,
                                    st.svc.coins_per_order);
  if (!p) {
    release_all(self);
    fail(self, from_caf_error(p.error()));
    return;
  }
  auto cmd = orders_sql::place(std::move(*p));
  cmd.deadline_unix_ms = st.req.who.deadline_unix_ms;
  // Cluster mode: the stock was held by shops under their leases; a shop whose lease moved
  // since may no longer take it (CLUSTER.md "Fencing").
  for (auto& [shop, q] : st.quotes)
    if (q.fence.epoch > 0) cmd.fences.push_back(q.fence);
  // No timeout: the placement ends with the commit's outcome (DESIGN.md rule 6).
  self->request(st.svc.persistence, caf::infinite, std::move(cmd))
      .then(
          [self](order_snapshot& placed) {
            auto& st = self->state;
            st.claim.clear();  // the answer is stored with the order
            auto placement = placement_id(self);
            std::map<int64_t, std::vector<order_line_request>> moved;
            for (auto& m : placed.stock_moves) moved[st.shop_of[m.product_id]].push_back(m);
            std::vector<geo_location> points;
            for (auto& [shop, q] : st.quotes) points.push_back(q.shop_location);
            placement_builder::announce(st.svc.registry, st.svc.event_bus, placed,
                                        std::move(points));
            // The customer reads the new stock right after the 201 (and public product pages
            // are cached by the shop's stamp): every shop has taken its stock before the answer.
            // A shop that does not answer in time has nothing to lose: it is reloaded from the
            // database, which holds the committed stock.
            auto answer = caf::make_message(order_placed{placed.order, false});
            auto waiting = std::make_shared<std::size_t>(st.shop_lines.size());
            if (*waiting == 0) {
              finish(self, answer);
              return;
            }
            auto one_done = [self, waiting, answer] {
              if (--*waiting == 0) finish(self, answer);
            };
            for (auto& [shop, lines] : st.shop_lines)
              ask_entity(self, shop_ref(st.svc.registry, shop), st.svc.timeout,
                         commit_reservation{placement, moved[shop]})
                  .then([one_done] { one_done(); }, [one_done](caf::error&) { one_done(); });
          },
          [self](caf::error& err) {
            auto e = from_caf_error(err);
            release_all(self);
            // PostgreSQL refused stock a shop had held for us (its memory was behind), or the
            // commit may have happened: the shops reload their stock from the database.
            bool unknown = errors::outcome_unknown(e);
            if (e.code == "out_of_stock" || unknown) reload_shops(self);
            if (unknown) {
              // The key's answer is the commit's: it stays claimed (a repeat is told the
              // placement is in flight until the claim goes stale or the order shows up).
              self->state.claim.clear();
            }
            fail(self, e);
          });
}

void reserve(self_ptr self) {
  auto& st = self->state;
  if (st.shop_lines.size() > max_shops_per_order) {
    fail(self,
         errors::conflict("cart_shop_limit", "an order may hold products of at most " +
                                                 std::to_string(max_shops_per_order) + " shops"));
    return;
  }
  auto placement = placement_id(self);
  st.outstanding = static_cast<int>(st.shop_lines.size());
  auto index_of = [self](int64_t shop) {
    auto& lines = self->state.req.lines;
    for (std::size_t i = 0; i < lines.size(); ++i)
      if (self->state.shop_of[lines[i].product_id] == shop) return i;
    return lines.size();
  };
  for (auto& [shop, lines] : st.shop_lines) {
    auto shop_id = shop;
    ask_entity(self, shop_ref(st.svc.registry, shop_id), st.svc.timeout,
               reserve_stock{placement, lines})
        .then(
            [self, shop_id](product_quotes& q) {
              self->state.quotes[shop_id] = std::move(q);
              if (--self->state.outstanding == 0) {
                if (self->state.failures.empty())
                  commit(self);
                else {
                  release_all(self);
                  auto first =
                      std::min_element(self->state.failures.begin(), self->state.failures.end(),
                                       [](auto& a, auto& b) { return a.first < b.first; });
                  fail(self, first->second);
                }
              }
            },
            [self, shop_id, index_of](caf::error& err) {
              self->state.failures.emplace_back(index_of(shop_id), from_caf_error(err));
              if (--self->state.outstanding == 0) {
                release_all(self);
                auto first =
                    std::min_element(self->state.failures.begin(), self->state.failures.end(),
                                     [](auto& a, auto& b) { return a.first < b.first; });
                fail(self, first->second);
              }
            });
  }
}

void resolve_shops(self_ptr self) {
  auto& st = self->state;
  if (st.req.lines.empty()) {
    fail(self, errors::validation("items", st.req.from_cart ? "the cart is empty"
                                                            : "must hold at least one item"));
    return;
  }
  st.outstanding = static_cast<int>(st.req.lines.size());
  for (auto& line : st.req.lines) {
    auto product = line.product_id;
    self->request(st.svc.shop_directory, st.svc.timeout, shop_of_atom::value, product)
        .then(
            [self, product](int64_t shop) {
              auto& st = self->state;
              st.shop_of[product] = shop;
              if (--st.outstanding > 0) return;
              for (auto& l : st.req.lines) st.shop_lines[st.shop_of[l.product_id]].push_back(l);
              reserve(self);
            },
            [self, product](caf::error& err) {
              auto e = from_caf_error(err);
              e.extra["product_id"] = product;
              fail(self, e);
            });
  }
}

void start(self_ptr self) {
  auto& st = self->state;
  // One line per product: repeated products add up.
  std::vector<order_line_request> merged;
  for (auto& l : st.req.lines) {
    auto it = std::find_if(merged.begin(), merged.end(),
                           [&](auto& m) { return m.product_id == l.product_id; });
    if (it != merged.end())
      it->amount.milli += l.amount.milli;
    else
      merged.push_back(l);
  }
  st.req.lines = std::move(merged);
  // A repeated request is answered from its key first: its cart is already empty. The key is
  // claimed in a transaction of its own, so a repeat arriving while this placement is in flight
  // is told so instead of placing a second order.
  if (st.req.idempotency_key.empty()) {
    resolve_shops(self);
    return;
  }
  auto claim = st.svc.claim_prefix + security::random_digits(20);
  auto cmd = orders_sql::claim_placement(st.req.who.user_id, st.req.idempotency_key,
                                         st.req.request_hash, claim, st.svc.idempotency_stale_s);
  cmd.deadline_unix_ms = st.req.who.deadline_unix_ms;
  self->request(st.svc.persistence, caf::infinite, std::move(cmd))
      .then(
          [self, claim](idempotent_placement& earlier) {
            if (earlier.found) {
              answer_replay(self, earlier);
              return;
            }
            self->state.claim = claim;
            resolve_shops(self);
          },
          [self](caf::error& err) { fail(self, from_caf_error(err)); });
}

}  // namespace

caf::actor spawn_order_placement(caf::actor_system& sys, placement_services svc) {
  return sys.spawn([svc](self_ptr self) -> caf::behavior {
    self->state.svc = svc;
    return {
        [self](place_order& req) {
          auto& st = self->state;
          st.rp = self->make_response_promise();
          st.req = std::move(req);
          start(self);
          // Whatever happens, the placement ends: its holds expire at the shops on their own.
          return st.rp;
        },
    };
  });
}

}  // namespace wassally
