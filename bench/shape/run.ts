import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../../lib/config';
import { encryptedDataConverter } from '../../lib/payload-codec';
import { createTemporalClient, createWorkerConnection } from '../../lib/temporal';
import { bareActivities } from '../baseline/bare-activities';
import { closedLoop } from '../context';
import { median, summarize } from '../stats';
import { SHAPE_TASK_QUEUE, shapeWorkflow, type Shape } from './workflows';

// What the saga's shape costs on the engine (issue 14, item 4): `npx tsx bench/shape/run.ts
// [--n 200] [--concurrency 8] [--reps 3]` against the Temporal of TEMPORAL_ADDRESS (your own dev
// stack, never a shared one). Runs the bare workflow and each variant interleaved, rep by rep,
// so the machine's noise hits all alike; prints the median throughput of each, its ratio to bare,
// and the history events and workflow tasks of one execution.

const VARIANTS: { name: string; shape: Shape }[] = [
  { name: 'bare: 3 activities', shape: { fourth: 'none', upserts: false } },
  { name: '+ 4 status upserts', shape: { fourth: 'none', upserts: true } },
  { name: '+ 4th activity', shape: { fourth: 'activity', upserts: false } },
  { name: '+ 4th as local activity', shape: { fourth: 'local', upserts: false } },
  { name: 'saga today: 4th activity + upserts', shape: { fourth: 'activity', upserts: true } },
  { name: 'saga, local 4th + upserts', shape: { fourth: 'local', upserts: true } },
];

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
    reps: { type: 'string', default: '3' },
  },
});
const n = Number(values.n);
const concurrency = Number(values.concurrency);
const reps = Number(values.reps);

const config = loadConfig(process.env).temporal;
const client = await createTemporalClient(config);
const connection = await createWorkerConnection(config);
const worker = await Worker.create({
  connection,
  namespace: config.namespace,
  taskQueue: SHAPE_TASK_QUEUE,
  workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
  activities: bareActivities,
  dataConverter: encryptedDataConverter(config.payloadKeys),
});

async function runOne(shape: Shape): Promise<{ rate: number; p99: number }> {
  const { elapsedMs, latencies } = await closedLoop(n, concurrency, async () => {
    const started = performance.now();
    const id = randomUUID();
    await client.workflow.execute(shapeWorkflow, {
      taskQueue: SHAPE_TASK_QUEUE,
      workflowId: `shape-${id}`,
      args: [id, shape],
    });
    return performance.now() - started;
  });
  return { rate: (n / elapsedMs) * 1000, p99: summarize(latencies).p99 };
}

async function historyOf(shape: Shape): Promise<{ events: number; tasks: number }> {
  const id = randomUUID();
  const handle = await client.workflow.start(shapeWorkflow, {
    taskQueue: SHAPE_TASK_QUEUE,
    workflowId: `shape-${id}`,
    args: [id, shape],
  });
  await handle.result();
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const tasks = events.filter((e) => e.workflowTaskCompletedEventAttributes).length;
  return { events: events.length, tasks };
}

await worker.runUntil(async () => {
  for (const v of VARIANTS) await runOne(v.shape); // warm-up
  const rates = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
  const p99s = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
  for (let rep = 0; rep < reps; rep += 1) {
    for (const v of VARIANTS) {
      const r = await runOne(v.shape);
      rates.get(v.name)?.push(r.rate);
      p99s.get(v.name)?.push(r.p99);
    }
  }
  const bare = median(rates.get(VARIANTS[0]?.name ?? '') ?? []);
  console.log(`n ${n} per rep, concurrency ${concurrency}, ${reps} reps interleaved; medians`);
  console.log('| workflow | events | workflow tasks | workflows/s | vs bare | p99 ms |');
  console.log('|---|---|---|---|---|---|');
  for (const v of VARIANTS) {
    const h = await historyOf(v.shape);
    const rate = median(rates.get(v.name) ?? []);
    console.log(
      `| ${v.name} | ${h.events} | ${h.tasks} | ${rate.toFixed(1)} | ${(rate / bare).toFixed(3)} | ${median(p99s.get(v.name) ?? []).toFixed(0)} |`,
    );
  }
});
await connection.close();
await client.connection.close();
