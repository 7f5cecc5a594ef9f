#include "persistence/shops.hpp"

#include <caf/make_message.hpp>
#include <pqxx/pqxx>

#include "persistence/catalog.hpp"
#include "persistence/users.hpp"
#include "protocols/errors.hpp"

namespace wassally::shops_sql {
namespace {

const char* shop_columns =
    "s.id, s.name, s.description, s.phone_number, s.facebook_url, s.image, s.category_id, "
    "s.status, s.confirmed_orders, l.address, l.latitude, l.longitude, s.owner_id, "
    "s.preparation_min";

shop_record read_shop(const pqxx::row& r) {
  shop_record s;
  s.id = r[0].as<int64_t>();
  s.name = r[1].as<std::string>();
  s.description = r[2].as<std::string>();
  s.phone_number = r[3].as<std::string>();
  s.facebook_url = r[4].as<std::string>();
  s.image = r[5].as<std::string>();
  s.category_id = r[6].as<int64_t>();
  s.status = r[7].as<std::string>();
  s.confirmed_orders = r[8].as<int64_t>();
  s.location.address = r[9].as<std::string>();
  s.location.latitude = r[10].as<double>();
  s.location.longitude = r[11].as<double>();
  s.owner_id = r[12].as<int64_t>();
  s.preparation_min = r[13].as<int64_t>();
  return s;
}

shop_record load(pqxx::dbtransaction& tx, int64_t id) {
  auto rows = tx.exec_params(std::string("SELECT ") + shop_columns +
                                 " FROM shops s JOIN locations l ON l.id = s.location_id"
                                 " WHERE s.id = $1",
                             id);
  if (rows.empty()) throw api_exception(errors::not_found("no such shop"));
  return read_shop(rows[0]);
}

void require_category(pqxx::dbtransaction& tx, int64_t category_id) {
  if (tx.exec_params("SELECT 1 FROM shop_categories WHERE id = $1", category_id).empty())
    throw api_exception(errors::validation("category_id", "no such shop category"));
}

/// Great-circle distance in km between the location row `l` and ($lat, $lng) parameters.
std::string distance_sql(const std::string& lat, const std::string& lng) {
  return "(6371.0088 * 2 * asin(least(1, sqrt(power(sin(radians(l.latitude - " + lat +
         ") / 2), 2) + cos(radians(" + lat + ")) * cos(radians(l.latitude)) * power(sin(radians(" +
         "l.longitude - " + lng + ") / 2), 2)))))";
}

}  // namespace

db_command list_categories(int64_t offset, int64_t limit) {
  return {
      "shop_categories.list", false, [=](pqxx::dbtransaction& tx) {
        shop_category_list out;
        out.count = tx.exec("SELECT count(*) FROM shop_categories")[0][0].as<int64_t>();
        for (const auto& r :
             tx.exec_params("SELECT id, name, image FROM shop_categories ORDER BY name, id"
                            " OFFSET $1 LIMIT $2",
                            offset, limit))
          out.items.push_back({r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<std::string>()});
        return caf::make_message(std::move(out));
      }};
}

db_command insert_category(const std::string& name, const std::string& image) {
  return {"shop_categories.insert", true, [=](pqxx::dbtransaction& tx) {
            pqxx::result rows;
            try {
              rows = tx.exec_params(
                  "INSERT INTO shop_categories (name, image) VALUES ($1, $2) RETURNING id", name,
                  image);
            } catch (const pqxx::unique_violation&) {
              throw api_exception(
                  errors::conflict("conflict", "a shop category with this name exists", "name"));
            }
            return caf::make_message(shop_category{rows[0][0].as<int64_t>(), name, image});
          }};
}

db_command set_category_image(int64_t category_id, const std::string& image) {
  return {
      "shop_categories.set_image", true, [=](pqxx::dbtransaction& tx) {
        auto rows = tx.exec_params(
            "UPDATE shop_categories SET image = $2 WHERE id = $1 RETURNING id, name, image",
            category_id, image);
        if (rows.empty()) throw api_exception(errors::not_found("no such shop category"));
        return caf::make_message(shop_category{
            rows[0][0].as<int64_t>(), rows[0][1].as<std::string>(), rows[0][2].as<std::string>()});
      }};
}

db_command create(const create_shop& c, const std::string& owner_password_hash) {
  return {"shops.create", true, [c, owner_password_hash](pqxx::dbtransaction& tx) {
            require_category(tx, c.shop.category_id);
            int64_t owner_id = c.owner_id;
            if (owner_id != 0) {
              auto rows =
                  tx.exec_params("SELECT role FROM users WHERE id = $1 AND is_active", owner_id);
              if (rows.empty() || rows[0][0].as<std::string>() != roles::shop_owner)
                throw api_exception(
                    errors::validation("owner_id", "not the id of an active shop owner"));
            } else {
              try {
                owner_id = users_sql::insert_in(tx, c.owner, owner_password_hash).id;
              } catch (const api_exception& e) {
                // Name the nested field: owner.username / owner.phone_number.
                auto err = e.error;
                std::map<std::string, std::string> nested;
                for (auto& [k, v] : err.fields) nested["owner." + k] = v;
                err.fields = std::move(nested);
                throw api_exception(err);
              }
            }
            auto loc = tx.exec_params(
                "INSERT INTO locations (address, latitude, longitude) VALUES ($1, $2, $3)"
                " RETURNING id",
                c.shop.location.address, c.shop.location.latitude, c.shop.location.longitude);
            // Cluster mode: the id's shard is the shop's zone's (migration 0010).
            auto shop = tx.exec_params(
                "INSERT INTO shops (id, owner_id, category_id, location_id, name, description,"
                " phone_number, facebook_url, image, preparation_min)"
                " VALUES (zoned_id('shops_id_seq', zone_shard($10, $11)), $1, $2, $3, $4, $5, $6,"
                " $7, $8, $9) RETURNING id",
                owner_id, c.shop.category_id, loc[0][0].as<int64_t>(), c.shop.name,
                c.shop.description, c.shop.phone_number, c.shop.facebook_url, c.shop.image,
                c.shop.preparation_min, c.shop.location.latitude, c.shop.location.longitude);
            return caf::make_message(load(tx, shop[0][0].as<int64_t>()));
          }};
}

db_command find(int64_t id) {
  return {"shops.find", false,
          [id](pqxx::dbtransaction& tx) { return caf::make_message(load(tx, id)); },
          caf::make_message(id)};
}

db_command load_with_catalog(int64_t id) {
  return {"shops.load_with_catalog", false,
          [id](pqxx::dbtransaction& tx) {
            shop_snapshot out;
            out.shop = load(tx, id);
            out.catalog = catalog_sql::load(id).run(tx).get_as<catalog_snapshot>(0);
            return caf::make_message(std::move(out));
          },
          caf::make_message(id)};
}

db_command update(const shop_record& s) {
  return {"shops.update", true,
          [s](pqxx::dbtransaction& tx) {
            require_category(tx, s.category_id);
            auto rows = tx.exec_params(
                "UPDATE shops SET name = $2, description = $3, phone_number = $4,"
                " facebook_url = $5, image = $6, category_id = $7, status = $8,"
                " preparation_min = $9, updated_at = now() WHERE id = $1 RETURNING location_id",
                s.id, s.name, s.description, s.phone_number, s.facebook_url, s.image, s.category_id,
                s.status, s.preparation_min);
            if (rows.empty()) throw api_exception(errors::not_found("no such shop"));
            tx.exec_params(
                "UPDATE locations SET address = $2, latitude = $3, longitude = $4 WHERE id = $1",
                rows[0][0].as<int64_t>(), s.location.address, s.location.latitude,
                s.location.longitude);
            return caf::make_message(load(tx, s.id));
          },
          caf::make_message(s)};
}

db_command list(const shop_query& q) {
  return {"shops.list", false, [q](pqxx::dbtransaction& tx) {
            std::string where = " WHERE true";
            if (!q.include_suspended) where += " AND s.status = 'active'";
            if (q.category_id) where += " AND s.category_id = " + tx.quote(q.category_id);
            if (!q.q.empty())
              where += " AND strpos(lower(s.name), lower(" + tx.quote(q.q) + ")) > 0";
            std::string distance = "-1.0";
            std::string order = " ORDER BY s.id";
            if (q.near) {
              distance = distance_sql(tx.quote(q.latitude), tx.quote(q.longitude));
              where += " AND " + distance + " <= " + tx.quote(q.radius_km);
              order = " ORDER BY " + distance + ", s.id";
            }
            std::string from = " FROM shops s JOIN locations l ON l.id = s.location_id";
            shop_page page;
            page.count = tx.exec("SELECT count(*)" + from + where)[0][0].as<int64_t>();
            for (const auto& r :
                 tx.exec(std::string("SELECT ") + shop_columns + ", " + distance + from + where +
                         order + " OFFSET " + tx.quote(q.offset) + " LIMIT " + tx.quote(q.limit))) {
              auto s = read_shop(r);
              s.distance_km = r[14].as<double>();
              page.results.push_back(std::move(s));
            }
            return caf::make_message(std::move(page));
          }};
}

}  // namespace wassally::shops_sql
