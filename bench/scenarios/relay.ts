import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RetentionPolicy, StorageType } from 'nats';
import { OUTBOX_CHANNEL } from '../../outbox/append';
import { RELAY_LOCKS } from '../../outbox/relay';
import { natsCredentials } from '../../lib/nats';
import { until, type BenchContext } from '../context';
import { epochMs, lastSeq, storedTimes } from '../jetstream';
import { measurement, type Rep } from '../measure';
import { averageSize, benchEvents, publishRaw, type BenchEvent } from '../payloads';
import type { Measurement, ScenarioResult } from '../report/types';
import { ratio } from '../stats';

const exec = promisify(execFile);
const STREAM = 'CHECKOUT';
const CEILING_STREAM = 'benchstream';
const CEILING_SUBJECT = 'bench.ceiling';

export function relayLoad(quick: boolean): {
  backlog: number;
  lightRate: number;
  /** The sustained rate of issue 15's latency target, beside the light one. */
  busyRate: number;
  lightSeconds: number;
  warmup: number;
} {
  return quick
    ? { backlog: 3000, lightRate: 100, busyRate: 1000, lightSeconds: 2, warmup: 1000 }
    : { backlog: 20_000, lightRate: 100, busyRate: 1000, lightSeconds: 10, warmup: 4000 };
}

/** Commits `events` as outbox rows in one transaction (with the relay's NOTIFY); resolves with the commit time. */
async function commitRows(ctx: BenchContext, events: readonly BenchEvent[]): Promise<number> {
  const client = await ctx.db.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO outbox (event_id, subject, partition_key, envelope, headers)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[])`,
      [
        events.map((e) => e.id),
        events.map((e) => e.subject),
        events.map((e) => e.orderId),
        events.map((e) => e.body),
        events.map((e) => JSON.stringify({ traceparent: e.traceparent })),
      ],
    );
    await client.query('SELECT pg_notify($1, $2)', [OUTBOX_CHANNEL, '']);
    await client.query('COMMIT');
    return epochMs();
  } finally {
    client.release();
  }
}

/**
 * One backlog repetition through the relay process(es): `n` rows committed at once, timed from the
 * commit to the last of them stored in JetStream.
 */
export async function relayBacklogRep(ctx: BenchContext, n: number): Promise<Rep> {
  const events = benchEvents(n);
  const before = await lastSeq(ctx.nc, STREAM);
  const committedAt = await commitRows(ctx, events);
  await until(`${n} relayed events`, 120_000, async () => (await lastSeq(ctx.nc, STREAM)) >= before + n, 10);
  const last = await (await ctx.nc.jetstreamManager()).streams.getMessage(STREAM, { seq: before + n });
  const storedAt = new Date(last.timestamp).getTime();
  await until('outbox rows marked published', 30_000, async () => {
    const { rows } = await ctx.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL',
    );
    return rows[0]?.n === 0;
  });
  return { count: n, elapsedMs: Math.max(1, storedAt - committedAt) };
}

async function rawBacklogRep(ctx: BenchContext, n: number): Promise<Rep> {
  const events = benchEvents(n);
  const started = performance.now();
  // The relay's own window (RELAY_WINDOW), so both keep the same number of publishes in flight.
  await publishRaw(ctx.nc.jetstream(), events, ctx.config.relay.window);
  return { count: n, elapsedMs: performance.now() - started };
}

/** Light load: one row per transaction at `rate`/s; latency from each commit to its message stored in JetStream. */
async function relayLightRep(ctx: BenchContext, rate: number, seconds: number): Promise<Rep> {
  const n = rate * seconds;
  const events = benchEvents(n);
  const before = await lastSeq(ctx.nc, STREAM);
  const committed = new Map<string, number>();
  const started = performance.now();
  for (let i = 0; i < n; i += 1) {
    const event = events[i] as BenchEvent;
    committed.set(event.id, await commitRows(ctx, [event]));
    const due = started + ((i + 1) * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await until(`${n} relayed events`, 60_000, async () => (await lastSeq(ctx.nc, STREAM)) >= before + n, 10);
  const stored = await storedTimes(ctx.nc, STREAM, before, n);
  const latencies = [...committed].map(([id, at]) => {
    const s = stored.get(id);
    if (s === undefined) throw new Error(`event ${id} was not found in ${STREAM}`);
    return s - at;
  });
  return { count: n, elapsedMs: performance.now() - started, latencies };
}

/** Light load for the raw baseline: one publish at a time at `rate`/s; latency from publish to ack. */
async function rawLightRep(ctx: BenchContext, rate: number, seconds: number): Promise<Rep> {
  const n = rate * seconds;
  const events = benchEvents(n);
  const js = ctx.nc.jetstream();
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < n; i += 1) {
    const t = performance.now();
    await publishRaw(js, [events[i] as BenchEvent], 1);
    latencies.push(performance.now() - t);
    const wait = started + ((i + 1) * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  return { count: n, elapsedMs: performance.now() - started, latencies };
}

/** `nats bench js pub async` with the same count and average size: what this server takes at most. */
async function natsBenchRep(ctx: BenchContext, n: number, size: number): Promise<Rep> {
  const jsm = await ctx.nc.jetstreamManager();
  // Stored like the product's streams (file, limits retention); natscli only uses an existing one.
  await jsm.streams.delete(CEILING_STREAM).catch(() => false);
  await jsm.streams.add({
    name: CEILING_STREAM,
    subjects: [CEILING_SUBJECT],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    // As many replicas as the product's streams: R3 on the HA topology.
    num_replicas: ctx.config.nats.streamReplicas,
  });
  const nats = join(ctx.config.stack.binDir, 'nats');
  // As the bench's own connection authenticates; natscli reads these variables, so no secret is
  // on its command line.
  const creds = await natsCredentials(ctx.config.nats);
  const authEnv: Record<string, string> = {};
  if (creds.user !== undefined) Object.assign(authEnv, { NATS_USER: creds.user, NATS_PASSWORD: creds.pass ?? '' });
  if (creds.token !== undefined) authEnv.NATS_TOKEN = String(creds.token);
  if (ctx.config.nats.credsFile) authEnv.NATS_CREDS = ctx.config.nats.credsFile;
  const server = ctx.config.nats.servers.join(',');
  const { stdout, stderr } = await exec(
    nats,
    [
      'bench',
      'js',
      'pub',
      'async',
      CEILING_SUBJECT,
      '--msgs',
      String(n),
      '--size',
      `${size}B`,
      '--stream',
      CEILING_STREAM,
      '--no-progress',
      '-s',
      server,
    ],
    {
      timeout: 120_000,
      env: { ...process.env, ...authEnv },
    },
  );
  const out = `${stdout}\n${stderr}`;
  const rate = /Pub stats:\s*([\d,]+)\s*msgs\/sec/i.exec(out)?.[1] ?? /([\d,]+)\s*msgs\/sec/i.exec(out)?.[1];
  if (rate === undefined) throw new Error(`could not read a rate from nats bench:\n${out.slice(0, 1000)}`);
  const perSecond = Number(rate.replace(/,/g, ''));
  return { count: n, elapsedMs: (n * 1000) / perSecond };
}

/** Partitions held by distinct relay sessions: [sessions, partitions]. */
export async function relayOwnership(ctx: BenchContext): Promise<{ sessions: number; partitions: number }> {
  const { rows } = await ctx.db.query<{ sessions: number; partitions: number }>(
    `SELECT count(DISTINCT pid)::int AS sessions, count(*)::int AS partitions FROM pg_locks
     WHERE locktype = 'advisory' AND objsubid = 2 AND classid = $1::oid AND granted
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [RELAY_LOCKS.partitionSpace],
  );
  return rows[0] ?? { sessions: 0, partitions: 0 };
}

