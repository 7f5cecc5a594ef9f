-- :n pending orders of the bench customer (:customer), each with 1 to 3 lines from the bench
-- shops (products :first_product .. :last_product, one per shop), and their first event.
INSERT INTO orders (code, user_id, receiver_name, receiver_phone, address, latitude, longitude,
                    items_total, delivery_fee, total, coins)
SELECT 'B' || lpad((:offset + i)::text, 9, '0'), :customer, 'Receiver ' || i, '+201000000000',
       'Bench street', 30.05 + (random() - 0.5) * 0.3, 31.23 + (random() - 0.5) * 0.3,
       10, 10, 20, 10
FROM generate_series(1, :n) i;
INSERT INTO order_items (order_id, product_id, shop_id, name, quantity, unit_price, unit_cost, line_total)
SELECT o.id, p.id, p.shop_id, p.name, 1, 10, 6, 10
FROM orders o
CROSS JOIN LATERAL (SELECT DISTINCT (:first_product + floor(random() * (:last_product - :first_product + 1))::int
                                     + o.id * 0) AS pid
                    FROM generate_series(1, 1 + (o.id % 3))) pick
JOIN products p ON p.id = pick.pid
WHERE o.code LIKE 'B%' AND NOT EXISTS (SELECT 1 FROM order_items x WHERE x.order_id = o.id);
INSERT INTO order_events (order_id, seq, status, by_user_id)
SELECT o.id, 1, 'pending', o.user_id FROM orders o
WHERE o.code LIKE 'B%' AND NOT EXISTS (SELECT 1 FROM order_events e WHERE e.order_id = o.id);
