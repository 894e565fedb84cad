import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Connection, type ConnectionOptions, type OperatorService } from '@temporalio/client';
import type { Config } from '../../lib/config';
import {
  addressHostPort,
  assertPortsFree,
  canConnect,
  formatHostPort,
  isLoopback,
  urlHostPort,
  type HostPort,
} from './addresses';
import { findExecutable } from './commands';
import { devServerPersistence, type StackContext } from './context';
import { errorMessage, StackError } from './errors';
import { goInstall, type GoTool } from './installers';
import { assertStillRunning, ownedPid, readLogTail, spawnDetached, stopOwned } from './processes';
import { displayPath, stepLine } from './report';
import { assertWalMode, persistenceArgs, TUNED_SQLITE_PRAGMAS } from './temporal-persistence';
import type { ComponentReport, Say } from './types';
import { waitFor } from './wait';

const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 15_000;
const PROBE_TIMEOUT_MS = 3_000;
const RPC_TIMEOUT_MS = 10_000;
const STORE_PROBE_TIMEOUT_MS = 5_000;

const TEMPORAL_CLI: GoTool = {
  binary: 'temporal',
  // Later tags cannot be built with `go install` (replace directives), so the version is pinned.
  target: 'github.com/temporalio/cli/cmd/temporal@v1.5.1',
  expected: 'takes about 5 minutes on 2 cores',
};

type IndexedValueType = NonNullable<Parameters<OperatorService['addSearchAttributes']>[0]['searchAttributes']>[string];

// Values of temporal.api.enums.v1.IndexedValueType; @temporalio/proto is not a direct dependency.
const TYPE_NAMES: Record<number, string> = {
  1: 'Text',
  2: 'Keyword',
  3: 'Int',
  4: 'Double',
  5: 'Bool',
  6: 'Datetime',
  7: 'KeywordList',
};
const KEYWORD: IndexedValueType = 2;
const BOOL: IndexedValueType = 5;

/** Custom search attributes the saga upserts, so orders can be filtered by status and customer. */
const SEARCH_ATTRIBUTES: Readonly<Record<string, IndexedValueType>> = {
  OrderStatus: KEYWORD,
  CustomerId: KEYWORD,
  CompensationStuck: BOOL,
};

