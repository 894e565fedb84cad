-- Who may do what (issue 16): rate limits per principal and the payment provider's webhook events.

-- Write-route rate limits, one row per principal (GCRA: `tat` is the theoretical arrival time of
-- the next request; `allowed` is the decision of the last request, returned by the same upsert).
-- UNLOGGED: a commit that touches only this table waits for no WAL flush, so the per-request
-- statement stays cheap; after a crash or a failover the table starts empty, which only resets
-- every principal's quota. A row whose `tat` is past means the same as no row, so the API's
-- sweeper deletes those at any time.
CREATE UNLOGGED TABLE api_rate_limits (
  principal  text PRIMARY KEY,
  tat        timestamptz NOT NULL,
  allowed    boolean NOT NULL
);

-- Each notification of a payment provider, applied once: the row is written when the event is
-- first received (after its signature is verified) and `applied_at` set once it has had its
-- effect; a delivery of an event already applied changes nothing.
CREATE TABLE provider_events (
  provider     text NOT NULL,
  event_id     text NOT NULL,
  type         text NOT NULL,
  order_id     uuid,
  payload      jsonb NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  deliveries   integer NOT NULL DEFAULT 1,
  applied_at   timestamptz,
  outcome      text,
  PRIMARY KEY (provider, event_id)
);
CREATE INDEX provider_events_order_idx ON provider_events (order_id) WHERE order_id IS NOT NULL;
