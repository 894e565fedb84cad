-- Catalog and stock. Invariant per SKU: stock ever put in = available + reserved + shipped.
CREATE TABLE products (
  sku          text PRIMARY KEY,
  name         text NOT NULL,
  price_cents  bigint NOT NULL CHECK (price_cents >= 0),
  available    integer NOT NULL CHECK (available >= 0),
  reserved     integer NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  shipped      integer NOT NULL DEFAULT 0 CHECK (shipped >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- One row per order; every activity transaction locks it first, which serialises the order's
-- changes and therefore its outbox rows (their ids then follow commit order per order).
CREATE TABLE orders (
  id                uuid PRIMARY KEY,
  customer_id       text NOT NULL,
  status            text NOT NULL,
  failure_reason    text,
  currency          text NOT NULL,
  total_cents       bigint NOT NULL,
  items             jsonb NOT NULL,
  shipping_address  jsonb NOT NULL,
  payment_method    text NOT NULL,
  steps             jsonb NOT NULL DEFAULT '[]',
  traceparent       text NOT NULL,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL
);
CREATE INDEX orders_customer_idx ON orders (customer_id, created_at DESC);

-- Idempotency-Key of POST /checkouts, scoped to the caller (hash of its token).
CREATE TABLE idempotency_keys (
  principal      text NOT NULL,
  key            text NOT NULL,
  request_hash   text NOT NULL,
  order_id       uuid NOT NULL REFERENCES orders (id),
  response       jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  PRIMARY KEY (principal, key)
);

-- Step records. A compensation that finds no forward record writes a tombstone
-- (RELEASED / VOIDED / CANCELLED) so a late retry of the forward step cannot take effect.
CREATE TABLE stock_reservations (
  order_id    uuid PRIMARY KEY REFERENCES orders (id),
  status      text NOT NULL CHECK (status IN ('RESERVED', 'FAILED', 'RELEASED')),
  items       jsonb NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);

CREATE TABLE payments (
  order_id            uuid PRIMARY KEY REFERENCES orders (id),
  status              text NOT NULL CHECK (status IN ('CHARGED', 'DECLINED', 'REFUNDED', 'VOIDED')),
  amount_cents        bigint NOT NULL,
  currency            text NOT NULL,
  provider_charge_id  text,
  decline_reason      text,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL
);

CREATE TABLE shipments (
  order_id         uuid PRIMARY KEY REFERENCES orders (id),
  status           text NOT NULL CHECK (status IN ('CREATED', 'FAILED', 'CANCELLED')),
  shipment_id      text,
  carrier          text,
  tracking_number  text,
  items            jsonb NOT NULL,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL
);

-- Transactional outbox. Rows are written in the same transaction as the change they describe.
CREATE TABLE outbox (
  id             bigserial PRIMARY KEY,
  event_id       uuid NOT NULL UNIQUE,
  subject        text NOT NULL,
  partition_key  text NOT NULL,
  envelope       jsonb NOT NULL,
  headers        jsonb NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at   timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Consumers' exactly-once marks: side effects and this row commit in one transaction.
CREATE TABLE processed_events (
  consumer      text NOT NULL,
  event_id      uuid NOT NULL,
  processed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);

-- The example subscriber's effect: which events it has seen.
CREATE TABLE seen_events (
  consumer     text NOT NULL,
  event_id     uuid NOT NULL,
  subject      text NOT NULL,
  order_id     text NOT NULL,
  stream_seq   bigint NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
CREATE INDEX seen_events_order_idx ON seen_events (order_id);

-- State of the simulated external payment provider and carrier. They stand in for third-party
-- systems, so they are written outside the activities' transactions.
CREATE TABLE sim_provider_charges (
  idempotency_key  text PRIMARY KEY,
  method           text NOT NULL,
  amount_cents     bigint NOT NULL,
  currency         text NOT NULL,
  status           text NOT NULL CHECK (status IN ('PENDING', 'CHARGED', 'DECLINED', 'REFUNDED', 'VOIDED')),
  charge_id        text,
  attempts         integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sim_carrier_shipments (
  idempotency_key  text PRIMARY KEY,
  status           text NOT NULL CHECK (status IN ('CREATED', 'REJECTED', 'CANCELLED', 'VOIDED')),
  shipment_id      text,
  tracking_number  text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
