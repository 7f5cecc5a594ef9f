-- Every change of a product's stock or sales count bumps its stock_version. A shop actor
-- remembers the version it loaded; a later notice of a stock move (an order placed or
-- cancelled) carries the version that move produced, so a move already contained in the loaded
-- row is never applied twice.
ALTER TABLE products ADD COLUMN stock_version bigint NOT NULL DEFAULT 0;
