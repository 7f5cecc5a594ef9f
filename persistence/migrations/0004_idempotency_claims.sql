-- A placement with an Idempotency-Key claims its key first, in a transaction of its own, so that a
-- repeat while it is in flight is told so (409 request_in_progress) rather than run twice.
-- status 0: in flight, owned by `claim` (a random token of the placement); the placement's own
-- transaction stores its answer only while the claim is still its own, so a claim taken over after
-- it went stale can never be answered twice.
ALTER TABLE idempotency_keys ADD COLUMN claim text NOT NULL DEFAULT '';
