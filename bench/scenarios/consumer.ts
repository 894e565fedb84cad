import { AckPolicy, DeliverPolicy } from 'nats';
import { createConsumer } from '../../events/consumer';
import type { ParsedEvent } from '../../events/envelope';
import { createDb, type Tx } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { until, type BenchContext } from '../context';
import { measurement, type Rep } from '../measure';
import { benchEvents, publishRaw } from '../payloads';
import type { ScenarioResult } from '../report/types';
import { ratio } from '../stats';

const STREAM = 'CHECKOUT';
const SUBJECT = 'checkout.order.placed';
/** The kit's default, used for the raw consumer too. */
const MAX_ACK_PENDING = 256;
/** The kit's default handler concurrency. */
const KIT_CONCURRENCY = 8;

/** The rate of issue 15's publish-to-effect latency target. */
const LATENCY_RATE = 500;

export function consumerLoad(quick: boolean): {
  events: number;
  duplicates: number;
  warmup: number;
  latencySeconds: number;
} {
  return quick
    ? { events: 1500, duplicates: 75, warmup: 300, latencySeconds: 2 }
    : { events: 10_000, duplicates: 500, warmup: 2000, latencySeconds: 10 };
}

/** The audit subscriber's effect: one row per event. */
async function recordSeen(tx: Tx, consumer: string, event: ParsedEvent, streamSequence: number): Promise<void> {
  await tx.query(
    'INSERT INTO seen_events (consumer, event_id, subject, order_id, stream_seq) VALUES ($1, $2, $3, $4, $5)',
    [consumer, event.id, event.type, event.subject, streamSequence],
  );
}

/** Empties the stream and the marks, then publishes `n` events plus `d` republished duplicates (same event id, new Nats-Msg-Id). */
async function fill(ctx: BenchContext, n: number, d: number): Promise<number> {
  await ctx.db.query('TRUNCATE processed_events, seen_events, parked_events');
  return republish(ctx, n, d);
}

/**
 * Empties the stream (and drops its consumers), then publishes `n` events plus `d` republished
 * duplicates; the database is left as it is.
 */
export async function republish(ctx: BenchContext, n: number, d: number): Promise<number> {
  const jsm = await ctx.nc.jetstreamManager();
  for await (const c of jsm.consumers.list(STREAM)) await jsm.consumers.delete(STREAM, c.name);
  await jsm.streams.purge(STREAM);
  const events = benchEvents(n);
  const js = ctx.nc.jetstream();
  await publishRaw(js, events, 256);
  await publishRaw(js, events.slice(0, d), 256, (e) => `${e.id}:republished`);
  return n + d;
}

async function effects(ctx: BenchContext, consumer: string): Promise<number> {
  const { rows } = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM seen_events WHERE consumer = $1', [
    consumer,
  ]);
  return rows[0]?.n ?? 0;
}

async function rawRep(ctx: BenchContext, name: string, total: number): Promise<Rep> {
  const jsm = await ctx.nc.jetstreamManager();
  await jsm.consumers.add(STREAM, {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subjects: [SUBJECT],
    max_ack_pending: MAX_ACK_PENDING,
  });
  const consumer = await ctx.nc.jetstream().consumers.get(STREAM, name);
  const started = performance.now();
  const messages = await consumer.consume({ max_messages: 100 });
  let count = 0;
  for await (const msg of messages) {
    msg.ack();
    count += 1;
    if (count >= total) break;
  }
  await ctx.nc.flush();
  // Leaving the loop stopped the subscription already; a second close() would never resolve.
  return { count, elapsedMs: performance.now() - started };
}

/** One run of the kit over `total` published events (`unique` of them distinct), checking exactly-once. */
export async function kitRep(
  ctx: BenchContext,
  name: string,
  total: number,
  unique: number,
  mode: 'per-event' | 'batch',
  concurrency = KIT_CONCURRENCY,
): Promise<Rep> {
  // One connection per handler in flight, as the subscribers' host sizes its pool.
  const db = createDb(ctx.config.database.url, {
    max: concurrency,
    applicationName: 'checkout-bench-kit',
    timeouts: ctx.config.database.timeouts,
  });
  const logger = createLogger('bench-kit', 'warn');
  const consumer = createConsumer(
    { nc: ctx.nc, db, logger },
    {
      name,
      stream: STREAM,
      concurrency,
      mode,
      handlers: {
        'checkout.order.placed': (event, { tx, message }) => recordSeen(tx, name, event, message.streamSequence),
      },
    },
  );
  const stop = new AbortController();
  const started = performance.now();
  const running = consumer.run(stop.signal);
  try {
    await until(
      `${total} events through the kit`,
      180_000,
      async () => {
        const s = consumer.stats();
        return s.applied + s.duplicates >= total;
      },
      5,
    );
  } finally {
    stop.abort();
  }
  const elapsedMs = performance.now() - started;
  await running;
  await db.end();
  const applied = await effects(ctx, name);
  if (applied !== unique) throw new Error(`consumer kit applied ${applied} effects for ${unique} unique events`);
  return { count: total, elapsedMs };
}

