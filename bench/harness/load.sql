-- The harness data set, loaded in a database the server has just migrated (one staff account
-- and the seed customer exist). Parameters (psql -v): shops, products (per shop), customers,
-- crews, hash (the argon2id hash the server produced for the seed customer's password, so
-- every bench account logs in with that password).
BEGIN;
INSERT INTO shop_categories (name) VALUES ('bench') ON CONFLICT (name) DO NOTHING;
INSERT INTO users (username, password_hash, role, phone_number)
  SELECT 'bench.owner' || i, :'hash', 'shop_owner', '+2011' || lpad(i::text, 7, '0')
  FROM generate_series(1, :shops) i;
INSERT INTO users (username, password_hash, role, phone_number)
  SELECT 'bench.customer' || i, :'hash', 'customer', '+2012' || lpad(i::text, 7, '0')
  FROM generate_series(1, :customers) i;
INSERT INTO users (username, password_hash, role, phone_number)
  SELECT 'bench.crew' || i, :'hash', 'delivery_crew', '+2013' || lpad(i::text, 7, '0')
  FROM generate_series(1, :crews) i;
INSERT INTO delivery_crews (user_id)
  SELECT id FROM users WHERE role = 'delivery_crew' AND username LIKE 'bench.crew%' ORDER BY id;
-- Shops within ~3 km of central Cairo, one location each.
INSERT INTO locations (address, latitude, longitude)
  SELECT 'Bench street ' || i, 30.05 + (i % 10) * 0.002, 31.23 + (i / 10) * 0.002
  FROM generate_series(1, :shops) i;
INSERT INTO shops (owner_id, category_id, location_id, name, phone_number)
  SELECT u.id, (SELECT id FROM shop_categories WHERE name = 'bench'), l.id, 'Bench shop ' || i,
         '+2014' || lpad(i::text, 7, '0')
  FROM generate_series(1, :shops) i
  JOIN users u ON u.username = 'bench.owner' || i
  JOIN locations l ON l.address = 'Bench street ' || i;
-- Products in shop order, so each shop's products have consecutive ids; ample stock so that
-- placements almost never meet out_of_stock.
INSERT INTO products (shop_id, name, description, price, cost_price, stock)
  SELECT s.id, 'Product ' || s.id || '-' || p, 'A product of the benchmark data set',
         (p % 50 + 1) + 0.99, (p % 50 + 1) * 0.6, 1000000
  FROM shops s CROSS JOIN generate_series(1, :products) p
  WHERE s.name LIKE 'Bench shop %'
  ORDER BY s.id, p;
COMMIT;
ANALYZE;