// gRPC status codes we branch on.
const GRPC = {
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  UNIMPLEMENTED: 12,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function connectionOptions(config: Config, timeoutMs: number): ConnectionOptions {
  const { tls, tlsCertFile, tlsKeyFile, apiKey, address } = config.temporal;
  const options: ConnectionOptions = {
    address,
    connectTimeout: timeoutMs,
    // No automatic retries: probes must answer within their own deadline.
    interceptors: [],
    tls: tls
      ? tlsCertFile && tlsKeyFile
        ? { clientCertPair: { crt: readFileSync(tlsCertFile), key: readFileSync(tlsKeyFile) } }
        : true
      : false,
  };
  if (apiKey !== undefined) options.apiKey = apiKey;
  return options;
}

/** Opens a connection, runs `fn` with a deadline, and always closes the connection. */
async function withConnection<T>(
  config: Config,
  timeoutMs: number,
  fn: (connection: Connection) => Promise<T>,
): Promise<T> {
  const connection = await Connection.connect(connectionOptions(config, timeoutMs));
  try {
    return await connection.withDeadline(Date.now() + timeoutMs, () => fn(connection));
  } finally {
    await connection.close();
  }
}

type TemporalProbe =
  | { kind: 'ok' }
  | { kind: 'down'; reason: string }
  | { kind: 'no-namespace'; reason: string }
  | { kind: 'rejected'; reason: string };

/** Checks the frontend answers getSystemInfo and the configured namespace exists. */
async function probe(config: Config, target: HostPort): Promise<TemporalProbe> {
  // Only a plain local port can be checked cheaply; remote/TLS endpoints go straight to gRPC.
  if (isLoopback(target.host) && !(await canConnect(target, PROBE_TIMEOUT_MS))) {
    return { kind: 'down', reason: `nothing listens on ${formatHostPort(target)}` };
  }
  try {
    return await withConnection(config, PROBE_TIMEOUT_MS, async (connection) => {
      await connection.workflowService.getSystemInfo({});
      try {
        await connection.workflowService.describeNamespace({ namespace: config.temporal.namespace });
      } catch (err) {
        if (grpcCode(err) === GRPC.NOT_FOUND)
          return { kind: 'no-namespace', reason: `namespace ${config.temporal.namespace} does not exist` } as const;
        throw err;
      }
      return { kind: 'ok' } as const;
    });
  } catch (err) {
    const code = grpcCode(err);
    if (code === undefined || code === GRPC.UNAVAILABLE || code === GRPC.DEADLINE_EXCEEDED)
      return { kind: 'down', reason: errorMessage(err) };
    return { kind: 'rejected', reason: errorMessage(err) };
  }
}

/**
 * Registers OrderStatus, CustomerId (Keyword) and CompensationStuck (Bool) in the namespace when missing. A server that
 * refuses operator calls (Temporal Cloud) gets a warning with the manual steps instead of a failure.
 * The HA stack's Temporal server registers them through this too.
 *
 * @returns the names registered just now (none when all existed, or the server refused).
 */
export async function ensureSearchAttributes(config: Config, say: Say): Promise<string[]> {
  const namespace = config.temporal.namespace;
  try {
    const added = await withConnection(config, RPC_TIMEOUT_MS, async (connection) => {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      const missing: Record<string, IndexedValueType> = {};
      for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
        const existing = customAttributes?.[name];
        if (existing === undefined || existing === null) missing[name] = type;
        else if (existing !== type) {
          throw new StackError(
            `search attribute ${name} exists in namespace ${namespace} as ${TYPE_NAMES[existing] ?? existing}, but the saga needs ${TYPE_NAMES[type]}`,
            `a type cannot be changed in place; remove it (temporal operator search-attribute remove --name ${name} -n ${namespace}) or use another namespace`,
          );
        }
      }
      if (Object.keys(missing).length > 0)
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
      return Object.keys(missing);
    });
    if (added.length > 0)
      say(stepLine('temporal', 'registered', `search attributes ${added.join(', ')} in namespace ${namespace}`));
    return added;
  } catch (err) {
    const code = grpcCode(err);
    if (code !== GRPC.PERMISSION_DENIED && code !== GRPC.UNIMPLEMENTED && code !== GRPC.UNAUTHENTICATED) throw err;
    const flags = Object.entries(SEARCH_ATTRIBUTES)
      .map(([name, type]) => `--search-attribute ${name}=${TYPE_NAMES[type]}`)
      .join(' ');
    say(
      stepLine(
        'temporal',
        'WARNING',
        `the server refused to register search attributes (${errorMessage(err)}); add them yourself: ` +
          `tcld namespace search-attributes add --namespace ${namespace} ${flags}, or in the Temporal Cloud UI (Namespaces → ${namespace} → Search attributes)`,
      ),
    );
    return [];
  }
}

/**
 * Whether the server answers a read from its store: describing a workflow that does not exist
 * must come back NOT_FOUND. A dev server whose SQLite connection got stuck (its driver, modernc
 * sqlite 1.34.1 in CLI v1.5.1, can leave the one connection permanently "interrupted (9)" after a
 * statement is cancelled under heavy load) still answers getSystemInfo but times out here.
 */
async function storeAnswers(config: Config): Promise<boolean> {
  try {
    await withConnection(config, STORE_PROBE_TIMEOUT_MS, (connection) =>
      connection.workflowService.describeWorkflowExecution({
        namespace: config.temporal.namespace,
        execution: { workflowId: 'stack-store-probe' },
      }),
    );
    return true;
  } catch (err) {
    return grpcCode(err) === GRPC.NOT_FOUND;
  }
}

/**
 * Whether our dev server is stuck rather than starting: it has run longer than a start takes, and
 * either fails the probe or does not answer from its store.
 */
async function stuck(ctx: StackContext, paths: TemporalPaths, first: TemporalProbe): Promise<boolean> {
  const runningForMs = Date.now() - statSync(paths.pidFile).mtimeMs;
  if (first.kind === 'down' || first.kind === 'no-namespace') return runningForMs > READY_TIMEOUT_MS;
  return first.kind === 'ok' && !(await storeAnswers(ctx.config));
}

interface TemporalPaths {
  frontend: HostPort;
  ui: HostPort;
  dbFile: string;
  pidFile: string;
  logFile: string;
}

