-- Shops carry preparation_min (minutes to prepare an order, owner-editable, for the ETA) and a
-- true confirmed_orders: delivered orders with at least one line of the shop (a delivery request
-- has no lines and never counts). Until now the column was never written: orders delivered
-- before this migration are counted here; each later delivery adds one per shop in its own
-- transaction (orders_sql::apply in persistence/orders.cpp).
ALTER TABLE shops ADD COLUMN preparation_min integer NOT NULL DEFAULT 10
  CHECK (preparation_min BETWEEN 0 AND 240);

UPDATE shops s SET confirmed_orders = (
  SELECT count(DISTINCT oi.order_id)
    FROM order_items oi JOIN orders o ON o.id = oi.order_id
   WHERE oi.shop_id = s.id AND o.status = 'delivered' AND o.type = 'order');
