#pragma once
// SQL of customers' carts: the lines a cart actor keeps (the rules live in the cart actor).

#include "protocols/orders.hpp"
#include "protocols/persistence.hpp"

namespace wassally::carts_sql {

/// Every line of the user's cart, oldest first → cart_lines.
db_command load(int64_t user_id);
/// Inserts the line, or sets the quantity of the user's line for that product → cart_line.
db_command save_line(int64_t user_id, const cart_line& line);
/// → done (also when the line was already gone).
db_command delete_line(int64_t user_id, int64_t line_id);
/// Empties the cart → done.
db_command clear(int64_t user_id);

}  // namespace wassally::carts_sql
