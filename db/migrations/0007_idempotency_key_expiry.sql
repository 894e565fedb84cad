-- For the Idempotency-Key retention sweep (checkouts/key-retention.ts), which deletes expired keys.
-- BRIN: keys are written in expiry order (now() + a fixed TTL), so a block-range summary finds the
-- expired ones, and unlike a btree it costs POST /checkouts' insert next to nothing.
CREATE INDEX idempotency_keys_expires_brin ON idempotency_keys USING brin (expires_at);
