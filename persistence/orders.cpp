#include "persistence/orders.hpp"

#include "protocols/reconcile.hpp"

#include <algorithm>
#include <caf/make_message.hpp>
#include <map>
#include <pqxx/pqxx>

#include "persistence/database.hpp"
#include "protocols/errors.hpp"

// Transitions travel in db_command::args (protocols/persistence.hpp), which never leave the
// process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(wassally::orders_sql::transition)

namespace wassally::orders_sql {
namespace {

const std::string order_columns =
    "o.id, o.code, o.type, o.status, o.user_id, coalesce(o.requesting_shop_id, 0) AS"
    " requesting_shop_id, coalesce(rs.owner_id, 0) AS requesting_owner_id, coalesce(o.crew_id, 0)"
    " AS crew_id, o.receiver_name, o.receiver_phone, o.address, o.latitude, o.longitude, o.notes,"
    " o.items_total::text AS items_total, o.delivery_fee::text AS delivery_fee, o.total::text AS"
    " total, o.coins, o.wrong_code_count, o.code_locked, coalesce(o.cancel_reason, '') AS"
    " cancel_reason, coalesce(o.cancel_note, '') AS cancel_note, coalesce(o.cancelled_by, 0) AS"
    " cancelled_by, " +
    db::iso_utc("o.created_at") + " AS created_at, " + db::iso_utc("o.updated_at") +
    " AS updated_at, dc.latitude AS crew_latitude, dc.longitude AS crew_longitude, " +
    db::iso_utc("dc.last_seen") + " AS crew_seen";

// The crew's position is read with the order (the crew's row is the truth after a restart); the
// order actor keeps it current from then on (crew_moved).
const std::string order_from =
    " FROM orders o LEFT JOIN shops rs ON rs.id = o.requesting_shop_id"
    " LEFT JOIN delivery_crews dc ON dc.user_id = o.crew_id"
    " AND o.status IN ('assigned', 'picked_up') ";

money read_money(const pqxx::field& f) { return money::parse(f.as<std::string>()).value(); }

order_record read_order(const pqxx::row& r) {
  order_record o;
  o.id = r["id"].as<int64_t>();
  o.code = r["code"].as<std::string>();
  o.type = r["type"].as<std::string>();
  o.status = r["status"].as<std::string>();
  o.user_id = r["user_id"].as<int64_t>();
  o.requesting_shop_id = r["requesting_shop_id"].as<int64_t>();
  o.requesting_owner_id = r["requesting_owner_id"].as<int64_t>();
  o.crew_id = r["crew_id"].as<int64_t>();
  o.receiver_name = r["receiver_name"].as<std::string>();
  o.receiver_phone = r["receiver_phone"].as<std::string>();
  o.location.address = r["address"].as<std::string>();
  o.location.latitude = r["latitude"].as<double>();
  o.location.longitude = r["longitude"].as<double>();
  o.notes = r["notes"].as<std::string>();
  o.items_total = read_money(r["items_total"]);
  o.delivery_fee = read_money(r["delivery_fee"]);
  o.total = read_money(r["total"]);
  o.coins = r["coins"].as<int64_t>();
  o.wrong_code_count = r["wrong_code_count"].as<int>();
  o.code_locked = r["code_locked"].as<bool>();
  o.created_at = r["created_at"].as<std::string>();
  o.updated_at = r["updated_at"].as<std::string>();
  o.cancel_reason = r["cancel_reason"].as<std::string>();
  o.cancel_note = r["cancel_note"].as<std::string>();
  if (!r["crew_latitude"].is_null() && !r["crew_seen"].is_null())
    o.crew_location = {true, r["crew_latitude"].as<double>(), r["crew_longitude"].as<double>(),
                       r["crew_seen"].as<std::string>()};
  o.cancelled_by = r["cancelled_by"].as<int64_t>();
  return o;
}

/// The columns of an order event, read by read_event.
const std::string event_columns =
    "order_id, seq, status, coalesce(crew_id, 0) AS crew_id, coalesce(by_user_id, 0) AS"
    " by_user_id, coalesce(cancel_reason, '') AS cancel_reason, coalesce(cancel_note, '') AS"
    " cancel_note, coalesce(cancelled_by, 0) AS cancelled_by, " +
    db::iso_utc("at") + " AS at";

order_event read_event(const pqxx::row& r) {
  order_event e;
  e.seq = r["seq"].as<int64_t>();
  e.status = r["status"].as<std::string>();
  e.crew_id = r["crew_id"].as<int64_t>();
  e.by_user_id = r["by_user_id"].as<int64_t>();
  e.at = r["at"].as<std::string>();
  e.cancel_reason = r["cancel_reason"].as<std::string>();
  e.cancel_note = r["cancel_note"].as<std::string>();
  e.cancelled_by = r["cancelled_by"].as<int64_t>();
  return e;
}

/// Lines of the orders in `ids` ("{1,2}"), appended to the matching records.
void attach_items(pqxx::dbtransaction& tx, std::vector<order_record>& orders) {
  if (orders.empty()) return;
  std::vector<int64_t> order_ids;
  for (auto& o : orders) order_ids.push_back(o.id);
  auto ids = db::bigint_array(order_ids);
  auto rows = tx.exec_params(
      "SELECT oi.order_id, oi.id, oi.product_id, oi.shop_id, s.owner_id, oi.name,"
      " oi.quantity::text AS quantity, oi.unit_price::text AS unit_price, oi.unit_cost::text AS"
      " unit_cost, oi.line_total::text AS line_total, oi.is_bought FROM order_items oi JOIN shops "
      "s ON s.id = oi.shop_id"
      " WHERE oi.order_id = ANY($1::bigint[]) ORDER BY oi.order_id, oi.id",
      ids);
  std::map<int64_t, order_record*> by_id;
  for (auto& o : orders) by_id[o.id] = &o;
  for (auto r : rows) {
    order_item i;
    auto order_id = r["order_id"].as<int64_t>();
    i.id = r["id"].as<int64_t>();
    i.product_id = r["product_id"].as<int64_t>();
    i.shop_id = r["shop_id"].as<int64_t>();
    i.shop_owner_id = r["owner_id"].as<int64_t>();
    i.name = r["name"].as<std::string>();
    i.amount = quantity::parse(r["quantity"].as<std::string>()).value();
    i.unit_price = read_money(r["unit_price"]);
    i.unit_cost = read_money(r["unit_cost"]);
    i.line_total = read_money(r["line_total"]);
    i.is_bought = r["is_bought"].as<bool>();
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
  for (auto r : tx.exec_params(
           "SELECT " + event_columns + " FROM order_events WHERE order_id = $1 ORDER BY seq", id))
    s.events.push_back(read_event(r));
  return s;
}

std::optional<int64_t> nonzero(int64_t v) {
  if (v == 0) return std::nullopt;
  return v;
}

std::optional<std::string> nonempty(const std::string& v) {
  if (v.empty()) return std::nullopt;
  return v;
}

/// "o.status IN ('pending', …)": the order is open, in every status but the final ones
/// (order_status::final_statuses, their one definition). Spelt as IN rather than NOT IN (final),
/// so that the planner can use the partial index of open orders (orders_open_idx).
std::string open_condition(pqxx::dbtransaction& tx, const std::string& column) {
  std::string open;
  for (const char* status : order_status::all)
    if (!order_status::is_final(status)) open += (open.empty() ? "" : ", ") + tx.quote(status);
  return column + " IN (" + open + ")";
}

/// The listing's condition for `scope` (order_rules::listing_scope): in SQL what
/// order_rules::in_scope is in memory.
std::string scope_condition(const order_scope& scope) {
  auto user = std::to_string(scope.user_id);
  switch (scope.what) {
    case order_scope::kind::all:
      return "true";
    case order_scope::kind::own:
      return "o.user_id = " + user;
    case order_scope::kind::assigned:
      return "o.crew_id = " + user;
    case order_scope::kind::owned_shops:
      return "(rs.owner_id = " + user +
             " OR EXISTS (SELECT 1 FROM order_items oi JOIN shops s ON s.id = oi.shop_id"
             " WHERE oi.order_id = o.id AND s.owner_id = " +
             user + "))";
    case order_scope::kind::none:
      break;
  }
  return "false";
}

}  // namespace

db_command load(int64_t order_id) {
  return {"orders.load", false,
          [=](pqxx::dbtransaction& tx) { return caf::make_message(load_snapshot(tx, order_id)); },
          caf::make_message(order_id)};
}

db_command load_open(int64_t after_id, int64_t limit) {
  return {"orders.load_open", false,
          [=](pqxx::dbtransaction& tx) {
            open_orders_page page;
            page.last_id = after_id;
            std::vector<order_record> orders;
            for (auto r : tx.exec_params("SELECT " + order_columns + order_from + " WHERE " +
                                             open_condition(tx, "o.status") +
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
            for (auto r : tx.exec_params("SELECT " + event_columns +
                                             " FROM order_events WHERE order_id = ANY($1::bigint[])"
                                             " ORDER BY order_id, seq",
                                         ids)) {
              auto it = at.find(r["order_id"].as<int64_t>());
              if (it != at.end()) page.orders[it->second].events.push_back(read_event(r));
            }
            return caf::make_message(std::move(page));
          },
          caf::make_message(after_id, limit)};
}

db_command apply(transition t) {
  return {
      "orders.transition", true,
      [t](pqxx::dbtransaction& tx) {
        auto r = tx.exec_params(
            "UPDATE orders SET status = $3, crew_id = CASE WHEN $3 = 'pending' THEN NULL"
            " ELSE coalesce($4, crew_id) END, version = version + 1, updated_at = now(),"
            " delivered_at = CASE WHEN $3 = 'delivered' THEN to_timestamp($6) ELSE delivered_at "
            "END,"
            " cancel_reason = CASE WHEN $3 = 'cancelled' THEN $7::text ELSE cancel_reason END,"
            " cancel_note = CASE WHEN $3 = 'cancelled' THEN $8::text ELSE cancel_note END,"
            " cancelled_by = CASE WHEN $3 = 'cancelled' THEN $9::bigint ELSE cancelled_by END"
            " WHERE id = $1 AND status = $2 AND coalesce(crew_id, 0) = $5 RETURNING " +
                db::iso_utc("updated_at"),
            t.order_id, t.from, t.to, nonzero(t.crew_id), t.from_crew_id, t.at_unix,
            nonempty(t.cancel_reason), nonempty(t.cancel_note), nonzero(t.cancelled_by));
        if (r.empty())
          throw api_exception(
              errors::conflict("invalid_transition", "the order changed meanwhile"));
        order_event e;
        e.seq = t.seq;
        e.status = t.to;
        e.crew_id = t.crew_id;
        e.by_user_id = t.by_user_id;
        e.cancel_reason = t.cancel_reason;
        e.cancel_note = t.cancel_note;
        e.cancelled_by = t.cancelled_by;
        e.at = r[0][0].as<std::string>();
        tx.exec_params(
            "INSERT INTO order_events (order_id, seq, status, crew_id, by_user_id, at,"
            " cancel_reason, cancel_note, cancelled_by)"
            " VALUES ($1, $2, $3, $4, $5, now(), $6, $7, $8)",
            t.order_id, t.seq, t.to, nonzero(t.crew_id), nonzero(t.by_user_id),
            nonempty(t.cancel_reason), nonempty(t.cancel_note), nonzero(t.cancelled_by));
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
        if (t.delivered) {
          // Each shop with lines in a delivered order (not a delivery request: it has none)
          // confirmed one more order; its actor learns the new count from the order actor.
          for (auto r :
               tx.exec_params("UPDATE shops SET confirmed_orders = confirmed_orders + 1"
                              " WHERE id IN (SELECT DISTINCT oi.shop_id FROM order_items oi"
                              " JOIN orders o ON o.id = oi.order_id"
                              " WHERE oi.order_id = $1 AND o.type = 'order')"
                              " RETURNING id, confirmed_orders",
                              t.order_id))
            out.confirmed.push_back({r[0].as<int64_t>(), r[1].as<int64_t>()});
        }
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
  // Ids, shop positions and since when the order is pending (its created_at, whole seconds as
  // its JSON shows it): the dispatcher keeps nothing else of an order.
  std::string filter = only_ids.empty() ? "" : " AND o.id = ANY($1::bigint[])";
  auto sql =
      "SELECT x.order_id, l.latitude, l.longitude, x.since FROM ("
      " SELECT DISTINCT oi.order_id, oi.shop_id,"
      " floor(extract(epoch FROM o.created_at))::bigint AS since FROM order_items oi"
      " JOIN orders o ON o.id = oi.order_id WHERE o.status = 'pending'" +
      filter +
      " UNION SELECT o.id, o.requesting_shop_id, floor(extract(epoch FROM o.created_at))::bigint"
      " FROM orders o"
      " WHERE o.status = 'pending' AND o.requesting_shop_id IS NOT NULL" +
      filter +
      ") x"
      " JOIN shops s ON s.id = x.shop_id JOIN locations l ON l.id = s.location_id"
      " ORDER BY x.order_id";
  dispatch_entries out;
  auto rows = only_ids.empty() ? tx.exec(sql) : tx.exec_params(sql, only_ids);
  for (auto r : rows) {
    auto id = r[0].as<int64_t>();
    if (out.entries.empty() || out.entries.back().order_id != id)
      out.entries.push_back({id, {}, r[3].as<int64_t>()});
    out.entries.back().shop_points.push_back({r[1].as<double>(), r[2].as<double>()});
  }
  return out;
}

}  // namespace

db_command stops(int64_t order_id) {
  return {"orders.stops", false,
          [order_id](pqxx::dbtransaction& tx) {
            order_stops out;
            for (auto r : tx.exec_params(
                     "SELECT s.id, l.latitude, l.longitude, s.preparation_min FROM shops s"
                     " JOIN locations l ON l.id = s.location_id WHERE s.id IN ("
                     " SELECT shop_id FROM order_items WHERE order_id = $1"
                     " UNION SELECT requesting_shop_id FROM orders"
                     " WHERE id = $1 AND requesting_shop_id IS NOT NULL) ORDER BY s.id",
                     order_id))
              out.stops.push_back(
                  {r[0].as<int64_t>(), r[1].as<double>(), r[2].as<double>(), r[3].as<int64_t>()});
            return caf::make_message(std::move(out));
          },
          caf::make_message(order_id)};
}

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
            for (auto r : tx.exec("SELECT id, status, coalesce(crew_id, 0) AS crew_id FROM"
                                  " orders WHERE " +
                                  open_condition(tx, "status"))) {
              auto id = r["id"].as<int64_t>();
              if (r["status"].as<std::string>() == order_status::pending) {
                out.pending.push_back(id);
              } else {
                out.held.push_back(id);
                out.held_by.push_back(r["crew_id"].as<int64_t>());
              }
            }
            return caf::make_message(std::move(out));
          }};
}

db_command list(const order_query& q, const order_scope& scope) {
  return {"orders.list", false, [q, scope](pqxx::dbtransaction& tx) {
            std::string where = " WHERE " + scope_condition(scope);
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
