-- Outbox partitions, so several relays can publish at once while each order keeps its order.
--
-- Every row of one order (partition_key) lands in the same partition, and a relay publishes a
-- partition only while it holds that partition's advisory lock, so one order is never being
-- published by two relays at once.
--
-- The count (64) is FIXED, and outbox/relay.ts (OUTBOX_PARTITIONS) must say the same. Changing
-- it would move an order's new rows to another partition while its older unpublished rows stay
-- in the old one (the value is stored), so two relays could own one order at once and publish its
-- events out of order. A change is therefore a migration of its own, applied with every relay
-- stopped and the outbox drained. The same applies to a PostgreSQL upgrade if it ever changed
-- hashtext(): drain the outbox before it. 64 leaves room for up to 64 useful relays.
--
-- hashtext() is IMMUTABLE, as a generated column requires. `& 2147483647` clears the sign bit
-- rather than abs(), which overflows on -2147483648.
--
-- Adding a stored generated column rewrites the table under an exclusive lock; the outbox only
-- holds unpublished rows plus the retention window of published ones, so this is brief.
ALTER TABLE outbox
  ADD COLUMN partition smallint NOT NULL
  GENERATED ALWAYS AS (((hashtext(partition_key) & 2147483647) % 64)::smallint) STORED;

-- The relay reads, per owned partition, the oldest unpublished rows. Nothing reads unpublished
-- rows in plain id order any more, so outbox_unpublished_idx would only cost every insert and
-- every mark-as-published another index write.
CREATE INDEX outbox_unpublished_partition_idx ON outbox (partition, id) WHERE published_at IS NULL;
DROP INDEX outbox_unpublished_idx;
