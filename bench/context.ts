import type { Client } from '@temporalio/client';
import type { NatsConnection } from 'nats';
import type { Config } from '../lib/config';
import type { Db } from '../lib/db';
import type { ProcessPool } from './processes';

/** Everything a scenario needs from the run: the isolated stack's clients and the product's processes. */
export interface BenchContext {
  config: Config;
  /** Environment given to child processes. */
  vars: Record<string, string>;
  db: Db;
  nc: NatsConnection;
  temporal: Client;
  pool: ProcessPool;
  quick: boolean;
  reps: number;
  apiUrl: string;
  apiToken: string;
  /** Directory of the bench stack's logs (also where `nats bench` writes its CSV). */
  logsDir: string;
  say: (line: string) => void;
}

/**
 * Runs `n` operations with `concurrency` of them in flight at any time (a closed loop); each
 * returns its latency in ms.
 *
 * @example
 * const { elapsedMs, latencies } = await closedLoop(100, 8, async () => { const t = performance.now(); await work(); return performance.now() - t; });
 */
export async function closedLoop(
  n: number,
  concurrency: number,
  one: (i: number) => Promise<number>,
): Promise<{ elapsedMs: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next;
        next += 1;
        latencies.push(await one(i));
      }
    }),
  );
  return { elapsedMs: performance.now() - started, latencies };
}

/**
 * Polls `check` every `everyMs` until it returns true.
 *
 * @throws Error naming `what` after `timeoutMs`.
 */
export async function until(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