function temporalPaths(ctx: StackContext): TemporalPaths {
  const uiUrl = new URL(ctx.config.temporal.uiUrl);
  return {
    frontend: addressHostPort(ctx.config.temporal.address, 7233, 'TEMPORAL_ADDRESS'),
    ui: urlHostPort(uiUrl.href, uiUrl.protocol === 'https:' ? 443 : 80, 'TEMPORAL_UI_URL'),
    dbFile: join(ctx.layout.temporalDir, 'temporal.db'),
    pidFile: join(ctx.layout.runDir, 'temporal.pid'),
    logFile: join(ctx.layout.logsDir, 'temporal.log'),
  };
}

/** The Temporal CLI (dev server and operator commands): found on the PATH or in the cache, else built. */
export async function temporalBinary(ctx: StackContext): Promise<string> {
  const found = await findExecutable('temporal', [join(ctx.layout.binDir, 'temporal')]);
  return (
    found ?? goInstall(TEMPORAL_CLI, ctx.layout.binDir, join(ctx.layout.logsDir, 'go-install-temporal.log'), ctx.say)
  );
}

async function waitReady(ctx: StackContext, paths: TemporalPaths, check: () => void): Promise<void> {
  await waitFor(
    `Temporal at ${ctx.config.temporal.address} (namespace ${ctx.config.temporal.namespace})`,
    READY_TIMEOUT_MS,
    async () => {
      check();
      const result = await probe(ctx.config, paths.frontend);
      return result.kind === 'ok' ? { done: true, value: undefined } : { done: false, reason: result.reason };
    },
    { intervalMs: 1000, fix: `read ${paths.logFile}` },
  );
}

async function startServer(ctx: StackContext, paths: TemporalPaths): Promise<number> {
  await assertPortsFree([
    { target: paths.frontend, setting: 'TEMPORAL_ADDRESS' },
    { target: paths.ui, setting: 'TEMPORAL_UI_URL' },
  ]);
  const binary = await temporalBinary(ctx);
  mkdirSync(ctx.layout.temporalDir, { recursive: true });
  const { namespace } = ctx.config.temporal;
  const args = [
    'server',
    'start-dev',
    '--ip',
    paths.frontend.host,
    '--port',
    String(paths.frontend.port),
    '--ui-ip',
    paths.ui.host,
    '--ui-port',
    String(paths.ui.port),
    ...persistenceArgs(devServerPersistence(ctx), paths.dbFile),
    // Registered at launch (for a new file), so they are usable before the first start even with
    // the search attribute cache of the tuned server; ensureSearchAttributes covers older files.
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => [
      '--search-attribute',
      `${name}=${TYPE_NAMES[type]}`,
    ]),
    // The UI decodes payloads through the project's codec server (workers/codec-server.ts);
    // without it every saga's input shows as binary/encrypted.
    '--ui-codec-endpoint',
    ctx.config.codecServer.url,
    '--log-level',
    'warn',
    // Our flags say everything; don't let a TEMPORAL_* variable or ~/.config file meant for the client change the server.
    '--disable-config-env',
    '--disable-config-file',
  ];
  // "default" is always created; naming it again is redundant.
  if (namespace !== 'default') args.push('--namespace', namespace);
  const proc = spawnDetached(binary, args, {
    logFile: paths.logFile,
    pidFile: paths.pidFile,
    cwd: ctx.layout.temporalDir,
  });
  await waitReady(ctx, paths, () =>
    assertStillRunning('temporal', proc, paths.logFile, () => readLogTail(paths.logFile)),
  );
  if (devServerPersistence(ctx) === 'tuned') {
    try {
      assertWalMode(paths.dbFile, paths.logFile);
    } catch (err) {
      await stopOwned('temporal', paths.pidFile, 'temporal', STOP_GRACE_MS);
      throw err;
    }
  }
  return proc.pid;
}

function report(
  ctx: StackContext,
  paths: TemporalPaths,
  state: ComponentReport['state'],
  pid?: number,
): ComponentReport {
  const details = [`ui ${ctx.config.temporal.uiUrl}`, `namespace ${ctx.config.temporal.namespace}`];
  const persistence = {
    tuned: `db ${displayPath(paths.dbFile)} (${existsSync(`${paths.dbFile}-wal`) ? TUNED_SQLITE_PRAGMAS.join(', ') : 'not in WAL mode'})`,
    untuned: `db ${displayPath(paths.dbFile)} (untuned)`,
    memory: 'in memory',
  }[devServerPersistence(ctx)];
  if (state !== 'external') details.push(persistence);
  return { name: 'temporal', state, address: ctx.config.temporal.address, pid, details };
}

