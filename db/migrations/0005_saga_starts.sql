-- Orders whose saga has not been started yet: the saga starter's work queue (starter/queue.ts).
--
-- POST /checkouts inserts the row in the transaction that places the order, so a committed order
-- always has either this row or a saga. The starter claims rows with FOR UPDATE SKIP LOCKED and
-- keeps them locked while Temporal answers; it deletes a row in the same transaction only after
-- Temporal accepted the start (or said the workflow already exists), so a crash at any point
-- leaves the row for the next claim, and the idempotent start never makes a second run. A cancel
-- before the start locks the same row, so it and a starting saga cannot both win: it cancels the
-- order in the database and deletes the row.
CREATE TABLE saga_starts (
  order_id         uuid PRIMARY KEY REFERENCES orders (id),
  -- Claim order: oldest first.
  seq              bigserial NOT NULL,
  -- When the order was committed: the start delay and the backlog's age are measured from here.
  created_at       timestamptz NOT NULL,
  -- Starts Temporal refused for this order (not outages, which back off without counting).
  attempts         integer NOT NULL DEFAULT 0,
  not_before       timestamptz NOT NULL,
  last_error       text
);
CREATE INDEX saga_starts_claim_idx ON saga_starts (seq);

-- Orders placed before this migration were started by the API itself, synchronously: they need
-- no row. An order whose API process died between its commit and that start has no saga; give
-- it one now (PENDING orders with no step taken and no saga-written status).
INSERT INTO saga_starts (order_id, created_at, not_before)
SELECT o.id, o.created_at, now()
FROM orders o
WHERE o.status = 'PENDING'
  AND NOT EXISTS (SELECT 1 FROM stock_reservations r WHERE r.order_id = o.id);
