import { AckPolicy, DeliverPolicy } from 'nats';
import { createConsumer } from '../../events/consumer';
import type { ParsedEvent } from '../../events/envelope';
import { createDb, type Tx } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { until, type BenchContext } from '../context';
import { runGrouped } from '../grouped-consumer';
import { measurement, type Rep } from '../measure';
import { benchEvents, publishRaw } from '../payloads';
import type { ScenarioResult } from '../report/types';
import { ratio } from '../stats';

const STREAM = 'CHECKOUT';
const SUBJECT = 'checkout.order.placed';
/** The kit's default, used for the raw consumer too. */
const MAX_ACK_PENDING = 256;
const GROUP_SIZE = 100;
/** The kit's default handler concurrency, and the larger setting tried as a tuning knob. */
const KIT_CONCURRENCY = 8;
const KIT_CONCURRENCY_HIGH = 32;

export function consumerLoad(quick: boolean): { events: number; duplicates: number; warmup: number } {
  return quick ? { events: 1500, duplicates: 75, warmup: 300 } : { events: 10_000, duplicates: 500, warmup: 2000 };
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
  const jsm = await ctx.nc.jetstreamManager();
  for await (const c of jsm.consumers.list(STREAM)) await jsm.consumers.delete(STREAM, c.name);
  await jsm.streams.purge(STREAM);
  await ctx.db.query('TRUNCATE processed_events, seen_events, parked_events');
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

async function kitRep(
  ctx: BenchContext,
  name: string,
  total: number,
  unique: number,
  concurrency = KIT_CONCURRENCY,
): Promise<Rep> {
  // One connection per handler in flight, as the subscribers' host sizes its pool.
  const db = createDb(ctx.config.database.url, { max: concurrency, applicationName: 'checkout-bench-kit' });
  const logger = createLogger('bench-kit', 'warn');
  const consumer = createConsumer(
    { nc: ctx.nc, db, logger },
    {
      name,
      stream: STREAM,
      concurrency,
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

async function groupedRep(ctx: BenchContext, name: string, total: number, unique: number): Promise<Rep> {
  const started = performance.now();
  await runGrouped(
    { nc: ctx.nc, db: ctx.db },
    {
      name,
      stream: STREAM,
      filterSubject: SUBJECT,
      total,
      groupSize: GROUP_SIZE,
      ackWaitMs: 30_000,
      effect: (tx, e, seq) => recordSeen(tx, name, e, seq),
    },
  );
  const elapsedMs = performance.now() - started;
  const applied = await effects(ctx, name);
  if (applied !== unique) throw new Error(`grouped consumer applied ${applied} effects for ${unique} unique events`);
  return { count: total, elapsedMs };
}

/**
 * Checks that grouping keeps exactly-once under a crash between COMMIT and the acks: one group's
 * acks are dropped, the server redelivers it after ack_wait, and the redelivery must change nothing.
 */
async function groupedCrashCheck(ctx: BenchContext): Promise<string> {
  const unique = 300;
  const total = await fill(ctx, unique, 15);
  const name = 'bench-grouped-crash';
  const outcome = await runGrouped(
    { nc: ctx.nc, db: ctx.db },
    {
      name,
      stream: STREAM,
      filterSubject: SUBJECT,
      total,
      groupSize: 50,
      ackWaitMs: 2000,
      dropAcksOfGroup: 1,
      effect: (tx, e, seq) => recordSeen(tx, name, e, seq),
    },
  );
  const applied = await effects(ctx, name);
  const kept = applied === unique && outcome.redelivered > 0;
  return `grouped exactly-once check: ${unique} unique events + 15 republished duplicates, acks of one group of 50 dropped after COMMIT (simulated crash); ${outcome.redelivered} messages redelivered after ack_wait; ${applied} effects recorded -> exactly-once ${kept ? 'kept' : 'BROKEN'}`;
}

/**
 * Scenario 3: the consumer kit (PG processed mark, one transaction per event, ack after commit)
 * against raw fetch-and-ack of the same stream, and the grouped-transaction experiment.
 */
export async function consumerScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const load = consumerLoad(ctx.quick);
  ctx.say(`  warm-up: ${load.warmup} events through raw, kit and grouped`);
  let total = await fill(ctx, load.warmup, 0);
  await rawRep(ctx, 'bench-raw-warmup', total);
  await kitRep(ctx, 'bench-kit-warmup', total, load.warmup);
  await groupedRep(ctx, 'bench-grouped-warmup', total, load.warmup);
  const raw: Rep[] = [];
  const kit: Rep[] = [];
  const grouped: Rep[] = [];
  const kitHigh: Rep[] = [];
  for (let rep = 1; rep <= ctx.reps; rep += 1) {
    ctx.say(
      `  rep ${rep}/${ctx.reps}: ${load.events} events + ${load.duplicates} duplicates through raw, kit, grouped`,
    );
    total = await fill(ctx, load.events, load.duplicates);
    raw.push(await rawRep(ctx, `bench-raw-${rep}`, total));
    kit.push(await kitRep(ctx, `bench-kit-${rep}`, total, load.events));
    grouped.push(await groupedRep(ctx, `bench-grouped-${rep}`, total, load.events));
    kitHigh.push(
      await kitRep(ctx, `bench-kit-c${KIT_CONCURRENCY_HIGH}-${rep}`, total, load.events, KIT_CONCURRENCY_HIGH),
    );
  }
  const crash = await groupedCrashCheck(ctx);
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
  const groupedM = measurement(
    {
      key: 'grouped',
      label: `grouped, ${GROUP_SIZE} per transaction`,
      role: 'experiment',
      unit: 'events/s',
      detail: 'same rule, one transaction per fetched group; marks checked and written with one statement each',
    },
    grouped,
  );
  const kitHighM = measurement(
    {
      key: 'kit-c32',
      label: `consumer kit, concurrency ${KIT_CONCURRENCY_HIGH}`,
      role: 'experiment',
      unit: 'events/s',
      detail: `the kit with concurrency ${KIT_CONCURRENCY_HIGH} and a pool of ${KIT_CONCURRENCY_HIGH} connections (max_ack_pending stays 256)`,
    },
    kitHigh,
  );
  const r = ratio(kitM.median, rawM.median);
  return {
    id: 'consumer',
    title: '3. Idempotent consumer',
    params: {
      eventsPerRep: load.events,
      duplicatesPerRep: load.duplicates,
      groupSize: GROUP_SIZE,
      kitConcurrency: KIT_CONCURRENCY,
      maxAckPending: MAX_ACK_PENDING,
    },
    measurements: [kitM, rawM, groupedM, kitHighM],
    ratios: [
      { label: 'kit / raw fetch-and-ack', value: r },
      { label: 'grouped / kit', value: ratio(groupedM.median, kitM.median) },
      {
        label: `kit concurrency ${KIT_CONCURRENCY_HIGH} / ${KIT_CONCURRENCY}`,
        value: ratio(kitHighM.median, kitM.median),
      },
    ],
    targets: [
      { scenario: 'consumer', description: 'throughput >= 0.3 of raw fetch-and-ack', measured: `${r}`, met: r >= 0.3 },
    ],
    notes: [
      `Every repetition also checks exactly-once: the ${load.duplicates} republished duplicates leave exactly ${load.events} effects (kit and grouped).`,
      crash,
    ],
    durationMs: Date.now() - started,
  };
}
