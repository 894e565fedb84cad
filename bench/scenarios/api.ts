import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import type { BenchContext } from '../context';
import { measurement } from '../measure';
import { median, ratio, summarize } from '../stats';
import type { Measurement, ScenarioResult, Target } from '../report/types';
import { CHECKOUT_BODY } from './saga';

/** As the issue measures it: 10 connections, a fresh Idempotency-Key per request. */
const CONNECTIONS = 10;
/** The capacity search may need more connections than that to offer a high rate at all. */
const CAPACITY_CONNECTIONS = 32;
/** The latency bound of "capacity": the highest offered rate answered (98 %) with p99 under it. */
const CAPACITY_P99_MS = 100;
const ANSWERED_TARGET = 0.98;
const P99_TARGETS_MS: Record<number, number> = { 100: 50, 200: 100 };

export function apiLoad(quick: boolean): {
  rates: number[];
  seconds: number;
  warmupSeconds: number;
  ladder: number[];
  ladderSeconds: number;
  searches: number;
} {
  return quick
    ? {
        rates: [100, 200],
        seconds: 4,
        warmupSeconds: 2,
        ladder: [50, 100, 200, 400, 800],
        ladderSeconds: 3,
        searches: 1,
      }
    : {
        rates: [50, 100, 200],
        seconds: 15,
        warmupSeconds: 5,
        ladder: [50, 100, 200, 300, 400, 600, 800, 1200, 1600],
        ladderSeconds: 8,
        searches: 3,
      };
}

interface RateRun {
  offered: number;
  answered: number;
  latencies: number[];
  /** Answers other than 2xx, by status, and request errors (timeouts, resets), after the settling second. */
  otherStatuses: Record<number, number>;
  errors: number;
}

/**
 * Seconds each fixed-rate run offers its rate before it starts counting: autocannon opens its
 * connections and the server its PostgreSQL connections then, and those first answers (over
 * 100 ms here) would otherwise decide a 3 s capacity rung of 150 requests.
 */
const SETTLE_SECONDS = 1;

/**
 * `POST /checkouts` at a fixed overall `rate` for `seconds` (after SETTLE_SECONDS at the same rate,
 * not counted), each with its own Idempotency-Key.
 */
function fixedRate(url: string, token: string, rate: number, seconds: number, connections: number): Promise<RateRun> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    const otherStatuses: Record<number, number> = {};
    let errors = 0;
    const countFrom = performance.now() + SETTLE_SECONDS * 1000;
    const instance = autocannon(
      {
        url,
        connections,
        duration: seconds + SETTLE_SECONDS,
        overallRate: rate,
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: '/checkouts',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: CHECKOUT_BODY,
            setupRequest: (request) => ({
              ...request,
              headers: { ...request.headers, 'idempotency-key': randomUUID() },
            }),
          },
        ],
      },
      (err) =>
        err
          ? reject(err)
          : resolve({ offered: rate * seconds, answered: latencies.length, latencies, otherStatuses, errors }),
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (performance.now() < countFrom) return;
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      else otherStatuses[statusCode] = (otherStatuses[statusCode] ?? 0) + 1;
    });
    instance.on('reqError', () => {
      if (performance.now() >= countFrom) errors += 1;
    });
  });
}

const answeredShare = (runs: RateRun[]) =>
  ratio(
    runs.reduce((n, r) => n + r.answered, 0),
    runs.reduce((n, r) => n + r.offered, 0),
  );

/**
 * The highest rate of `ladder` answered (98 %) with p99 under CAPACITY_P99_MS, climbing until the
 * first rate that is not; 0 when even the first is not.
 */
async function capacity(
  url: string,
  token: string,
  ladder: number[],
  seconds: number,
): Promise<{ best: number; stoppedBy: string }> {
  let best = 0;
  for (const rate of ladder) {
    const run = await fixedRate(url, token, rate, seconds, CAPACITY_CONNECTIONS);
    const p99 = run.latencies.length > 0 ? summarize(run.latencies).p99 : Number.POSITIVE_INFINITY;
    if (answeredShare([run]) < ANSWERED_TARGET || p99 >= CAPACITY_P99_MS) {
      const others = Object.entries(run.otherStatuses).map(([code, n]) => `${n} x ${code}`);
      // Why the search stopped, for the report: a capacity of 0 must say what went wrong.
      const detail = [`${run.answered} of ${run.offered} answered 2xx`, `p99 ${p99} ms`, ...others];
      if (run.errors > 0) detail.push(`${run.errors} request errors`);
      return { best, stoppedBy: `${rate} req/s (${detail.join(', ')})` };
    }
    best = rate;
  }
  return { best, stoppedBy: 'none: every rate passed' };
}

