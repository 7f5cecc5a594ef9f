-- 100 shops × 200 products (ids 1..N in a fresh database), for the catalog scenario.
INSERT INTO shop_categories (id, name) VALUES (1, 'bench');
INSERT INTO users (id, username, password_hash, role, phone_number)
  SELECT i, 'bench_owner_' || i, 'not-a-login', 'shop_owner', '+2019' || lpad(i::text, 7, '0')
  FROM generate_series(1, 100) i;
INSERT INTO locations (id, address, latitude, longitude)
  SELECT i, 'Street ' || i, 30 + i * 0.001, 31.2 FROM generate_series(1, 100) i;
INSERT INTO shops (id, owner_id, category_id, location_id, name, phone_number)
  SELECT i, i, 1, i, 'Bench shop ' || i, '+2018' || lpad(i::text, 7, '0') FROM generate_series(1, 100) i;
INSERT INTO products (shop_id, name, description, price, cost_price, stock)
  SELECT s, 'Product ' || s || '-' || p, 'A product used by the catalog benchmark',
         (p % 50 + 1) + 0.99, (p % 50 + 1) * 0.6, 1000
  FROM generate_series(1, 100) s, generate_series(1, 200) p;
SELECT setval('users_id_seq', 1000), setval('shops_id_seq', 1000), setval('locations_id_seq', 1000),
       setval('shop_categories_id_seq', 1000);
