import { existsSync } from 'node:fs';
import { StackError } from './errors';

/**
 * How a Temporal dev server keeps its state:
 * - `tuned` (what the stack, tests, chaos and the bench's main server run): one SQLite file in
 *   WAL mode with `synchronous=NORMAL`, plus the dynamic config that measurably helps;
 * - `untuned`: the same file with the CLI's defaults (rollback journal, `synchronous=FULL`), kept
 *   so the bench can show what the tuning buys;
 * - `memory`: the tuned server's dynamic config with no file at all (state lost with the process):
 *   the bench's ceiling for the tuned one.
 */
export type TemporalPersistence = 'tuned' | 'untuned' | 'memory';

export const TEMPORAL_PERSISTENCES: readonly TemporalPersistence[] = ['tuned', 'untuned', 'memory'];

/**
 * SQLite pragmas of the tuned server. WAL lets readers run beside the one writer and turns each
 * commit into an append; `synchronous=NORMAL` fsyncs at checkpoints instead of at every commit.
 * A killed server process loses nothing (the WAL is in the OS's page cache); an OS crash or power
 * loss may lose the last commits (docs/performance.md).
 */
export const TUNED_SQLITE_PRAGMAS = ['journal_mode=WAL', 'synchronous=NORMAL'] as const;

/**
 * Dynamic config of the tuned server, each measured (docs/performance.md, "The Temporal dev
 * server"). The CLI turns `system.forceSearchAttributesCacheRefreshOnRead` on so search attributes
 * added at run time are visible at once; it then re-reads them from SQLite on every start and
 * upsert that carries one, which every saga does. Off, they are cached (refreshed within about a
 * second of a change: the stack registers ours at launch anyway). `history.shardIOConcurrency=8`,
 * the other candidate, measured no gain on the dev server's single shard and is not set.
 */
export const TUNED_DYNAMIC_CONFIG = ['system.forceSearchAttributesCacheRefreshOnRead=false'] as const;

/**
 * The `temporal server start-dev` flags for `persistence` (flag names as in Temporal CLI v1.5.1:
 * `--db-filename`, `--sqlite-pragma`, `--dynamic-config-value`).
 *
 * @example
 * persistenceArgs('tuned', '.stack/temporal/temporal.db');
 * // ['--db-filename', '.stack/temporal/temporal.db', '--sqlite-pragma', 'journal_mode=WAL', ...]
 */
export function persistenceArgs(persistence: TemporalPersistence, dbFile: string): string[] {
  switch (persistence) {
    case 'memory':
      // The tuned server without its file: what SQLite on disk costs, all else equal.
      return TUNED_DYNAMIC_CONFIG.flatMap((v) => ['--dynamic-config-value', v]);
    case 'untuned':
      return ['--db-filename', dbFile];
    case 'tuned':
      return [
        '--db-filename',
        dbFile,
        ...TUNED_SQLITE_PRAGMAS.flatMap((p) => ['--sqlite-pragma', p]),
        ...TUNED_DYNAMIC_CONFIG.flatMap((v) => ['--dynamic-config-value', v]),
      ];
  }
}

/**
 * Checks that a tuned server really runs in WAL mode: SQLite keeps `<db>-wal` beside the file
 * while any connection has it open in WAL mode. A server that ignored the pragma (another CLI
 * build, a file system without shared memory) would silently run at a third of the speed.
 *
 * @throws StackError naming the missing file and what to do.
 */
export function assertWalMode(dbFile: string, logFile: string): void {
  if (existsSync(`${dbFile}-wal`)) return;
  throw new StackError(
    `the Temporal dev server is running without SQLite WAL mode: ${dbFile}-wal does not exist`,
    `it was started with --sqlite-pragma journal_mode=WAL; read ${logFile}, check that ${dbFile} is on a local file system, then npm run stack:down && npm run stack:up`,
  );
}
