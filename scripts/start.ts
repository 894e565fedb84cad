import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { childEnv, loadConfig, repoRoot } from '../lib/config';
import { loadConfigOrExit } from '../lib/main';
import { SUBSCRIBERS } from '../subscribers/index';
import { principalEnv } from '../access/env';
import { principalOfProcess } from '../access/principals';
import { haEnvFor } from './stack/ha/topology';

/**
 * `npm start`: brings up what is missing of the stack, migrates and seeds, then runs the API,
 * the saga starter, the saga worker, the outbox relay and every subscriber of subscribers/index.ts (audit, order
 * read model, notifications) as child processes. Ctrl-C
 * (or SIGTERM) is passed on to each, which drain their in-flight work before exiting.
 */
// `npm start -- --ha`: the same processes on the production-shaped stack; only the addresses differ.
const ha = process.argv.slice(2).includes('--ha');
const baseConfig = loadConfigOrExit();
const haEnv = ha ? haEnvFor(baseConfig) : {};
const config = ha ? loadConfig(childEnv(haEnv)) : baseConfig;
const tsx = ['--import', 'tsx'];

function run(args: string[], env: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...tsx, ...args], { cwd: repoRoot, stdio: 'inherit', env: childEnv(env) });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited with ${code}`))));
  });
}

// `up --ha` derives the HA addresses itself, from the same base configuration as ours.
await run([join('scripts', 'stack', 'cli.ts'), 'up', ...(ha ? ['--ha'] : [])]);
await run([join('scripts', 'db-setup.ts')], haEnv);

// Each process's entry point and arguments; every subscriber runs through the one subscriber host.
const processes: Record<string, string[]> = {
  api: [join('api', 'server.ts')],
  'saga-worker': [join('workers', 'saga-worker.ts')],
  'outbox-relay': [join('workers', 'relay.ts')],
  ...Object.fromEntries(SUBSCRIBERS.map((s) => [s.name, [join('workers', 'subscriber-host.ts'), s.name]])),
  // The Web UI decodes saga payloads through it (the dev server's --ui-codec-endpoint).
  'codec-server': [join('workers', 'codec-server.ts')],
  // Last, so the metrics ports of the others stay where they were before it existed.
  'saga-starter': [join('workers', 'saga-starter.ts')],
};
// Each process but the API (which serves /metrics on its own port) gets a metrics port of its own.
const metricsHost = config.http.host === '0.0.0.0' ? '0.0.0.0' : '127.0.0.1';
const metricsAddresses = new Map<string, string>(
  config.metrics.basePort === 0
    ? []
    : Object.keys(processes)
        // The API serves /metrics on its own port; the codec server holds keys and nothing else.
        .filter((name) => name !== 'api' && name !== 'codec-server')
        .map((name, i) => [name, `${metricsHost}:${config.metrics.basePort + i}`]),
);
const children = new Map<string, ChildProcess>();
let stopping = false;

const exited = Object.entries(processes).map(
  ([name, args]) =>
    new Promise<void>((resolve) => {
      const address = metricsAddresses.get(name);
      // Each process runs as its own principal: its NATS user and PostgreSQL role (access/).
      const who = principalOfProcess(args[0] ?? '', args.slice(1));
      if (who === undefined) throw new Error(`${name} has no principal in access/principals.ts`);
      const credentials = principalEnv(who, config.stack.dir, config.database.url);
      const env = childEnv({ ...haEnv, ...credentials, ...(address ? { METRICS_ADDRESS: address } : {}) });
      const child = spawn(process.execPath, [...tsx, ...args], { cwd: repoRoot, stdio: 'inherit', env });
      children.set(name, child);
      child.on('exit', (code, signal) => {
        children.delete(name);
        if (!stopping) {
          console.error(`${name} exited unexpectedly (${signal ?? code}); stopping the others`);
          process.exitCode = 1;
          stopAll();
        }
        resolve();
      });
    }),
);

function stopAll(): void {
  stopping = true;
  for (const child of children.values()) child.kill('SIGTERM');
}
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);

const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
const metricsLines = [...metricsAddresses]
  .map(([name, address]) => `\n                    http://${address.replace('0.0.0.0', '127.0.0.1')}/metrics (${name})`)
  .join('');
console.log(`
checkout-saga is running${ha ? ' on the HA stack (npm run stack:status -- --ha)' : ''}
  API               http://${host}:${config.http.port}
  API docs          http://${host}:${config.http.port}/docs  (OpenAPI: /openapi.json)
  Temporal Web UI   ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows
  Codec server      ${config.codecServer.url}  (${config.temporal.payloadKeys.usingDevKey ? 'development key: the UI decodes without a token' : 'bearer token with checkout:any'})
  Bearer token      ${config.api.usingDevToken ? 'dev-token-change-me-0000 (set API_TOKENS to choose your own)' : 'one of API_TOKENS'}
  Metrics           http://${host}:${config.http.port}/metrics (api)${metricsLines}
Ctrl-C stops the application (in-flight work drains); \`npm run stack:down${ha ? ' -- --ha' : ''}\` stops the stack.
`);
await Promise.all(exited);
