#include "persistence/crews.hpp"

#include <caf/make_message.hpp>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>

#include "persistence/database.hpp"
#include "protocols/errors.hpp"

namespace wassally::crews_sql {
namespace {

const std::string crew_columns =
    "c.user_id, u.username, c.status, c.latitude IS NOT NULL, coalesce(c.latitude, 0), "
    "coalesce(c.longitude, 0), coalesce(" +
    db::iso_utc("c.last_seen") +
    ", ''), c.coins, c.number_of_deliveries, "
    "coalesce((SELECT array_to_string(array_agg(o.id ORDER BY o.id), ',') FROM orders o"
    " WHERE o.crew_id = c.user_id AND o.status IN ('assigned', 'picked_up')), '')";

const std::string crew_from = " FROM delivery_crews c JOIN users u ON u.id = c.user_id ";

crew_record read_crew(const pqxx::row& r) {
  crew_record c;
  c.user_id = r[0].as<int64_t>();
  c.username = r[1].as<std::string>();
  c.status = r[2].as<std::string>();
  c.has_location = r[3].as<bool>();
  c.latitude = r[4].as<double>();
  c.longitude = r[5].as<double>();
  c.last_seen = r[6].as<std::string>();
  c.coins = r[7].as<int64_t>();
  c.number_of_deliveries = r[8].as<int64_t>();
  auto ids = r[9].as<std::string>();
  std::size_t pos = 0;
  while (pos < ids.size()) {
    auto comma = ids.find(',', pos);
    if (comma == std::string::npos) comma = ids.size();
    c.current_order_ids.push_back(std::stoll(ids.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return c;
}

}  // namespace

db_command load(int64_t crew_id) {
  return {"crews.load", false,
          [=](pqxx::dbtransaction& tx) {
            auto rows = tx.exec_params(
                "SELECT " + crew_columns + crew_from + " WHERE c.user_id = $1", crew_id);
            if (rows.empty()) throw api_exception(errors::not_found("no such delivery crew"));
            return caf::make_message(read_crew(rows[0]));
          },
          caf::make_message(crew_id)};
}

namespace {

struct location_write {
  int64_t crew_id = 0;
  double latitude = 0;
  double longitude = 0;
  int64_t seen_unix = 0;
};

/// The positions of one group commit in one statement. A crew actor has one write in flight at
/// a time, so a crew appears once; should it appear twice, the later command wins, as it would
/// one by one. Rows are locked in crew id order, like any other batch that touches crews.
std::optional<std::vector<caf::message>> save_locations_merged(
    pqxx::dbtransaction& tx, const std::vector<const db_command*>& cmds) {
  std::map<int64_t, const location_write*> latest;
  for (auto* c : cmds) {
    auto* w = static_cast<const location_write*>(c->payload.get());
    if (!w) return std::nullopt;
    latest[w->crew_id] = w;
  }
  std::vector<std::string> params;
  std::string values;
  for (auto& [id, w] : latest) {
    auto n = params.size();
    values += values.empty() ? "(" : ", (";
    values += "$" + std::to_string(n + 1) + "::bigint, $" + std::to_string(n + 2) + "::float8, $" +
              std::to_string(n + 3) + "::float8, $" + std::to_string(n + 4) + "::bigint)";
    params.push_back(std::to_string(id));
    params.push_back(pqxx::to_string(w->latitude));
    params.push_back(pqxx::to_string(w->longitude));
    params.push_back(std::to_string(w->seen_unix));
  }
  tx.exec_params(
      "UPDATE delivery_crews c SET latitude = m.lat, longitude = m.lng,"
      " last_seen = to_timestamp(m.seen) FROM (VALUES " +
          values + ") m(id, lat, lng, seen) WHERE c.user_id = m.id",
      pqxx::prepare::make_dynamic_params(params));
  return std::vector<caf::message>(cmds.size(), caf::make_message(done{}));
}

}  // namespace

db_command save_location(int64_t crew_id, double latitude, double longitude, int64_t seen_unix) {
  db_command cmd{"crews.save_location", true,
                 [=](pqxx::dbtransaction& tx) {
                   tx.exec_params(
                       "UPDATE delivery_crews SET latitude = $2, longitude = $3,"
                       " last_seen = to_timestamp($4) WHERE user_id = $1",
                       crew_id, latitude, longitude, seen_unix);
                   return caf::make_message(done{});
                 },
                 caf::make_message(crew_id, latitude, longitude, seen_unix)};
  // Positions of many crews arriving together are written in one statement.
  cmd.merge_kind = "crews.save_location";
  cmd.run_merged = save_locations_merged;
  cmd.payload =
      std::make_shared<location_write>(location_write{crew_id, latitude, longitude, seen_unix});
  return cmd;
}

db_command save_status(int64_t crew_id, const std::string& status) {
  return {"crews.save_status", true,
          [=](pqxx::dbtransaction& tx) {
            tx.exec_params("UPDATE delivery_crews SET status = $2 WHERE user_id = $1", crew_id,
                           status);
            return caf::make_message(done{});
          },
          caf::make_message(crew_id, status)};
}

db_command list(const crew_query& q) {
  return {"crews.list", false, [q](pqxx::dbtransaction& tx) {
            std::string where = " WHERE u.is_active";
            if (!q.status.empty()) where += " AND c.status = " + tx.quote(q.status);
            crew_page page;
            page.count = tx.exec("SELECT count(*)" + crew_from + where)[0][0].as<int64_t>();
            for (auto r : tx.exec("SELECT " + crew_columns + crew_from + where +
                                  " ORDER BY u.username LIMIT " + std::to_string(q.limit) +
                                  " OFFSET " + std::to_string(q.offset)))
              page.results.push_back(read_crew(r));
            return caf::make_message(std::move(page));
          }};
}

db_command overview() {
  return {
      "staff.overview", false, [](pqxx::dbtransaction& tx) {
        staff_overview out;
        for (auto s : {"pending", "assigned", "picked_up", "delivered", "cancelled"})
          out.orders_by_status[s] = 0;
        for (auto r : tx.exec("SELECT status, count(*) FROM orders GROUP BY status"))
          out.orders_by_status[r[0].as<std::string>()] = r[1].as<int64_t>();
        out.active_crews =
            tx.exec("SELECT count(*) FROM delivery_crews WHERE status = 'available'")[0][0]
                .as<int64_t>();
        out.orders_last_hour =
            tx.exec(
                  "SELECT count(*) FROM orders WHERE created_at > now() - interval '1 hour'")[0][0]
                .as<int64_t>();
        // Revenue: what delivered orders brought in since midnight UTC.
        out.revenue_today =
            money::parse(
                tx.exec("SELECT coalesce(sum(total), 0)::numeric(14,2)::text FROM orders"
                        " WHERE status = 'delivered' AND delivered_at >="
                        " date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'")[0][0]
                    .as<std::string>())
                .value();
        return caf::make_message(std::move(out));
      }};
}

}  // namespace wassally::crews_sql