/**
 * Scenario 2: the outbox relay (a real process, default settings) from committed rows to
 * JetStream acks, against raw nats.js async publishes of the same payloads and `nats bench`.
 */
export async function relayScenario(ctx: BenchContext): Promise<{ result: ScenarioResult; single: Measurement }> {
  const started = Date.now();
  const load = relayLoad(ctx.quick);
  await ctx.pool.start('outbox-relay');
  await until(
    'one relay holding all 64 partitions',
    30_000,
    async () => (await relayOwnership(ctx)).partitions === 64,
    100,
  );
  const size = averageSize(benchEvents(50));
  ctx.say(`  warm-up: ${load.warmup} rows through the relay and raw`);
  await relayBacklogRep(ctx, load.warmup);
  await rawBacklogRep(ctx, load.warmup);
  const relay: Rep[] = [];
  const raw: Rep[] = [];
  const ceiling: Rep[] = [];
  const relayLight: Rep[] = [];
  const rawLight: Rep[] = [];
  const relayBusy: Rep[] = [];
  for (let rep = 1; rep <= ctx.reps; rep += 1) {
    ctx.say(
      `  rep ${rep}/${ctx.reps}: backlog of ${load.backlog} (relay, raw, nats bench), then ${load.lightRate}/s for ${load.lightSeconds}s (relay, raw)`,
    );
    relay.push(await relayBacklogRep(ctx, load.backlog));
    raw.push(await rawBacklogRep(ctx, load.backlog));
    ceiling.push(await natsBenchRep(ctx, load.backlog, size));
    relayLight.push(await relayLightRep(ctx, load.lightRate, load.lightSeconds));
    rawLight.push(await rawLightRep(ctx, load.lightRate, load.lightSeconds));
    relayBusy.push(await relayLightRep(ctx, load.busyRate, load.lightSeconds));
  }
  await (await ctx.nc.jetstreamManager()).streams.delete(CEILING_STREAM).catch(() => false);
  const single = measurement(
    {
      key: 'relay',
      label: 'outbox relay, 1 process',
      role: 'subject',
      unit: 'events/s',
      detail: `backlog of ${load.backlog} committed rows to the last stored in JetStream`,
    },
    relay,
  );
  const rawM = measurement(
    {
      key: 'raw-nats',
      label: 'raw nats.js async publish',
      role: 'baseline',
      unit: 'events/s',
      detail: `same payloads and headers, ${ctx.config.relay.window} publishes in flight (the relay's window)`,
    },
    raw,
  );
  const benchM = measurement(
    {
      key: 'nats-bench',
      label: 'nats bench js pub async',
      role: 'ceiling',
      unit: 'events/s',
      detail: `${load.backlog} messages of ${size} B (natscli)`,
    },
    ceiling,
  );
  const lightM = measurement(
    {
      key: 'relay-light',
      label: `outbox relay, ${load.lightRate}/s`,
      role: 'subject',
      unit: 'events/s',
      detail: 'one row per transaction; latency = commit to stored in JetStream',
    },
    relayLight,
  );
  const busyM = measurement(
    {
      key: 'relay-busy',
      label: `outbox relay, ${load.busyRate}/s`,
      role: 'subject',
      unit: 'events/s',
      detail:
        'one row per transaction (committed one after another by the bench); latency = commit to stored in JetStream',
    },
    relayBusy,
  );
  const rawLightM = measurement(
    {
      key: 'raw-light',
      label: `raw nats.js, ${load.lightRate}/s`,
      role: 'baseline',
      unit: 'events/s',
      detail: 'one publish at a time; latency = publish to ack',
    },
    rawLight,
  );
  const r = ratio(single.median, rawM.median);
  const p99 = lightM.latency?.p99 ?? Number.NaN;
  const busyP99 = busyM.latency?.p99 ?? Number.NaN;
  const watermill = 3900;
  return {
    single,
    result: {
      id: 'relay',
      title: '2. Outbox relay',
      params: {
        backlogRowsPerRep: load.backlog,
        lightRate: load.lightRate,
        lightSeconds: load.lightSeconds,
        busyRate: load.busyRate,
        payloadBytes: size,
        relayBatchSize: ctx.config.relay.batchSize,
        relayWindow: ctx.config.relay.window,
        rawWindow: ctx.config.relay.window,
      },
      measurements: [single, rawM, benchM, lightM, rawLightM, busyM],
      ratios: [
        { label: 'relay / raw nats.js throughput', value: r },
        { label: 'relay / nats bench ceiling', value: ratio(single.median, benchM.median) },
        { label: 'raw nats.js / nats bench ceiling', value: ratio(rawM.median, benchM.median) },
        {
          label: 'relay / Watermill SQL relay (3.9k msg/s on 16 vCPUs, published figure)',
          value: ratio(single.median, watermill),
        },
      ],
      targets: [
        {
          scenario: 'relay',
          description: 'backlog drain >= 0.85 of raw nats.js, same payloads, headers and window (issue 15)',
          measured: `${r}`,
          met: r >= 0.85,
        },
        {
          scenario: 'relay',
          description: `p99 commit to stored < 20 ms at ${load.lightRate}/s`,
          measured: `${p99} ms`,
          met: p99 < 20,
        },
        {
          scenario: 'relay',
          description: `p99 commit to stored < 20 ms at ${load.busyRate}/s`,
          measured: `${busyP99} ms (achieved ${busyM.median}/s)`,
          met: busyP99 < 20,
        },
        {
          scenario: 'relay',
          description: "several (>= 3) times Watermill's 3.9k msg/s, on 2 cores",
          measured: `${single.median} events/s`,
          met: single.median >= 3 * watermill,
        },
      ],
      notes: [
        'Each row belongs to its own order, so a batch publishes concurrently; rows of one order publish one after another, each waiting for its ack.',
      ],
      durationMs: Date.now() - started,
    },
  };
}
