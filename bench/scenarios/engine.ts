import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import { loadConfig, type Config } from '../../lib/config';
import { createTemporalClient } from '../../lib/temporal';
import { stackDown, stackUp, type TemporalPersistence } from '../../scripts/stack/index';
import { CustomerIdKey, OrderStatusKey } from '../../workflows/search-attributes';
import { bareWorkflow } from '../baseline/bare-workflow';
import type { BenchContext } from '../context';
import { BENCH_STACK_DIR } from '../env';
import { measurement, type Rep } from '../measure';
import type { Measurement, ScenarioResult } from '../report/types';
import { ratio } from '../stats';
import { repeat } from './saga';

/** Starts in flight: what one saga starter keeps at most by default (SAGA_STARTER_CONCURRENCY). */
const IN_FLIGHT = 32;
/** A queue no worker polls: only the start is measured. */
const NOBODY_QUEUE = 'bench-engine-starts';

export function engineLoad(quick: boolean): { starts: number; warmup: number } {
  return quick ? { starts: 200, warmup: 50 } : { starts: 1_000, warmup: 200 };
}

/** The other dev servers of this scenario: same binary, other persistence, ports next to the stack's. */
interface Variant {
  persistence: TemporalPersistence;
  config: Config;
}

function variantConfig(ctx: BenchContext, persistence: TemporalPersistence, offset: number): Config {
  const port = (url: string) => Number(new URL(url.includes('://') ? url : `tcp://${url}`).port);
  return loadConfig({
    ...ctx.vars,
    STACK_DIR: join(BENCH_STACK_DIR, `temporal-${persistence}`),
    TEMPORAL_ADDRESS: `127.0.0.1:${port(ctx.config.temporal.address) + offset}`,
    TEMPORAL_UI_URL: `http://127.0.0.1:${port(ctx.config.temporal.uiUrl) + offset}`,
  });
}

/** One start as the saga starter makes it: a workflow id of its own and the saga's two search attributes. */
function startOnce(client: Client): () => Promise<number> {
  return async () => {
    const t = performance.now();
    const id = randomUUID();
    await client.workflow.start(bareWorkflow, {
      taskQueue: NOBODY_QUEUE,
      workflowId: `bench-engine-${id}`,
      args: [id],
      typedSearchAttributes: new TypedSearchAttributes([
        { key: OrderStatusKey, value: 'PENDING' },
        { key: CustomerIdKey, value: 'bench-customer' },
      ]),
    });
    return performance.now() - t;
  };
}

/**
 * Scenario 7: the Temporal dev server itself. Workflow starts per second at IN_FLIGHT in flight on
 * the stack's server (tuned: SQLite WAL, synchronous=NORMAL, search attributes cached) against the
 * same binary in memory (the ceiling), and, for what the tuning buys, untuned (the CLI's defaults
 * on a file). Each server is its own process on its own ports; the three alternate per repetition.
 */
export async function engineScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const load = engineLoad(ctx.quick);
  const quiet = () => undefined;
  const variants: Variant[] = [
    { persistence: 'memory', config: variantConfig(ctx, 'memory', 1) },
    { persistence: 'untuned', config: variantConfig(ctx, 'untuned', 2) },
  ];
  const clients: Record<TemporalPersistence, Client | undefined> = {
    tuned: ctx.temporal,
    memory: undefined,
    untuned: undefined,
  };
  try {
    for (const v of variants) {
      ctx.say(`  starting a ${v.persistence} dev server at ${v.config.temporal.address}`);
      // A fresh file each run: an untuned server's speed depends on its file's size.
      await stackDown(v.config, { only: ['temporal'], say: quiet });
      rmSync(join(v.config.stack.dir, 'temporal'), { recursive: true, force: true });
      await stackUp(v.config, { only: ['temporal'], temporalPersistence: v.persistence, say: quiet });
      clients[v.persistence] = await createTemporalClient(v.config.temporal);
    }
    const order: TemporalPersistence[] = ['tuned', 'memory', 'untuned'];
    for (const p of order) await repeat(1, load.warmup, IN_FLIGHT, startOnce(clients[p]!));
    const reps: Record<TemporalPersistence, Rep[]> = { tuned: [], memory: [], untuned: [] };
    for (let rep = 1; rep <= ctx.reps; rep += 1) {
      ctx.say(`  rep ${rep}/${ctx.reps}: ${load.starts} starts on each server, ${IN_FLIGHT} in flight`);
      for (const p of order) reps[p].push(...(await repeat(1, load.starts, IN_FLIGHT, startOnce(clients[p]!))));
    }
    const m = (p: TemporalPersistence, role: Measurement['role'], detail: string): Measurement =>
      measurement(
        { key: `starts-${p}`, label: `workflow starts, ${p} server`, role, unit: 'starts/s', detail },
        reps[p],
      );
    const tuned = m(
      'tuned',
      'subject',
      'the stack’s server: SQLite file in WAL mode, synchronous=NORMAL, search attribute cache on',
    );
    const memory = m(
      'memory',
      'ceiling',
      'same binary and dynamic config, no file (--db-filename not given): state lost with the process',
    );
    const untuned = m(
      'untuned',
      'baseline',
      'same binary on a file with the CLI’s defaults: rollback journal, synchronous=FULL',
    );
    const vsMemory = ratio(tuned.median, memory.median);
    return {
      id: 'engine',
      title: '7. Temporal dev server: workflow starts',
      params: { startsPerRep: load.starts, inFlight: IN_FLIGHT, warmup: load.warmup },
      measurements: [tuned, memory, untuned],
      ratios: [
        { label: 'tuned / in memory', value: vsMemory },
        { label: 'tuned / untuned', value: ratio(tuned.median, untuned.median) },
      ],
      targets: [
        {
          scenario: 'engine',
          description: 'workflow starts/s on the stack’s server >= 0.5 of the same server in memory',
          measured: `${vsMemory}`,
          met: vsMemory >= 0.5,
        },
      ],
      notes: [
        `Untuned beside tuned (what the tuning buys): ${untuned.median} vs ${tuned.median} starts/s, p50 ${untuned.latency?.p50} vs ${tuned.latency?.p50} ms.`,
        'Each start carries the saga’s two search attributes (OrderStatus, CustomerId), as the saga starter’s do.',
      ],
      durationMs: Date.now() - started,
    };
  } finally {
    for (const v of variants) {
      await clients[v.persistence]?.connection.close();
      await stackDown(v.config, { only: ['temporal'], say: quiet }).catch((err: unknown) =>
        ctx.say(`  could not stop the ${v.persistence} server: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
  }
}
