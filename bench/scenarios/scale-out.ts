import { cpus } from 'node:os';
import { CompletionListener } from '../completions';
import { closedLoop, until, type BenchContext } from '../context';
import { measurement, type Rep } from '../measure';
import type { ScenarioResult } from '../report/types';
import { ratio } from '../stats';
import { relayBacklogRep, relayLoad, relayOwnership } from './relay';
import { repeat, sagaLoad, sagaOnce } from './saga';

/** In flight during the worker step: more than one worker can take, so a second one has work. */
const WORKER_CONCURRENCY = 16;

/**
 * Scenario 5: the relay and the saga worker at 1 and then 2 processes, same workload, measured
 * back to back; the ratio is 2-instance throughput over 1-instance throughput.
 */
export async function scaleOutScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const relayN = Math.round(relayLoad(ctx.quick).backlog * (ctx.quick ? 2 / 3 : 1));
  const sagaN = sagaLoad(ctx.quick).loaded;
  for (const app of ['api', 'saga-starter', 'saga-worker', 'outbox-relay'] as const) await ctx.pool.start(app);
  const completions = await CompletionListener.start(ctx.nc);
  try {
    const saga = sagaOnce(ctx, completions);
    await until(
      'one relay holding all 64 partitions',
      30_000,
      async () => {
        const o = await relayOwnership(ctx);
        return o.sessions === 1 && o.partitions === 64;
      },
      100,
    );
    ctx.say(
      `  warm-up, then relay at 1 process: ${ctx.reps} x ${relayN} rows; saga worker at 1 process: ${ctx.reps} x ${sagaN} checkouts at concurrency ${WORKER_CONCURRENCY}`,
    );
    await relayBacklogRep(ctx, Math.round(relayN / 4));
    await closedLoop(WORKER_CONCURRENCY, WORKER_CONCURRENCY, saga);
    const relay1: Rep[] = [];
    for (let i = 0; i < ctx.reps; i += 1) relay1.push(await relayBacklogRep(ctx, relayN));
    const worker1 = await repeat(ctx.reps, sagaN, WORKER_CONCURRENCY, saga);

    ctx.say('  starting a second relay and a second saga worker');
    await ctx.pool.start('outbox-relay', 2);
    await ctx.pool.start('saga-worker', 2);
    await until(
      'two relays sharing the 64 partitions',
      30_000,
      async () => {
        const o = await relayOwnership(ctx);
        return o.sessions === 2 && o.partitions === 64;
      },
      100,
    );
    await closedLoop(WORKER_CONCURRENCY, WORKER_CONCURRENCY, saga);
    ctx.say(`  relay at 2 processes, saga worker at 2 processes`);
    const relay2: Rep[] = [];
    for (let i = 0; i < ctx.reps; i += 1) relay2.push(await relayBacklogRep(ctx, relayN));
    const worker2 = await repeat(ctx.reps, sagaN, WORKER_CONCURRENCY, saga);

    const r1 = measurement(
      {
        key: 'relay-x1',
        label: 'outbox relay x1',
        role: 'baseline',
        unit: 'events/s',
        detail: `backlog of ${relayN} rows, commit to last stored`,
      },
      relay1,
    );
    const r2 = measurement(
      {
        key: 'relay-x2',
        label: 'outbox relay x2',
        role: 'subject',
        unit: 'events/s',
        detail: 'same, two relay processes sharing the 64 partitions',
      },
      relay2,
    );
    const w1 = measurement(
      {
        key: 'worker-x1',
        label: 'saga worker x1',
        role: 'baseline',
        unit: 'checkouts/s',
        detail: `${sagaN} checkouts at concurrency ${WORKER_CONCURRENCY}, POST to completed event`,
      },
      worker1,
    );
    const w2 = measurement(
      {
        key: 'worker-x2',
        label: 'saga worker x2',
        role: 'subject',
        unit: 'checkouts/s',
        detail: 'same, two saga worker processes on the task queue',
      },
      worker2,
    );
    return {
      id: 'scale-out',
      title: '5. Scale-out',
      params: { relayRowsPerRep: relayN, checkoutsPerRep: sagaN, concurrency: WORKER_CONCURRENCY },
      measurements: [r1, r2, w1, w2],
      ratios: [
        { label: 'relay: 2 processes / 1 process', value: ratio(r2.median, r1.median) },
        { label: 'saga worker: 2 processes / 1 process', value: ratio(w2.median, w1.median) },
      ],
      targets: [],
      notes: [
        `All processes share the machine's ${cpus().length} cores with Postgres, NATS and Temporal: a second process adds concurrency, not CPU.`,
      ],
      durationMs: Date.now() - started,
    };
  } finally {
    await completions.stop();
    await ctx.pool.stop('outbox-relay#2');
    await ctx.pool.stop('saga-worker#2');
  }
}