/**
 * Makes TEMPORAL_ADDRESS usable: uses a reachable server as is, otherwise starts the dev server
 * with Web UI (building the CLI with Go if needed) for a loopback address. In both cases waits for
 * the namespace and registers the saga's search attributes.
 *
 * @throws StackError when the server is remote and unreachable, the namespace is missing on an
 *   external server, or the dev server is not ready within 90 s.
 */
export async function temporalUp(ctx: StackContext): Promise<ComponentReport> {
  const paths = temporalPaths(ctx);
  const { address, namespace } = ctx.config.temporal;
  const pid = ownedPid(paths.pidFile, 'temporal');
  const first = await probe(ctx.config, paths.frontend);
  let state: ComponentReport['state'];
  let runningPid = pid;
  if (pid !== undefined && (await stuck(ctx, paths, first))) {
    // Ours, long started, but not answering from its store: restart it (its file keeps every workflow).
    ctx.say(stepLine('temporal', 'restarting', 'our dev server does not answer from its SQLite store (stuck)'));
    await stopOwned('temporal', paths.pidFile, 'temporal', STOP_GRACE_MS);
    runningPid = await startServer(ctx, paths);
    state = 'started';
  } else if (first.kind === 'ok') {
    state = pid ? 'running' : 'external';
    if (pid && devServerPersistence(ctx) === 'tuned') warnUnlessWal(ctx, paths);
  } else if (first.kind === 'rejected') {
    throw new StackError(
      `Temporal at ${address} is reachable but refused us: ${first.reason}`,
      'check TEMPORAL_API_KEY / TEMPORAL_TLS* settings',
    );
  } else if (first.kind === 'no-namespace' && pid === undefined) {
    throw new StackError(
      `Temporal at ${address} has no namespace ${namespace}`,
      `create it (temporal operator namespace create -n ${namespace}) or fix TEMPORAL_NAMESPACE`,
    );
  } else if (pid !== undefined) {
    // Ours and still starting (or the namespace is being created): wait rather than start another.
    await waitReady(ctx, paths, () => undefined);
    state = 'running';
  } else if (!isLoopback(paths.frontend.host)) {
    throw new StackError(
      `cannot reach Temporal at ${address}: ${first.reason}`,
      'start that server or fix TEMPORAL_ADDRESS; stack:up only starts Temporal for a 127.0.0.1/localhost address',
    );
  } else {
    runningPid = await startServer(ctx, paths);
    state = 'started';
  }
  await ensureSearchAttributes(ctx.config, ctx.say);
  return report(ctx, paths, state, runningPid);
}

/** A dev server of ours started before the tuning (or by hand) still works: say how to get the fast one. */
function warnUnlessWal(ctx: StackContext, paths: TemporalPaths): void {
  try {
    assertWalMode(paths.dbFile, paths.logFile);
  } catch (err) {
    if (!(err instanceof StackError)) throw err;
    ctx.say(stepLine('temporal', 'WARNING', `${err.message}; restart it: npm run stack:down && npm run stack:up`));
  }
}

/** Stops the dev server if we started it (SIGTERM, then SIGKILL after 15 s); its SQLite file stays. */
export async function temporalDown(ctx: StackContext): Promise<ComponentReport> {
  const paths = temporalPaths(ctx);
  const pid = await stopOwned('temporal', paths.pidFile, 'temporal', STOP_GRACE_MS);
  if (pid !== undefined) return report(ctx, paths, 'stopped', pid);
  return report(ctx, paths, (await probe(ctx.config, paths.frontend)).kind === 'down' ? 'not running' : 'external');
}

/** Reports whether our dev server runs, an external server answers, or nothing does. */
export async function temporalStatus(ctx: StackContext): Promise<ComponentReport> {
  const paths = temporalPaths(ctx);
  const pid = ownedPid(paths.pidFile, 'temporal');
  if (pid !== undefined) return report(ctx, paths, 'running', pid);
  return report(ctx, paths, (await probe(ctx.config, paths.frontend)).kind === 'down' ? 'not running' : 'external');
}
