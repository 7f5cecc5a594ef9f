#include "persistence/order_placement_sql.hpp"

#include <algorithm>
#include <caf/make_message.hpp>
#include <cereal/archives/json.hpp>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <sstream>
#include <utility>

#include "persistence/database.hpp"
#include "protocols/errors.hpp"

// Placements travel in db_command::args (protocols/persistence.hpp), which never leave the
// process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wassally::orders_sql::placement)

namespace wassally::orders_sql {
namespace {

// -- the placement statements, each defined once ---------------------------------------------

/// The stock rule: for every row (product id, quantity) of `m`, one a product, the quantity
/// leaves the product only while it is not deleted and enough is there (an unlimited product
/// always has enough and keeps its stock), so stock is never negative and never oversold. A
/// product it does not return was short. $1, $2: the rows of `m` as two arrays.
///
/// The placement statements have fixed texts, their rows passed as arrays (unnest): each
/// connection prepares them once and PostgreSQL keeps their plans (db::exec_prepared), where a
/// text with one VALUES row per placement was parsed and planned on every transaction (planning
/// alone: ~0.35 ms of PostgreSQL's CPU, EXPLAIN (SUMMARY), a third of a lone placement's).
const char* const take_stock_sql =
    "UPDATE products p SET stock = CASE WHEN p.is_unlimited THEN p.stock ELSE p.stock - m.q"
    " END, sales_count = p.sales_count + m.q, stock_version = p.stock_version + 1,"
    " updated_at = now() FROM unnest($1::bigint[], $2::numeric[]) AS m(id, q)"
    " WHERE p.id = m.id AND p.deleted_at IS NULL AND (p.is_unlimited OR p.stock >= m.q)"
    " RETURNING p.id, p.stock_version";

/// Every order of v (arrays $1–$15, one element per order), its first event and its lines
/// (arrays $16–$24, one element per line, matched to their order by code; empty: none) in one
/// statement. An order whose code is taken is skipped with its lines (ON CONFLICT DO NOTHING).
/// One result row per written line (one with null line columns for an order without lines), in
/// order id and line id order.
const std::string insert_orders_sql =
    "WITH v AS (SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[],"
    " $5::text[], $6::text[], $7::text[], $8::text[], $9::float8[], $10::float8[], $11::text[],"
    " $12::numeric[], $13::numeric[], $14::numeric[], $15::bigint[]) AS v(k, type, code, user_id,"
    " rs, rn, rp, address, latitude, longitude, notes, it, df, total, coins)),"
    " x AS (SELECT * FROM unnest($16::text[], $17::int[], $18::bigint[], $19::bigint[],"
    " $20::text[], $21::numeric[], $22::numeric[], $23::numeric[], $24::numeric[]) AS x(code, n,"
    " product_id, shop_id, name, quantity, unit_price, unit_cost, line_total)),"
    // Cluster mode: the order's id is in its first shop's shard (the requesting shop's for a
    // delivery request), so the order is served where that shop is (migration 0010).
    " o AS (INSERT INTO orders (id, type, code, user_id, requesting_shop_id, receiver_name,"
    " receiver_phone, address, latitude, longitude, notes, items_total, delivery_fee, total,"
    " coins) SELECT zoned_id('orders_id_seq', shard_of_id(coalesce(nullif(rs, '')::bigint,"
    " (SELECT x.shop_id FROM x WHERE x.code = v.code ORDER BY x.n LIMIT 1)))), type, code,"
    " user_id, nullif(rs, '')::bigint, rn, rp, address, latitude, longitude, notes, it, df,"
    " total, coins FROM v ORDER BY k ON CONFLICT (code) DO NOTHING"
    " RETURNING id, code, user_id, created_at, updated_at, requesting_shop_id),"
    " e AS (INSERT INTO order_events (order_id, seq, status, by_user_id)"
    " SELECT id, 1, '" +
    std::string(order_status::pending) +
    "', user_id FROM o RETURNING order_id, at),"
    " l AS (INSERT INTO order_items (order_id, product_id, shop_id, name, quantity,"
    " unit_price, unit_cost, line_total) SELECT o.id, x.product_id, x.shop_id, x.name,"
    " x.quantity, x.unit_price, x.unit_cost, x.line_total FROM x JOIN o ON o.code = x.code"
    " ORDER BY o.id, x.n RETURNING id, order_id, product_id, quantity, shop_id)"
    " SELECT o.code, o.id, " +
    db::iso_utc("o.created_at") + " AS created_at, " + db::iso_utc("o.updated_at") +
    " AS updated_at, coalesce(rs.owner_id, 0) AS requesting_owner_id, " + db::iso_utc("e.at") +
    " AS event_at, l.id AS line_id, l.product_id AS line_product_id, l.quantity::text AS"
    " line_quantity, ls.owner_id AS line_owner_id FROM o JOIN e ON e.order_id = o.id"
    " LEFT JOIN shops rs ON rs.id = o.requesting_shop_id"
    " LEFT JOIN l ON l.order_id = o.id LEFT JOIN shops ls ON ls.id = l.shop_id"
    " ORDER BY o.id, l.id";

/// Checked-out carts are emptied with their order ($1: the users, a bigint array).
const char* const clear_carts_sql = "DELETE FROM cart_items WHERE user_id = ANY($1::bigint[])";

/// Each order is stored as its Idempotency-Key's answer, only while the key is still this
/// placement's: one whose claim went stale and was taken over places nothing. One statement for
/// every keyed placement of the transaction (arrays of user_id, key, claim, body).
const char* const store_placed_answers_sql =
    "UPDATE idempotency_keys k SET status = 201, body = v.body FROM unnest($1::bigint[],"
    " $2::text[], $3::text[], $4::text[]) AS v(user_id, key, claim, body)"
    " WHERE k.user_id = v.user_id AND k.key = v.key AND k.claim = v.claim AND k.status = 0"
    " RETURNING 1";

// -- the placement writer ---------------------------------------------------------------------

/// Columns of one statement's rows, each sent as one array parameter ($1, $2, … in order).
class array_params {
 public:
  explicit array_params(std::size_t columns) : columns_(columns) {}
  /// Appends a row: one value per column, in text form.
  void row(std::initializer_list<std::string> cells) {
    std::size_t c = 0;
    for (const auto& v : cells) columns_.at(c++).push_back(v);
  }
  std::size_t rows() const { return columns_.empty() ? 0 : columns_.front().size(); }
  /// Appends these columns' arrays to `out` (the statement's parameters so far; the caller
  /// keeps `out` alive while the statement runs: dynamic params refer to it).
  void append_to(std::vector<std::string>& out) const {
    for (const auto& col : columns_) out.push_back(db::quoted_array(col));
  }

