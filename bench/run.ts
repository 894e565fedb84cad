/**
 * `npm run bench [-- --quick] [--keep] [--only ...]`: brings up an isolated stack instance
 * (.stack/bench, its own ports), runs each scenario of issue 7 after a warm-up with at least three
 * repetitions, and writes bench/results/latest.{json,md,svg}. See docs/performance.md.
 */
import { join } from 'node:path';
import { loadConfigOrExit } from '../lib/main';
import { createDb } from '../lib/db';
import { connectNats } from '../lib/nats';
import { createTemporalClient } from '../lib/temporal';
import { HA_SCENARIOS, parseBenchArgs, SCENARIOS, USAGE, UsageError, type BenchArgs, type ScenarioId } from './args';
import type { BenchContext } from './context';
import { benchEnv } from './env';
import { loadAverageNow, machineFacts } from './machine';
import { ProcessPool } from './processes';
import { writeReport } from './report/write';
import type { BenchReport, ScenarioResult } from './report/types';
import { apiScenario } from './scenarios/api';
import { bigTablesScenario } from './scenarios/big-tables';
import { burstScenario } from './scenarios/burst';
import { consumerScenario } from './scenarios/consumer';
import { engineScenario } from './scenarios/engine';
import { relayScenario } from './scenarios/relay';
import { sagaScenario } from './scenarios/saga';
import { scaleOutScenario } from './scenarios/scale-out';
import { benchStackDown, benchStackUp, prepareDatabase, resetStreams, terminateRunningWorkflows } from './stack';

const say = (line: string): void => console.log(line);

function parseOrExit(): BenchArgs {
  try {
    return parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.message) console.error(err.message);
    console.error(USAGE);
    process.exit(err.message ? 2 : 0);
  }
}

async function runScenarios(ctx: BenchContext, args: BenchArgs, report: BenchReport): Promise<void> {
  const run = async (id: ScenarioId, body: () => Promise<ScenarioResult>): Promise<void> => {
    if (!args.only.includes(id)) return;
    say(`scenario ${id}`);
    try {
      const result = await body();
      report.scenarios.push(result);
      say(
        `  done in ${Math.round(result.durationMs / 1000)}s: ${result.ratios.map((r) => `${r.label} = ${r.value}`).join('; ')}`,
      );
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      report.errors.push({ scenario: id, message });
      say(`  FAILED: ${message}`);
    }
  };
  await run('engine', () => engineScenario(ctx));
  await run('saga', async () => (await sagaScenario(ctx)).result);
  await run('burst', () => burstScenario(ctx));
  // Only the relay publishes from here on; the subscribers would compete for the two cores.
  for (const name of ['audit-subscriber', 'read-model', 'notifications', 'bare-worker']) {
    await ctx.pool
      .stop(name)
      .catch((err: unknown) =>
        report.errors.push({ scenario: 'shutdown', message: err instanceof Error ? err.message : String(err) }),
      );
  }
  await run('relay', async () => (await relayScenario(ctx)).result);
  await run('consumer', () => consumerScenario(ctx));
  await run('scale-out', () => scaleOutScenario(ctx));
  // Last: it stops the saga starter, worker and relay, so the API has the cores to itself.
  await run('api', () => apiScenario(ctx));
  // After the API's: it fills the tables with millions of rows and empties them again.
  await run('big-tables', () => bigTablesScenario(ctx));
}

async function main(): Promise<void> {
  const args = parseOrExit();
  const loadAtStart = loadAverageNow();
  const startedAt = new Date();
  const base = loadConfigOrExit();
  // The tuning knobs of the invoking environment reach the processes under test, so a knob's
  // effect can be measured: RELAY_BATCH_SIZE=1000 npm run bench -- --only relay.
  const { vars, config } = benchEnv(
    args.ports,
    base.stack.cacheDir,
    {
      RELAY_BATCH_SIZE: String(base.relay.batchSize),
      RELAY_WINDOW: String(base.relay.window),
      RELAY_POLL_INTERVAL: base.relay.pollInterval,
      DATABASE_POOL_MAX: String(base.database.poolMax),
      // The bench offers up to 800 POST/s with the one service token: the default service quota
      // (6000/1m) would make it measure the rate limiter's 429s, not the checkout path.
      RATE_LIMIT_SERVICE_WRITES: 'off',
    },
    { ha: args.ha },
  );
  const stackDir = config.stack.dir;
  const logsDir = join(stackDir, 'logs');
  const topology = args.ha ? 'production-shaped (--ha) stack' : 'isolated stack';
  say(`bench (${args.quick ? 'quick' : 'full'}, ${args.reps} repetitions): ${topology} in ${stackDir}`);
  await benchStackUp(config, say, { ha: args.ha });
  // Bulk loads and VACUUM of the big-tables scenario run for minutes: no statement limit on this pool.
  const db = createDb(config.database.url, {
    max: 12,
    applicationName: 'checkout-bench',
    timeouts: { ...config.database.timeouts, queryMs: 0 },
  });
  const nc = await connectNats(config.nats, 'checkout-bench');
  const temporal = await createTemporalClient(config.temporal);
  const pool = new ProcessPool(vars, nc, { logs: logsDir, profiles: join(stackDir, 'profiles') }, args.cpuProf);
  const report: BenchReport = {
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    mode: args.quick ? 'quick' : 'full',
    topology: args.ha ? 'ha' : 'dev',
    ...(args.only.length < (args.ha ? HA_SCENARIOS : SCENARIOS).length ? { only: args.only } : {}),
    reps: args.reps,
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    durationMs: 0,
    machine: await machineFacts(
      {
        'nats-server': join(config.stack.binDir, 'nats-server'),
        temporal: join(config.stack.binDir, 'temporal'),
        nats: join(config.stack.binDir, 'nats'),
      },
      {
        postgres:
          (await db.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown',
      },
      loadAtStart,
    ),
    scenarios: [],
    errors: [],
  };
  try {
    await terminateRunningWorkflows(config);
    await prepareDatabase(db);
    await resetStreams(nc, config);
    const ctx: BenchContext = {
      config,
      vars,
      db,
      nc,
      temporal,
      pool,
      quick: args.quick,
      reps: args.reps,
      apiUrl: `http://127.0.0.1:${config.http.port}`,
      apiToken: config.api.tokens[0] ?? '',
      logsDir,
      say,
    };
    await runScenarios(ctx, args, report);
  } finally {
    const failures = await pool.stopAll();
    for (const f of failures) report.errors.push({ scenario: 'shutdown', message: f });
    await nc.drain();
    await temporal.connection.close();
    await db.end();
    if (!args.keep) await benchStackDown(config, say, { ha: args.ha });
  }
  const finishedAt = new Date();
  report.finishedAt = finishedAt.toISOString();
  report.durationMs = finishedAt.getTime() - startedAt.getTime();
  report.machine.loadAverage.end = loadAverageNow();
  const files = await writeReport(report);
  say(
    `wrote ${files.join(', ')} in ${Math.round(report.durationMs / 1000)}s (load average ${report.machine.loadAverage.start} -> ${report.machine.loadAverage.end})`,
  );
  if (report.errors.length > 0) {
    console.error(`${report.errors.length} scenario(s) failed; see the report`);
    process.exitCode = 1;
  }
}

await main();