/** Fixed-rate measurements of the API, with the targets at 100 and 200 req/s. */
async function fixedRates(
  ctx: BenchContext,
  url: string,
  load: ReturnType<typeof apiLoad>,
): Promise<{ measurements: Measurement[]; targets: Target[] }> {
  const measurements: Measurement[] = [];
  const targets: Target[] = [];
  for (const rate of load.rates) {
    const runs: RateRun[] = [];
    for (let rep = 1; rep <= ctx.reps; rep += 1) {
      ctx.say(`  rate ${rate} req/s, rep ${rep}/${ctx.reps}: ${load.seconds}s`);
      runs.push(await fixedRate(url, ctx.apiToken, rate, load.seconds, CONNECTIONS));
    }
    const m = measurement(
      {
        key: `api-${rate}`,
        label: `POST /checkouts at ${rate} req/s offered`,
        role: 'subject',
        unit: 'req/s',
        detail: `autocannon, ${CONNECTIONS} connections, fixed overall rate, ${load.seconds}s per repetition counted after ${SETTLE_SECONDS}s at the same rate; achieved rate of 2xx answers`,
      },
      runs.map((r) => ({ count: r.answered, elapsedMs: load.seconds * 1000, latencies: r.latencies })),
    );
    measurements.push(m);
    const bound = P99_TARGETS_MS[rate];
    if (bound !== undefined) {
      const share = answeredShare(runs);
      const p99 = m.latency?.p99 ?? Number.NaN;
      targets.push({
        scenario: 'api',
        description: `POST /checkouts at ${rate} req/s offered: >= ${ANSWERED_TARGET} answered, p99 < ${bound} ms`,
        measured: `${share} answered, p99 ${p99} ms`,
        met: share >= ANSWERED_TARGET && p99 < bound,
      });
    }
  }
  return { measurements, targets };
}

/**
 * Scenario 4: `POST /checkouts` on a real API process, alone on the machine's cores (no saga
 * starter, worker or relay runs: the API's work ends at its commit). Fixed rates with autocannon,
 * then its capacity (highest rate answered with p99 < 100 ms) against a bare Hono handler doing the
 * same single transaction (bench/baseline/bare-api.ts), searched alternately.
 */
export async function apiScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const load = apiLoad(ctx.quick);
  for (const name of ['saga-starter', 'saga-worker', 'outbox-relay']) await ctx.pool.stop(name);
  const apiPort = Number(ctx.vars.PORT) + 1;
  const barePort = Number(ctx.vars.PORT) + 2;
  await ctx.pool.start('api', 2, { PORT: String(apiPort) });
  await ctx.pool.start('bare-api', 1, { PORT: String(barePort) });
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const bareUrl = `http://127.0.0.1:${barePort}`;
  try {
    ctx.say(`  warm-up: ${load.warmupSeconds}s at 50 req/s on each`);
    await fixedRate(apiUrl, ctx.apiToken, 50, load.warmupSeconds, CONNECTIONS);
    await fixedRate(bareUrl, ctx.apiToken, 50, load.warmupSeconds, CONNECTIONS);
    const { measurements, targets } = await fixedRates(ctx, apiUrl, load);
    const found = { api: [] as number[], bare: [] as number[] };
    const stops = { api: [] as string[], bare: [] as string[] };
    for (let i = 1; i <= load.searches; i += 1) {
      ctx.say(`  capacity search ${i}/${load.searches}: rates ${load.ladder.join(', ')} (${load.ladderSeconds}s each)`);
      const api = await capacity(apiUrl, ctx.apiToken, load.ladder, load.ladderSeconds);
      const bare = await capacity(bareUrl, ctx.apiToken, load.ladder, load.ladderSeconds);
      found.api.push(api.best);
      found.bare.push(bare.best);
      stops.api.push(api.stoppedBy);
      stops.bare.push(bare.stoppedBy);
    }
    const apiCapacity = median(found.api);
    const bareCapacity = median(found.bare);
    const capacityRatio = bareCapacity > 0 ? ratio(apiCapacity, bareCapacity) : Number.NaN;
    targets.push({
      scenario: 'api',
      description: `API capacity (highest rate with p99 < ${CAPACITY_P99_MS} ms) >= 0.6 of a bare Hono handler doing the same transaction`,
      measured: `${apiCapacity} vs ${bareCapacity} req/s = ${capacityRatio}`,
      met: capacityRatio >= 0.6,
    });
    return {
      id: 'api',
      title: '4. API: POST /checkouts',
      params: {
        rates: load.rates.join(', '),
        secondsPerRep: load.seconds,
        connections: CONNECTIONS,
        capacityLadder: load.ladder.join(', '),
        capacityConnections: CAPACITY_CONNECTIONS,
      },
      measurements,
      ratios: [{ label: 'API capacity / bare Hono handler capacity', value: capacityRatio }],
      targets,
      notes: [
        `Capacity searches (highest passing rate of each): API ${found.api.join(', ')} req/s; bare handler ${found.bare.join(', ')} req/s. A rate passes when >= ${ANSWERED_TARGET} of the offered requests are answered 2xx and their p99 < ${CAPACITY_P99_MS} ms; the search stops at the first rate that does not.`,
        `Where each search stopped: API ${stops.api.join('; ')}. Bare handler ${stops.bare.join('; ')}.`,
        'The API commits the order, its checkout.order.placed event, its queued saga start and the Idempotency-Key in one transaction (advisory lock on the key, key lookup, catalogue pricing, event schema validation, NOTIFY); the bare handler writes the order, an outbox row and a key row in one transaction, nothing else.',
      ],
      durationMs: Date.now() - started,
    };
  } finally {
    await ctx.pool.stop('api#2');
    await ctx.pool.stop('bare-api');
  }
}
