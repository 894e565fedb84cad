import { randomUUID } from 'node:crypto';
import { bareWorkflow, BARE_TASK_QUEUE } from '../baseline/bare-workflow';
import { CompletionListener } from '../completions';
import { closedLoop, type BenchContext } from '../context';
import { measurement, type Rep } from '../measure';
import type { Measurement, ScenarioResult } from '../report/types';
import { ratio } from '../stats';

const TIMEOUT_MS = 120_000;

/** The body of every benchmark checkout: one SKU, an approving card, a shippable address. */
export const CHECKOUT_BODY = JSON.stringify({
  customerId: 'bench-customer',
  items: [{ sku: 'SKU-001', quantity: 1 }],
  payment: { method: 'pm_card_visa' },
  shippingAddress: { name: 'Ada', line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' },
});

/** POST /checkouts with a fresh Idempotency-Key; returns the order id. */
export async function postCheckout(ctx: BenchContext): Promise<string> {
  const res = await fetch(`${ctx.apiUrl}/checkouts`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${ctx.apiToken}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: CHECKOUT_BODY,
  });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`POST /checkouts answered ${res.status}: ${text.slice(0, 300)}`);
  return (JSON.parse(text) as { orderId: string }).orderId;
}

/** One saga end to end: POST /checkouts until its `checkout.order.completed` arrives; latency in ms. */
export function sagaOnce(ctx: BenchContext, completions: CompletionListener): () => Promise<number> {
  return async () => {
    const started = performance.now();
    const orderId = await postCheckout(ctx);
    return (await completions.wait(orderId, TIMEOUT_MS)) - started;
  };
}

/** One bare workflow (three no-op activities) started and awaited by the bench's client; latency in ms. */
export function bareOnce(ctx: BenchContext): () => Promise<number> {
  return async () => {
    const started = performance.now();
    const id = randomUUID();
    await ctx.temporal.workflow.execute(bareWorkflow, {
      taskQueue: BARE_TASK_QUEUE,
      workflowId: `bench-bare-${id}`,
      args: [id],
    });
    return performance.now() - started;
  };
}

/** Workload sizes of scenario 1 (also used by the worker scale-out step). */
export function sagaLoad(quick: boolean): {
  light: number;
  loaded: number;
  concurrency: number;
  concurrencies: number[];
  warmup: number;
} {
  return quick
    ? { light: 8, loaded: 32, concurrency: 8, concurrencies: [8, 32], warmup: 16 }
    : { light: 50, loaded: 160, concurrency: 8, concurrencies: [8, 32], warmup: 32 };
}

/** Runs `n` checkouts at `concurrency` `reps` times, returning each repetition. */
export async function repeat(reps: number, n: number, concurrency: number, one: () => Promise<number>): Promise<Rep[]> {
  const out: Rep[] = [];
  for (let i = 0; i < reps; i += 1) {
    const { elapsedMs, latencies } = await closedLoop(n, concurrency, one);
    out.push({ count: n, elapsedMs, latencies });
  }
  return out;
}

/** The product's processes scenario 1 runs: everything `npm start` runs, plus the baseline's worker. */
export const SAGA_PROCESSES = [
  'api',
  'saga-starter',
  'saga-worker',
  'outbox-relay',
  'audit-subscriber',
  'read-model',
  'notifications',
  'bare-worker',
] as const;

const RATIO_TARGET = 0.85;
const LIGHT_P99_TARGET_MS = 400;

/**
 * Scenario 1 (and 6, memory): the saga end to end through the real API, saga starter, worker and
 * relay processes against the bare-Temporal baseline on the same server, at light load (one at a
 * time) and at 8 and 32 in flight; then the peak RSS of every process.
 */
export async function sagaScenario(ctx: BenchContext): Promise<{ result: ScenarioResult; loaded: Measurement }> {
  const started = Date.now();
  const load = sagaLoad(ctx.quick);
  for (const app of SAGA_PROCESSES) {
    ctx.say(`  starting ${app}`);
    await ctx.pool.start(app);
  }
  const completions = await CompletionListener.start(ctx.nc);
  try {
    const saga = sagaOnce(ctx, completions);
    const bare = bareOnce(ctx);
    ctx.say(`  warm-up: ${load.warmup} sagas and ${load.warmup} bare workflows`);
    await closedLoop(load.warmup, load.concurrency, saga);
    await closedLoop(load.warmup, load.concurrency, bare);
    const levels = [1, ...load.concurrencies];
    const reps = new Map(levels.map((c) => [c, { saga: [] as Rep[], bare: [] as Rep[] }]));
    // Subject and baseline alternate within each repetition, so a noisy moment hits both.
    for (let rep = 1; rep <= ctx.reps; rep += 1) {
      ctx.say(
        `  rep ${rep}/${ctx.reps}: one at a time (${load.light} each), then ${load.loaded} each at ${load.concurrencies.join(' and ')} in flight`,
      );
      for (const c of levels) {
        const n = c === 1 ? load.light : load.loaded;
        reps.get(c)!.saga.push(...(await repeat(1, n, c, saga)));
        reps.get(c)!.bare.push(...(await repeat(1, n, c, bare)));
      }
    }
    const measurements: Measurement[] = [];
    const ratios: ScenarioResult['ratios'] = [];
    const targets: ScenarioResult['targets'] = [];
    for (const c of levels) {
      const at = c === 1 ? 'one at a time' : `${c} in flight`;
      const sagaM = measurement(
        {
          key: c === 1 ? 'saga-light' : `saga-${c}`,
          label: `saga, ${at}`,
          role: 'subject',
          unit: 'checkouts/s',
          detail: `POST /checkouts to checkout.order.completed received, ${at}`,
        },
        reps.get(c)!.saga,
      );
      const bareM = measurement(
        {
          key: c === 1 ? 'bare-light' : `bare-${c}`,
          label: `bare Temporal, ${at}`,
          role: 'baseline',
          unit: 'workflows/s',
          detail: `start + result of a workflow with 3 no-op activities, ${at}`,
        },
        reps.get(c)!.bare,
      );
      measurements.push(sagaM, bareM);
      const r = ratio(sagaM.median, bareM.median);
      ratios.push({ label: `saga / bare throughput, ${at}`, value: r });
      if (c === 1) {
        const p99 = sagaM.latency?.p99 ?? Number.NaN;
        targets.push({
          scenario: 'saga',
          description: `one at a time, POST to checkout.order.completed received: p99 < ${LIGHT_P99_TARGET_MS} ms`,
          measured: `${p99} ms`,
          met: p99 < LIGHT_P99_TARGET_MS,
        });
      } else {
        targets.push({
          scenario: 'saga',
          description: `${at}: throughput >= ${RATIO_TARGET} of the bare workflow on the same server`,
          measured: `${r}`,
          met: r >= RATIO_TARGET,
        });
      }
    }
    const memory = await ctx.pool.peakRss();
    return {
      loaded: measurements.find((m) => m.key === `saga-${load.concurrency}`)!,
      result: {
        id: 'saga',
        title: '1. Saga end to end (and 6. memory)',
        params: {
          lightCheckoutsPerRep: load.light,
          loadedCheckoutsPerRep: load.loaded,
          concurrencies: load.concurrencies.join(', '),
          warmup: load.warmup,
          processes: ctx.pool.names().join(' '),
        },
        measurements,
        ratios,
        targets,
        memory: memory.map((m) => ({ ...m, note: m.process === 'bare-worker' ? 'baseline worker' : undefined })),
        notes: [],
        durationMs: Date.now() - started,
      },
    };
  } finally {
    await completions.stop();
  }
}
