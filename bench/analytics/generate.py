#!/usr/bin/env python3
"""Loads delivered order lines for the analytics benchmark, with a progress bar.

  generate.py PSQL_ARGS... --lines N --shops S --products P --customer ID --crew ID

Orders are delivered at random instants over the last two years, 1 to 4 lines each, from one
shop each; the rollups (sales_daily, sales_hourly, shop_orders_daily, shop_orders_hourly) are
written from the generated lines exactly as the delivering transaction writes them.
"""
import subprocess
import sys
import time

args = sys.argv[1:]
opts = {}
psql = []
i = 0
while i < len(args):
    if args[i].startswith("--"):
        opts[args[i][2:]] = int(args[i + 1])
        i += 2
    else:
        psql.append(args[i])
        i += 1
lines, shops, products = opts["lines"], opts["shops"], opts["products"]
customer, crew = opts["customer"], opts["crew"]
batch_lines = 50000
per_order = 2.5  # 1..4 lines, on average

BATCH = """
BEGIN;
CREATE TEMP TABLE new_orders ON COMMIT DROP AS
SELECT nextval('orders_id_seq') AS id, 1 + (random() * {shops_m1})::int AS shop_idx,
       now() - random() * interval '730 days' AS at, 1 + (random() * 3)::int AS n
FROM generate_series(1, {orders});
INSERT INTO orders (id, code, status, user_id, crew_id, receiver_name, receiver_phone, latitude,
                    longitude, items_total, delivery_fee, total, coins, created_at, updated_at,
                    delivered_at)
SELECT id, 'G' || id, 'delivered', {customer}, {crew}, 'R', '+201000000000', 30, 31, 0, 0, 0, 10,
       at, at, at FROM new_orders;
INSERT INTO order_items (order_id, product_id, shop_id, name, quantity, unit_price, unit_cost,
                         line_total, is_bought)
SELECT o.id, p.id, p.shop_id, p.name, q, p.price, coalesce(p.cost_price, 0), p.price * q, true
FROM new_orders o
CROSS JOIN LATERAL generate_series(1, o.n) k
CROSS JOIN LATERAL (SELECT 1 + (random() * 4)::int AS q, (random() * ({products} - 1))::int AS pick
                    WHERE k > 0) r
JOIN LATERAL (SELECT * FROM bench_products bp WHERE bp.shop_idx = o.shop_idx
              ORDER BY bp.idx OFFSET r.pick LIMIT 1) p ON true;
INSERT INTO sales_daily (shop_id, product_id, day, orders, quantity, revenue, cost)
SELECT i.shop_id, i.product_id, (o.at AT TIME ZONE 'UTC')::date, count(DISTINCT o.id),
       sum(i.quantity), sum(i.line_total), sum(round(i.unit_cost * i.quantity, 2))
FROM new_orders o JOIN order_items i ON i.order_id = o.id GROUP BY 1, 2, 3
ON CONFLICT (shop_id, day, product_id) DO UPDATE SET orders = sales_daily.orders + EXCLUDED.orders,
  quantity = sales_daily.quantity + EXCLUDED.quantity, revenue = sales_daily.revenue + EXCLUDED.revenue,
  cost = sales_daily.cost + EXCLUDED.cost;
INSERT INTO sales_hourly (shop_id, product_id, hour, quantity, revenue, cost)
SELECT i.shop_id, i.product_id, date_trunc('hour', o.at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
       sum(i.quantity), sum(i.line_total), sum(round(i.unit_cost * i.quantity, 2))
FROM new_orders o JOIN order_items i ON i.order_id = o.id GROUP BY 1, 2, 3
ON CONFLICT (shop_id, hour, product_id) DO UPDATE SET
  quantity = sales_hourly.quantity + EXCLUDED.quantity, revenue = sales_hourly.revenue + EXCLUDED.revenue,
  cost = sales_hourly.cost + EXCLUDED.cost;
INSERT INTO shop_orders_daily (shop_id, day, orders)
SELECT s.shop_id, (o.at AT TIME ZONE 'UTC')::date, count(*)
FROM new_orders o JOIN LATERAL (SELECT DISTINCT shop_id FROM order_items WHERE order_id = o.id) s ON true
GROUP BY 1, 2
ON CONFLICT (shop_id, day) DO UPDATE SET orders = shop_orders_daily.orders + EXCLUDED.orders;
INSERT INTO shop_orders_hourly (shop_id, hour, orders)
SELECT s.shop_id, date_trunc('hour', o.at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', count(*)
FROM new_orders o JOIN LATERAL (SELECT DISTINCT shop_id FROM order_items WHERE order_id = o.id) s ON true
GROUP BY 1, 2
ON CONFLICT (shop_id, hour) DO UPDATE SET orders = shop_orders_hourly.orders + EXCLUDED.orders;
COMMIT;
"""

def run(sql):
    subprocess.run(psql + ["-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)

def count_lines():
    out = subprocess.run(psql + ["-qtA", "-c", "SELECT count(*) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.code LIKE 'G%'"],
                         check=True, capture_output=True, text=True).stdout
    return int(out.strip())

# The products of each bench shop, numbered, for random picks.
run("DROP TABLE IF EXISTS bench_products; CREATE TABLE bench_products AS "
    "SELECT dense_rank() OVER (ORDER BY p.shop_id) AS shop_idx, "
    "row_number() OVER (PARTITION BY p.shop_id ORDER BY p.id) - 1 AS idx, p.* "
    "FROM products p; CREATE INDEX ON bench_products (shop_idx, idx);")
start = time.monotonic()
done = 0
width = 40
while done < lines:
    orders = max(1, int(min(batch_lines, lines - done) / per_order))
    run(BATCH.format(orders=orders, shops_m1=shops - 1, products=products, customer=customer, crew=crew))
    done = count_lines()
    frac = min(1.0, done / lines)
    bar = "#" * int(frac * width)
    rate = done / max(0.001, time.monotonic() - start)
    sys.stderr.write(f"\r[{bar:<{width}}] {done:>9,} / {lines:,} lines  {rate:,.0f}/s")
    sys.stderr.flush()
sys.stderr.write("\n")
run("DROP TABLE bench_products; ANALYZE;")