 private:
  std::vector<std::vector<std::string>> columns_;
};

/// `value` as the JSON an Idempotency-Key's answer is stored as ({"<name>": …}), and back.
template <class T>
std::string to_json(const char* name, const T& value) {
  std::ostringstream os;
  {
    cereal::JSONOutputArchive ar(os, cereal::JSONOutputArchive::Options::NoIndent());
    ar(cereal::make_nvp(name, value));
  }
  return os.str();
}

template <class T>
T from_json(const char* name, const std::string& text) {
  T value;
  std::istringstream is(text);
  cereal::JSONInputArchive ar(is);
  ar(cereal::make_nvp(name, value));
  return value;
}

/// Takes the stock of every line of `ps` in one statement, their quantities summed per product.
/// Rows are named in product id order (the order a nested loop over them locks the rows in), so
/// that concurrent placements rarely deadlock; a batch that still does is rerun by its worker.
/// Throws 409 out_of_stock naming the first line that could not be served; returns each
/// product's new stock_version.
std::map<int64_t, int64_t> take_stock(pqxx::dbtransaction& tx,
                                      const std::vector<const placement*>& ps) {
  std::map<int64_t, quantity> wanted;
  for (auto* p : ps)
    for (auto& i : p->order.items) wanted[i.product_id].milli += i.amount.milli;
  std::map<int64_t, int64_t> versions;
  if (wanted.empty()) return versions;  // delivery requests carry no lines
  array_params params(2);
  for (auto& [id, q] : wanted) params.row({std::to_string(id), q.str()});
  std::vector<std::string> arrays;
  params.append_to(arrays);
  for (auto r : db::exec_prepared(tx, "take_stock", take_stock_sql,
                                  pqxx::prepare::make_dynamic_params(arrays)))
    versions[r["id"].as<int64_t>()] = r["stock_version"].as<int64_t>();
  for (auto* p : ps)
    for (auto& i : p->order.items)
      if (!versions.count(i.product_id)) {
        auto e = errors::conflict("out_of_stock", "not enough stock of " + i.name);
        e.extra["product_id"] = i.product_id;
        throw api_exception(e);
      }
  return versions;
}

/// The snapshot of a placement written as `r` (a result row of insert_orders_sql) says, before
/// its lines: everything but the ids, timestamps and owners is what was written, so nothing is
/// read back.
order_snapshot placed_snapshot(const placement& p, const std::string& code, const pqxx::row& r) {
  order_snapshot s;
  s.order = p.order;
  s.order.id = r["id"].as<int64_t>();
  s.order.code = code;
  s.order.status = order_status::pending;
  s.order.created_at = r["created_at"].as<std::string>();
  s.order.updated_at = r["updated_at"].as<std::string>();
  s.order.requesting_owner_id = r["requesting_owner_id"].as<int64_t>();
  for (auto& i : s.order.items) {
    i.id = 0;
    i.is_bought = false;
  }
  order_event e;
  e.seq = 1;
  e.status = order_status::pending;
  e.by_user_id = s.order.user_id;
  e.at = r["event_at"].as<std::string>();
  s.events.push_back(std::move(e));
  return s;
}

/// Gives the line of `r` its id and owner: the first line of the same product and quantity
/// without an id yet (identical lines are interchangeable).
void attach_line(order_snapshot& s, const pqxx::row& r) {
  if (r["line_id"].is_null()) return;
  auto product = r["line_product_id"].as<int64_t>();
  auto amount = quantity::parse(r["line_quantity"].as<std::string>());
  for (auto& i : s.order.items)
    if (i.id == 0 && i.product_id == product && amount && i.amount == *amount) {
      i.id = r["line_id"].as<int64_t>();
      i.shop_owner_id = r["line_owner_id"].as<int64_t>();
      return;
    }
}

/// Writes every order of `ps`, its first event and its lines, in one statement while no code
/// is taken: a placement whose code was taken is written again under its next candidate code
/// (codes are random: that is rare). Throws 500 when a placement runs out of codes.
std::vector<order_snapshot> insert_orders(pqxx::dbtransaction& tx,
                                          const std::vector<const placement*>& ps) {
  std::vector<std::optional<order_snapshot>> placed(ps.size());
  std::vector<std::size_t> tried(ps.size(), 0);  // candidate codes used, per placement
  for (;;) {
    // This round: every placement not written yet, each under its next candidate code that no
    // other placement of the round uses (rows are matched back by code).
    std::map<std::string, std::size_t> round;  // code → placement
    array_params orders(15), lines(9);
    for (std::size_t k = 0; k < ps.size(); ++k) {
      if (placed[k]) continue;
      const auto& codes = ps[k]->candidate_codes;
      while (tried[k] < codes.size() && round.count(codes[tried[k]])) ++tried[k];
      if (tried[k] == codes.size())
        throw api_exception(errors::internal("no free confirmation code"));
      const auto& code = codes[tried[k]++];
      round.emplace(code, k);
      const auto& o = ps[k]->order;
      orders.row({std::to_string(k), o.type, code, std::to_string(o.user_id),
                  o.requesting_shop_id ? std::to_string(o.requesting_shop_id) : "", o.receiver_name,
                  o.receiver_phone, o.location.address, pqxx::to_string(o.location.latitude),
                  pqxx::to_string(o.location.longitude), o.notes, o.items_total.str(),
                  o.delivery_fee.str(), o.total.str(), std::to_string(o.coins)});
      for (std::size_t n = 0; n < o.items.size(); ++n) {
        const auto& i = o.items[n];
        lines.row({code, std::to_string(n), std::to_string(i.product_id), std::to_string(i.shop_id),
                   i.name, i.amount.str(), i.unit_price.str(), i.unit_cost.str(),
                   i.line_total.str()});
      }
    }
    if (round.empty()) break;
    std::vector<std::string> params;
    orders.append_to(params);
    lines.append_to(params);
    for (auto r : db::exec_prepared(tx, "insert_orders", insert_orders_sql,
                                    pqxx::prepare::make_dynamic_params(params))) {
      auto code = r["code"].as<std::string>();
      auto k = round.at(code);
      if (!placed[k]) placed[k] = placed_snapshot(*ps[k], code, r);
      attach_line(*placed[k], r);
    }
  }
  std::vector<order_snapshot> out;
  for (auto& s : placed) {
    for (auto& i : s->order.items)
      if (i.id == 0) throw api_exception(errors::internal("a line of the order was not written"));
    // Line ids come from one sequence in line order: in id order, as a reload lists them.
    std::sort(s->order.items.begin(), s->order.items.end(),
              [](const order_item& a, const order_item& b) { return a.id < b.id; });
    out.push_back(std::move(*s));
  }
  return out;
}

/// The one placement writer: the placements of `ps` all or nothing, in a few statements whatever
/// their number (round trips are what a placement costs inside a group commit): the stock of
/// every line, the orders with their first events and lines, the carts they check out, the
/// Idempotency-Keys they answer. Throws api_exception as `place` answers.
std::vector<order_snapshot> write_placements(pqxx::dbtransaction& tx,
                                             const std::vector<const placement*>& ps) {
  auto versions = take_stock(tx, ps);
  auto placed = insert_orders(tx, ps);
  std::vector<int64_t> cart_users;
  for (std::size_t k = 0; k < ps.size(); ++k) {
    for (auto& i : ps[k]->order.items)
      placed[k].stock_moves.push_back({i.product_id, i.amount, versions[i.product_id]});
    if (ps[k]->clear_cart) cart_users.push_back(ps[k]->order.user_id);
  }
  if (!cart_users.empty()) tx.exec_params(clear_carts_sql, db::bigint_array(cart_users));
  array_params answers(4);
  for (std::size_t k = 0; k < ps.size(); ++k) {
    const auto& p = *ps[k];
    if (p.idempotency_key.empty()) continue;
    answers.row({std::to_string(p.order.user_id), p.idempotency_key, p.claim,
                 to_json("order", placed[k].order)});
  }
  auto keyed = answers.rows();
  std::vector<std::string> arrays;
  answers.append_to(arrays);
  // A key no longer this placement's: alone, that placement is answered 409 in progress;
  // merged, the batch is placed again one by one and only that one is.
  if (keyed && db::exec_prepared(tx, "store_placed_answers", store_placed_answers_sql,
                                 pqxx::prepare::make_dynamic_params(arrays))
                       .size() != keyed)
    throw api_exception(errors::request_in_progress());
  return placed;
}

/// Placements of one group commit written together (see db_command::run_merged), their stock
/// quantities summed per product. nullopt when one of them is refused (a product short of the
/// summed quantity, no free code): a refusal belongs to one placement, not to the batch, so the
/// worker rolls this back and places them one by one, each with its own outcome.
std::optional<std::vector<caf::message>> place_merged(pqxx::dbtransaction& tx,
                                                      const std::vector<const db_command*>& cmds) {
  std::vector<const placement*> ps;
  for (auto* c : cmds) ps.push_back(static_cast<const placement*>(c->payload.get()));
  try {
    std::vector<caf::message> out;
    for (auto& s : write_placements(tx, ps)) out.push_back(caf::make_message(std::move(s)));
    return out;
  } catch (const api_exception&) {
    return std::nullopt;
  }
}

}  // namespace

db_command place(placement p) {
  auto shared = std::make_shared<const placement>(std::move(p));
  db_command cmd{
      "orders.place", true,
      [shared](pqxx::dbtransaction& tx) {
        // A batch of one.
        return caf::make_message(std::move(write_placements(tx, {shared.get()}).front()));
      },
      caf::make_message(*shared)};
  // It locks the product rows of every shop it buys from (see db_command::lock_keys).
  for (const auto& i : shared->order.items) {
    auto key = "shop:" + std::to_string(i.shop_id);
    if (std::find(cmd.lock_keys.begin(), cmd.lock_keys.end(), key) == cmd.lock_keys.end())
      cmd.lock_keys.push_back(std::move(key));
  }
  // Placements of one group commit are written together, with or without an Idempotency-Key
  // (the keys' answers in one statement; a key taken over meanwhile sends the batch back to
  // one by one, where only its placement is refused).
  cmd.merge_kind = "orders.place";
  cmd.run_merged = place_merged;
  cmd.payload = shared;
  return cmd;
}

// -- Idempotency-Keys -------------------------------------------------------------------------

namespace {

/// The stored row of (user, key), `recent_only`: within the last 24 h (a key older than that
/// is free again) → found = false when there is none; status 0 in flight, 201 with the order,
/// else the error.
idempotent_placement read_placement(pqxx::dbtransaction& tx, int64_t user_id,
                                    const std::string& key, bool recent_only) {
  idempotent_placement out;
  auto rows = tx.exec_params(
      std::string("SELECT request_hash, status, body FROM idempotency_keys WHERE user_id = $1"
                  " AND key = $2") +
          (recent_only ? " AND created_at > now() - interval '24 hours'" : ""),
      user_id, key);
  if (rows.empty()) return out;
  const auto& row = rows[0];
  out.found = true;
  out.request_hash = row["request_hash"].as<std::string>();
  out.status = row["status"].as<int>();
  auto body = row["body"].as<std::string>();
  if (out.status == 201 && !body.empty())
    out.order = from_json<order_record>("order", body);
  else if (out.status != 0 && !body.empty())
    out.error = from_json<api_error>("error", body);
  return out;
}

}  // namespace

db_command find_placement(int64_t user_id, const std::string& key) {
  return {"orders.find_placement", false,
          [=](pqxx::dbtransaction& tx) {
            return caf::make_message(read_placement(tx, user_id, key, true));
          },
          caf::make_message(user_id, key)};
}

db_command claim_placement(int64_t user_id, const std::string& key, const std::string& request_hash,
                           const std::string& claim, int stale_after_s) {
  return {"orders.claim_placement", true,
          [=](pqxx::dbtransaction& tx) {
            auto claimed = db::exec_prepared(
                tx, "claim_placement",
                "INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, claim)"
                " VALUES ($1, $2, $3, 0, '', $4)"
                " ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
                " status = 0, body = '', claim = EXCLUDED.claim, created_at = now()"
                " WHERE idempotency_keys.created_at <= now() - interval '24 hours'"
                " OR (idempotency_keys.status = 0"
                " AND idempotency_keys.created_at <= now() - make_interval(secs => $5))"
                // Cluster mode: a claim (node/incarnation/token) whose node is gone, its
                // heartbeat expired or its process restarted: its placement can no longer commit
                // (it stores its answer only while the claim is its own).
                " OR (idempotency_keys.status = 0 AND idempotency_keys.claim LIKE '%/%/%'"
                " AND NOT EXISTS (SELECT 1 FROM cluster_node n"
                " WHERE n.node = split_part(idempotency_keys.claim, '/', 1)"
                " AND n.incarnation::text = split_part(idempotency_keys.claim, '/', 2)"
                " AND n.expires_at > now()))"
                " RETURNING 1",
                user_id, key, request_hash, claim, stale_after_s);
            if (!claimed.empty()) return caf::make_message(idempotent_placement{});
            // Taken: whatever holds it now, however old (the claim above did not free it).
            return caf::make_message(read_placement(tx, user_id, key, false));
          },
          caf::make_message(user_id, key, request_hash, claim, stale_after_s)};
}

db_command store_placement_answer(int64_t user_id, const std::string& key, const std::string& claim,
                                  const api_error& answer) {
  auto body = to_json("error", answer);
  return {"orders.store_placement_answer", true,
          [=](pqxx::dbtransaction& tx) {
            tx.exec_params(
                "UPDATE idempotency_keys SET status = $4, body = $5"
                " WHERE user_id = $1 AND key = $2 AND claim = $3 AND status = 0",
                user_id, key, claim, answer.status, body);
            return caf::make_message(done{});
          },
          caf::make_message(user_id, key, claim, answer)};
}

db_command release_placement_claim(int64_t user_id, const std::string& key,
                                   const std::string& claim) {
  return {"orders.release_placement_claim", true,
          [=](pqxx::dbtransaction& tx) {
            tx.exec_params(
                "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND claim = $3"
                " AND status = 0",
                user_id, key, claim);
            return caf::make_message(done{});
          },
          caf::make_message(user_id, key, claim)};
}

}  // namespace wassally::orders_sql
