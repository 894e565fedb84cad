import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../../lib/config';
import { freePort } from '../support/ports';
import { stopProcess, TestProcesses } from '../support/processes';
import { testConfig, testDb } from '../support/services';

describe('a process started before its dependencies waits for them instead of exiting (real nats-server)', () => {
  const processes = new TestProcesses();
  let config: Config;
  let natsServer = '';
  let nats: ChildProcess | undefined;
  const dirs: string[] = [];

  before(async () => {
    config = testConfig();
    const db = await testDb(config);
    await db.end();
    natsServer = join(config.stack.binDir, 'nats-server');
    assert.ok(existsSync(natsServer), `${natsServer} is missing: run \`npm run stack:up\` first`);
  });
  after(async () => {
    await processes.killAll();
    if (nats && nats.exitCode === null && nats.signalCode === null) nats.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A relay whose NATS_URL points at `port`, where nothing listens unless the test starts a server. */
  const startRelay = (port: number) =>
    processes.start('relay', 'workers/relay.ts', {
      env: { DATABASE_URL: config.database.url, NATS_URL: `nats://127.0.0.1:${port}`, LOG_LEVEL: 'info' },
    });

  it('a relay that finds no NATS keeps waiting, and a SIGTERM while it waits is a clean exit', async () => {
    const waiting = startRelay(await freePort());
    await waiting.waitForLog(
      (l) => l.msg === 'NATS unreachable; waiting for it' && l.attempt === 2,
      20_000,
      'a second wait for NATS',
    );
    assert.equal((await stopProcess(waiting, 'SIGTERM')).code, 0);
    assert.ok(waiting.logs.some((l) => l.msg === 'stopped while waiting for NATS'));
    assert.ok(!waiting.logs.some((l) => l.level === 60), 'no fatal line');
  });

  it('a relay started before NATS carries on by itself once NATS appears', async () => {
    const port = await freePort();
    const relay = startRelay(port);
    await relay.waitForLog((l) => l.msg === 'NATS unreachable; waiting for it', 20_000, 'the relay to wait for NATS');
    const store = mkdtempSync(join(tmpdir(), 'start-order-nats-'));
    dirs.push(store);
    nats = spawn(natsServer, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', store], { stdio: 'ignore' });
    await relay.waitForLog((l) => l.msg === 'NATS reachable; continuing start-up', 20_000, 'the relay to connect');
    await relay.waitForLog((l) => l.msg === 'outbox relay joined', 20_000, 'the relay to join the outbox');
    assert.equal((await stopProcess(relay, 'SIGTERM')).code, 0);
    nats.kill('SIGTERM');
  });
});
