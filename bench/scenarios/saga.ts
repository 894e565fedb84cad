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
export function sagaLoad(quick: boolean): { light: number; loaded: number; concurrency: number; warmup: number } {
  return quick
    ? { light: 6, loaded: 16, concurrency: 8, warmup: 8 }
    : { light: 50, loaded: 160, concurrency: 8, warmup: 32 };
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

/**
 * Scenario 1 (and 6, memory): the saga end to end through the real API, worker and relay
 * processes against the bare-Temporal baseline on the same server, at light load (one at a
 * time) and at a fixed concurrency; then the peak RSS of every process.
 */
export async function sagaScenario(ctx: BenchContext): Promise<{ result: ScenarioResult; loaded: Measurement }> {
  const started = Date.now();
  const load = sagaLoad(ctx.quick);
  for (const app of [
    'api',
    'saga-worker',
    'outbox-relay',
    'audit-subscriber',
    'read-model',
    'notifications',
    'bare-worker',
  ] as const) {
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
    const light = { saga: [] as Rep[], bare: [] as Rep[] };
    const loaded = { saga: [] as Rep[], bare: [] as Rep[] };
    // Subject and baseline alternate within each repetition, so a noisy moment hits both.
    for (let rep = 1; rep <= ctx.reps; rep += 1) {
      ctx.say(
        `  rep ${rep}/${ctx.reps}: light load (1 at a time, ${load.light} each), then ${load.loaded} each at concurrency ${load.concurrency}`,
      );
      light.saga.push(...(await repeat(1, load.light, 1, saga)));
      light.bare.push(...(await repeat(1, load.light, 1, bare)));
      loaded.saga.push(...(await repeat(1, load.loaded, load.concurrency, saga)));
      loaded.bare.push(...(await repeat(1, load.loaded, load.concurrency, bare)));
    }
    const sagaLight = measurement(
      {
        key: 'saga-light',
        label: 'saga, light load',
        role: 'subject',
        unit: 'checkouts/s',
        detail: 'POST /checkouts to checkout.order.completed received, one at a time',
      },
      light.saga,
    );
    const bareLight = measurement(
      {
        key: 'bare-light',
        label: 'bare Temporal, light load',
        role: 'baseline',
        unit: 'workflows/s',
        detail: 'start + result of a workflow with 3 no-op activities, one at a time',
      },
      light.bare,
    );
    const sagaLoaded = measurement(
      {
        key: 'saga-loaded',
        label: `saga, concurrency ${load.concurrency}`,
        role: 'subject',
        unit: 'checkouts/s',
        detail: `POST /checkouts to checkout.order.completed received, ${load.concurrency} in flight`,
      },
      loaded.saga,
    );
    const bareLoaded = measurement(
      {
        key: 'bare-loaded',
        label: `bare Temporal, concurrency ${load.concurrency}`,
        role: 'baseline',
        unit: 'workflows/s',
        detail: `same bare workflow, ${load.concurrency} in flight`,
      },
      loaded.bare,
    );
    const throughputRatio = ratio(sagaLoaded.median, bareLoaded.median);
    const p99 = sagaLight.latency?.p99 ?? Number.NaN;
    const memory = await ctx.pool.peakRss();
    return {
      loaded: sagaLoaded,
      result: {
        id: 'saga',
        title: '1. Saga end to end (and 6. memory)',
        params: {
          lightCheckoutsPerRep: load.light,
          loadedCheckoutsPerRep: load.loaded,
          concurrency: load.concurrency,
          warmup: load.warmup,
          processes: ctx.pool.names().join(' '),
        },
        measurements: [sagaLight, bareLight, sagaLoaded, bareLoaded],
        ratios: [
          { label: `saga / bare throughput at concurrency ${load.concurrency}`, value: throughputRatio },
          { label: 'saga / bare throughput, one at a time', value: ratio(sagaLight.median, bareLight.median) },
        ],
        targets: [
          {
            scenario: 'saga',
            description: 'throughput >= 0.7 of bare Temporal',
            measured: `${throughputRatio}`,
            met: throughputRatio >= 0.7,
          },
          { scenario: 'saga', description: 'p99 < 500 ms at light load', measured: `${p99} ms`, met: p99 < 500 },
        ],
        memory: memory.map((m) => ({ ...m, note: m.process === 'bare-worker' ? 'baseline worker' : undefined })),
        notes: [],
        durationMs: Date.now() - started,
      },
    };
  } finally {
    await completions.stop();
  }
}
