-- The audit subscriber's effect becomes a plain log: one row per application of an event, with no
-- unique key. The consumer kit (processed_events) is what makes each event apply once; with a
-- primary key here a second application would fail as a unique violation and be retried away,
-- hiding the kit's failure. As a log, it leaves a second row that the chaos checker counts
-- (history check 9, invariant 4).
ALTER TABLE seen_events DROP CONSTRAINT seen_events_pkey;
CREATE INDEX seen_events_event_idx ON seen_events (consumer, event_id);
