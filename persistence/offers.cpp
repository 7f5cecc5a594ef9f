#include "persistence/offers.hpp"

#include <caf/make_message.hpp>
#include <pqxx/pqxx>

#include "persistence/database.hpp"
#include "protocols/errors.hpp"

namespace wassally::offers_sql {
namespace {

const std::string order_shops =
    // The shops a crew visits: those with lines in the order, or the requesting shop.
    "SELECT s.id, s.name, l.latitude, l.longitude FROM shops s"
    " JOIN locations l ON l.id = s.location_id"
    " WHERE s.id IN (SELECT oi.shop_id FROM order_items oi WHERE oi.order_id = $1"
    "                UNION SELECT o.requesting_shop_id FROM orders o"
    "                WHERE o.id = $1 AND o.requesting_shop_id IS NOT NULL)"
    " ORDER BY s.id";

money money_of(const pqxx::field& f) { return money::parse(f.as<std::string>()).value_or(money{}); }

/// The offer of `order_id` as crews see it, from its row (`offer` holds the offer's own fields).
crew_offer read_offer(pqxx::dbtransaction& tx, crew_offer offer) {
  auto o = tx.exec_params(
      "SELECT address, latitude, longitude, items_total::text, delivery_fee::text FROM orders"
      " WHERE id = $1",
      offer.order_id);
  if (o.empty()) throw api_exception(errors::conflict("not_pending", "no such pending order"));
  offer.location.address = o[0][0].as<std::string>();
  offer.location.latitude = o[0][1].as<double>();
  offer.location.longitude = o[0][2].as<double>();
  offer.items_total = money_of(o[0][3]);
  offer.delivery_fee = money_of(o[0][4]);
  for (auto r : tx.exec_params(order_shops, offer.order_id))
    offer.shops.push_back(
        {r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<double>(), r[3].as<double>()});
  return offer;
}

const std::string expiry_columns =
    db::iso_utc("expires_at") + ", (extract(epoch FROM expires_at) * 1000)::bigint";

/// Every offer open in PostgreSQL, by order id.
std::vector<crew_offer> open_in(pqxx::dbtransaction& tx) {
  std::vector<crew_offer> out;
  for (auto r : tx.exec("SELECT f.order_id, f.crew_id, f.distance_km, " + expiry_columns +
                        " FROM order_offers f JOIN orders o ON o.id = f.order_id"
                        " WHERE f.outcome = 'open' ORDER BY f.order_id")) {
    crew_offer offer;
    offer.order_id = r[0].as<int64_t>();
    offer.crew_id = r[1].as<int64_t>();
    offer.distance_km = r[2].as<double>();
    offer.expires_at = r[3].as<std::string>();
    offer.expires_unix_ms = r[4].as<int64_t>();
    out.push_back(read_offer(tx, std::move(offer)));
  }
  return out;
}

}  // namespace

namespace {
/// An offer's writes never run concurrently with another write of the same crew's or order's
/// offers (db_command::lock_keys): a close sent after an open whose outcome was in doubt runs
/// after that open committed or failed, and closes what it wrote.
db_command keyed(db_command cmd, int64_t order_id, int64_t crew_id) {
  cmd.lock_keys = {"offer_crew:" + std::to_string(crew_id),
                   "offer_order:" + std::to_string(order_id)};
  return cmd;
}
}  // namespace

db_command open(int64_t order_id, int64_t crew_id, double distance_km, int timeout_s) {
  return keyed(
      {"offers.open", true,
       [=](pqxx::dbtransaction& tx) {
         pqxx::result rows;
         try {
           rows = tx.exec_params(
               "INSERT INTO order_offers (order_id, crew_id, distance_km, expires_at)"
               " SELECT o.id, $2, $3, date_trunc('second', now() + make_interval(secs => $4)"
               " + interval '999999 microseconds') FROM orders o"
               " WHERE o.id = $1 AND o.status = 'pending' RETURNING " +
                   expiry_columns,
               order_id, crew_id, distance_km, timeout_s);
         } catch (const pqxx::unique_violation&) {
           throw api_exception(
               errors::conflict("offer_open", "the order or the crew has an open offer"));
         }
         if (rows.empty())
           throw api_exception(errors::conflict("not_pending", "the order is not pending"));
         crew_offer offer;
         offer.order_id = order_id;
         offer.crew_id = crew_id;
         offer.distance_km = distance_km;
         offer.expires_at = rows[0][0].as<std::string>();
         offer.expires_unix_ms = rows[0][1].as<int64_t>();
         return caf::make_message(read_offer(tx, std::move(offer)));
       },
       caf::make_message(order_id, crew_id, distance_km, timeout_s)},
      order_id, crew_id);
}

db_command close(int64_t order_id, int64_t crew_id, const std::string& outcome) {
  return keyed({"offers.close", true,
                [=](pqxx::dbtransaction& tx) {
                  tx.exec_params(
                      "UPDATE order_offers SET outcome = $3, closed_at = now()"
                      " WHERE order_id = $1 AND crew_id = $2 AND outcome = 'open'",
                      order_id, crew_id, outcome);
                  return caf::make_message(done{});
                },
                caf::make_message(order_id, crew_id, outcome)},
               order_id, crew_id);
}

db_command load() {
  return {
      "offers.load", true, [](pqxx::dbtransaction& tx) {
        // Offers left open by orders that stopped being pending while no dispatcher
        // heard of it: closed as their order's row says.
        tx.exec(
            "UPDATE order_offers f SET closed_at = now(), outcome = CASE"
            " WHEN o.status = 'cancelled' THEN 'cancelled'"
            " WHEN o.crew_id = f.crew_id THEN 'accepted' ELSE 'taken' END"
            " FROM orders o WHERE o.id = f.order_id AND f.outcome = 'open'"
            " AND o.status <> 'pending'");
        offer_book book;
        book.open = open_in(tx);
        for (auto r : tx.exec("SELECT f.order_id, f.crew_id,"
                              " (extract(epoch FROM max(f.closed_at)) * 1000)::bigint"
                              " FROM order_offers f JOIN orders o ON o.id = f.order_id"
                              " WHERE o.status = 'pending' AND f.outcome IN ('declined', 'expired')"
                              " GROUP BY f.order_id, f.crew_id"))
          book.refusals.push_back({r[0].as<int64_t>(), r[1].as<int64_t>(), r[2].as<int64_t>()});
        return caf::make_message(std::move(book));
      }};
}

db_command open_now() {
  return {"offers.open_now", false, [](pqxx::dbtransaction& tx) {
            open_offers out;
            out.offers = open_in(tx);
            return caf::make_message(std::move(out));
          }};
}

db_command crews() {
  return {"offers.crews", false, [](pqxx::dbtransaction& tx) {
            crew_availabilities out;
            for (auto r : tx.exec(
                     "SELECT c.user_id, c.status = 'available', c.latitude IS NOT NULL,"
                     " coalesce(c.latitude, 0), coalesce(c.longitude, 0),"
                     " (SELECT count(*) FROM orders o WHERE o.crew_id = c.user_id"
                     "  AND o.status IN ('assigned', 'picked_up')),"
                     " coalesce(floor(extract(epoch FROM c.last_seen))::bigint, 0)"
                     " FROM delivery_crews c JOIN users u ON u.id = c.user_id WHERE u.is_active"))
              out.crews.push_back({r[0].as<int64_t>(), r[1].as<bool>(), r[2].as<bool>(),
                                   r[3].as<double>(), r[4].as<double>(), r[5].as<int64_t>(),
                                   r[6].as<int64_t>()});
            return caf::make_message(std::move(out));
          }};
}

}  // namespace wassally::offers_sql
