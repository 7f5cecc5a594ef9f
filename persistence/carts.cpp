#include "persistence/carts.hpp"

#include <caf/make_message.hpp>
#include <pqxx/pqxx>

#include "protocols/accounts.hpp"
#include "protocols/errors.hpp"

namespace wassally::carts_sql {

db_command load(int64_t user_id) {
  return {"carts.load", false,
          [=](pqxx::dbtransaction& tx) {
            cart_lines out;
            for (auto r : tx.exec_params("SELECT id, product_id, shop_id, quantity::text"
                                         " FROM cart_items WHERE user_id = $1 ORDER BY id",
                                         user_id)) {
              cart_line l;
              l.id = r[0].as<int64_t>();
              l.product_id = r[1].as<int64_t>();
              l.shop_id = r[2].as<int64_t>();
              l.amount = quantity::parse(r[3].as<std::string>()).value();
              out.lines.push_back(l);
            }
            return caf::make_message(std::move(out));
          },
          caf::make_message(user_id)};
}

db_command save_line(int64_t user_id, const cart_line& line) {
  return {"carts.save_line", true,
          [=](pqxx::dbtransaction& tx) {
            tx.exec_params(
                "INSERT INTO carts (user_id) VALUES ($1)"
                " ON CONFLICT (user_id) DO UPDATE SET updated_at = now()",
                user_id);
            auto r = tx.exec_params(
                "INSERT INTO cart_items (user_id, product_id, shop_id, quantity)"
                " VALUES ($1, $2, $3, $4::numeric)"
                " ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = EXCLUDED.quantity"
                " RETURNING id",
                user_id, line.product_id, line.shop_id, line.amount.str());
            auto saved = line;
            saved.id = r[0][0].as<int64_t>();
            return caf::make_message(saved);
          },
          caf::make_message(user_id, line)};
}

db_command delete_line(int64_t user_id, int64_t line_id) {
  return {"carts.delete_line", true,
          [=](pqxx::dbtransaction& tx) {
            tx.exec_params("DELETE FROM cart_items WHERE user_id = $1 AND id = $2", user_id,
                           line_id);
            return caf::make_message(done{});
          },
          caf::make_message(user_id, line_id)};
}

db_command clear(int64_t user_id) {
  return {"carts.clear", true,
          [=](pqxx::dbtransaction& tx) {
            tx.exec_params("DELETE FROM cart_items WHERE user_id = $1", user_id);
            return caf::make_message(done{});
          },
          caf::make_message(user_id)};
}

}  // namespace wassally::carts_sql
