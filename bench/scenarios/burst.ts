import { randomUUID } from 'node:crypto';
import { bareWorkflow, BARE_TASK_QUEUE } from '../baseline/bare-workflow';
import { CompletionListener } from '../completions';
import type { BenchContext } from '../context';
import { measurement, type Rep } from '../measure';
import type { ScenarioResult } from '../report/types';
import { ratio, round } from '../stats';
import { postCheckout, SAGA_PROCESSES } from './saga';

const ACCEPT_WITHIN_MS = 10_000;
const DRAIN_RATIO_TARGET = 0.8;
const TIMEOUT_MS = 600_000;

export function burstLoad(quick: boolean): { n: number } {
  return quick ? { n: 150 } : { n: 1_000 };
}

/** One burst: `n` checkouts posted at once; when the last was accepted and when the last completed. */
async function sagaBurst(ctx: BenchContext, completions: CompletionListener, n: number) {
  const started = performance.now();
  let lastAccepted = 0;
  const orderIds = await Promise.all(
    Array.from({ length: n }, async () => {
      const orderId = await postCheckout(ctx);
      lastAccepted = Math.max(lastAccepted, performance.now() - started);
      return orderId;
    }),
  );
  const done = await Promise.all(orderIds.map((id) => completions.wait(id, TIMEOUT_MS)));
  return { acceptedMs: lastAccepted, drainMs: Math.max(...done) - started, latencies: done.map((t) => t - started) };
}

/** The baseline burst: `n` bare workflows started at once by the bench's client, until the last result. */
async function bareBurst(ctx: BenchContext, n: number) {
  const started = performance.now();
  const done = await Promise.all(
    Array.from({ length: n }, async () => {
      const id = randomUUID();
      const handle = await ctx.temporal.workflow.start(bareWorkflow, {
        taskQueue: BARE_TASK_QUEUE,
        workflowId: `bench-burst-${id}`,
        args: [id],
      });
      await handle.result();
      return performance.now() - started;
    }),
  );
  return { drainMs: Math.max(...done), latencies: done };
}

/**
 * Scenario 8: a burst. `n` checkouts are posted at once (each its own request, all concurrent)
 * and timed until every `checkout.order.completed` is received, against `n` bare workflows
 * started at once and awaited on the same server. The API must accept them all within 10 s
 * (it only commits them); the sagas then drain at the pace of the starter, worker and server.
 */
export async function burstScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const { n } = burstLoad(ctx.quick);
  for (const app of SAGA_PROCESSES) await ctx.pool.start(app);
  const completions = await CompletionListener.start(ctx.nc);
  try {
    const sagaReps: Rep[] = [];
    const bareReps: Rep[] = [];
    const accepted: number[] = [];
    for (let rep = 1; rep <= ctx.reps; rep += 1) {
      ctx.say(`  rep ${rep}/${ctx.reps}: ${n} checkouts posted at once, then ${n} bare workflows started at once`);
      const saga = await sagaBurst(ctx, completions, n);
      accepted.push(round(saga.acceptedMs));
      sagaReps.push({ count: n, elapsedMs: saga.drainMs, latencies: saga.latencies });
      const bare = await bareBurst(ctx, n);
      bareReps.push({ count: n, elapsedMs: bare.drainMs, latencies: bare.latencies });
    }
    const sagaM = measurement(
      {
        key: 'burst-saga',
        label: `burst of ${n} checkouts`,
        role: 'subject',
        unit: 'checkouts/s',
        detail: `${n} POST /checkouts at once; drain rate = ${n} / time until the last checkout.order.completed is received; latency = each order's completion since the burst began`,
      },
      sagaReps,
    );
    const bareM = measurement(
      {
        key: 'burst-bare',
        label: `burst of ${n} bare workflows`,
        role: 'baseline',
        unit: 'workflows/s',
        detail: `${n} bare workflows started at once and awaited, same server`,
      },
      bareReps,
    );
    const drainRatio = ratio(sagaM.median, bareM.median);
    const slowestAccept = Math.max(...accepted);
    return {
      id: 'burst',
      title: '8. Burst',
      params: { checkoutsPerBurst: n, processes: ctx.pool.names().join(' ') },
      measurements: [sagaM, bareM],
      ratios: [{ label: 'drain rate, saga / bare', value: drainRatio }],
      targets: [
        {
          scenario: 'burst',
          description: `all ${n} checkouts of a burst answered 202 within ${ACCEPT_WITHIN_MS / 1000} s`,
          measured: `last 202 after ${accepted.join(', ')} ms`,
          met: slowestAccept < ACCEPT_WITHIN_MS,
        },
        {
          scenario: 'burst',
          description: `drain rate >= ${DRAIN_RATIO_TARGET} of ${n} bare workflows started at once`,
          measured: `${drainRatio}`,
          met: drainRatio >= DRAIN_RATIO_TARGET,
        },
      ],
      notes: n < 1_000 ? [`A quick run bursts ${n}, not 1 000: the full run measures the issue's burst.`] : [],
      durationMs: Date.now() - started,
    };
  } finally {
    await completions.stop();
  }
}
