#include "persistence/catalog.hpp"

#include "protocols/reconcile.hpp"

#include <caf/make_message.hpp>
#include <pqxx/pqxx>

#include "persistence/database.hpp"
#include "protocols/accounts.hpp"
#include "protocols/errors.hpp"

namespace wassally::catalog_sql {
namespace {

const std::string product_columns =
    "p.id, p.shop_id, coalesce(p.category_id, 0), p.name, p.description, p.price::text, "
    "coalesce(p.cost_price::text, ''), p.stock::text, p.is_unlimited, p.quantity_type, "
    "p.minimum_quantity::text, p.increment_rate::text, p.image, p.is_hidden, "
    "p.sales_count::text, p.deleted_at IS NOT NULL, " +
    db::iso_utc("p.created_at") + ", " + db::iso_utc("p.updated_at") + ", p.stock_version";

quantity read_quantity(const pqxx::field& f) {
  return quantity::parse(f.as<std::string>()).value();
}

product_record read_product(const pqxx::row& r) {
  product_record p;
  p.id = r[0].as<int64_t>();
  p.shop_id = r[1].as<int64_t>();
  p.category_id = r[2].as<int64_t>();
  p.name = r[3].as<std::string>();
  p.description = r[4].as<std::string>();
  p.price = money::parse(r[5].as<std::string>()).value();
  auto cost = r[6].as<std::string>();
  p.has_cost_price = !cost.empty();
  if (p.has_cost_price) p.cost_price = money::parse(cost).value();
  p.stock = read_quantity(r[7]);
  p.is_unlimited = r[8].as<bool>();
  p.quantity_type = r[9].as<std::string>();
  p.minimum_quantity = read_quantity(r[10]);
  p.increment_rate = read_quantity(r[11]);
  p.image = r[12].as<std::string>();
  p.is_hidden = r[13].as<bool>();
  p.sales_count = read_quantity(r[14]);
  p.is_deleted = r[15].as<bool>();
  p.created_at = r[16].as<std::string>();
  p.updated_at = r[17].as<std::string>();
  p.stock_version = r[18].as<int64_t>();
  return p;
}

product_record load_product(pqxx::dbtransaction& tx, int64_t id) {
  auto rows = tx.exec_params("SELECT " + product_columns + " FROM products p WHERE p.id = $1", id);
  if (rows.empty()) throw api_exception(errors::not_found("no such product"));
  return read_product(rows[0]);
}

std::optional<std::string> cost_of(const product_record& p) {
  if (!p.has_cost_price) return std::nullopt;
  return p.cost_price.str();
}

std::optional<int64_t> category_of(const product_record& p) {
  if (p.category_id == 0) return std::nullopt;
  return p.category_id;
}

const char* offer_columns =
    "o.id, o.shop_id, o.title, o.description, o.url, o.image, o.discount::text, "
    "extract(epoch from o.start_date)::bigint, extract(epoch from o.end_date)::bigint, "
    "o.is_sponsored, o.deleted_at IS NOT NULL, "
    "coalesce((SELECT array_to_string(array_agg(op.product_id ORDER BY op.product_id), ',')"
    " FROM offer_products op WHERE op.offer_id = o.id), '')";

offer_record read_offer(const pqxx::row& r) {
  offer_record o;
  o.id = r[0].as<int64_t>();
  o.shop_id = r[1].as<int64_t>();
  o.title = r[2].as<std::string>();
  o.description = r[3].as<std::string>();
  o.url = r[4].as<std::string>();
  o.image = r[5].as<std::string>();
  o.discount = percent::parse(r[6].as<std::string>()).value();
  o.start = r[7].as<int64_t>();
  o.end = r[8].as<int64_t>();
  o.is_sponsored = r[9].as<bool>();
  o.is_deleted = r[10].as<bool>();
  auto ids = r[11].as<std::string>();
  for (std::size_t pos = 0; pos < ids.size();) {
    auto comma = ids.find(',', pos);
    if (comma == std::string::npos) comma = ids.size();
    o.product_ids.push_back(std::stoll(ids.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return o;
}

offer_record load_offer(pqxx::dbtransaction& tx, int64_t id) {
  auto rows =
      tx.exec_params(std::string("SELECT ") + offer_columns + " FROM offers o WHERE o.id = $1", id);
  if (rows.empty()) throw api_exception(errors::not_found("no such offer"));
  return read_offer(rows[0]);
}

void write_offer_products(pqxx::dbtransaction& tx, const offer_record& o) {
  tx.exec_params("DELETE FROM offer_products WHERE offer_id = $1", o.id);
  for (auto pid : o.product_ids)
    tx.exec_params("INSERT INTO offer_products (offer_id, product_id) VALUES ($1, $2)", o.id, pid);
}

api_error taken_category_name() {
  return errors::conflict("conflict", "this shop has a category with that name", "name");
}

}  // namespace

db_command load(int64_t shop_id) {
  return {
      "catalog.load", false,
      [shop_id](pqxx::dbtransaction& tx) {
        catalog_snapshot out;
        for (const auto& r : tx.exec_params(
                 "SELECT id, name FROM product_categories WHERE shop_id = $1 ORDER BY id", shop_id))
          out.categories.push_back({r[0].as<int64_t>(), shop_id, r[1].as<std::string>()});
        for (const auto& r :
             tx.exec_params("SELECT " + product_columns +
                                " FROM products p WHERE p.shop_id = $1 ORDER BY p.id",
                            shop_id))
          out.products.push_back(read_product(r));
        for (const auto& r : tx.exec_params(std::string("SELECT ") + offer_columns +
                                                " FROM offers o WHERE o.shop_id = $1"
                                                " AND o.deleted_at IS NULL ORDER BY o.id",
                                            shop_id))
          out.offers.push_back(read_offer(r));
        return caf::make_message(std::move(out));
      },
      caf::make_message(shop_id)};
}

db_command insert_category(int64_t shop_id, const std::string& name) {
  return {"product_categories.insert", true,
          [=](pqxx::dbtransaction& tx) {
            try {
              auto r = tx.exec_params(
                  "INSERT INTO product_categories (shop_id, name) VALUES ($1, $2) RETURNING id",
                  shop_id, name);
              return caf::make_message(product_category{r[0][0].as<int64_t>(), shop_id, name});
            } catch (const pqxx::unique_violation&) {
              throw api_exception(taken_category_name());
            }
          },
          caf::make_message(shop_id, name)};
}

db_command rename_category(int64_t shop_id, int64_t id, const std::string& name) {
  return {"product_categories.rename", true,
          [=](pqxx::dbtransaction& tx) {
            try {
              auto r = tx.exec_params(
                  "UPDATE product_categories SET name = $3 WHERE id = $1 AND shop_id = $2"
                  " RETURNING id",
                  id, shop_id, name);
              if (r.empty()) throw api_exception(errors::not_found("no such category"));
              return caf::make_message(product_category{id, shop_id, name});
            } catch (const pqxx::unique_violation&) {
              throw api_exception(taken_category_name());
            }
          },
          caf::make_message(shop_id, id, name)};
}

db_command delete_category(int64_t shop_id, int64_t id) {
  return {"product_categories.delete", true,
          [=](pqxx::dbtransaction& tx) {
            auto r = tx.exec_params(
                "DELETE FROM product_categories WHERE id = $1 AND shop_id = $2 RETURNING id", id,
                shop_id);
            if (r.empty()) throw api_exception(errors::not_found("no such category"));
            return caf::make_message(done{});
          },
          caf::make_message(shop_id, id)};
}

db_command insert_product(const product_record& p) {
  return {"products.insert", true,
          [p](pqxx::dbtransaction& tx) {
            auto r = tx.exec_params(
                "INSERT INTO products (shop_id, category_id, name, description, price, cost_price,"
                " stock, is_unlimited, quantity_type, minimum_quantity, increment_rate, image,"
                " is_hidden) VALUES ($1, $2, $3, $4, $5::numeric, $6::numeric, $7::numeric, $8, $9,"
                " $10::numeric, $11::numeric, $12, $13) RETURNING id",
                p.shop_id, category_of(p), p.name, p.description, p.price.str(), cost_of(p),
                p.stock.str(), p.is_unlimited, p.quantity_type, p.minimum_quantity.str(),
                p.increment_rate.str(), p.image, p.is_hidden);
            return caf::make_message(load_product(tx, r[0][0].as<int64_t>()));
          },
          caf::make_message(p)};
}

db_command stock_fingerprints(const std::vector<int64_t>& shop_ids) {
  auto ids = db::bigint_array(shop_ids);
  return {"products.stock_fingerprints", false, [ids](pqxx::dbtransaction& tx) {
            ::wassally::stock_fingerprints out;
            // Each product row is judged on its own, by its version, and a shop's count only
            // grows: the two reads need no common snapshot.
            for (auto r : tx.exec_params(
                     "SELECT id, confirmed_orders FROM shops WHERE id = ANY($1::bigint[])", ids)) {
              out.shop_ids.push_back(r[0].as<int64_t>());
              out.confirmed_orders.push_back(r[1].as<int64_t>());
            }
            for (auto r : tx.exec_params(
                     "SELECT shop_id, id, (stock * 1000)::bigint, stock_version FROM products"
                     " WHERE shop_id = ANY($1::bigint[]) AND deleted_at IS NULL"
                     " AND NOT is_unlimited ORDER BY shop_id, id",
                     ids)) {
              out.product_shop_ids.push_back(r[0].as<int64_t>());
              out.product_ids.push_back(r[1].as<int64_t>());
              out.stock_milli.push_back(r[2].as<int64_t>());
              out.versions.push_back(r[3].as<int64_t>());
            }
            return caf::make_message(std::move(out));
          }};
}

db_command update_product(const product_record& p, quantity stock_before) {
  db_command cmd{
      "products.update", true,
      [p, stock_before](pqxx::dbtransaction& tx) {
        // Stock moves by the difference the owner made: orders committed meanwhile (whose
        // shop actor has not heard of them yet) keep their effect.
        auto r = tx.exec_params(
            "UPDATE products SET category_id = $3, name = $4, description = $5,"
            " price = $6::numeric, cost_price = $7::numeric,"
            " stock = greatest(stock + ($8::numeric - $15::numeric), 0),"
            " stock_version = stock_version + 1,"
            " is_unlimited = $9, quantity_type = $10, minimum_quantity = $11::numeric,"
            " increment_rate = $12::numeric, image = $13, is_hidden = $14, updated_at = now()"
            " WHERE id = $1 AND shop_id = $2 AND deleted_at IS NULL RETURNING id",
            p.id, p.shop_id, category_of(p), p.name, p.description, p.price.str(), cost_of(p),
            p.stock.str(), p.is_unlimited, p.quantity_type, p.minimum_quantity.str(),
            p.increment_rate.str(), p.image, p.is_hidden, stock_before.str());
        if (r.empty()) throw api_exception(errors::not_found("no such product"));
        return caf::make_message(load_product(tx, p.id));
      },
      caf::make_message(p, stock_before)};
  cmd.lock_keys = {"shop:" + std::to_string(p.shop_id)};  // its product row
  return cmd;
}

db_command delete_product(int64_t shop_id, int64_t product_id) {
  db_command cmd{"products.delete", true,
                 [=](pqxx::dbtransaction& tx) {
                   auto r = tx.exec_params(
                       "UPDATE products SET deleted_at = now(), updated_at = now()"
                       " WHERE id = $1 AND shop_id = $2 AND deleted_at IS NULL RETURNING id",
                       product_id, shop_id);
                   if (r.empty()) throw api_exception(errors::not_found("no such product"));
                   // A deleted product leaves every offer.
                   tx.exec_params("DELETE FROM offer_products WHERE product_id = $1", product_id);
                   return caf::make_message(done{});
                 },
                 caf::make_message(shop_id, product_id)};
  cmd.lock_keys = {"shop:" + std::to_string(shop_id)};  // its product row
  return cmd;
}

db_command shop_of_product(int64_t product_id) {
  return {"products.shop_of", false, [product_id](pqxx::dbtransaction& tx) {
            auto r = tx.exec_params("SELECT shop_id FROM products WHERE id = $1", product_id);
            if (r.empty()) throw api_exception(errors::not_found("no such product"));
            return caf::make_message(r[0][0].as<int64_t>());
          }};
}

db_command insert_offer(const offer_record& o) {
  return {
      "offers.insert", true,
      [o](pqxx::dbtransaction& tx) {
        auto r = tx.exec_params(
            "INSERT INTO offers (shop_id, title, description, url, image, discount, start_date,"
            " end_date, is_sponsored) VALUES ($1, $2, $3, $4, $5, $6::numeric, to_timestamp($7),"
            " to_timestamp($8), $9) RETURNING id",
            o.shop_id, o.title, o.description, o.url, o.image, o.discount.str(), o.start, o.end,
            o.is_sponsored);
        auto saved = o;
        saved.id = r[0][0].as<int64_t>();
        write_offer_products(tx, saved);
        return caf::make_message(load_offer(tx, saved.id));
      },
      caf::make_message(o)};
}

db_command update_offer(const offer_record& o) {
  return {
      "offers.update", true,
      [o](pqxx::dbtransaction& tx) {
        auto r = tx.exec_params(
            "UPDATE offers SET title = $3, description = $4, url = $5, image = $6,"
            " discount = $7::numeric, start_date = to_timestamp($8), end_date = to_timestamp($9),"
            " is_sponsored = $10 WHERE id = $1 AND shop_id = $2 AND deleted_at IS NULL"
            " RETURNING id",
            o.id, o.shop_id, o.title, o.description, o.url, o.image, o.discount.str(), o.start,
            o.end, o.is_sponsored);
        if (r.empty()) throw api_exception(errors::not_found("no such offer"));
        write_offer_products(tx, o);
        return caf::make_message(load_offer(tx, o.id));
      },
      caf::make_message(o)};
}

db_command delete_offer(int64_t shop_id, int64_t offer_id) {
  return {"offers.delete", true,
          [=](pqxx::dbtransaction& tx) {
            auto r = tx.exec_params(
                "UPDATE offers SET deleted_at = now() WHERE id = $1 AND shop_id = $2"
                " AND deleted_at IS NULL RETURNING id",
                offer_id, shop_id);
            if (r.empty()) throw api_exception(errors::not_found("no such offer"));
            return caf::make_message(done{});
          },
          caf::make_message(shop_id, offer_id)};
}

db_command shop_of_offer(int64_t offer_id) {
  return {"offers.shop_of", false, [offer_id](pqxx::dbtransaction& tx) {
            auto r = tx.exec_params("SELECT shop_id FROM offers WHERE id = $1", offer_id);
            if (r.empty()) throw api_exception(errors::not_found("no such offer"));
            return caf::make_message(r[0][0].as<int64_t>());
          }};
}

db_command list_active_offers(const offer_query& q) {
  return {
      "offers.list_active", false, [q](pqxx::dbtransaction& tx) {
        std::string where =
            " FROM offers o JOIN shops s ON s.id = o.shop_id WHERE s.status = 'active'"
            " AND o.deleted_at IS NULL AND o.start_date <= to_timestamp($1)"
            " AND o.end_date > to_timestamp($1)";
        offer_list out;
        out.count = tx.exec_params("SELECT count(*)" + where, q.now)[0][0].as<int64_t>();
        for (const auto& r : tx.exec_params(std::string("SELECT ") + offer_columns + where +
                                                " ORDER BY o.is_sponsored DESC, o.start_date DESC,"
                                                " o.id OFFSET $2 LIMIT $3",
                                            q.now, q.offset, q.limit))
          out.items.push_back(read_offer(r));
        return caf::make_message(std::move(out));
      }};
}

}  // namespace wassally::catalog_sql
