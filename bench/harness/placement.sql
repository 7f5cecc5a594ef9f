-- One placement as persistence/orders.cpp place() writes it (without an Idempotency-Key or a
-- cart): the order, then for each of 3 lines the conditional stock update and the line, then
-- the first event. scripts/bench runs it with pgbench (BEGIN/END around 1 or 10 of these
-- blocks); -D cmin/cmax (customers) and pmin/pmax (products) come from the data set. Products
-- are taken in ascending id order so that concurrent transactions cannot deadlock.
\set c random(:cmin, :cmax)
\set r1 random(:pmin, :pmax)
\set r2 random(:pmin, :pmax)
\set r3 random(:pmin, :pmax)
\set p1 least(:r1, :r2, :r3)
\set p3 greatest(:r1, :r2, :r3)
\set p2 :r1 + :r2 + :r3 - :p1 - :p3
INSERT INTO orders (type, code, user_id, requesting_shop_id, receiver_name, receiver_phone, address, latitude, longitude, notes, items_total, delivery_fee, total, coins) VALUES ('order', 'pgb-' || gen_random_uuid(), :c, NULL, 'Bench receiver', '+201000000000', 'Bench street', 30.06, 31.24, '', 32.97::numeric, 10.00::numeric, 42.97::numeric, 10) ON CONFLICT (code) DO NOTHING RETURNING id AS oid \gset
UPDATE products SET stock = CASE WHEN is_unlimited THEN stock ELSE stock - 1::numeric END, sales_count = sales_count + 1::numeric, stock_version = stock_version + 1, updated_at = now() WHERE id = :p1 AND deleted_at IS NULL AND (is_unlimited OR stock >= 1::numeric) RETURNING stock_version, shop_id AS s1 \gset
INSERT INTO order_items (order_id, product_id, shop_id, name, quantity, unit_price, unit_cost, line_total) VALUES (:oid, :p1, :s1, 'Bench product', 1::numeric, 10.99::numeric, 6.00::numeric, 10.99::numeric);
UPDATE products SET stock = CASE WHEN is_unlimited THEN stock ELSE stock - 1::numeric END, sales_count = sales_count + 1::numeric, stock_version = stock_version + 1, updated_at = now() WHERE id = :p2 AND deleted_at IS NULL AND (is_unlimited OR stock >= 1::numeric) RETURNING stock_version, shop_id AS s2 \gset
INSERT INTO order_items (order_id, product_id, shop_id, name, quantity, unit_price, unit_cost, line_total) VALUES (:oid, :p2, :s2, 'Bench product', 1::numeric, 10.99::numeric, 6.00::numeric, 10.99::numeric);
UPDATE products SET stock = CASE WHEN is_unlimited THEN stock ELSE stock - 1::numeric END, sales_count = sales_count + 1::numeric, stock_version = stock_version + 1, updated_at = now() WHERE id = :p3 AND deleted_at IS NULL AND (is_unlimited OR stock >= 1::numeric) RETURNING stock_version, shop_id AS s3 \gset
INSERT INTO order_items (order_id, product_id, shop_id, name, quantity, unit_price, unit_cost, line_total) VALUES (:oid, :p3, :s3, 'Bench product', 1::numeric, 10.99::numeric, 6.00::numeric, 10.99::numeric);
INSERT INTO order_events (order_id, seq, status, by_user_id) VALUES (:oid, 1, 'pending', :c);
