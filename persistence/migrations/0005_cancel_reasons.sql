-- Cancellations record why and by whom (API.md "Orders", POST /orders/{id}/cancel): the reason
-- follows from who cancelled (customer, staff, the requesting shop's owner, or no_crew when a
-- pending order expired), the note is the text the canceller gave, cancelled_by the user (NULL
-- for no_crew). The order row holds them and so does the cancellation's history event, both
-- written in the transaction that cancels.
ALTER TABLE orders
  ADD COLUMN cancel_reason text CHECK (cancel_reason IN ('customer', 'staff', 'shop', 'no_crew')),
  ADD COLUMN cancel_note   text,
  ADD COLUMN cancelled_by  bigint;

ALTER TABLE order_events
  ADD COLUMN cancel_reason text CHECK (cancel_reason IN ('customer', 'staff', 'shop', 'no_crew')),
  ADD COLUMN cancel_note   text,
  ADD COLUMN cancelled_by  bigint;

-- Orders cancelled before this migration: the reason from the role of the user who cancelled
-- (only customers and staff could), no note.
UPDATE order_events e SET cancel_reason = u.role, cancelled_by = e.by_user_id
  FROM users u
 WHERE e.status = 'cancelled' AND u.id = e.by_user_id AND u.role IN ('customer', 'staff');

UPDATE orders o SET cancel_reason = e.cancel_reason, cancelled_by = e.cancelled_by
  FROM order_events e
 WHERE o.status = 'cancelled' AND e.order_id = o.id AND e.status = 'cancelled'
   AND e.cancel_reason IS NOT NULL;
