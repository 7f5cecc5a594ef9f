#include "persistence/orders.hpp"

#include "protocols/reconcile.hpp"

#include <algorithm>
#include <caf/make_message.hpp>
#include <cereal/archives/json.hpp>
#include <map>
#include <pqxx/pqxx>
#include <sstream>
#include <tuple>

#include "persistence/database.hpp"
#include "protocols/errors.hpp"

// Placements and transitions travel in db_command::args (protocols/persistence.hpp), which
// never leave the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wassally::orders_sql::placement)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wassally::orders_sql::transition)

namespace wassally::orders_sql {
namespace {

const std::string order_columns =
    "o.id, o.code, o.type, o.status, o.user_id, coalesce(o.requesting_shop_id, 0), "
    "coalesce(rs.owner_id, 0), coalesce(o.crew_id, 0), o.receiver_name, o.receiver_phone, "
    "o.address, o.latitude, o.longitude, o.notes, o.items_total::text, o.delivery_fee::text, "
    "o.total::text, o.coins, o.wrong_code_count, o.code_locked, " +
    db::iso_utc("o.created_at") + ", " + db::iso_utc("o.updated_at");

const std::string order_from = " FROM orders o LEFT JOIN shops rs ON rs.id = o.requesting_shop_id ";

money read_money(const pqxx::field& f) { return money::parse(f.as<std::string>()).value(); }

order_record read_order(const pqxx::row& r) {
  order_record o;
  o.id = r[0].as<int64_t>();
  o.code = r[1].as<std::string>();
  o.type = r[2].as<std::string>();
  o.status = r[3].as<std::string>();
  o.user_id = r[4].as<int64_t>();
  o.requesting_shop_id = r[5].as<int64_t>();
  o.requesting_owner_id = r[6].as<int64_t>();
  o.crew_id = r[7].as<int64_t>();
  o.receiver_name = r[8].as<std::string>();
  o.receiver_phone = r[9].as<std::string>();
  o.location.address = r[10].as<std::string>();
  o.location.latitude = r[11].as<double>();
  o.location.longitude = r[12].as<double>();
  o.notes = r[13].as<std::string>();
  o.items_total = read_money(r[14]);
  o.delivery_fee = read_money(r[15]);
  o.total = read_money(r[16]);
  o.coins = r[17].as<int64_t>();
  o.wrong_code_count = r[18].as<int>();
  o.code_locked = r[19].as<bool>();
  o.created_at = r[20].as<std::string>();
  o.updated_at = r[21].as<std::string>();
  return o;
}

/// Lines of the orders in `ids` ("{1,2}"), appended to the matching records.
void attach_items(pqxx::dbtransaction& tx, std::vector<order_record>& orders) {
  if (orders.empty()) return;
  std::vector<int64_t> order_ids;
  for (auto& o : orders) order_ids.push_back(o.id);
  auto ids = db::bigint_array(order_ids);
  auto rows = tx.exec_params(
      "SELECT oi.order_id, oi.id, oi.product_id, oi.shop_id, s.owner_id, oi.name,"
      " oi.quantity::text, oi.unit_price::text, oi.unit_cost::text, oi.line_total::text,"
      " oi.is_bought FROM order_items oi JOIN shops s ON s.id = oi.shop_id"
      " WHERE oi.order_id = ANY($1::bigint[]) ORDER BY oi.order_id, oi.id",
      ids);
  std::map<int64_t, order_record*> by_id;
  for (auto& o : orders) by_id[o.id] = &o;
  for (auto r : rows) {
    order_item i;
    auto order_id = r[0].as<int64_t>();
    i.id = r[1].as<int64_t>();
    i.product_id = r[2].as<int64_t>();
    i.shop_id = r[3].as<int64_t>();
    i.shop_owner_id = r[4].as<int64_t>();
    i.name = r[5].as<std::string>();
    i.amount = quantity::parse(r[6].as<std::string>()).value();
    i.unit_price = read_money(r[7]);
    i.unit_cost = read_money(r[8]);
    i.line_total = read_money(r[9]);
    i.is_bought = r[10].as<bool>();
    if (auto it = by_id.find(order_id); it != by_id.end()) it->second->items.push_back(i);
  }
}

order_snapshot load_snapshot(pqxx::dbtransaction& tx, int64_t id) {
  auto rows = tx.exec_params("SELECT " + order_columns + order_from + " WHERE o.id = $1", id);
  if (rows.empty()) throw api_exception(errors::not_found("no such order"));
  std::vector<order_record> one{read_order(rows[0])};
  attach_items(tx, one);
  order_snapshot s;
  s.order = std::move(one[0]);
  for (auto r :
       tx.exec_params("SELECT seq, status, coalesce(crew_id, 0), coalesce(by_user_id, 0), " +
                          db::iso_utc("at") + " FROM order_events WHERE order_id = $1 ORDER BY seq",
                      id)) {
    order_event e;
    e.seq = r[0].as<int64_t>();
    e.status = r[1].as<std::string>();
    e.crew_id = r[2].as<int64_t>();
    e.by_user_id = r[3].as<int64_t>();
    e.at = r[4].as<std::string>();
    s.events.push_back(e);
  }
  return s;
}

std::string to_json(const order_record& o) {
  std::ostringstream os;
  {
    cereal::JSONOutputArchive ar(os, cereal::JSONOutputArchive::Options::NoIndent());
    ar(cereal::make_nvp("order", o));
  }
  return os.str();
}

order_record from_json(const std::string& text) {
  order_record o;
  std::istringstream is(text);
  cereal::JSONInputArchive ar(is);
  ar(cereal::make_nvp("order", o));
  return o;
}

/// Takes the stock of every line, in one statement when the lines name distinct products:
/// stock leaves a product only if enough is there (never negative, never oversold). Rows are
/// named in product id order (the order a nested loop over them locks the rows in), so that
/// concurrent placements rarely deadlock; a batch that still does is rerun by its worker. Throws
/// 409 out_of_stock naming the first line that could not be served; returns what left each
/// product with the row's new stock_version.
std::vector<order_line_request> take_stock(pqxx::dbtransaction& tx,
                                           const std::vector<order_item>& items) {
  if (items.empty()) return {};  // a delivery request carries no lines
  std::vector<const order_item*> lines;
  for (auto& i : items) lines.push_back(&i);
  std::sort(lines.begin(), lines.end(),
            [](auto* a, auto* b) { return a->product_id < b->product_id; });
  bool distinct = std::adjacent_find(lines.begin(), lines.end(), [](auto* a, auto* b) {
                    return a->product_id == b->product_id;
                  }) == lines.end();
  auto out_of_stock = [](const order_item& i) {
    auto e = errors::conflict("out_of_stock", "not enough stock of " + i.name);
    e.extra["product_id"] = i.product_id;
    return api_exception(e);
  };
  const std::string take =
      "UPDATE products p SET stock = CASE WHEN p.is_unlimited THEN p.stock ELSE p.stock - m.q"
      " END, sales_count = p.sales_count + m.q, stock_version = p.stock_version + 1,"
      " updated_at = now()";
  const std::string takeable =
      " WHERE p.id = m.id AND p.deleted_at IS NULL AND (p.is_unlimited OR p.stock >= m.q)"
      " RETURNING p.id, p.stock_version";
  std::map<int64_t, int64_t> versions;
  if (distinct) {
    std::vector<std::string> params;
    std::string values;
    for (auto* i : lines) {
      values += values.empty() ? "" : ", ";
      values += "($" + std::to_string(params.size() + 1) + "::bigint, $" +
                std::to_string(params.size() + 2) + "::numeric)";
      params.push_back(std::to_string(i->product_id));
      params.push_back(i->amount.str());
    }
    for (auto r : tx.exec_params(take + " FROM (VALUES " + values + ") m(id, q)" + takeable,
                                 pqxx::prepare::make_dynamic_params(params)))
      versions[r[0].as<int64_t>()] = r[1].as<int64_t>();
    for (auto& i : items)
      if (!versions.count(i.product_id)) throw out_of_stock(i);
  } else {
    for (auto* i : lines) {
      auto r =
          tx.exec_params(take + " FROM (SELECT $1::bigint AS id, $2::numeric AS q) m" + takeable,
                         i->product_id, i->amount.str());
      if (r.empty()) throw out_of_stock(*i);
      versions[i->product_id] = r[0][1].as<int64_t>();
    }
  }
  std::vector<order_line_request> moves;
  for (auto& i : items) moves.push_back({i.product_id, i.amount, versions[i.product_id]});
  return moves;
}

std::optional<int64_t> nonzero(int64_t v) {
  if (v == 0) return std::nullopt;
  return v;
}

/// Writes the order, its first event and its lines in one statement under the first free
/// confirmation code, and returns the snapshot without reading it back: everything but the
/// ids, timestamps and owners is what was written. nullopt when every code was taken.
std::optional<order_snapshot> insert_order(pqxx::dbtransaction& tx, const order_record& o,
                                           const std::vector<std::string>& codes) {
  std::vector<std::string> lines;
  std::string values;
  for (auto& i : o.items) {
    auto n = [&](std::size_t k) { return "$" + std::to_string(14 + lines.size() + k); };
    values += values.empty() ? "" : ", ";
    values += "(" + n(1) + "::bigint, " + n(2) + "::bigint, " + n(3) + "::text, " + n(4) +
              "::numeric, " + n(5) + "::numeric, " + n(6) + "::numeric, " + n(7) + "::numeric)";
    lines.insert(lines.end(),
                 {std::to_string(i.product_id), std::to_string(i.shop_id), i.name, i.amount.str(),
                  i.unit_price.str(), i.unit_cost.str(), i.line_total.str()});
  }
  const std::string sql =
      "WITH o AS (INSERT INTO orders (type, code, user_id, requesting_shop_id, receiver_name,"
      " receiver_phone, address, latitude, longitude, notes, items_total, delivery_fee, total,"
      " coins) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::numeric, $12::numeric,"
      " $13::numeric, $14) ON CONFLICT (code) DO NOTHING"
      " RETURNING id, created_at, updated_at, requesting_shop_id),"
      " e AS (INSERT INTO order_events (order_id, seq, status, by_user_id)"
      " SELECT id, 1, 'pending', $3 FROM o RETURNING at)" +
      (values.empty()
           ? std::string()
           : ", l AS (INSERT INTO order_items (order_id, product_id, shop_id, name, quantity,"
             " unit_price, unit_cost, line_total) SELECT o.id, v.* FROM o, (VALUES " +
                 values + ") v RETURNING id, shop_id)") +
      " SELECT o.id, " + db::iso_utc("o.created_at") + ", " + db::iso_utc("o.updated_at") +
      ", coalesce((SELECT owner_id FROM shops WHERE id = o.requesting_shop_id), 0), " + "(SELECT " +
      db::iso_utc("at") + " FROM e), " +
      (values.empty() ? std::string("''")
                      : "coalesce((SELECT string_agg(l.id || ':' || s.owner_id, ',' ORDER BY"
                        " l.id) FROM l JOIN shops s ON s.id = l.shop_id), '')") +
      " FROM o";
  for (auto& code : codes) {
    auto head = std::make_tuple(o.type, code, o.user_id, nonzero(o.requesting_shop_id),
                                o.receiver_name, o.receiver_phone, o.location.address,
                                o.location.latitude, o.location.longitude, o.notes,
                                o.items_total.str(), o.delivery_fee.str(), o.total.str(), o.coins);
    auto r = std::apply(
        [&](auto&&... fixed) {
          return tx.exec_params(sql, fixed..., pqxx::prepare::make_dynamic_params(lines));
        },
        head);
    if (r.empty()) continue;  // the code is taken: the next one
    order_snapshot s;
    s.order = o;
    s.order.id = r[0][0].as<int64_t>();
    s.order.code = code;
    s.order.status = order_status::pending;
    s.order.created_at = r[0][1].as<std::string>();
    s.order.updated_at = r[0][2].as<std::string>();
    s.order.requesting_owner_id = r[0][3].as<int64_t>();
    // Line ids come from one sequence in insertion order: ascending ids are the lines in order.
    std::istringstream ids(r[0][5].as<std::string>());
    std::string pair;
    for (auto& i : s.order.items) {
      if (!std::getline(ids, pair, ',')) break;
      auto colon = pair.find(':');
      i.id = std::stoll(pair.substr(0, colon));
      i.shop_owner_id = std::stoll(pair.substr(colon + 1));
      i.is_bought = false;
    }
    order_event e;
    e.seq = 1;
    e.status = order_status::pending;
    e.by_user_id = o.user_id;
    e.at = r[0][4].as<std::string>();
    s.events.push_back(std::move(e));
    return s;
  }
  return std::nullopt;
}

/// Placements of one group commit written together (see db_command::run_merged): the stock of
/// every product they take in one statement (their quantities summed), then every order, its
/// first event and its lines in one, then the carts they check out in one. nullopt when one of
/// them cannot be served this way (a product short of the summed quantity, a code taken): the
/// worker rolls this back and places them one by one, each with its own outcome.
std::optional<std::vector<caf::message>> place_merged(pqxx::dbtransaction& tx,
                                                      const std::vector<const db_command*>& cmds) {
  std::vector<const placement*> ps;
  for (auto* c : cmds) ps.push_back(static_cast<const placement*>(c->payload.get()));
  // Stock: one conditional update of every product, in id order.
  std::map<int64_t, int64_t> wanted;  // product → milli-units over all placements
  for (auto* p : ps)
    for (auto& i : p->order.items) wanted[i.product_id] += i.amount.milli;
  std::map<int64_t, int64_t> versions;
  if (!wanted.empty()) {
    std::vector<std::string> params;
    std::string values;
    for (auto& [id, milli] : wanted) {
      values += values.empty() ? "" : ", ";
      values += "($" + std::to_string(params.size() + 1) + "::bigint, $" +
                std::to_string(params.size() + 2) + "::numeric)";
      params.push_back(std::to_string(id));
      quantity q;
      q.milli = milli;
      params.push_back(q.str());
    }
    for (auto r :
         tx.exec_params("UPDATE products p SET stock = CASE WHEN p.is_unlimited THEN p.stock ELSE"
                        " p.stock - m.q END, sales_count = p.sales_count + m.q, stock_version ="
                        " p.stock_version + 1, updated_at = now() FROM (VALUES " +
                            values +
                            ") m(id, q) WHERE p.id = m.id AND p.deleted_at IS NULL AND"
                            " (p.is_unlimited OR p.stock >= m.q) RETURNING p.id, p.stock_version",
                        pqxx::prepare::make_dynamic_params(params)))
      versions[r[0].as<int64_t>()] = r[1].as<int64_t>();
    if (versions.size() != wanted.size()) return std::nullopt;
  }
  // Orders, first events and lines: one statement; rows are matched back by code.
  std::vector<std::string> params;
  std::string orders, lines;
  auto next = [&](const std::string& cast) { return "$" + std::to_string(params.size()) + cast; };
  std::vector<std::string> codes;
  for (std::size_t k = 0; k < ps.size(); ++k) {
    const auto& o = ps[k]->order;
    if (ps[k]->candidate_codes.empty()) return std::nullopt;
    const auto& code = ps[k]->candidate_codes.front();
    codes.push_back(code);
    std::string row;
    for (auto& [value, cast] : std::vector<std::pair<std::string, std::string>>{
             {std::to_string(k), "::int"},
             {o.type, "::text"},
             {code, "::text"},
             {std::to_string(o.user_id), "::bigint"},
             {o.requesting_shop_id ? std::to_string(o.requesting_shop_id) : "", "::text"},
             {o.receiver_name, "::text"},
             {o.receiver_phone, "::text"},
             {o.location.address, "::text"},
             {pqxx::to_string(o.location.latitude), "::float8"},
             {pqxx::to_string(o.location.longitude), "::float8"},
             {o.notes, "::text"},
             {o.items_total.str(), "::numeric"},
             {o.delivery_fee.str(), "::numeric"},
             {o.total.str(), "::numeric"},
             {std::to_string(o.coins), "::bigint"}}) {
      params.push_back(value);
      row += (row.empty() ? "" : ", ") + next(cast);
    }
    orders += (orders.empty() ? "(" : ", (") + row + ")";
    for (std::size_t n = 0; n < o.items.size(); ++n) {
      const auto& i = o.items[n];
      std::string line;
      for (auto& [value, cast] : std::vector<std::pair<std::string, std::string>>{
               {code, "::text"},
               {std::to_string(n), "::int"},
               {std::to_string(i.product_id), "::bigint"},
               {std::to_string(i.shop_id), "::bigint"},
               {i.name, "::text"},
               {i.amount.str(), "::numeric"},
               {i.unit_price.str(), "::numeric"},
               {i.unit_cost.str(), "::numeric"},
               {i.line_total.str(), "::numeric"}}) {
        params.push_back(value);
        line += (line.empty() ? "" : ", ") + next(cast);
      }
      lines += (lines.empty() ? "(" : ", (") + line + ")";
    }
  }
  std::string sql =
      "WITH v(k, type, code, user_id, rs, rn, rp, address, latitude, longitude, notes, it, df,"
      " total, coins) AS (VALUES " +
      orders +
      "), o AS (INSERT INTO orders (type, code, user_id, requesting_shop_id, receiver_name,"
      " receiver_phone, address, latitude, longitude, notes, items_total, delivery_fee, total,"
      " coins) SELECT type, code, user_id, nullif(rs, '')::bigint, rn, rp, address, latitude,"
      " longitude, notes, it, df, total, coins FROM v ORDER BY k ON CONFLICT (code) DO NOTHING"
      " RETURNING id, code, user_id, created_at, updated_at, requesting_shop_id),"
      " e AS (INSERT INTO order_events (order_id, seq, status, by_user_id)"
      " SELECT id, 1, 'pending', user_id FROM o RETURNING order_id, at)";
  if (!lines.empty())
    sql +=
        ", x(code, n, product_id, shop_id, name, quantity, unit_price, unit_cost, line_total) AS"
        " (VALUES " +
        lines +
        "), l AS (INSERT INTO order_items (order_id, product_id, shop_id, name, quantity,"
        " unit_price, unit_cost, line_total) SELECT o.id, x.product_id, x.shop_id, x.name,"
        " x.quantity, x.unit_price, x.unit_cost, x.line_total FROM x JOIN o ON o.code = x.code"
        " ORDER BY o.id, x.n RETURNING id, order_id, product_id, quantity::text, shop_id)";
  sql += " SELECT o.code, o.id, " + db::iso_utc("o.created_at") + ", " +
         db::iso_utc("o.updated_at") +
         ", coalesce((SELECT owner_id FROM shops WHERE id = o.requesting_shop_id), 0), (SELECT " +
         db::iso_utc("e.at") + " FROM e WHERE e.order_id = o.id), " +
         (lines.empty()
              ? std::string("''")
              : "coalesce((SELECT string_agg(l.id || ':' || l.product_id || ':' || l.quantity ||"
                " ':' || s.owner_id, ',' ORDER BY l.id) FROM l JOIN shops s ON s.id = l.shop_id"
                " WHERE l.order_id = o.id), '')") +
         " FROM o";
  auto rows = tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
  if (rows.size() != ps.size()) return std::nullopt;  // a code was taken
  std::map<std::string, pqxx::row> by_code;
  for (auto r : rows) by_code.emplace(r[0].as<std::string>(), r);
  std::vector<caf::message> out;
  std::vector<int64_t> cart_users;
  for (std::size_t k = 0; k < ps.size(); ++k) {
    auto it = by_code.find(codes[k]);
    if (it == by_code.end()) return std::nullopt;
    const auto& r = it->second;
    order_snapshot s;
    s.order = ps[k]->order;
    s.order.id = r[1].as<int64_t>();
    s.order.code = codes[k];
    s.order.status = order_status::pending;
    s.order.created_at = r[2].as<std::string>();
    s.order.updated_at = r[3].as<std::string>();
    s.order.requesting_owner_id = r[4].as<int64_t>();
    // Lines: each returned row to the first line of the same product and quantity without an
    // id yet (identical lines are interchangeable), then in id order as a reload lists them.
    std::istringstream rows_of_lines(r[6].as<std::string>());
    std::string entry;
    while (std::getline(rows_of_lines, entry, ',')) {
      std::istringstream fields(entry);
      std::string id, product, amount, owner;
      std::getline(fields, id, ':');
      std::getline(fields, product, ':');
      std::getline(fields, amount, ':');
      std::getline(fields, owner, ':');
      auto q = quantity::parse(amount);
      for (auto& i : s.order.items)
        if (i.id == 0 && i.product_id == std::stoll(product) && q && i.amount.milli == q->milli) {
          i.id = std::stoll(id);
          i.shop_owner_id = std::stoll(owner);
          i.is_bought = false;
          break;
        }
    }
    for (auto& i : s.order.items)
      if (i.id == 0) return std::nullopt;
    std::sort(s.order.items.begin(), s.order.items.end(),
              [](const order_item& a, const order_item& b) { return a.id < b.id; });
    order_event e;
    e.seq = 1;
    e.status = order_status::pending;
    e.by_user_id = s.order.user_id;
    e.at = r[5].as<std::string>();
    s.events.push_back(std::move(e));
    for (auto& i : ps[k]->order.items)
      s.stock_moves.push_back({i.product_id, i.amount, versions[i.product_id]});
    if (ps[k]->clear_cart) cart_users.push_back(s.order.user_id);
    out.push_back(caf::make_message(std::move(s)));
  }
  if (!cart_users.empty()) {
    tx.exec_params("DELETE FROM cart_items WHERE user_id = ANY($1::bigint[])",
                   db::bigint_array(cart_users));
  }
  return out;
}

}  // namespace

db_command load(int64_t order_id) {
  return {"orders.load", false,
          [=](pqxx::dbtransaction& tx) { return caf::make_message(load_snapshot(tx, order_id)); },
          caf::make_message(order_id)};
}

db_command load_open(int64_t after_id, int64_t limit) {
  return {
      "orders.load_open", false,
      [=](pqxx::dbtransaction& tx) {
        open_orders_page page;
        page.last_id = after_id;
        std::vector<order_record> orders;
        for (auto r : tx.exec_params("SELECT " + order_columns + order_from +
                                         " WHERE o.status NOT IN ('delivered', 'cancelled')"
                                         " AND o.id > $1 ORDER BY o.id LIMIT $2",
                                     after_id, limit))
          orders.push_back(read_order(r));
        if (orders.empty()) return caf::make_message(std::move(page));
        attach_items(tx, orders);
        std::map<int64_t, std::size_t> at;
        page.orders.resize(orders.size());
        for (std::size_t i = 0; i < orders.size(); ++i) {
          at[orders[i].id] = i;
          page.orders[i].order = std::move(orders[i]);
        }
        page.last_id = page.orders.back().order.id;
        std::vector<int64_t> order_ids;
        for (auto& [id, i] : at) order_ids.push_back(id);
        auto ids = db::bigint_array(order_ids);
        for (auto r : tx.exec_params(
                 "SELECT order_id, seq, status, coalesce(crew_id, 0), coalesce(by_user_id, 0), " +
                     db::iso_utc("at") +
                     " FROM order_events WHERE order_id = ANY($1::bigint[])"
                     " ORDER BY order_id, seq",
                 ids)) {
          auto it = at.find(r[0].as<int64_t>());
          if (it == at.end()) continue;
          order_event e;
          e.seq = r[1].as<int64_t>();
          e.status = r[2].as<std::string>();
          e.crew_id = r[3].as<int64_t>();
          e.by_user_id = r[4].as<int64_t>();
          e.at = r[5].as<std::string>();
          page.orders[it->second].events.push_back(std::move(e));
        }
        return caf::make_message(std::move(page));
      },
      caf::make_message(after_id, limit)};
}

namespace {

std::string error_to_json(const api_error& e) {
  std::ostringstream os;
  {
    cereal::JSONOutputArchive ar(os, cereal::JSONOutputArchive::Options::NoIndent());
    ar(cereal::make_nvp("error", e));
  }
  return os.str();
}

api_error error_from_json(const std::string& text) {
  api_error e;
  std::istringstream is(text);
  cereal::JSONInputArchive ar(is);
  ar(cereal::make_nvp("error", e));
  return e;
}

/// The stored row of (user, key): status 0 in flight, 201 with the order, else the error.
idempotent_placement read_placement_row(const pqxx::row& row) {
  idempotent_placement out;
  out.found = true;
  out.request_hash = row["request_hash"].as<std::string>();
  out.status = row["status"].as<int>();
  auto body = row["body"].as<std::string>();
  if (out.status == 201 && !body.empty())
    out.order = from_json(body);
  else if (out.status != 0 && !body.empty())
    out.error = error_from_json(body);
  return out;
}

}  // namespace

db_command find_placement(int64_t user_id, const std::string& key) {
  return {"orders.find_placement", false,
          [=](pqxx::dbtransaction& tx) {
            idempotent_placement out;
            auto rows = tx.exec_params(
                "SELECT request_hash, status, body FROM idempotency_keys WHERE user_id = $1"
                " AND key = $2 AND created_at > now() - interval '24 hours'",
                user_id, key);
            if (!rows.empty()) out = read_placement_row(rows[0]);
            return caf::make_message(std::move(out));
          },
          caf::make_message(user_id, key)};
}

db_command claim_placement(int64_t user_id, const std::string& key, const std::string& request_hash,
                           const std::string& claim, int stale_after_s) {
  return {"orders.claim_placement", true,
          [=](pqxx::dbtransaction& tx) {
            auto claimed = tx.exec_params(
                "INSERT INTO idempotency_keys (user_id, key, request_hash, status, body, claim)"
                " VALUES ($1, $2, $3, 0, '', $4)"
                " ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,"
                " status = 0, body = '', claim = EXCLUDED.claim, created_at = now()"
                " WHERE idempotency_keys.created_at <= now() - interval '24 hours'"
                " OR (idempotency_keys.status = 0"
                " AND idempotency_keys.created_at <= now() - make_interval(secs => $5))"
                " RETURNING 1",
                user_id, key, request_hash, claim, stale_after_s);
            idempotent_placement out;
            if (!claimed.empty()) return caf::make_message(std::move(out));
            auto rows = tx.exec_params(
                "SELECT request_hash, status, body FROM idempotency_keys"
                " WHERE user_id = $1 AND key = $2",
                user_id, key);
            if (!rows.empty()) out = read_placement_row(rows[0]);
            return caf::make_message(std::move(out));
          },
          caf::make_message(user_id, key, request_hash, claim, stale_after_s)};
}

db_command store_placement_answer(int64_t user_id, const std::string& key, const std::string& claim,
                                  const api_error& answer) {
  auto body = error_to_json(answer);
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

db_command place(placement p) {
  db_command cmd{
      "orders.place", true,
      [p](pqxx::dbtransaction& tx) {
        const auto& o = p.order;
        // Round trips are what a placement costs inside a group commit: the stock of every
        // line is taken in one statement, the order, its first event and its lines in one.
        auto moves = take_stock(tx, o.items);
        auto placed = insert_order(tx, o, p.candidate_codes);
        if (!placed) throw api_exception(errors::internal("no free confirmation code"));
        if (p.clear_cart) tx.exec_params("DELETE FROM cart_items WHERE user_id = $1", o.user_id);
        auto snapshot = std::move(*placed);
        snapshot.stock_moves = std::move(moves);
        if (!p.idempotency_key.empty()) {
          // The answer is stored with the order, and only while the key is still this
          // placement's: one whose claim went stale and was taken over places nothing.
          auto stored = tx.exec_params(
              "UPDATE idempotency_keys SET status = 201, body = $4"
              " WHERE user_id = $1 AND key = $2 AND claim = $3 AND status = 0 RETURNING 1",
              o.user_id, p.idempotency_key, p.claim, to_json(snapshot.order));
          if (stored.empty()) throw api_exception(errors::request_in_progress());
        }
        return caf::make_message(std::move(snapshot));
      },
      caf::make_message(p)};
  // It locks the product rows of every shop it buys from (see db_command::lock_keys).
  for (const auto& i : p.order.items) {
    auto key = "shop:" + std::to_string(i.shop_id);
    if (std::find(cmd.lock_keys.begin(), cmd.lock_keys.end(), key) == cmd.lock_keys.end())
      cmd.lock_keys.push_back(std::move(key));
  }
  // Without an Idempotency-Key (whose claim must answer for itself), placements of one group
  // commit are written together.
  if (p.idempotency_key.empty()) {
    cmd.merge_kind = "orders.place";
    cmd.run_merged = place_merged;
    cmd.payload = std::make_shared<placement>(std::move(p));
  }
  return cmd;
}

db_command apply(transition t) {
  return {
      "orders.transition", true,
      [t](pqxx::dbtransaction& tx) {
        auto r = tx.exec_params(
            "UPDATE orders SET status = $3, crew_id = CASE WHEN $3 = 'pending' THEN NULL"
            " ELSE coalesce($4, crew_id) END, version = version + 1, updated_at = now(),"
            " delivered_at = CASE WHEN $3 = 'delivered' THEN to_timestamp($6) ELSE delivered_at END"
            " WHERE id = $1 AND status = $2 AND coalesce(crew_id, 0) = $5 RETURNING " +
                db::iso_utc("updated_at"),
            t.order_id, t.from, t.to, nonzero(t.crew_id), t.from_crew_id, t.at_unix);
        if (r.empty())
          throw api_exception(
              errors::conflict("invalid_transition", "the order changed meanwhile"));
        order_event e;
        e.seq = t.seq;
        e.status = t.to;
        e.crew_id = t.crew_id;
        e.by_user_id = t.by_user_id;
        e.at = r[0][0].as<std::string>();
        tx.exec_params(
            "INSERT INTO order_events (order_id, seq, status, crew_id, by_user_id, at)"
            " VALUES ($1, $2, $3, $4, $5, now())",
            t.order_id, t.seq, t.to, nonzero(t.crew_id), nonzero(t.by_user_id));
        if (t.delivered) {
          auto crew = tx.exec_params(
              "UPDATE delivery_crews SET coins = coins + $2,"
              " number_of_deliveries = number_of_deliveries + 1 WHERE user_id = $1"
              " RETURNING user_id",
              t.crew_id, t.coins);
          if (crew.empty()) throw api_exception(errors::not_found("no such delivery crew"));
          // Sales of the UTC day of delivery, per shop and product (analytics read these).
          tx.exec_params(
              "INSERT INTO sales_daily (shop_id, product_id, day, orders, quantity, revenue,"
              " cost) SELECT shop_id, product_id, (to_timestamp($2) AT TIME ZONE 'UTC')::date, 1,"
              " sum(quantity), sum(line_total), sum(round(unit_cost * quantity, 2))"
              " FROM order_items WHERE order_id = $1 GROUP BY shop_id, product_id"
              " ON CONFLICT (shop_id, day, product_id) DO UPDATE SET"
              " orders = sales_daily.orders + 1,"
              " quantity = sales_daily.quantity + EXCLUDED.quantity,"
              " revenue = sales_daily.revenue + EXCLUDED.revenue,"
              " cost = sales_daily.cost + EXCLUDED.cost",
              t.order_id, t.at_unix);
          tx.exec_params(
              "INSERT INTO sales_hourly (shop_id, product_id, hour, quantity, revenue, cost)"
              " SELECT shop_id, product_id, date_trunc('hour', to_timestamp($2) AT TIME ZONE 'UTC')"
              " AT TIME ZONE 'UTC', sum(quantity),"
              " sum(line_total), sum(round(unit_cost * quantity, 2))"
              " FROM order_items WHERE order_id = $1 GROUP BY shop_id, product_id"
              " ON CONFLICT (shop_id, hour, product_id) DO UPDATE SET"
              " quantity = sales_hourly.quantity + EXCLUDED.quantity,"
              " revenue = sales_hourly.revenue + EXCLUDED.revenue,"
              " cost = sales_hourly.cost + EXCLUDED.cost",
              t.order_id, t.at_unix);
          tx.exec_params(
              "INSERT INTO shop_orders_daily (shop_id, day, orders)"
              " SELECT DISTINCT shop_id, (to_timestamp($2) AT TIME ZONE 'UTC')::date, 1 FROM "
              "order_items"
              " WHERE order_id = $1 ON CONFLICT (shop_id, day) DO UPDATE SET"
              " orders = shop_orders_daily.orders + 1",
              t.order_id, t.at_unix);
          tx.exec_params(
              "INSERT INTO shop_orders_hourly (shop_id, hour, orders)"
              " SELECT DISTINCT shop_id, date_trunc('hour', to_timestamp($2) AT TIME ZONE 'UTC')"
              " AT TIME ZONE 'UTC', 1 FROM order_items"
              " WHERE order_id = $1 ON CONFLICT (shop_id, hour) DO UPDATE SET"
              " orders = shop_orders_hourly.orders + 1",
              t.order_id, t.at_unix);
        }
        order_transitioned out;
        out.event = e;
        for (auto& l : t.returned) {
          auto back = tx.exec_params(
              "UPDATE products SET stock = CASE WHEN is_unlimited THEN stock"
              " ELSE stock + $2::numeric END,"
              " sales_count = greatest(sales_count - $2::numeric, 0),"
              " stock_version = stock_version + 1, updated_at = now()"
              " WHERE id = $1 RETURNING stock_version",
              l.product_id, l.amount.str());
          if (!back.empty())
            out.stock_moves.push_back({l.product_id, l.amount, back[0][0].as<int64_t>()});
        }
        return caf::make_message(std::move(out));
      },
      caf::make_message(t)};
}

db_command mark_bought(int64_t order_id, int64_t item_id) {
  return {"orders.mark_bought", true,
          [=](pqxx::dbtransaction& tx) {
            auto r = tx.exec_params(
                "UPDATE order_items SET is_bought = true WHERE order_id = $1 AND id = $2"
                " RETURNING id",
                order_id, item_id);
            if (r.empty()) throw api_exception(errors::not_found("no such item in this order"));
            tx.exec_params("UPDATE orders SET updated_at = now() WHERE id = $1", order_id);
            return caf::make_message(done{});
          },
          caf::make_message(order_id, item_id)};
}

db_command record_wrong_code(int64_t order_id, int wrong_count, bool locked) {
  return {"orders.wrong_code", true,
          [=](pqxx::dbtransaction& tx) {
            tx.exec_params(
                "UPDATE orders SET wrong_code_count = $2, code_locked = $3 WHERE id = $1", order_id,
                wrong_count, locked);
            return caf::make_message(done{});
          },
          caf::make_message(order_id, wrong_count, locked)};
}

db_command unlock_code(int64_t order_id) {
  return {"orders.unlock_code", true,
          [=](pqxx::dbtransaction& tx) {
            tx.exec_params(
                "UPDATE orders SET wrong_code_count = 0, code_locked = false WHERE id = $1",
                order_id);
            return caf::make_message(done{});
          },
          caf::make_message(order_id)};
}

namespace {

/// Ids and shop positions of pending orders (of `only_ids` when given, a PostgreSQL array
/// literal), in id order.
dispatch_entries read_pending_entries(pqxx::dbtransaction& tx, const std::string& only_ids) {
  // Ids and shop positions only: the dispatcher keeps nothing else of an order.
  std::string filter = only_ids.empty() ? "" : " AND o.id = ANY($1::bigint[])";
  auto sql =
      "SELECT x.order_id, l.latitude, l.longitude FROM ("
      " SELECT DISTINCT oi.order_id, oi.shop_id FROM order_items oi"
      " JOIN orders o ON o.id = oi.order_id WHERE o.status = 'pending'" +
      filter +
      " UNION SELECT o.id, o.requesting_shop_id FROM orders o"
      " WHERE o.status = 'pending' AND o.requesting_shop_id IS NOT NULL" +
      filter +
      ") x"
      " JOIN shops s ON s.id = x.shop_id JOIN locations l ON l.id = s.location_id"
      " ORDER BY x.order_id";
  dispatch_entries out;
  auto rows = only_ids.empty() ? tx.exec(sql) : tx.exec_params(sql, only_ids);
  for (auto r : rows) {
    auto id = r[0].as<int64_t>();
    if (out.entries.empty() || out.entries.back().order_id != id) out.entries.push_back({id, {}});
    out.entries.back().shop_points.push_back({r[1].as<double>(), r[2].as<double>()});
  }
  return out;
}

}  // namespace

db_command pending_index() {
  return {"orders.pending_index", false,
          [](pqxx::dbtransaction& tx) { return caf::make_message(read_pending_entries(tx, "")); }};
}

db_command pending_entries(const std::vector<int64_t>& order_ids) {
  auto ids = db::bigint_array(order_ids);
  return {"orders.pending_entries", false, [ids](pqxx::dbtransaction& tx) {
            return caf::make_message(read_pending_entries(tx, ids));
          }};
}

db_command open_orders() {
  return {"orders.open", false, [](pqxx::dbtransaction& tx) {
            open_orders_index out;
            for (auto r : tx.exec("SELECT id, status, coalesce(crew_id, 0) FROM orders"
                                  " WHERE status IN ('pending', 'assigned', 'picked_up')")) {
              auto id = r[0].as<int64_t>();
              if (r[1].as<std::string>() == "pending") {
                out.pending.push_back(id);
              } else {
                out.held.push_back(id);
                out.held_by.push_back(r[2].as<int64_t>());
              }
            }
            return caf::make_message(std::move(out));
          }};
}

db_command list(const order_query& q) {
  return {"orders.list", false, [q](pqxx::dbtransaction& tx) {
            std::string where = " WHERE true";
            auto who = std::to_string(q.who.user_id);
            if (q.who.role == roles::customer)
              where += " AND o.user_id = " + who;
            else if (q.who.role == roles::delivery_crew)
              where += " AND o.crew_id = " + who;
            else if (q.who.role == roles::shop_owner)
              where += " AND (rs.owner_id = " + who +
                       " OR EXISTS (SELECT 1 FROM order_items oi JOIN shops s ON s.id = oi.shop_id"
                       " WHERE oi.order_id = o.id AND s.owner_id = " +
                       who + "))";
            else if (!q.who.is_staff())
              where += " AND false";
            if (!q.status.empty()) where += " AND o.status = " + tx.quote(q.status);
            if (q.shop_id)
              where += " AND (o.requesting_shop_id = " + std::to_string(q.shop_id) +
                       " OR EXISTS (SELECT 1 FROM order_items oi WHERE oi.order_id = o.id AND"
                       " oi.shop_id = " +
                       std::to_string(q.shop_id) + "))";
            if (q.crew_id) where += " AND o.crew_id = " + std::to_string(q.crew_id);
            if (!q.from.empty())
              where += " AND o.created_at >= " + tx.quote(q.from) + "::timestamptz";
            if (!q.to.empty()) where += " AND o.created_at < " + tx.quote(q.to) + "::timestamptz";
            order_page page;
            page.count = tx.exec("SELECT count(*)" + order_from + where)[0][0].as<int64_t>();
            for (auto r : tx.exec("SELECT " + order_columns + order_from + where +
                                  " ORDER BY o.created_at DESC, o.id DESC LIMIT " +
                                  std::to_string(q.limit) + " OFFSET " + std::to_string(q.offset)))
              page.results.push_back(read_order(r));
            attach_items(tx, page.results);
            return caf::make_message(std::move(page));
          }};
}

db_command purge_idempotency_keys(int64_t limit) {
  return {"idempotency_keys.purge", true,
          [=](pqxx::dbtransaction& tx) {
            // Keys past the 24 h window (find_placement already ignores them); a key a placement
            // is taking over right now is locked and left alone.
            auto r = tx.exec_params(
                "DELETE FROM idempotency_keys WHERE (user_id, key) IN (SELECT user_id, key FROM"
                " idempotency_keys WHERE created_at <= now() - interval '24 hours' LIMIT $1"
                " FOR UPDATE SKIP LOCKED) AND created_at <= now() - interval '24 hours'",
                limit);
            return caf::make_message(static_cast<int64_t>(r.affected_rows()));
          },
          caf::make_message(limit)};
}

}  // namespace wassally::orders_sql
