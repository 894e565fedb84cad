-- Consumer kit: per-order prerequisites, parked events, and the example subscribers' tables.

-- The processed mark now also records which order and type it was, so the kit can tell whether an
-- event's predecessor for the same order has been applied (rows from before this migration have
-- NULLs and count only for deduplication).
ALTER TABLE processed_events ADD COLUMN order_id text, ADD COLUMN event_type text;
CREATE INDEX processed_events_order_idx ON processed_events (consumer, order_id, event_type) WHERE order_id IS NOT NULL;

-- Events that arrived before a predecessor they need (e.g. completed before placed after a
-- redelivery). They are acknowledged at the source and applied here when the predecessor is.
CREATE TABLE parked_events (
  consumer      text NOT NULL,
  event_id      uuid NOT NULL,
  order_id      text NOT NULL,
  event_type    text NOT NULL,
  waiting_for   text[] NOT NULL,
  subject       text NOT NULL,
  body          text NOT NULL,
  headers       jsonb NOT NULL DEFAULT '{}',
  stream        text NOT NULL,
  stream_seq    bigint NOT NULL,
  parked_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
CREATE INDEX parked_events_order_idx ON parked_events (consumer, order_id);
CREATE INDEX parked_events_age_idx ON parked_events (parked_at);

-- The order read model (a CQRS projection of checkout.order.* events) behind GET /orders.
CREATE TABLE read_orders (
  order_id        uuid PRIMARY KEY,
  customer_id     text NOT NULL,
  status          text NOT NULL,
  failure_reason  text,
  total_cents     bigint NOT NULL,
  currency        text NOT NULL,
  items           jsonb NOT NULL,
  placed_at       timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  last_event_id   uuid NOT NULL
);
-- Keyset pagination: a customer's orders newest first.
CREATE INDEX read_orders_customer_idx ON read_orders (customer_id, placed_at DESC, order_id DESC);

-- The notifications subscriber's outgoing messages: at most one per order, by construction.
CREATE TABLE notifications (
  order_id     uuid PRIMARY KEY,
  customer_id  text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('ORDER_COMPLETED', 'ORDER_FAILED', 'ORDER_CANCELLED')),
  message      text NOT NULL,
  event_id     uuid NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
