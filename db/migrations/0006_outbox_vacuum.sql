-- Keeps the relay's claim index small under sustained load (issue 15).
--
-- Every published row leaves a dead entry in outbox_unpublished_partition_idx (its UPDATE takes
-- the row out of the index's predicate). The claim walks that index from the oldest entry of each
-- partition, so dead entries in front of the live ones cost every claim until VACUUM removes them.
-- The default trigger (20 % of the table dead) waits longer and longer as the table (a day of
-- published rows) grows; a fixed threshold of 2,000 dead rows keeps the wait bounded. And VACUUM
-- may skip index cleanup when few heap pages hold dead rows (vacuum_index_cleanup = auto), which
-- on a large outbox is the normal case: on forces it, so the partial index is really cleaned.
-- Analyze as often, so a sudden backlog is known to the planner (the relay does not rely on it:
-- outbox/relay/claim.ts, CLAIM_SESSION_SETTINGS).
ALTER TABLE outbox SET (
  autovacuum_analyze_scale_factor = 0,
  autovacuum_analyze_threshold = 2000,
  autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 2000,
  autovacuum_vacuum_cost_delay = 0,
  vacuum_index_cleanup = on
);
