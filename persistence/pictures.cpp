#include "persistence/pictures.hpp"

#include <pqxx/pqxx>

#include "protocols/pictures.hpp"

namespace wassally::pictures_sql {

db_command referenced() {
  return {"pictures.referenced", false, [](pqxx::dbtransaction& tx) {
            picture_references out;
            for (const auto& r :
                 tx.exec("SELECT DISTINCT substr(image, 7) FROM ("
                         " SELECT image FROM shops UNION ALL SELECT image FROM shop_categories"
                         " UNION ALL SELECT image FROM products UNION ALL SELECT image FROM offers"
                         ") pictures WHERE image LIKE 'media:%'"))
              out.digests.push_back(r[0].as<std::string>());
            return caf::make_message(std::move(out));
          }};
}

}  // namespace wassally::pictures_sql
