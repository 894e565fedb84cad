import type { Client } from '@temporalio/client';
import type { JetStreamManager } from 'nats';
import type { Db } from '../../lib/db';
import { sleep } from '../../lib/wait';
import { listConsumers } from './collect';

/** What is still moving; quiescent when every count is 0. */
export interface Backlog {
  openOrders: number;
  queuedStarts: number;
  runningSagas: number;
  unpublished: number;
  consumerPending: number;
  parked: number;
}

async function backlog(db: Db, jsm: JetStreamManager, temporal: Client, taskQueue: string): Promise<Backlog> {
  const one = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
  const consumers = await listConsumers(jsm);
  const running = await temporal.workflow.count(`ExecutionStatus = "Running" AND TaskQueue = "${taskQueue}"`);
  return {
    openOrders: await one(`SELECT count(*) AS n FROM orders WHERE status NOT IN ('COMPLETED', 'CANCELLED', 'FAILED')`),
    queuedStarts: await one('SELECT count(*) AS n FROM saga_starts'),
    runningSagas: running.count,
    unpublished: await one('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL'),
    consumerPending: consumers.reduce((s, c) => s + c.pending + c.ackPending, 0),
    parked: await one('SELECT count(*) AS n FROM parked_events'),
  };
}

/**
 * Polls until every saga is closed, the outbox is drained, no durable consumer has anything
 * pending or unacknowledged and nothing is parked, or `timeoutMs` passes. A probe that fails
 * (a service still coming back) counts as not quiescent yet.
 *
 * @returns the last backlog and whether it reached zero in time.
 */
export async function waitForQuiescence(
  deps: { db: Db; jsm: JetStreamManager; temporal: Client; taskQueue: string; log: (line: string) => void },
  timeoutMs: number,
): Promise<{ quiet: boolean; backlog: Backlog | undefined; tookMs: number }> {
  const started = Date.now();
  let last: Backlog | undefined;
  let lastLogged = 0;
  // Two consecutive quiet probes: a consumer may show 0 pending just before the relay publishes.
  let quietProbes = 0;
  while (Date.now() - started < timeoutMs) {
    try {
      last = await backlog(deps.db, deps.jsm, deps.temporal, deps.taskQueue);
      quietProbes = Object.values(last).every((n) => n === 0) ? quietProbes + 1 : 0;
      if (quietProbes >= 2) return { quiet: true, backlog: last, tookMs: Date.now() - started };
      if (Date.now() - lastLogged > 10_000) {
        deps.log(`waiting for quiescence: ${JSON.stringify(last)}`);
        lastLogged = Date.now();
      }
    } catch (err) {
      deps.log(`quiescence probe failed (retrying): ${(err as Error).message.split('\n')[0]}`);
    }
    await sleep(1_000);
  }
  return { quiet: false, backlog: last, tookMs: Date.now() - started };
}
