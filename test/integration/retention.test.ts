import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createConsumerMetrics, DEFAULT_MARK_RETENTION_MS, sweepProcessedMarks } from 'checkout-saga/events';
import { Registry } from 'prom-client';
import { KEY_SWEEP_BATCH, sweepExpiredKeys } from '../../checkouts/key-retention';
import type { Db } from '../../lib/db';
import { insertOrder, testConfig, testDb } from '../support/services';

// Retention (issue 15): processed marks past the kit's retention and expired Idempotency-Keys are
// deleted in small batches; everything younger stays.

const DAY_MS = 86_400_000;

/** Runs `sweep` until it deletes nothing; returns what each call deleted. */
async function sweepAll(sweep: () => Promise<number>): Promise<number[]> {
  const rounds: number[] = [];
  for (;;) {
    const n = await sweep();
    rounds.push(n);
    if (n === 0) return rounds;
  }
}

describe('retention sweeps against real Postgres', () => {
  let db: Db;

  before(async () => {
    db = await testDb(testConfig());
  });
  after(async () => {
    await db?.end();
  });

  describe('processed marks', () => {
    const consumer = `retention-${randomUUID().slice(0, 8)}`;
    const other = `retention-other-${randomUUID().slice(0, 8)}`;
    let rounds: number[] = [];
    const left = new Map<string, number>();

    before(async () => {
      // 2,500 marks past the retention, 10 within it, and old marks of another consumer.
      await db.query(
        `INSERT INTO processed_events (consumer, event_id, order_id, event_type, processed_at)
         SELECT $1, gen_random_uuid(), 'o', 't', now() - make_interval(secs => $2) FROM generate_series(1, 2500)`,
        [consumer, (DEFAULT_MARK_RETENTION_MS + DAY_MS) / 1000],
      );
      await db.query(
        `INSERT INTO processed_events (consumer, event_id, order_id, event_type, processed_at)
         SELECT $1, gen_random_uuid(), 'o', 't', now() - interval '1 day' FROM generate_series(1, 10)`,
        [consumer],
      );
      await db.query(
        `INSERT INTO processed_events (consumer, event_id, order_id, event_type, processed_at)
         SELECT $1, gen_random_uuid(), 'o', 't', now() - interval '30 days' FROM generate_series(1, 5)`,
        [other],
      );
      rounds = await sweepAll(() => sweepProcessedMarks(db, consumer, DEFAULT_MARK_RETENTION_MS));
      const { rows } = await db.query<{ consumer: string; n: number }>(
        'SELECT consumer, count(*)::int AS n FROM processed_events WHERE consumer = ANY($1) GROUP BY consumer',
        [[consumer, other]],
      );
      for (const r of rows) left.set(r.consumer, r.n);
    });

    it('deletes the marks past the retention in batches of at most 1,000', () => {
      assert.deepEqual(rounds, [1000, 1000, 500, 0]);
    });

    it('keeps the marks within the retention, and other consumers’ marks', () => {
      assert.equal(left.get(consumer), 10);
      assert.equal(left.get(other), 5);
    });
  });

  describe('Idempotency-Keys', () => {
    const principal = `retention-${randomUUID().slice(0, 8)}`;
    let rounds: number[] = [];
    let kept = -1;

    before(async () => {
      const orderId = await insertOrder(db);
      const insert = (n: number, expiresIn: string) =>
        db.query(
          `INSERT INTO idempotency_keys (principal, key, request_hash, order_id, response, expires_at)
           SELECT $1, gen_random_uuid()::text, 'h', $2, '{}', now() + $3::interval FROM generate_series(1, $4)`,
          [principal, orderId, expiresIn, n],
        );
      await insert(1_500, '-1 second');
      await insert(5, '23 hours');
      rounds = await sweepAll(() => sweepExpiredKeys(db));
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM idempotency_keys WHERE principal = $1',
        [principal],
      );
      kept = rows[0]?.n ?? -1;
    });

    it('deletes expired keys in batches of at most 1,000', () => {
      // Other tests' expired keys may be swept too; ours are all gone and no call exceeded a batch.
      assert.ok(rounds.every((n) => n <= KEY_SWEEP_BATCH));
      assert.ok(rounds.reduce((a, b) => a + b, 0) >= 1_500);
    });

    it('keeps every key still within its 24-hour promise', () => {
      assert.equal(kept, 5);
    });
  });

  it('reports a sweep round as Prometheus metrics', async () => {
    const registry = new Registry();
    const metrics = createConsumerMetrics(registry);
    metrics.marksSwept?.({ consumer: 'c', stream: 'CHECKOUT' }, 1200, 0.3);
    const text = await registry.metrics();
    assert.match(text, /consumer_marks_swept_total\{consumer="c",stream="CHECKOUT"\} 1200/);
    assert.match(text, /consumer_mark_sweep_seconds_count\{consumer="c",stream="CHECKOUT"\} 1/);
  });
});
