/**
 * `npm run chaos -- --seed N --orders M --duration S`: a Jepsen-style run against an isolated
 * stack. Places M checkouts while injecting seeded faults for S seconds, heals, waits for
 * quiescence, then checks the invariants of docs/reliability.md. Exit codes: 0 no violation,
 * 1 a violation (or the run could not be carried out), 2 bad usage.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import { durationToMs } from '../../lib/config';
import type { Db } from '../../lib/db';
import { connectNats, declareStreams } from '../../lib/nats';
import { createTemporalClient } from '../../lib/temporal';
import { sleep } from '../../lib/wait';
import { STREAMS } from '../../events/streams';
import { parseChaosArgs, replayCommand, USAGE, UsageError, type ChaosArgs } from './args';
import { ChaosClient, History } from './client';
import { listConsumers, orderEndTimes, readStream, sagaOutcomes, snapshotDb, type DbSnapshot } from './collect';
import { armedAtStart } from './crash-plan';
import { FaultInjector } from './faults';
import { startNetwork } from './network';
import { AUDIT_CONSUMER } from '../../subscribers/audit';
import { appliedFromEffects, checkHistory, expectedDeliveries } from './history-check';
import { checkInvariants, type CheckResult } from './invariants';
import { OpLog } from './oplog';
import { onlyKinds, PROCESSES, planFaults, planOrders } from './plan';
import { waitForQuiescence } from './quiesce';
import { ReadModelWatch } from './read-watch';
import { buildReport, formatReport } from './report';
import { CHAOS_TOKEN, chaosConfig, chaosDb, chaosEnv, chaosStack, freshStack, setupDatabase } from './stack';
import { Supervisor } from './supervisor';
import { runWorkload, type OrderRun } from './workload';

const READY_TIMEOUT_MS = 120_000;

async function waitForApi(baseUrl: string, supervisor: Supervisor): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    if (supervisor.spawnErrors.length > 0) throw new Error(supervisor.spawnErrors.join('; '));
    try {
      const res = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(3_000) });
      if (res.ok) return;
      last = `readyz answered ${res.status}: ${(await res.text()).slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(500);
  }
  throw new Error(
    `the chaos API at ${baseUrl} was not ready within ${READY_TIMEOUT_MS / 1000}s (${last}); see its log`,
  );
}

async function main(args: ChaosArgs): Promise<number> {
  const startedAt = Date.now();
  const runDir = `${args.stackDir}-runs/${new Date(startedAt).toISOString().replace(/[:.]/g, '-')}-seed-${args.seed}`;
  mkdirSync(runDir, { recursive: true });
  const logFile = join(runDir, 'chaos.log');
  const log = (line: string) => {
    const stamped = `[${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)}s] ${line}`;
    console.log(stamped);
    appendFileSync(logFile, `${stamped}\n`);
  };
  const replay = replayCommand(args);
  log(
    `chaos seed ${args.seed}${args.topology === 'ha' ? ' (--ha topology)' : ''}: ${args.orders} orders, ${args.durationS}s of faults (replay: ${replay})`,
  );
  log(`run directory ${runDir}`);

  const env = chaosEnv(args);
  // Children inherit PATH and the cache location; every address comes from `env`.
  const config = chaosConfig(env, process.env);
  const say = (line: string) => log(`stack | ${line.trim()}`);
  const stack = chaosStack(args, config, say);
  let net: Awaited<ReturnType<typeof startNetwork>> | undefined;
  const supervisor = new Supervisor({ ...process.env, ...env }, join(runDir, 'logs'), startedAt, (name) =>
    net ? net.hops.envFor(name, env) : {},
  );
  let db: Db | undefined;
  let nc: NatsConnection | undefined;
  let temporal: Client | undefined;
  let readWatch: ReadModelWatch | undefined;
  try {
    await freshStack(config, stack);
    db = chaosDb(config);
    const initialStock = await setupDatabase(db, args.orders);
    nc = await connectNats(config.nats, 'checkout-chaos');
    await declareStreams(nc, config.nats);
    temporal = await createTemporalClient(config.temporal);
    if (args.topology === 'dev') {
      net = await startNetwork({
        binDir: config.stack.binDir,
        port: args.toxiproxyPort,
        logFile: join(runDir, 'logs', 'toxiproxy.log'),
        upstreams: {
          postgres: `127.0.0.1:${args.ports.postgres}`,
          nats: `127.0.0.1:${args.ports.nats}`,
          temporal: `127.0.0.1:${args.ports.temporal}`,
        },
        processes: PROCESSES.map((p) => p.name),
      });
      log(
        `toxiproxy on 127.0.0.1:${args.toxiproxyPort}: every process reaches PostgreSQL, NATS and Temporal through it`,
      );
    }
    const arm = args.faults.includes('crash-point');
    for (const p of PROCESSES) supervisor.start(p, arm ? armedAtStart(p.name) : undefined);
    const baseUrl = `http://127.0.0.1:${args.ports.api}`;
    await waitForApi(baseUrl, supervisor);
    log('all processes up; starting workload and faults');

    const windowMs = args.durationS * 1000;
    const orders = planOrders(args.seed, args.orders, windowMs);
    const faultPlan = onlyKinds(planFaults(args.seed, windowMs, args.topology), args.faults);
    const windowStart = Date.now();
    const history = new History(join(runDir, 'history.jsonl'), windowStart);
    const clientDeadline = windowStart + windowMs + args.quiesceTimeoutS * 1000;
    const ops = new OpLog(join(runDir, 'operations.jsonl'), windowStart);
    const api = new ChaosClient(baseUrl, CHAOS_TOKEN, history, clientDeadline, ops);
    readWatch = new ReadModelWatch(db, ops);
    const watching = readWatch.run();
    const { infra } = stack;
    const injector = new FaultInjector(
      { supervisor, infra, net: net?.hops, nc, db, seed: args.seed, log },
      faultPlan,
      windowStart,
      windowMs,
    );
    const workload = runWorkload(api, orders, windowStart, {
      concurrency: 32,
      confirmWindowMs: durationToMs(args.confirmTimeout) + 60_000,
      watchUntil: clientDeadline,
    });

    await injector.run();
    const faultsMs = Date.now() - windowStart;
    log('fault window over; healing');
    await infra.healAll();
    await net?.hops.healAll();
    // Pauses run to their end (past the ack wait) and poison publishes get their acks.
    await injector.settled();
    await supervisor.healAll(READY_TIMEOUT_MS);
    await waitForApi(baseUrl, supervisor);
    const healedAtMs = Date.now() - windowStart;
    const runs: OrderRun[] = await workload;
    log(`workload done: ${runs.filter((r) => r.orderId).length}/${runs.length} orders acknowledged`);

    const jsm = await nc.jetstreamManager();
    const quiescence = await waitForQuiescence(
      { db, jsm, temporal, taskQueue: config.temporal.taskQueue, log },
      args.quiesceTimeoutS * 1000,
    );
    log(
      quiescence.quiet
        ? `quiescent after ${(quiescence.tookMs / 1000).toFixed(1)}s`
        : `NOT quiescent after ${args.quiesceTimeoutS}s: ${JSON.stringify(quiescence.backlog)}`,
    );

    readWatch.stop();
    await watching;
    const snapshot: DbSnapshot = await snapshotDb(db);
    const events = [];
    for (const s of STREAMS.filter((x) => x.name !== 'DLQ')) events.push(...(await readStream(nc, jsm, s.name)));
    const consumers = await listConsumers(jsm);
    const historyCheck = checkHistory({
      events: ops.events,
      finalStatus: new Map(snapshot.orders.map((o) => [o.id, o.status])),
      endedAtMs: await orderEndTimes(db, windowStart),
      expectedDeliveries: expectedDeliveries(snapshot.outbox, consumers),
      applied: appliedFromEffects(snapshot.processed, snapshot.seen, AUDIT_CONSUMER),
      maxLagMs: args.quiesceTimeoutS * 1000,
      healedAtMs,
    });
    const checks: CheckResult[] = checkInvariants({
      runs,
      history: history.entries,
      db: snapshot,
      sagas: await sagaOutcomes(
        temporal,
        snapshot.orders.map((o) => o.id),
      ),
      initialStock,
      events,
      dlq: await readStream(nc, jsm, 'DLQ'),
      consumers,
      poison: injector.poison,
    }).concat(historyCheck.checks);
    const extra: string[] = [];
    if (!quiescence.quiet)
      extra.push(`no quiescence within ${args.quiesceTimeoutS}s: ${JSON.stringify(quiescence.backlog)}`);
    if (supervisor.spawnErrors.length > 0) extra.push(...supervisor.spawnErrors);
    for (const x of supervisor.unexpected.filter((u) => u.kind === 'crash')) {
      extra.push(
        `${x.name} crashed at ${(x.atMs / 1000).toFixed(1)}s (exit ${x.signal ?? x.code}) without logging why; see its log`,
      );
    }
    const report = buildReport({
      seed: args.seed,
      topology: args.topology,
      kinds: args.faults,
      replay,
      planned: orders.length,
      acknowledged: runs.filter((r) => r.orderId).length,
      db: snapshot,
      faults: injector.records,
      poison: injector.poison.length,
      duplicates: injector.duplicates.length,
      checks,
      extraViolations: extra,
      quiescence: { quiet: quiescence.quiet, tookMs: quiescence.tookMs, backlog: quiescence.backlog },
      unexpectedExits: supervisor.unexpected,
      restarts: supervisor.starts(),
      durationMs: { faults: faultsMs, total: Date.now() - startedAt },
      readModelLag: historyCheck.readModelLag,
    });
    const json = `${JSON.stringify({ ...report, faultLog: injector.records, duplicatesInjected: injector.duplicates, poisonInjected: injector.poison }, null, 2)}\n`;
    writeFileSync(join(runDir, 'report.json'), json);
    if (args.report) writeFileSync(args.report, json);
    console.log(formatReport(report));
    appendFileSync(logFile, `${formatReport(report)}\n`);
    return report.violations > 0 ? 1 : 0;
  } catch (err) {
    log(`chaos run could not be carried out: ${(err as Error).stack ?? String(err)}`);
    log(`seed ${args.seed}; replay: ${replay}`);
    return 1;
  } finally {
    readWatch?.stop();
    await supervisor.stopAll(15_000);
    await net?.server.stop();
    await nc?.close();
    await temporal?.connection.close();
    await db?.end();
    if (args.keep) log(`--keep: the chaos stack keeps running (STACK_DIR=${args.stackDir})`);
    else await stack.down().catch((err: unknown) => log(`stack down failed: ${(err as Error).message}`));
  }
}

let parsed: ChaosArgs | 'help';
try {
  parsed = parseChaosArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`${err.message}\n${USAGE}`);
  process.exit(2);
}
if (parsed === 'help') {
  console.log(USAGE);
  process.exit(0);
}
process.exit(await main(parsed));