/**
 * Publish to effect committed at `rate`/s through the kit in batch mode: each event published on
 * its own (as a relay would at that rate); latency from before the publish to the kit's
 * `afterCommit` for it.
 */
async function kitLatencyRep(ctx: BenchContext, name: string, rate: number, seconds: number): Promise<Rep> {
  await fill(ctx, 0, 0);
  const db = createDb(ctx.config.database.url, {
    max: KIT_CONCURRENCY,
    applicationName: 'checkout-bench-kit',
    timeouts: ctx.config.database.timeouts,
  });
  const committedAt = new Map<string, number>();
  const consumer = createConsumer(
    { nc: ctx.nc, db, logger: createLogger('bench-kit', 'warn') },
    {
      name,
      stream: STREAM,
      mode: 'batch',
      handlers: {
        'checkout.order.placed': (event, { tx, message }) => recordSeen(tx, name, event, message.streamSequence),
      },
      afterCommit: async (event) => {
        committedAt.set(event.id, performance.now());
      },
    },
  );
  const stop = new AbortController();
  const running = consumer.run(stop.signal);
  const n = rate * seconds;
  const events = benchEvents(n);
  const publishedAt = new Map<string, number>();
  const js = ctx.nc.jetstream();
  const started = performance.now();
  try {
    for (let i = 0; i < n; i += 1) {
      const event = events[i] as (typeof events)[number];
      publishedAt.set(event.id, performance.now());
      await publishRaw(js, [event], 1);
      const wait = started + ((i + 1) * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    await until(`${n} events committed by the kit`, 60_000, async () => committedAt.size >= n, 5);
  } finally {
    stop.abort();
  }
  await running;
  await db.end();
  const latencies = events.map((e) => (committedAt.get(e.id) ?? Number.NaN) - (publishedAt.get(e.id) ?? Number.NaN));
  return { count: n, elapsedMs: performance.now() - started, latencies };
}

/**
 * What a team writes from the seed's pattern without the kit: pull, then per message one
 * transaction with the processed mark (INSERT ... ON CONFLICT DO NOTHING) and the effect, then ack.
 */
async function handWrittenRep(ctx: BenchContext, name: string, total: number, unique: number): Promise<Rep> {
  const jsm = await ctx.nc.jetstreamManager();
  await jsm.consumers.add(STREAM, {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subjects: [SUBJECT],
    max_ack_pending: MAX_ACK_PENDING,
  });
  const consumer = await ctx.nc.jetstream().consumers.get(STREAM, name);
  const client = await ctx.db.connect();
  const started = performance.now();
  let count = 0;
  try {
    const messages = await consumer.consume({ max_messages: 100 });
    for await (const msg of messages) {
      const event = msg.json<ParsedEvent>();
      await client.query('BEGIN');
      const { rowCount } = await client.query(
        'INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [name, event.id],
      );
      if (rowCount === 1) await recordSeen(client, name, event, msg.info.streamSequence);
      await client.query('COMMIT');
      msg.ack();
      count += 1;
      if (count >= total) break;
    }
    await ctx.nc.flush();
  } finally {
    client.release();
  }
  const elapsedMs = performance.now() - started;
  const applied = await effects(ctx, name);
  if (applied !== unique)
    throw new Error(`hand-written consumer applied ${applied} effects for ${unique} unique events`);
  return { count, elapsedMs };
}

/**
 * Scenario 3: the consumer kit in batch mode and per event, against raw fetch-and-ack of the same
 * stream and a hand-written idempotent consumer (one transaction per message).
 */
export async function consumerScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const load = consumerLoad(ctx.quick);
  ctx.say(`  warm-up: ${load.warmup} events through raw, kit and grouped`);
  let total = await fill(ctx, load.warmup, 0);
  await rawRep(ctx, 'bench-raw-warmup', total);
  await kitRep(ctx, 'bench-kit-warmup', total, load.warmup, 'per-event');
  await kitRep(ctx, 'bench-kit-batch-warmup', total, load.warmup, 'batch');
  await handWrittenRep(ctx, 'bench-hand-warmup', total, load.warmup);
  const raw: Rep[] = [];
  const kit: Rep[] = [];
  const batch: Rep[] = [];
  const hand: Rep[] = [];
  const latency: Rep[] = [];
  for (let rep = 1; rep <= ctx.reps; rep += 1) {
    ctx.say(
      `  rep ${rep}/${ctx.reps}: ${load.events} events + ${load.duplicates} duplicates through raw, kit (batch, per event), hand-written`,
    );
    total = await fill(ctx, load.events, load.duplicates);
    raw.push(await rawRep(ctx, `bench-raw-${rep}`, total));
    batch.push(await kitRep(ctx, `bench-kit-batch-${rep}`, total, load.events, 'batch'));
    kit.push(await kitRep(ctx, `bench-kit-${rep}`, total, load.events, 'per-event'));
    hand.push(await handWrittenRep(ctx, `bench-hand-${rep}`, total, load.events));
    latency.push(await kitLatencyRep(ctx, `bench-kit-latency-${rep}`, LATENCY_RATE, load.latencySeconds));
  }
  const rawM = measurement(
    {
      key: 'raw-consumer',
      label: 'raw fetch-and-ack',
      role: 'baseline',
      unit: 'events/s',
      detail: `pull consume (batches of 100, max_ack_pending ${MAX_ACK_PENDING}), ack each, no database`,
    },
    raw,
  );
  const kitM = measurement(
    {
      key: 'kit',
      label: 'consumer kit',
      role: 'subject',
      unit: 'events/s',
      detail: `createConsumer: lock, processed check, mark + effect in one transaction per event, ackAck after commit; default concurrency ${KIT_CONCURRENCY}`,
    },
    kit,
  );
  const batchM = measurement(
    {
      key: 'kit-batch',
      label: 'consumer kit, batch mode',
      role: 'subject',
      unit: 'events/s',
      detail: `createConsumer mode 'batch': up to 100 events per transaction, one statement for marks and duplicates, plain acks after commit; concurrency ${KIT_CONCURRENCY}`,
    },
    batch,
  );
  const handM = measurement(
    {
      key: 'hand-written',
      label: 'hand-written idempotent consumer',
      role: 'baseline',
      unit: 'events/s',
      detail: 'pull; per message BEGIN, INSERT mark ON CONFLICT DO NOTHING, effect, COMMIT, ack; one connection',
    },
    hand,
  );
  const latencyM = measurement(
    {
      key: 'kit-latency',
      label: `consumer kit, batch mode, ${LATENCY_RATE}/s`,
      role: 'subject',
      unit: 'events/s',
      detail: 'events published one by one at a steady rate; latency = publish to effect committed',
    },
    latency,
  );
  const p99 = latencyM.latency?.p99 ?? Number.NaN;
  const r = ratio(kitM.median, rawM.median);
  const rb = ratio(batchM.median, rawM.median);
  const rh = ratio(batchM.median, handM.median);
  return {
    id: 'consumer',
    title: '3. Idempotent consumer',
    params: {
      eventsPerRep: load.events,
      duplicatesPerRep: load.duplicates,
      batchSize: 100,
      kitConcurrency: KIT_CONCURRENCY,
      maxAckPending: MAX_ACK_PENDING,
    },
    measurements: [batchM, kitM, rawM, handM, latencyM],
    ratios: [
      { label: 'kit batch mode / raw fetch-and-ack', value: rb },
      { label: 'kit batch mode / hand-written idempotent consumer', value: rh },
      { label: 'kit per-event / raw fetch-and-ack', value: r },
      { label: 'kit batch mode / kit per-event', value: ratio(batchM.median, kitM.median) },
    ],
    targets: [
      {
        scenario: 'consumer',
        description: 'kit (batch mode, 5% duplicates) >= 0.25 of raw fetch-and-ack',
        measured: `${rb}`,
        met: rb >= 0.25,
      },
      {
        scenario: 'consumer',
        description: 'kit (batch mode) >= 3x a hand-written idempotent consumer',
        measured: `${rh}`,
        met: rh >= 3,
      },
      {
        scenario: 'consumer',
        description: `p99 publish to effect committed < 50 ms at ${LATENCY_RATE} events/s`,
        measured: `${p99} ms (achieved ${latencyM.median}/s)`,
        met: p99 < 50,
      },
    ],
    notes: [
      `Every repetition also checks exactly-once: the ${load.duplicates} republished duplicates leave exactly ${load.events} effects (both kit modes and the hand-written consumer).`,
    ],
    durationMs: Date.now() - started,
  };
}
