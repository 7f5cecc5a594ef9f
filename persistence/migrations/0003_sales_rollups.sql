-- Rollups the analytics read instead of order lines, written in the delivering transaction.
-- Days are UTC days (sales_daily, from 0001); hours let a period in any whole-hour time zone be
-- summed exactly: whole UTC days inside the period from the daily rows, the period's partial
-- days at its edges from the hourly rows.
CREATE TABLE sales_hourly (
  shop_id    bigint NOT NULL REFERENCES shops (id),
  product_id bigint NOT NULL REFERENCES products (id),
  hour       timestamptz NOT NULL,
  quantity   numeric(16, 3) NOT NULL DEFAULT 0,
  revenue    numeric(16, 2) NOT NULL DEFAULT 0,
  cost       numeric(16, 2) NOT NULL DEFAULT 0,
  PRIMARY KEY (shop_id, hour, product_id)
);

-- Delivered orders per shop (an order with several lines of a shop counts once for it).
CREATE TABLE shop_orders_daily (
  shop_id bigint NOT NULL REFERENCES shops (id),
  day     date NOT NULL,
  orders  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (shop_id, day)
);

CREATE TABLE shop_orders_hourly (
  shop_id bigint NOT NULL REFERENCES shops (id),
  hour    timestamptz NOT NULL,
  orders  bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (shop_id, hour)
);

-- Analytics' reference queries over the raw lines (and rebuilding rollups) need this one.
CREATE INDEX orders_delivered_idx ON orders (delivered_at) WHERE status = 'delivered';
