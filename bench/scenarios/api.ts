import { randomUUID } from 'node:crypto';
import autocannon, { type Result } from 'autocannon';
import type { BenchContext } from '../context';
import { bareWorkflow } from '../baseline/bare-workflow';
import { measurement, type Rep } from '../measure';
import { ratio } from '../stats';
import type { ScenarioResult } from '../report/types';
import { terminateRunningWorkflows } from '../stack';
import { CHECKOUT_BODY, repeat } from './saga';

/** The API of this scenario starts sagas on a queue no worker polls: it measures the API, not the saga. */
const API_ONLY_QUEUE = 'bench-api-only';
const CONNECTIONS = 10;
const START_PROBES = 40;

export function apiLoad(quick: boolean): { rates: number[]; seconds: number; warmupSeconds: number } {
  return quick
    ? { rates: [100], seconds: 4, warmupSeconds: 2 }
    : { rates: [20, 50, 100], seconds: 15, warmupSeconds: 5 };
}

/** `POST /checkouts` at a fixed `rate` for `seconds`, each with its own Idempotency-Key; latencies of the 2xx answers. */
function fixedRate(
  url: string,
  token: string,
  rate: number,
  seconds: number,
): Promise<{ result: Result; latencies: number[] }> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    const instance = autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: seconds,
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
      (err, result) => (err ? reject(err) : resolve({ result, latencies })),
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}

/**
 * Scenario 4: `POST /checkouts` latency at fixed request rates (autocannon, 10 connections) on a
 * real API process with its Postgres transaction and workflow start.
 */
export async function apiScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const started = Date.now();
  const load = apiLoad(ctx.quick);
  const port = Number(ctx.vars.PORT) + 1;
  const api = await ctx.pool.start('api', 2, { PORT: String(port), TEMPORAL_TASK_QUEUE: API_ONLY_QUEUE });
  const url = `http://127.0.0.1:${port}`;
  const token = ctx.apiToken;
  const notes: string[] = [];
  try {
    ctx.say(`  warm-up: ${load.warmupSeconds}s at 50 req/s`);
    await fixedRate(url, token, 50, load.warmupSeconds);
    const measurements = [];
    const targets = [];
    for (const rate of load.rates) {
      const reps: Rep[] = [];
      let failed = 0;
      for (let rep = 1; rep <= ctx.reps; rep += 1) {
        ctx.say(`  rate ${rate} req/s, rep ${rep}/${ctx.reps}: ${load.seconds}s`);
        const { result, latencies } = await fixedRate(url, token, rate, load.seconds);
        failed += result.non2xx + result.errors;
        reps.push({ count: latencies.length, elapsedMs: load.seconds * 1000, latencies });
      }
      if (failed > 0)
        notes.push(
          `${failed} requests at ${rate} req/s failed (non-2xx or connection errors); latencies are of the 2xx answers`,
        );
      const m = measurement(
        {
          key: `api-${rate}`,
          label: `POST /checkouts at ${rate} req/s`,
          role: 'subject',
          unit: 'req/s',
          detail: `autocannon, ${CONNECTIONS} connections, fixed overall rate, ${load.seconds}s per repetition; achieved rate of 2xx answers`,
        },
        reps,
      );
      measurements.push(m);
      if (rate === 100) {
        const p99 = m.latency?.p99 ?? Number.NaN;
        targets.push({
          scenario: 'api',
          description: 'p99 < 50 ms at 100 req/s',
          measured: `${p99} ms`,
          met: p99 < 50 && failed === 0,
        });
      }
    }
    ctx.say(`  baseline: ${ctx.reps} x ${START_PROBES} bare workflow starts, ${CONNECTIONS} in flight, same server`);
    const starts = await repeat(ctx.reps, START_PROBES, CONNECTIONS, async () => {
      const t = performance.now();
      const id = randomUUID();
      await ctx.temporal.workflow.start(bareWorkflow, {
        taskQueue: API_ONLY_QUEUE,
        workflowId: `bench-start-${id}`,
        args: [id],
      });
      return performance.now() - t;
    });
    const startM = measurement(
      {
        key: 'temporal-start',
        label: 'Temporal workflow start alone',
        role: 'baseline',
        unit: 'starts/s',
        detail: `client.workflow.start of a bare workflow, ${CONNECTIONS} in flight: what the server takes before any API work`,
      },
      starts,
    );
    measurements.push(startM);
    const api100 = measurements.find((m) => m.key === 'api-100');
    return {
      id: 'api',
      title: '4. API: POST /checkouts',
      params: {
        rates: load.rates.join(', '),
        secondsPerRep: load.seconds,
        connections: CONNECTIONS,
        taskQueue: API_ONLY_QUEUE,
      },
      measurements,
      ratios: api100
        ? [
            {
              label: 'API at 100 req/s achieved / Temporal start throughput',
              value: ratio(api100.median, startM.median),
            },
          ]
        : [],
      targets,
      notes: [
        ...notes,
        `API process ${api.name}: Postgres transaction (order, outbox row, Idempotency-Key) + Temporal workflow start; the relay publishes checkout.order.placed meanwhile; no saga worker polls ${API_ONLY_QUEUE}.`,
      ],
      durationMs: Date.now() - started,
    };
  } finally {
    await ctx.pool.stop('api#2');
    // Best effort: whatever is left is terminated again when the next run starts.
    await terminateRunningWorkflows(ctx.config).catch((err: unknown) =>
      ctx.say(
        `  could not terminate the API scenario's workflows yet: ${err instanceof Error ? err.message : String(err)}`,
      ),
    );
  }
}
