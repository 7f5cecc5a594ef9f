-- W5: :n non-final orders (pending, 3 lines each, first event), numbered from :from, of the
-- customers :cmin .. :cmin + :ccount - 1 and the products :pmin .. :pmin + :pcount - 1.
WITH o AS (
  INSERT INTO orders (code, user_id, receiver_name, receiver_phone, address, latitude, longitude,
                      items_total, delivery_fee, total, coins)
  SELECT 'R' || lpad((:from + i)::text, 9, '0'), :cmin + (:from + i) % :ccount, 'Bench receiver',
         '+201000000000', 'Bench street', 30.06, 31.24, 30, 10, 40, 10
  FROM generate_series(0, :n - 1) i
  RETURNING id, user_id
), lines AS (
  INSERT INTO order_items (order_id, product_id, shop_id, name, quantity, unit_price, unit_cost,
                           line_total)
  SELECT o.id, p.id, p.shop_id, p.name, 1, 10, 6, 10
  FROM o CROSS JOIN generate_series(0, 2) k
  JOIN products p ON p.id = :pmin + (o.id * 7 + k * 1237) % :pcount
  RETURNING 1
)
INSERT INTO order_events (order_id, seq, status, by_user_id)
SELECT id, 1, 'pending', user_id FROM o;
