-- Offers of pending orders to crews (API.md "Dispatch"). A row per offer: to whom, when it
-- expires (on the database clock, so a dispatcher starting over resumes it where it stood) and
-- how it ended. At most one open offer per crew and per order, held by the two partial unique
-- indexes even against a dispatcher that got it wrong. Closed rows of pending orders tell the
-- dispatcher which crews declined or let it expire, and when (reoffer_after_s).
CREATE TABLE order_offers (
  id          bigserial PRIMARY KEY,
  order_id    bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  crew_id     bigint NOT NULL REFERENCES delivery_crews (user_id) ON DELETE CASCADE,
  distance_km double precision NOT NULL CHECK (distance_km >= 0),
  offered_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  outcome     text NOT NULL DEFAULT 'open'
              CHECK (outcome IN ('open', 'accepted', 'declined', 'expired', 'taken', 'cancelled')),
  closed_at   timestamptz,
  CHECK ((outcome = 'open') = (closed_at IS NULL))
);
CREATE UNIQUE INDEX order_offers_one_open_per_crew ON order_offers (crew_id) WHERE outcome = 'open';
CREATE UNIQUE INDEX order_offers_one_open_per_order ON order_offers (order_id) WHERE outcome = 'open';
CREATE INDEX order_offers_by_order ON order_offers (order_id);
CREATE INDEX order_offers_by_crew ON order_offers (crew_id, offered_at DESC);
